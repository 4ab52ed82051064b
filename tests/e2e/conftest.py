"""A real headless Chromium (Debian's) driven by Playwright against the live test server.

When a browser test fails, every page still open is saved as a full-page PNG under
bench/out/e2e/ (or E2E_FAILURE_SCREENSHOTS), and the failure report names the files.
"""

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
#: Where a failed test's pages are saved.
FAILURE_SCREENSHOTS = Path(os.environ.get("E2E_FAILURE_SCREENSHOTS")
                           or Path(__file__).resolve().parents[2] / "bench" / "out" / "e2e")
#: The browser of the session, for the failure hook (which gets no fixtures).
_session = {}
#: id(page) -> the errors its console logged (a script that threw, a CSP violation).
_console: dict[int, list[str]] = {}


def _listen(page):
    """Keep the page's console errors and uncaught script errors for a failure report."""
    errors = _console.setdefault(id(page), [])
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright drives the browser from a greenlet; the live server's ORM calls are
    # in other threads, and the test's own ORM calls are plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            _session["browser"] = browser
            yield browser
            _session.pop("browser", None)
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    _listen(page)
    yield page
    _console.pop(id(page), None)
    context.close()


@pytest.fixture
def open_as(browser, live_server):
    """Return a function that logs a role's user in (tests/e2e/helpers.py) in a browser
    context of its own, 1440 px wide, and returns the page on the admin's index.

    The pages' clock starts at the test's (time-machine's, when it travels), so what the
    browser fills in ("Today", "Now") is the day the server lives in."""
    from tests.e2e.helpers import log_in

    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.clock.install(time=datetime.now(UTC))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        _listen(page)
        log_in(page, live_server, username)
        return page

    yield open_as
    for context in contexts:
        for page in context.pages:
            _console.pop(id(page), None)
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Save every open page of a failed browser test and name the files in its report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed or "e2e" not in item.keywords:
        return
    browser = _session.get("browser")
    if browser is None:
        return
    saved = _screenshots(browser, re.sub(r"[^\w.-]+", "_", item.name)[:120])
    if saved:
        report.sections.append(("screenshots of the open pages", "\n".join(saved)))


def _screenshots(browser, stem: str) -> list[str]:
    FAILURE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    pages = [p for context in browser.contexts for p in context.pages if not p.is_closed()]
    for number, open_page in enumerate(pages, 1):
        path = FAILURE_SCREENSHOTS / f"{stem}-{number}.png"
        try:
            open_page.screenshot(path=str(path), full_page=True, timeout=10000)
        except Exception as error:  # a crashed page must not hide the test's own failure
            saved.append(f"{open_page.url}: no screenshot ({error.__class__.__name__}: {error})")
            continue
        saved.append(f"{open_page.url} -> {path}")
        saved.extend(f"    console: {text}" for text in _console.get(id(open_page), []))
    return saved
