"""Collision detection in the queue, in real Chromium: on a phone (390 px) agent B's queue row
says, with an icon and words, that colleague A is viewing the ticket and then that A is
replying while A types in the conversation (a desktop page); the warning goes when A sends,
the mark when A's page is hidden or closed, and a mark nobody says again fades by itself."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store, make_ticket
from tests.inbox.test_browser import TIMEOUT, sign_in
from tests.realtime import agent_client

pytestmark = pytest.mark.browser

# Types a character into the reply box every 200 ms, as a person writing a long answer does
# (the page's idle timer, 3 s, never runs out), until window.stopTyping().
KEEP_TYPING = """box => {
    const text = 'Yes, you can exchange them within 30 days. ';
    let n = 0;
    const timer = setInterval(() => {
        box.value += text[n++ % text.length];
        box.dispatchEvent(new Event('input', { bubbles: true }));
    }, 200);
    window.stopTyping = () => clearInterval(timer);
}"""


def test_a_colleague_replying_shows_on_the_queue_row_until_they_send(live_server, chromium):
    store = make_store("Linen Lane")
    ticket_id = make_ticket(store, make_contact(store, name="Ira"), "chat", "Can I exchange the sneakers?").id
    ada = make_agent(name="Ada Stone", stores=[store])
    ctx_a, page_a = sign_in(chromium, live_server, ada, DESKTOP)
    ctx_b, page_b = sign_in(chromium, live_server, make_agent(name="Ben Ode", stores=[store]), PHONE)
    # B's own timers run on a clock the test can move (time flows as usual until then).
    page_b.clock.install()
    cal = None
    try:
        row = page_b.locator(f'.ticket-row[data-ticket-id="{ticket_id}"]')
        row.wait_for(timeout=TIMEOUT)
        mark = row.locator(".row-colleagues")
        expect(mark).to_be_hidden()

        # A opens the conversation: B's row says so.
        page_a.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
        conv = page_a.locator(f"#conv-{ticket_id}")
        conv.locator(".tl-msg.in").wait_for(timeout=TIMEOUT)
        expect(mark).to_have_text("Ada Stone is viewing", timeout=TIMEOUT)
        expect(mark).to_have_attribute("data-state", "viewing")

        # A writes a reply: B is warned, in words and with an icon (not by colour alone).
        box = conv.get_by_label("Your reply")
        box.focus()
        box.evaluate(KEEP_TYPING)
        expect(mark).to_have_text("Ada Stone is replying", timeout=TIMEOUT)
        expect(mark).to_have_class(re.compile(r"\breplying\b"))
        assert mark.locator(".row-colleagues-icon svg").count() == 1
        # The row's button is named by what it shows: a screen reader hears it too.
        assert "Ada Stone is replying" in row.locator(".row-open").inner_text()
        box_b = mark.bounding_box()
        assert box_b["x"] >= 0 and box_b["x"] + box_b["width"] <= PHONE["width"]
        screenshot(page_b, "queue-colleague-replying-390.png")
        assert serious_violations(page_b) == []

        # Still writing after longer than the idle time and the throttle's window: still replying.
        box.evaluate("box => new Promise(done => { const t = setInterval(() => { "
                     "if (box.value.length >= 25) { clearInterval(t); done(); } }, 100); })")
        expect(mark).to_have_text("Ada Stone is replying")

        # A sends: the warning goes at once (not after the 3 s idle time), A still has it open.
        page_a.evaluate("window.stopTyping()")
        conv.locator(".send-btn").click()
        expect(mark).to_have_text("Ada Stone is viewing", timeout=2000)
        expect(conv.locator(".tl-msg.out").last).to_contain_text("Yes, you can", timeout=TIMEOUT)

        # A's page is hidden (gone to another site; the browser may keep it for Back): it says
        # goodbye, and the mark goes at once, not when a ping timeout (40 s) notices.
        page_a.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }))")
        expect(mark).to_be_hidden(timeout=5000)
        # Back on it: connected again, the conversation open again, so A is viewing it again.
        page_a.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))")
        expect(mark).to_have_text("Ada Stone is viewing", timeout=TIMEOUT)
        # A's tab closes: the mark goes.
        assert page_a.js_errors == []
        page_a.close(run_before_unload=True)
        expect(mark).to_be_hidden(timeout=5000)

        # A colleague whose page stops saying it (crashed, offline): the mark fades on its own.
        cal = agent_client(live_server, make_agent(name="Cal Reed", stores=[store]))
        assert cal.call("open", {"ticket_id": ticket_id})["ok"]
        expect(mark).to_have_text("Cal Reed is viewing", timeout=TIMEOUT)
        page_b.clock.fast_forward("00:20")
        expect(mark).to_have_text("Cal Reed is viewing")
        page_b.clock.fast_forward("00:11")
        expect(mark).to_be_hidden(timeout=2000)
        assert page_b.js_errors == []
    finally:
        if cal is not None:
            cal.disconnect()
        ctx_a.close()
        ctx_b.close()
