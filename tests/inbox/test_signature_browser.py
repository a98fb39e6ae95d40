"""Email signatures in real Chromium on a phone (390 px): an agent sets theirs on the profile
page, an admin the store's (a typo in a placeholder is refused at the field), and the reply
box of an email ticket says which signature will be added -- not for a note, nor for a chat."""
import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.profile import set_signature, update_profile
from helpdesk.actions.stores import update_store_settings
from helpdesk.extensions import db
from helpdesk.models import Agent, Store
from tests.browser import PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_browser import TIMEOUT, TOO_SMALL, sign_in
from tests.inbox.test_store_settings_browser import NO_SIDEWAYS_SCROLL, SMALL_TARGETS

pytestmark = pytest.mark.browser


def test_an_agent_sets_their_signature_on_a_phone(live_server, chromium):
    agent = make_agent(name="Sam Carter")
    context, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        page.goto(f"{live_server}/inbox/profile")
        box = page.get_by_label("Email signature")
        expect(box).to_have_attribute("maxlength", "1000")
        box.fill("Sam Carter\n<b>Linen</b> · https://linen-shop.com")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_contain_text("Your profile is saved.", timeout=TIMEOUT)
        expect(page.get_by_label("Email signature")).to_have_value("Sam Carter\n<b>Linen</b> · https://linen-shop.com")
        db.session.expire_all()
        assert db.session.get(Agent, agent.id).signature == "Sam Carter\n<b>Linen</b> · https://linen-shop.com"
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert page.evaluate(TOO_SMALL) == []
        page.get_by_label("Email signature").scroll_into_view_if_needed()
        screenshot(page, "profile-signature-390.png")
        assert serious_violations(page) == []
        assert page.js_errors == []
    finally:
        context.close()


def test_an_admin_sets_the_store_signature_and_a_typo_is_shown_at_the_field(live_server, chromium):
    store = make_store("Linen Lane")
    admin = make_agent(name="Ada Admin", role="admin")
    context, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        page.goto(f"{live_server}/inbox/settings/stores/{store.id}")
        page.get_by_label("Email signature").fill("{agent}\nThe {store_name} team")
        page.get_by_role("button", name="Save settings").click()
        error = page.locator("#ss-signature-error")
        expect(error).to_have_text("Unknown placeholder {agent}. Use {agent_name} or {store_name}.", timeout=TIMEOUT)
        expect(page.get_by_label("Email signature")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Email signature")).to_have_value("{agent}\nThe {store_name} team")
        page.get_by_label("Email signature").scroll_into_view_if_needed()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert serious_violations(page) == []

        page.get_by_label("Email signature").fill("{agent_name}\nThe {store_name} team")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator(".flash")).to_contain_text("Store settings saved.", timeout=TIMEOUT)
        db.session.expire_all()
        assert db.session.get(Store, store.id).settings["signature"] == "{agent_name}\nThe {store_name} team"
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert page.evaluate(SMALL_TARGETS) == []
        assert page.js_errors == []
    finally:
        context.close()


def test_the_reply_box_of_an_email_ticket_shows_the_signature_it_will_add(live_server, chromium):
    store = make_store("Linen Lane", signature="{agent_name}\nThe {store_name} team")
    agent = make_agent(name="Sam Carter")
    email, _ = receive_customer_message(store, make_contact(store, email="ira@example.test", name="Ira"), "email",
                                        "Can I exchange the sneakers?", subject="Exchange")
    chat, _ = receive_customer_message(store, make_contact(store, name="Olek"), "chat", "Is the red set in stock?")
    context, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{email.ticket_id}"] .row-open').click()
        conv = page.locator(f"#conv-{email.ticket_id}")
        hint = conv.locator(".signature-hint")
        expect(hint).to_have_text("Signature: Sam Carter · The Linen Lane team", timeout=TIMEOUT)
        # Read with the reply box by a screen reader.
        reply = conv.get_by_label("Your reply")
        assert reply.get_attribute("aria-describedby") == hint.get_attribute("id")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        box = hint.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] <= 24  # one small line
        screenshot(page, "composer-signature-390.png")
        # A note is never emailed: no signature.
        conv.locator('[data-field="note"]').check()
        expect(hint).to_be_hidden()
        assert reply.get_attribute("aria-describedby") is None
        conv.locator('[data-field="note"]').uncheck()
        expect(hint).to_be_visible()
        assert serious_violations(page) == []

        # Changed elsewhere (another tab, the API): the open reply box follows, no reload.
        set_signature(db.session.get(Agent, agent.id), "Sam\nLinen Lane support")
        expect(hint).to_have_text("Signature: Sam · Linen Lane support", timeout=TIMEOUT)
        set_signature(db.session.get(Agent, agent.id), "")
        expect(hint).to_have_text("Signature: Sam Carter · The Linen Lane team", timeout=TIMEOUT)
        update_store_settings(db.session.get(Store, store.id), signature="Linen Lane, Kyiv")
        expect(hint).to_have_text("Signature: Linen Lane, Kyiv", timeout=TIMEOUT)
        update_store_settings(db.session.get(Store, store.id), signature="")
        expect(hint).to_be_hidden(timeout=TIMEOUT)
        update_store_settings(db.session.get(Store, store.id), signature="{agent_name} at {store_name}")
        expect(hint).to_have_text("Signature: Sam Carter at Linen Lane", timeout=TIMEOUT)
        # Renamed on another device: the top bar and the signature's {agent_name} follow.
        update_profile(db.session.get(Agent, agent.id), name="Samantha Carter")
        expect(hint).to_have_text("Signature: Samantha Carter at Linen Lane", timeout=TIMEOUT)
        expect(page.locator(".topbar .me")).to_have_text("Samantha Carter")

        # A live chat's reply is not emailed either.
        conv.locator('[data-act="back"]').click()
        page.locator(f'.ticket-row[data-ticket-id="{chat.ticket_id}"] .row-open').click()
        chat_conv = page.locator(f"#conv-{chat.ticket_id}")
        chat_conv.locator(".tl-msg.in").wait_for(timeout=TIMEOUT)
        expect(chat_conv.locator(".signature-hint")).to_be_hidden()
        assert page.js_errors == []
    finally:
        context.close()
