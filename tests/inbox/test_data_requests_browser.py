"""The customers' data requests in real Chromium, on a phone (390 px) and a desktop: a signed
Shopify ``customers/data_request`` reaches the admin's open inbox as a notice that leads to the
store settings page; there each matching contact's export downloads, and the admin marks the
request answered. A second request is answered by itself once the admin has erased the
customer -- one contact from the inbox's erase dialog, the other through the API -- and the
page says who did, and when."""
import json

import pytest
import requests
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Contact
from tests.browser import DESKTOP, PHONE, screenshot, serious_violations
from tests.connectors.commerce import fixture_bytes
from tests.connectors.shopify.conftest import connector, store  # noqa: F401 -- the shop's fixtures
from tests.connectors.shopify.test_webhooks import post
from tests.factories import make_agent, make_contact, make_ticket, make_token
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
#: Visible controls of the data requests shorter than a finger (40 px).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    '#data-requests a.btn, #data-requests button, #data-requests summary')]
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 40)
  .map(el => el.outerHTML.slice(0, 80))"""


def data_request(client, connector, request_id):  # noqa: F811
    body = json.loads(fixture_bytes("shopify", "customers_data_request.json"))
    body["data_request"]["id"] = request_id
    response = post(client, connector, "x", "customers/data_request", body=json.dumps(body).encode(),
                    webhook_id=f"dr-{request_id}")
    assert response.status_code == 200


def fits(page):
    """Nothing sideways; on a phone, every control a finger's height."""
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    if page.viewport_size["width"] <= PHONE["width"]:
        assert page.evaluate(SMALL_TARGETS) == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_admin_answers_data_requests(live_server, chromium, client, connector, store, viewport):  # noqa: F811
    admin = make_agent(name="Ada Admin", role="admin")
    linked = make_contact(store, email="johnny@work.example", name="John <b>Doe</b>", platform="shopify",
                          platform_id="191167")
    chat = make_ticket(store, linked, "chat", "The teapot arrived cracked")
    mailed = make_contact(store, email="john@example.com", name="John D.")
    make_ticket(store, mailed, "email", "About my teapot again")
    linked_id, mailed_id, chat_id = linked.id, mailed.id, chat.id
    context, page = sign_in(chromium, live_server, admin, viewport)
    try:
        # The request arrives while the admin has the inbox open: a notice leads to the page.
        data_request(client, connector, 9999)
        notice = page.locator(".toast", has_text="asked the shop for their data")
        notice.wait_for(timeout=TIMEOUT)
        notice.get_by_role("button", name="Open").click()
        page.wait_for_url(f"**/inbox/settings/stores/{store.id}#data-requests", timeout=TIMEOUT)
        section = page.locator("#data-requests")
        expect(section.get_by_role("heading", name="Customers' data requests")).to_be_visible()
        request = section.locator('[data-request="shopify-9999"]')
        expect(request).to_contain_text("request 9999")
        expect(request).to_contain_text("John <b>Doe</b>")  # a name is text, never markup
        assert request.locator("b").count() == 0
        expect(request).to_contain_text("Orders asked about: 299938, 280263, 220458")
        exports = request.get_by_role("link", name="Export data")
        expect(exports).to_have_count(2)
        fits(page)
        assert serious_violations(page) == []
        screenshot(page, f"data-requests-{viewport['width']}.png")

        # Each export downloads that contact's JSON file.
        with page.expect_download(timeout=TIMEOUT) as download:
            request.get_by_role("link", name="Export data John D.").click()
        assert download.value.suggested_filename == f"contact-{mailed_id}-export.json"
        with open(download.value.path(), encoding="utf-8") as fh:
            assert json.load(fh)["contact"]["email"] == "john@example.com"

        # Answered: it moves to the answered list, with who answered it.
        request.get_by_role("button", name="Mark as answered").click()
        expect(page.locator(".flash")).to_contain_text("Data request marked as answered.", timeout=TIMEOUT)
        expect(section).to_contain_text("No data request is waiting.")
        done = section.locator("#data-requests-answered")
        expect(done.locator('[data-request="shopify-9999"]')).to_contain_text("Marked as answered by Ada Admin on")
        fits(page)

        # Another request for John; the admin erases him instead of sending the export.
        data_request(client, connector, 10002)
        page.goto(f"{live_server}/inbox/")
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        page.locator(f'.ticket-row[data-ticket-id="{chat_id}"] .row-open').click()
        conv = page.locator(f"#conv-{chat_id}")
        conv.locator(".tl-msg.in", has_text="teapot").wait_for(timeout=TIMEOUT)
        details = conv.locator('[data-act="context"]')
        if details.is_visible():  # a phone: the details open over the conversation; a desktop shows them
            details.click()
        page.locator("#context-body").get_by_role("button", name="Erase data…").click()
        dialog = page.locator("#erase-dialog")
        dialog.get_by_label("Type their email address or ERASE to confirm").fill("ERASE")
        dialog.get_by_role("button", name="Erase for good").click()
        page.locator(".toast", has_text="The customer's data is erased.").wait_for(timeout=TIMEOUT)

        # One of his two contacts erased: still waiting, for the other one's data only.
        page.goto(f"{live_server}/inbox/settings/stores/{store.id}")
        waiting = section.locator('[data-request="shopify-10002"]')
        expect(waiting).to_contain_text(f"Erased customer #{linked_id}")
        expect(waiting).to_contain_text("data erased, nothing to send")
        expect(waiting.get_by_role("link", name="Export data")).to_have_count(1)
        fits(page)

        # The other one through the API: nothing is left to send, and the request says so.
        erased = requests.post(f"{live_server}/api/v1/contacts/{mailed_id}/erase", json={"confirm": True},
                               headers={"Authorization": f"Bearer {make_token(admin)}"}, timeout=10)
        assert erased.status_code == 200
        page.reload()
        expect(section).to_contain_text("No data request is waiting.")
        answered = done.locator('[data-request="shopify-10002"]')
        expect(answered).to_contain_text("Answered by erasure: Ada Admin erased the customer's data on")
        expect(answered).to_contain_text(f"Erased customer #{mailed_id}")
        expect(section.get_by_role("link", name="Export data")).to_have_count(0)
        expect(section.get_by_role("button", name="Mark as answered")).to_have_count(0)
        fits(page)
        assert serious_violations(page) == []
        screenshot(page, f"data-requests-answered-{viewport['width']}.png")
        db.session.expire_all()
        assert db.session.get(Contact, linked_id).erasure["by_agent_id"] == admin.id
        assert page.js_errors == []
    finally:
        context.close()
