"""Headless Chromium for the browser tests: Debian's `chromium` and `chromium-driver` packages
(`make setup-browser`), or Google Chrome and its driver where a machine has those instead (GitHub's
runners); COURSE_CHROMIUM and COURSE_CHROMEDRIVER name others.

Selenium gets the driver's path, so Selenium Manager downloads nothing. Without a browser or its
driver a browser test is skipped with the reason, unless COURSE_REQUIRE_BROWSER=1 (CI) makes
their absence a failure."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE_LOAD_SECONDS = 60  # a busy two-core machine


def _program(variable: str, names: tuple[str, ...]) -> Path | None:
    if os.environ.get(variable):
        return Path(os.environ[variable])
    found = next((shutil.which(name) for name in names if shutil.which(name)), None)
    return Path(found) if found else None


CHROMIUM = _program("COURSE_CHROMIUM", ("chromium", "chromium-browser", "google-chrome"))
CHROMEDRIVER = _program("COURSE_CHROMEDRIVER", ("chromedriver",))


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    for what, path in (("Chromium", CHROMIUM), ("ChromeDriver", CHROMEDRIVER)):
        if path is None or not os.access(path, os.X_OK):
            return (f"{what} is not installed{f' at {path}' if path else ''} (make "
                    "setup-browser installs Chromium and its driver)")
    try:
        import selenium  # noqa: F401
    except ModuleNotFoundError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def skip_or_fail_without_chromium() -> None:
    reason = missing()
    if reason:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"COURSE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@contextlib.contextmanager
def headless_chromium(profile_dir: Path, *, window: str = "1000,900") -> Iterator:
    """A Selenium driver for headless Chromium that keeps the page's console messages."""
    skip_or_fail_without_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--window-size={window}",
                 f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
