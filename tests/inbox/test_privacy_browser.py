"""Erasing a customer's data from the inbox, in real Chromium at phone width: the admin opens the
customer's details, the dialog shows the name as text (markup in it stays text), the button works
only once the address (or ERASE) is typed, and afterwards the conversation on screen shows no
trace of what was written -- neither on this phone nor on a colleague's open inbox."""
import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import reply
from tests.browser import DESKTOP, PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store, make_ticket
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser

NAME = '<img src=x onerror="window.__pwned=1">Eve <b>Bold</b>'
#: Nothing of the page fits beside the window: the width the document takes, the window's.
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def test_an_admin_erases_a_customer_on_a_phone(live_server, chromium):
    store = make_store("Ceramika")
    admin = make_agent(name="Ada Admin", role="admin")
    colleague = make_agent(name="Sam Support")
    eve = make_contact(store, email="eve@example.test", name=NAME)
    ticket = make_ticket(store, eve, text="My glimmerquartz order went to Hauptstrasse 9")
    reply(ticket, colleague, "Eve, the glimmerquartz parcel is on its way")

    ctx_c, page_c = sign_in(chromium, live_server, colleague, DESKTOP)
    ctx, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        # The colleague has the conversation open on a desktop.
        page_c.locator(f'.ticket-row[data-ticket-id="{ticket.id}"] .row-open').click()
        conv_c = page_c.locator(f"#conv-{ticket.id}")
        conv_c.locator(".tl-msg.in", has_text="glimmerquartz").wait_for(timeout=TIMEOUT)
        # Agents who are not admins see no such section and the page has no such dialog.
        expect(page_c.locator("#context-body")).not_to_contain_text("Data requests")
        assert page_c.locator("#erase-dialog").count() == 0

        # The admin, on a phone: the list, the conversation, its details.
        page.locator(f'.ticket-row[data-ticket-id="{ticket.id}"] .row-open').click()
        conv = page.locator(f"#conv-{ticket.id}")
        conv.locator(".tl-msg.in", has_text="glimmerquartz").wait_for(timeout=TIMEOUT)
        conv.locator('[data-act="context"]').click()
        context = page.locator("#context-body")
        context.get_by_role("button", name="Erase data…").wait_for(state="visible", timeout=TIMEOUT)
        export = context.get_by_role("link", name="Export data")
        assert export.get_attribute("href") == f"/api/v1/contacts/{eve.id}/export"
        context.get_by_role("button", name="Erase data…").click()

        dialog = page.locator("#erase-dialog")
        expect(dialog).to_be_visible()
        # Markup in the name is shown as the characters it is, never run or rendered.
        expect(dialog.locator('[data-field="name"]')).to_have_text(NAME)
        assert dialog.locator("img, b").count() == 0 and page.locator("img[src=x]").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        expect(dialog.locator('[data-field="email"]')).to_have_text("eve@example.test")
        erase = dialog.get_by_role("button", name="Erase for good")
        expect(erase).to_be_disabled()
        field = dialog.get_by_label("Type their email address or ERASE to confirm")
        field.fill("erase")  # the word is typed as shown
        expect(erase).to_be_disabled()
        field.fill("eve@example.tes")
        expect(erase).to_be_disabled()
        field.fill(" EVE@example.test ")
        expect(erase).to_be_enabled()
        # It fits the phone: nothing sideways, the buttons in reach and big enough for a finger.
        width, window = page.evaluate(WIDTHS)
        assert width <= window
        box = dialog.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        for button in (erase, dialog.get_by_role("button", name="Cancel")):
            button_box = button.bounding_box()
            assert button_box["height"] >= 40 and button_box["y"] + button_box["height"] <= PHONE["height"], button_box
        assert serious_violations(page) == []
        screenshot(page, "inbox-phone-erase-dialog.png")

        erase.click()
        page.locator(".toast", has_text="The customer's data is erased.").wait_for(timeout=TIMEOUT)
        expect(dialog).not_to_be_visible()
        # The details now show the placeholder, and nothing more to erase.
        expect(context).to_contain_text(f"Erased customer #{eve.id}", timeout=TIMEOUT)
        expect(context).to_contain_text("Data erased on request")
        expect(context).not_to_contain_text("eve@example.test")
        assert context.get_by_role("button", name="Erase data…").count() == 0
        screenshot(page, "inbox-phone-erased-details.png")
        page.locator("#context-close").click()
        # This phone and the colleague's desktop both drop what they showed.
        for view in (conv, conv_c):
            view.locator(".tl-msg.in", has_text="[erased]").wait_for(timeout=TIMEOUT)
            expect(view.locator(".timeline")).not_to_contain_text("glimmerquartz")
            expect(view.locator(".timeline")).not_to_contain_text("Hauptstrasse")
            expect(view.locator(".conv-title")).to_have_text(f"Erased customer #{eve.id}", timeout=TIMEOUT)
        expect(page_c.locator(f'.ticket-row[data-ticket-id="{ticket.id}"]')).not_to_contain_text("glimmerquartz",
                                                                                                  timeout=TIMEOUT)
        screenshot(page, "inbox-phone-erased.png")
        assert page.js_errors == [] and page_c.js_errors == []
    finally:
        ctx.close()
        ctx_c.close()
