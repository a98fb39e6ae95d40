"""Merging a duplicate ticket in real Chromium, on a phone: Dana chatted about her order and
emailed about it too. The agent opens the chat, picks her email ticket from the list (a
number typed for another customer's ticket warns first), confirms a dialog naming both, and
lands on the email ticket with the whole conversation; the chat, opened by its link later,
says where it went. Keyboard only, with screen-reader names and no axe-core finding."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.tickets import open_ticket
from helpdesk.extensions import db
from helpdesk.models import Contact, Ticket
from tests.browser import PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in
from tests.realtime import visitor_client, visitor_session

pytestmark = pytest.mark.browser


def email_ticket(store, contact, subject, text):
    ticket = open_ticket(store, contact, "email", subject=subject)
    receive_customer_message(store, contact, "email", text, ticket=ticket)
    return ticket.id


def test_an_agent_merges_a_duplicate_chat_into_the_email_ticket_on_a_phone(live_server, chromium):
    store = make_store("Linen & Co")
    tess = make_agent(name="Tess Agent")
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "Where is order 1001?",
                                   "prechat": {"name": "Dana", "email": "dana@example.test"}})
    shopper.disconnect()
    chat_id = ack["message"]["ticket_id"]
    dana = db.session.get(Contact, db.session.get(Ticket, chat_id).contact_id)
    email_id = email_ticket(store, dana, "Order 1001 has not arrived", "I ordered a week ago, nothing yet.")
    other_id = email_ticket(store, make_contact(store, email="eve@example.test", name="Eve"), "Returns",
                            "How do I send it back?")

    ctx, page = sign_in(chromium, live_server, tess, PHONE)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{chat_id}"] .row-open').click()
        conv = page.locator(f"#conv-{chat_id}")
        conv.locator(".tl-msg.in", has_text="order 1001").wait_for(timeout=TIMEOUT)
        merge = conv.get_by_role("button", name="Merge into…")
        box = merge.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        merge.focus()
        page.keyboard.press("Enter")

        dialog = page.get_by_role("dialog", name=f"Merge #{chat_id} into another ticket")
        expect(dialog).to_be_visible()
        # Dana's other open ticket is listed (never Eve's); focus starts on it.
        option = dialog.get_by_role("radio", name=re.compile(rf"#{email_id} Order 1001 has not arrived"))
        expect(option).to_be_focused(timeout=TIMEOUT)
        expect(dialog.get_by_role("radio")).to_have_count(1)
        dialog_box = dialog.bounding_box()
        assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= PHONE["width"], dialog_box
        assert serious_violations(page) == []
        screenshot(page, "inbox-phone-merge-pick.png")

        # A number typed for another customer's ticket: the confirmation warns before anything happens.
        dialog.get_by_label("Or a ticket number").fill(f"#{other_id}")
        dialog.get_by_role("button", name="Continue").focus()
        page.keyboard.press("Enter")
        warning = dialog.locator("#merge-warning")
        expect(warning).to_be_visible(timeout=TIMEOUT)
        expect(warning).to_contain_text("Different customers")
        expect(warning).to_contain_text("Eve")
        expect(dialog.get_by_role("button", name=f"Merge #{chat_id} into #{other_id}")).to_be_focused()
        screenshot(page, "inbox-phone-merge-warning.png")
        dialog.get_by_role("button", name="Back").focus()
        page.keyboard.press("Enter")

        # Dana's own email ticket, picked from the list: both are named, no warning.
        expect(option).to_be_visible()
        option.focus()
        page.keyboard.press("Space")
        expect(dialog.get_by_label("Or a ticket number")).to_have_value("")
        dialog.get_by_role("button", name="Continue").focus()
        page.keyboard.press("Enter")
        summary = dialog.locator("#merge-summary")
        expect(summary).to_contain_text(f"Merge #{chat_id} (Dana, “Where is order 1001?”)", timeout=TIMEOUT)
        expect(summary).to_contain_text(f"into #{email_id} (Dana, “Order 1001 has not arrived”)")
        expect(warning).to_be_hidden()
        confirm = dialog.get_by_role("button", name=f"Merge #{chat_id} into #{email_id}")
        expect(confirm).to_be_focused()
        assert serious_violations(page) == []
        screenshot(page, "inbox-phone-merge-confirm.png")
        page.keyboard.press("Enter")

        # The view is the email ticket, holding the chat too; the chat's tab is gone.
        expect(dialog).to_be_hidden(timeout=TIMEOUT)
        target = page.locator(f"#conv-{email_id}")
        expect(target).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("tab", selected=True)).to_have_attribute("id", f"tab-{email_id}")
        expect(page.locator(f"#conv-{chat_id}")).to_have_count(0)
        messages = target.locator(".tl-msg.in .msg-body")
        expect(messages).to_have_text(["Where is order 1001?", "I ordered a week ago, nothing yet."],
                                      timeout=TIMEOUT)
        expect(target.locator(".tl-event").last).to_have_text(
            re.compile(rf"Tess Agent merged #{chat_id} into this ticket"))
        expect(page.locator("#toasts")).to_contain_text(f"#{chat_id} was merged into #{email_id}.")
        screenshot(page, "inbox-phone-merged.png")

        # The merged chat, opened by its link: a banner leads to where the conversation went.
        page.goto("about:blank")  # a real load: only the hash differs from the inbox's address
        page.goto(f"{live_server}/inbox/#ticket-{chat_id}")
        merged = page.locator(f"#conv-{chat_id}")
        banner = merged.locator(".merged-banner")
        expect(banner).to_contain_text(f"This ticket was merged into #{email_id}", timeout=TIMEOUT)
        expect(merged.locator(".conv-actions")).to_be_hidden()
        expect(merged.get_by_role("button", name="Merge into…")).to_be_hidden()
        banner.get_by_role("button", name=f"Open #{email_id}").click()
        expect(page.locator(f"#conv-{email_id}")).to_be_visible(timeout=TIMEOUT)
        assert page.js_errors == []
    finally:
        ctx.close()
