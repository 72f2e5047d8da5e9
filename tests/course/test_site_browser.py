"""The built website in a real browser: headless Chromium opens every page of the site that
COURSE_SITE_DIR names (`make test` builds it from its smoke run) over HTTP, and fails on a page
that does not load, a console error, a request that leaves the site or fails, an image that does
not load, a figure without alt text, or an internal link that leads nowhere. It saves
screenshots of the home page and of a notebook page beside the site, for people to look at.

Skipped when COURSE_SITE_DIR is unset (build a site with `make site`, then set it)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tests.chromium import PAGE_LOAD_SECONDS, headless_chromium

pytestmark = pytest.mark.one_backend

SCREENSHOT_PAGES = {"home": "index.html", "notebook": "notebooks/08_modern_cnns.html"}
PHONE_WINDOW = "390,844"
NO_ALT = "No description has been provided for this image"  # nbconvert's stand-in
# Each image: its number on the page, source, whether it loaded, alt text, the heading above it.
IMAGES_SCRIPT = """
const headings = Array.from(document.querySelectorAll('article h1, article h2, article h3'));
return Array.from(document.images).map((image, index) => {
  let heading = '';
  for (const h of headings) {
    if (h.compareDocumentPosition(image) & Node.DOCUMENT_POSITION_FOLLOWING) {
      heading = h.textContent.replace('¶', '').trim();
    }
  }
  return [index + 1, image.currentSrc.slice(0, 60), image.complete && image.naturalWidth > 0,
          image.getAttribute('alt'), heading];
});
"""


def site_dir() -> Path:
    folder = os.environ.get("COURSE_SITE_DIR")
    if not folder:
        pytest.skip("COURSE_SITE_DIR is unset: build a site with `make site`, then set it")
    path = Path(folder).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"COURSE_SITE_DIR={folder} holds no built site (no index.html)")
    return path


def pages() -> list[str]:
    folder = os.environ.get("COURSE_SITE_DIR")
    if not folder or not Path(folder).is_dir():
        return ["(no site)"]
    return sorted(str(page.relative_to(folder)) for page in Path(folder).rglob("*.html")
                  if "assets" not in page.parts)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    failed: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        self.failed.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, list[str]]]:
    """The site over HTTP on a free port, and the list of requests it could not answer."""
    failed: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"failed": failed})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site_dir())))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", failed
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile"),
                           window="1280,900") as driver:
        yield driver


class _Anchors(HTMLParser):
    """The ids and names a page can be linked to with #fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def broken_internal_links(root: Path, base: str, page_url: str, hrefs: list[str]) -> list[str]:
    """The links of a page, on the site itself, whose file or #fragment does not exist."""
    broken = []
    for href in sorted(set(hrefs)):
        target = urlsplit(urljoin(page_url, href))
        if f"{target.scheme}://{target.netloc}/" != base:
            continue  # another site: not ours to check offline
        path = root / unquote(target.path.lstrip("/"))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            broken.append(f"{href} (no file {path.relative_to(root)})")
        elif target.fragment and path.suffix == ".html" \
                and unquote(target.fragment) not in anchors(path):
            broken.append(f"{href} (no #{target.fragment} on {path.relative_to(root)})")
    return broken


def open_page(browser, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, PAGE_LOAD_SECONDS).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete")
    # MathJax typesets after the load event: wait until its queue is empty.
    WebDriverWait(browser, PAGE_LOAD_SECONDS).until(lambda driver: driver.execute_script(
        "return !window.MathJax || !MathJax.Hub || MathJax.Hub.queue.pending === 0"
        " && MathJax.Hub.queue.running === 0"))


@pytest.mark.parametrize("page", pages())
def test_page_loads_cleanly_in_a_browser(page, served, browser):
    base, failed = served
    root = site_dir()
    failed.clear()
    url = urljoin(base, page)
    open_page(browser, url)
    problems = []
    status = browser.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus")
    if status != 200:
        problems.append(f"the page answered HTTP {status}")
    problems += [f"console {entry['level']}: {entry['message']}"
                 for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    outside = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
        ".filter(name => !name.startsWith(arguments[0]) && !name.startsWith('data:'))", base)
    problems += [f"a request left the site: {name}" for name in outside]
    problems += [f"the site could not answer {request}" for request in failed]
    images = browser.execute_script(IMAGES_SCRIPT)
    problems += [f"image {number} (under '{heading}') did not load: {src}"
                 for number, src, loaded, _, heading in images if not loaded]
    problems += [f"image {number} (under '{heading}') has no alt text: a figure without a title?"
                 for number, _, _, alt, heading in images
                 if (alt or NO_ALT).strip() in ("", NO_ALT)]
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    problems += [f"broken link: {link}" for link in broken_internal_links(root, base, url, hrefs)]
    if page.startswith("notebooks/"):
        text = browser.find_element("tag name", "body").text
        if "Open in Colab" not in browser.page_source:
            problems.append("no Open in Colab button")
        if re.search(r"\\frac|\\left|\\sum", text):
            problems.append("a formula was left as LaTeX source (MathJax did not typeset it)")
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_screenshots_of_home_and_a_notebook_page(served, browser):
    """Pictures of the site for people to look at, in site-screenshots/ beside the site."""
    base, _ = served
    folder = site_dir().parent / "site-screenshots"
    folder.mkdir(exist_ok=True)
    saved = []
    for name, page in SCREENSHOT_PAGES.items():
        open_page(browser, urljoin(base, page))
        saved.append(folder / f"{name}.png")
        browser.save_screenshot(str(saved[-1]))
    browser.set_window_size(*map(int, PHONE_WINDOW.split(",")))
    try:
        open_page(browser, urljoin(base, SCREENSHOT_PAGES["home"]))
        saved.append(folder / "home-phone.png")
        browser.save_screenshot(str(saved[-1]))
    finally:
        browser.set_window_size(1280, 900)
    for path in saved:
        assert path.stat().st_size > 10_000, f"{path} looks empty"
