"""Collision detection on /inbox with real Socket.IO clients: agents with the same
conversation open see each other arrive and leave, and who is writing a reply; nobody
outside the conversation (another conversation, a shopper) hears of it."""
import time

from helpdesk.actions.messages import receive_customer_message
from tests.factories import make_agent, make_contact, make_store
from tests.realtime import agent_client, visitor_client, visitor_session


def _names(client, timeout=5):
    """Every ``colleague`` event that arrives within a short while, as (name, state, answer)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event, data in client.received():
            if event == "colleague":
                seen.append((data["agent"]["name"], data["state"], data["answer"]))
        if seen:
            time.sleep(0.3)  # what else arrives with it
            for event, data in client.received():
                if event == "colleague":
                    seen.append((data["agent"]["name"], data["state"], data["answer"]))
            return seen
        time.sleep(0.05)
    return seen


def test_agents_in_one_conversation_see_each_other_and_who_is_replying(live_server):
    store = make_store("Linen Lane")
    message, _ = receive_customer_message(store, make_contact(store, email="ira@example.test", name="Ira"),
                                          "email", "Can I exchange the sneakers?", subject="Exchange")
    other, _ = receive_customer_message(store, make_contact(store, email="ola@example.test", name="Ola"),
                                        "email", "Where is my parcel?", subject="Parcel")
    ticket_id = message.ticket_id
    sam = agent_client(live_server, make_agent(name="Sam", stores=[store]))
    ben = agent_client(live_server, make_agent(name="Ben", stores=[store]))
    elsewhere = agent_client(live_server, make_agent(name="Eve", stores=[store]))
    try:
        assert elsewhere.call("open", {"ticket_id": other.ticket_id})["ok"]
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        assert _names(sam, timeout=0.5) == []  # alone: nobody to tell, and not told of itself
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        # Sam sees Ben arrive; Sam's client answers with what Sam is doing, and Ben sees it.
        assert sam.wait_for("colleague")["agent"]["name"] == "Ben"
        assert [e for e, _d in ben.received() if e == "colleague"] == []
        assert sam.call("here", {"ticket_id": ticket_id, "state": "viewing"})["ok"]
        answer = ben.wait_for("colleague")
        assert (answer["agent"]["name"], answer["state"], answer["answer"]) == ("Sam", "viewing", True)
        assert answer["ticket_id"] == ticket_id

        # Sam starts a reply: Ben is warned; stops: back to viewing.
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert _names(ben) == [("Sam", "replying", False)]
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": False})["ok"]
        assert _names(ben) == [("Sam", "viewing", False)]

        # Ben closes the conversation, then Sam closes the inbox tab: each one's leaving is told.
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        assert _names(sam) == [("Ben", "joined", False)]
        assert ben.call("close", {"ticket_id": ticket_id})["ok"]
        assert _names(sam) == [("Ben", "left", False)]
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        _names(sam)
        sam.client.disconnect()  # the whole handshake, as a closing tab's browser does
        assert _names(ben, timeout=10) == [("Sam", "left", False)]
        # The agent in another conversation heard none of it.
        assert [e for e, _d in elsewhere.received() if e == "colleague"] == []
    finally:
        for client in (sam, ben, elsewhere):
            client.disconnect()


def test_a_shopper_never_hears_of_agents_and_here_needs_the_conversation_open(live_server):
    store = make_store("Linen Lane")
    token = visitor_session(live_server, store)["token"]
    shopper = visitor_client(live_server, token)
    ack = shopper.call("message", {"client_id": "m1", "body": "Hi, is the red set in stock?"})
    assert ack["ok"], ack
    ticket_id = ack["message"]["ticket_id"]
    sam = agent_client(live_server, make_agent(name="Sam", stores=[store]))
    ben = agent_client(live_server, make_agent(name="Ben", stores=[store]))
    try:
        # Not in the conversation's room: refused, nothing sent.
        refused = sam.call("here", {"ticket_id": ticket_id, "state": "viewing"})
        assert refused["ok"] is False and refused["error"]["field"] == "ticket_id"
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        for bad in ("left", "joined", "", None, 5):
            refused = sam.call("here", {"ticket_id": ticket_id, "state": bad})
            assert refused["ok"] is False and refused["error"]["field"] == "state", bad
        assert ben.call("open", {"ticket_id": ticket_id})["ok"]
        assert sam.wait_for("colleague")["agent"]["name"] == "Ben"
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert ben.wait_for("colleague")["state"] == "replying"
        # The shopper sees an agent typing, never who else has the chat open.
        shopper.wait_for("typing")
        assert [e for e, _d in shopper.received() if e == "colleague"] == []
    finally:
        for client in (sam, ben, shopper):
            client.disconnect()
