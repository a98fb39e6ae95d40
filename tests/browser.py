"""Real Chromium through Playwright (Debian's /usr/bin/chromium; never a downloaded browser)."""
import os

import pytest

from tests.conftest import need

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]
ARTIFACTS = os.environ.get("TEST_ARTIFACTS", os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                                          "test-artifacts"))

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="session")
def chromium():
    need(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        need(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def screenshot(page, name):
    """Keep a screenshot as a test artifact (test-artifacts/ by default)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    page.screenshot(path=path, full_page=False)
    return path
