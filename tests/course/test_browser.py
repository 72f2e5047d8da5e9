"""The upload page in a real browser: headless Chromium (Debian's `chromium` package) against a
real `course serve` process, choosing a file and reading the prediction on the page (see
tests/chromium.py for when it is skipped)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chromium import headless_chromium
from tests.course.test_serve_process import course_serve
from tests.course.test_webapp import model_path  # noqa: F401  (the session's tiny model)
from tests.helpers import test_uploads as made

pytestmark = pytest.mark.one_backend

WAIT = 60  # seconds for the page to show an answer on a busy machine


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="module")
def server_url(model_path, tmp_path_factory):  # noqa: F811
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with course_serve(model_path, log=log) as (_, url):
        yield url


def choose_and_classify(browser, url: str, file: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    browser.find_element(By.ID, "file").send_keys(str(file))
    browser.find_element(By.ID, "classify").click()


def test_a_chosen_image_shows_its_top_3_on_the_page(browser, server_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    image = tmp_path / "photo.png"
    image.write_bytes(made.png(320, 240))
    choose_and_classify(browser, server_url, image)
    WebDriverWait(browser, WAIT).until(
        seen.text_to_be_present_in_element((By.ID, "predictions"), "%"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#predictions li")
    assert len(rows) == 3
    text = browser.find_element(By.ID, "predictions").text
    health_classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                      "ship", "truck")
    assert any(name in text for name in health_classes)
    assert browser.find_element(By.ID, "error").is_displayed() is False
    assert "centre 240x240 square" in browser.find_element(By.ID, "notes").text
    if os.environ.get("COURSE_SCREENSHOT"):  # a picture of the page, for people to look at
        browser.save_screenshot(os.environ["COURSE_SCREENSHOT"])


def test_a_non_image_shows_the_error_on_the_page(browser, server_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    text_file = tmp_path / "notes.txt"
    text_file.write_bytes(made.not_an_image())
    choose_and_classify(browser, server_url, text_file)
    WebDriverWait(browser, WAIT).until(seen.visibility_of_element_located((By.ID, "error")))
    error = browser.find_element(By.ID, "error").text
    assert "415" in error and "not an image" in error
    assert not browser.find_element(By.ID, "result").is_displayed()


def test_the_api_documentation_renders_offline(browser, server_url):
    """Swagger UI is a script: loaded from a CDN, /docs stays blank offline (as on this
    machine); served by the app, it shows the API, and nothing fails to load."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # what earlier pages logged
    browser.get(f"{server_url}/docs")
    WebDriverWait(browser, WAIT).until(seen.text_to_be_present_in_element(
        (By.CSS_SELECTOR, ".swagger-ui .info .title"), "CIFAR-10 image classifier"))
    assert "/predict" in browser.find_element(By.TAG_NAME, "body").text
    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert not errors, errors
