"""Collision detection in real Chromium on a phone (390 px): the agent sees a colleague
arrive in the conversation, a warning while the colleague writes a reply, and the line go
when they leave; the page itself tells a newcomer what its agent is doing."""
import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import receive_customer_message
from tests.browser import PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in
from tests.realtime import agent_client

pytestmark = pytest.mark.browser


def test_an_agent_sees_a_colleague_in_the_conversation_and_is_warned_while_they_reply(live_server, chromium):
    store = make_store("Linen Lane")
    message, _ = receive_customer_message(store, make_contact(store, email="ira@example.test", name="Ira"),
                                          "email", "Can I exchange the sneakers?", subject="Exchange")
    ticket_id = message.ticket_id
    sam = make_agent(name="Sam Carter", stores=[store])
    context, page = sign_in(chromium, live_server, sam, PHONE)
    ben = None
    try:
        page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
        conv = page.locator(f"#conv-{ticket_id}")
        conv.locator(".tl-msg.in").wait_for(timeout=TIMEOUT)
        line = conv.locator(".colleagues")
        expect(line).to_be_hidden()

        ben = agent_client(live_server, make_agent(name="Ben Ode", stores=[store]))
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        expect(line).to_have_text("Also here: Ben Ode", timeout=TIMEOUT)
        # Sam's page answered Ben's arrival with what Sam is doing there.
        answer = ben.wait_for("colleague", lambda d: d["answer"])
        assert (answer["agent"]["name"], answer["state"]) == ("Sam Carter", "viewing")

        assert ben.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        expect(line).to_have_text("Ben Ode is writing a reply…", timeout=TIMEOUT)
        expect(line).to_have_class("colleagues replying")
        assert line.get_attribute("role") == "status"  # read out by a screen reader
        box = line.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        screenshot(page, "colleague-replying-390.png")
        assert serious_violations(page) == []

        # Sam types too: a colleague arriving now is told that Sam is replying.
        conv.get_by_label("Your reply").fill("Yes, within 30 days")
        ben.call("close", {"ticket_id": ticket_id})
        expect(line).to_be_hidden(timeout=TIMEOUT)
        ben.received()
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        answer = ben.wait_for("colleague", lambda d: d["answer"])
        assert (answer["agent"]["name"], answer["state"]) == ("Sam Carter", "replying")
        expect(line).to_have_text("Also here: Ben Ode", timeout=TIMEOUT)

        # Ben closes the inbox: the line goes.
        ben.client.disconnect()
        expect(line).to_be_hidden(timeout=15000)
        assert page.js_errors == []
    finally:
        if ben is not None:
            ben.disconnect()
        context.close()
