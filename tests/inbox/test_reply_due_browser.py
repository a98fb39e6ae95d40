"""Reply targets in real Chromium on a phone (390 px): queue rows say when a reply is due, in
words and colour ("Overdue by 1 h 5 min" in red, amber when a quarter of the target is left),
count down in the page without asking the server, sort by the reply due soonest, and the
Overdue view lists what is overdue; the open conversation says it too."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import receive_customer_message
from tests.browser import PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser


def written(monkeypatch, store, name, channel, minutes_ago):
    """A ticket whose customer wrote ``minutes_ago``; its due time counts from then."""
    monkeypatch.setattr("helpdesk.actions.messages.utcnow",
                        lambda: datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))
    message, _ = receive_customer_message(store, make_contact(store, email=f"{name.lower()}@example.test", name=name),
                                          channel, f"Hello, it is {name}.")
    monkeypatch.undo()
    return message.ticket


def test_a_phone_shows_overdue_and_soon_due_replies_and_counts_down(live_server, chromium, monkeypatch):
    store = make_store("Linen Lane", reply_target_chat_first_minutes=2, reply_target_email_first_minutes=60)
    overdue = written(monkeypatch, store, "Ira", "chat", 67)  # due 65 minutes ago
    soon = written(monkeypatch, store, "Ben", "email", 50)  # due in 10 minutes: under a quarter of an hour left
    later = written(monkeypatch, store, "Ola", "email", 0)  # due in an hour
    agent = make_agent(name="Sam Carter", stores=[store])
    context, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        row = lambda ticket: page.locator(f'.ticket-row[data-ticket-id="{ticket.id}"]')  # noqa: E731
        late_mark = row(overdue).locator("time.reply-due")
        expect(late_mark).to_have_text("Overdue by 1 h 5 min", timeout=TIMEOUT)
        expect(late_mark).to_have_class(re.compile(r"\bdue-over\b"))
        moment = datetime.fromisoformat(late_mark.get_attribute("datetime"))
        assert abs(moment - overdue.reply_due_at) < timedelta(seconds=1)
        soon_mark = row(soon).locator("time.reply-due")
        expect(soon_mark).to_have_text(re.compile(r"^Reply due in (9|10) min$"))
        expect(soon_mark).to_have_class(re.compile(r"\bdue-soon\b"))
        later_mark = row(later).locator("time.reply-due")
        expect(later_mark).to_have_text(re.compile(r"^Reply due in (59 min|1 h)$"))
        expect(later_mark).not_to_have_class(re.compile(r"due-(soon|over)"))
        box = late_mark.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert serious_violations(page) == []

        # Reply due soonest: the most overdue first.
        page.get_by_label("Order").select_option("due")
        expect(page.locator(".ticket-row")).to_have_count(3, timeout=TIMEOUT)
        page.wait_for_function(
            "ids => [...document.querySelectorAll('.ticket-row')].map(r => Number(r.dataset.ticketId)).join() === ids",
            arg=",".join(str(t.id) for t in (overdue, soon, later)), timeout=TIMEOUT)

        # The countdown runs in the page: past Ben's due time the mark turns red, with no request.
        asked = []
        page.on("request", lambda request: asked.append(request.url) if "/api/" in request.url else None)
        page.clock.set_fixed_time(soon.reply_due_at + timedelta(seconds=30))
        expect(soon_mark).to_have_text("Overdue by 1 min", timeout=20_000)
        expect(soon_mark).to_have_class(re.compile(r"\bdue-over\b"))
        assert asked == []
        page.clock.set_fixed_time(datetime.now(timezone.utc))  # back to now

        # The Overdue view (behind the views button on a phone) and its count.
        page.locator("#toggle-views").click()
        overdue_view = page.locator("#views").get_by_role("button", name=re.compile("Overdue"))
        expect(overdue_view.locator(".view-total")).to_have_text("1", timeout=TIMEOUT)
        expect(overdue_view.locator(".view-total")).to_have_class(re.compile(r"\blate\b"))
        overdue_view.click()
        page.locator("#queue-title", has_text="Overdue").wait_for(timeout=TIMEOUT)
        expect(page.locator(".ticket-row")).to_have_count(1, timeout=TIMEOUT)
        expect(row(overdue).locator("time.reply-due")).to_have_text("Overdue by 1 h 5 min")
        screenshot(page, "reply-due-overdue-390.png")
        # The conversation says it too, under the customer's name.
        row(overdue).locator(".row-open").click()
        conv = page.locator(f"#conv-{overdue.id}")
        expect(conv.locator(".conv-due time.reply-due")).to_have_text("Overdue by 1 h 5 min", timeout=TIMEOUT)
        screenshot(page, "reply-due-conversation-390.png")
        assert page.js_errors == []
        # The report of replies in time reads on a phone too.
        page.goto(f"{live_server}/inbox/reports/reply-times")
        expect(page.get_by_role("heading", name="Reply times", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert serious_violations(page) == []
    finally:
        context.close()


def test_the_overdue_view_gains_a_ticket_whose_reply_falls_due_while_it_is_shown(live_server, chromium, monkeypatch):
    # Nothing happens on the server when a due time passes (no event): the open Overdue view
    # and its count must notice by themselves.
    store = make_store("Linen Lane", reply_target_chat_first_minutes=1)
    waiting = written(monkeypatch, store, "Ira", "chat", 0.8)  # due in about 12 seconds
    agent = make_agent(name="Sam Carter", stores=[store])
    context, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        page.locator("#toggle-views").click()
        overdue_view = page.locator("#views").get_by_role("button", name=re.compile("Overdue"))
        expect(overdue_view.locator(".view-total")).to_have_text("0", timeout=TIMEOUT)
        overdue_view.click()
        page.locator("#queue-title", has_text="Overdue").wait_for(timeout=TIMEOUT)
        expect(page.locator(".ticket-row")).to_have_count(0, timeout=TIMEOUT)
        # The queue's clock ticks every 30 s: within two ticks of the due time it is listed.
        row = page.locator(f'.ticket-row[data-ticket-id="{waiting.id}"]')
        expect(row).to_have_count(1, timeout=75_000)
        expect(row.locator("time.reply-due")).to_have_class(re.compile(r"\bdue-over\b"))
        expect(page.locator('#views [data-total="overdue"]')).to_have_text("1")
        assert page.js_errors == []
    finally:
        context.close()
