"""A quiet shopper in real Chromium: the agent's conversation shows the check-in prompt, one
click sends the check-in to the shopper's widget, and the close sweep ends the chat with the
widget's rating prompt. Time is driven by passing ``now`` to the sweep (as
tests/helpdesk/actions/test_inactivity.py does), in the process that serves both pages."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.actions.agents import set_availability
from helpdesk.actions.inactivity import sweep
from helpdesk.extensions import db
from helpdesk.models import AuthorType, Message, MessageKind, Ticket
from helpdesk.seed import seed_demo
from tests.browser import DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser


def agent_answer_time(ticket_id):
    """When the agent's answer (the start of the shopper's silence) was stored."""
    db.session.expire_all()
    return db.session.scalar(select(Message.created_at).where(
        Message.ticket_id == ticket_id, Message.author_type == AuthorType.AGENT,
        Message.kind == MessageKind.MESSAGE).order_by(Message.id).limit(1))


def test_the_agent_checks_in_and_the_quiet_chat_ends_with_the_rating_prompt(live_server, chromium, sent_events):
    store, admin, _password = seed_demo(password=PASSWORD)  # 5 minutes to the prompt, 15 to the end
    set_availability(admin, "available")
    admin_id = admin.id

    shop_context = chromium.new_context(viewport=PHONE)
    agent_context, agent = sign_in(chromium, live_server, admin, DESKTOP)
    try:
        shop = shop_context.new_page()
        shop.set_default_timeout(TIMEOUT)
        shop_errors = []
        shop.on("pageerror", lambda exc: shop_errors.append(str(exc)))
        shop.goto(live_server + "/demo")
        shop.click("#hd-launcher")
        widget = shop.frame_locator("#hd-frame")
        widget.locator("#hd-text:enabled").wait_for()
        widget.locator("input[name=name]").fill("Ira Shopper")
        widget.locator("input[name=email]").fill("ira@example.test")
        widget.locator("#hd-text").fill("Is the linen shirt in stock?")
        widget.locator("#hd-send").click()
        widget.locator(".hd-me:not(.hd-pending)", has_text="linen shirt").wait_for()

        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.store_id == store.id)
                                      .order_by(Ticket.id.desc()).limit(1))
        agent.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
        conv = agent.locator(f"#conv-{ticket_id}")
        conv.locator(".tl-msg.in", has_text="linen shirt").wait_for(timeout=TIMEOUT)
        conv.locator('[data-act="claim"]').click()
        conv.locator("textarea").fill("Let me check the stock for you.")
        conv.locator("textarea").press("Enter")
        widget.locator(".hd-them", has_text="Let me check").wait_for()
        answered = agent_answer_time(ticket_id)
        sent_events.clear()

        # 4 minutes of silence: nothing yet. 5 minutes: the prompt, in the open conversation.
        assert sweep(now=answered + timedelta(minutes=4)) == {"prompted": 0, "ended": 0}
        assert sweep(now=answered + timedelta(minutes=5)) == {"prompted": 1, "ended": 0}
        prompt = conv.locator(".inactivity-prompt")
        expect(prompt).to_contain_text("The shopper has been quiet for 5 minutes", timeout=TIMEOUT)
        expect(prompt).to_have_attribute("role", "status")
        # To the agent's devices only (the shopper's read receipt may land meanwhile: not counted).
        assert [(e["event"], e["room"]) for e in sent_events if e["event"] == "chat.inactive"] == [
            ("chat.inactive", f"agent:{admin_id}")]
        screenshot(agent, "inactivity-prompt.png")

        # One click sends the check-in through the normal reply path; the widget shows it.
        prompt.get_by_role("button", name="Send a check-in").click()
        widget.locator(".hd-them", has_text="Are you still there?").wait_for()
        expect(prompt).to_have_count(0, timeout=TIMEOUT)
        conv.locator(".tl-msg.out", has_text="Are you still there?").wait_for(timeout=TIMEOUT)

        # The shopper stays quiet (the check-in does not restart the silence): at 15 minutes the
        # chat ends by itself and the widget asks for a rating.
        assert sweep(now=answered + timedelta(minutes=15)) == {"prompted": 0, "ended": 1}
        widget.locator("#hd-rate").wait_for()
        expect(widget.locator("#hd-rate")).to_be_visible()
        conv.locator(".tl-event", has_text="inactive for 15 minutes").wait_for(timeout=TIMEOUT)
        screenshot(shop, "inactivity-widget-rating.png")
        screenshot(agent, "inactivity-ended.png")
        db.session.expire_all()
        assert db.session.get(Ticket, ticket_id).status == "resolved"
        assert agent.js_errors == [] and shop_errors == []
    finally:
        shop_context.close()
        agent_context.close()
