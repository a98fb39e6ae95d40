"""The store settings page in real Chromium on a phone (390 px): an admin changes the
greeting and saves; the page never scrolls sideways and its controls are tap-sized."""
import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Store
from tests.browser import DESKTOP, PHONE, serious_violations
from tests.factories import make_agent, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# Visible controls shorter than 40 px (check boxes and radios are 20 px inside 40 px rows).
SMALL_TARGETS = """() => [...document.querySelectorAll('main button, main select, main a.btn, main textarea, ' +
    'main input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 40)
  .map(el => el.outerHTML.slice(0, 80))"""


def test_admin_changes_the_greeting_on_a_phone(live_server, chromium):
    store = make_store("Linen Lane", proactive_rules=[{"id": "sizes", "url_contains": "/products/",
                                                      "message": "Need help choosing a size?"}])
    make_store("Second shop")
    admin = make_agent(name="Ada Admin", role="admin")
    context, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        page.goto(f"{live_server}/inbox/settings/stores/{store.id}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Linen Lane")
        page.get_by_label("Greeting").fill("Hi! <b>Ask</b> us anything.")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator(".flash")).to_contain_text("Store settings saved.", timeout=TIMEOUT)
        expect(page.get_by_label("Greeting")).to_have_value("Hi! <b>Ask</b> us anything.")
        db.session.expire_all()
        assert db.session.get(Store, store.id).settings["greeting"] == "Hi! <b>Ask</b> us anything."
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert page.evaluate(SMALL_TARGETS) == []
        expect(page.locator("#ss-copy")).to_be_visible()  # the script turned the copy button on
        page.screenshot(path="/tmp/settings-390.png", full_page=True)

        # A refused value keeps the page usable at this width too.
        page.get_by_label("Time zone").fill("Mars/Olympus")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#ss-timezone-error")).to_contain_text("Unknown time zone", timeout=TIMEOUT)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.locator("#ss-timezone").scroll_into_view_if_needed()
        page.screenshot(path="/tmp/settings-390-error.png")
        assert serious_violations(page) == []

        page.set_viewport_size(DESKTOP)
        page.goto(f"{live_server}/inbox/settings/stores/{store.id}")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.screenshot(path="/tmp/settings-desktop.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()
