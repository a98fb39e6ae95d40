"""Collision detection in the queue, with real Socket.IO clients on /inbox: the store's agents
hear who is viewing or replying to one of its tickets (``ticket.colleague``), so its queue row
can say so; an agent of another store and a shopper never do. ``replying`` is throttled per
agent and ticket; leaving, closing the inbox and the page's re-announcement (``still_here``)
reach the same agents."""
import time

import pytest

from helpdesk import events
from helpdesk.actions.messages import receive_customer_message
from tests.factories import make_agent, make_contact, make_store, make_ticket
from tests.helpdesk.test_practice_tickets import practising
from tests.realtime import agent_client, visitor_client, visitor_session


def _marks(client, count=1, timeout=5, settle=0.3):
    """The ``ticket.colleague`` events that arrive, as ``(ticket_id, agent name, state)``: at
    least ``count`` (or what came within ``timeout``), and whatever else follows in ``settle``."""
    seen = []

    def take():
        seen.extend((d["ticket_id"], d["agent"]["name"], d["state"]) for e, d in client.received()
                    if e == "ticket.colleague")

    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        take()
        time.sleep(0.05)
    time.sleep(settle)
    take()
    return seen


@pytest.fixture(autouse=True)
def _no_earlier_replies(monkeypatch):
    """Ids start again in each test: one test's last replying must not throttle the next's."""
    monkeypatch.setattr(events, "_replying_marked", {})


@pytest.fixture
def linen():
    store = make_store("Linen Lane")
    message, _ = receive_customer_message(store, make_contact(store, email="ira@example.test", name="Ira"),
                                          "email", "Can I exchange the sneakers?", subject="Exchange")
    return store, message.ticket_id


def test_only_the_stores_agents_see_who_is_viewing_and_replying(live_server, linen, sent_events):
    store, ticket_id = linen
    token = visitor_session(live_server, store)["token"]
    shopper = visitor_client(live_server, token)
    assert shopper.call("message", {"client_id": "m1", "body": "Hi, is the red set in stock?"})["ok"]
    sam = agent_client(live_server, make_agent(name="Sam", stores=[store]))
    ben = agent_client(live_server, make_agent(name="Ben", stores=[store]))
    other_store = make_store("Elsewhere")
    otto = agent_client(live_server, make_agent(name="Otto", stores=[other_store]))
    try:
        # Ben has no conversation open: his queue hears of Sam's, Sam's own socket does not.
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "viewing")]
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "replying")]
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": False})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "viewing")]
        # The page says it again while it lasts; only from a socket with it open.
        assert sam.call("still_here", {"ticket_id": ticket_id, "state": "viewing"})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "viewing")]
        refused = ben.call("still_here", {"ticket_id": ticket_id, "state": "viewing"})
        assert refused["ok"] is False and refused["error"]["field"] == "ticket_id"
        refused = sam.call("still_here", {"ticket_id": ticket_id, "state": "left"})
        assert refused["ok"] is False and refused["error"]["field"] == "state"

        assert [e for e, _d in sam.received() if e == "ticket.colleague"] == []
        assert [e for e, _d in otto.received() if e == "ticket.colleague"] == []
        assert [e for e, _d in shopper.received() if e in ("ticket.colleague", "colleague")] == []
        # Decided in one place: every mark went to the store's agents' room only.
        rooms = {(e["room"], e["namespace"]) for e in sent_events if e["event"] == "ticket.colleague"}
        assert rooms == {(events.store_room(store.id), events.INBOX_NS)}
    finally:
        for client in (sam, ben, otto, shopper):
            client.disconnect()


def test_replying_reaches_the_store_at_most_once_per_window(live_server, linen, monkeypatch):
    monkeypatch.setattr(events, "REPLYING_MARK_SECONDS", 1.5)
    store, ticket_id = linen
    sam = agent_client(live_server, make_agent(name="Sam", stores=[store]))
    ben = agent_client(live_server, make_agent(name="Ben", stores=[store]))
    ada = agent_client(live_server, make_agent(name="Ada", stores=[store]))
    try:
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        assert ada.call("open", {"ticket_id": ticket_id})["ok"]
        _marks(ben, 2)
        _marks(ada)
        # A burst of starts and stops (and re-announcements): one replying, every stop told.
        for typing in (True, False, True, False, True):
            assert sam.call("typing", {"ticket_id": ticket_id, "typing": typing})["ok"]
        assert sam.call("still_here", {"ticket_id": ticket_id, "state": "replying"})["ok"]
        sams = [state for _t, name, state in _marks(ben, 3) if name == "Sam"]
        assert sams == ["replying", "viewing", "viewing"]
        # The conversation's own line is not throttled: Ada, with it open, follows every change.
        states = [(d["agent"]["name"], d["state"]) for e, d in ada.received() if e == "colleague"]
        assert states == [("Sam", s) for s in ("replying", "viewing", "replying", "viewing", "replying")]

        # Per agent and ticket: Ada's own first reply goes out at once.
        assert ada.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert _marks(ben) == [(ticket_id, "Ada", "replying")]
        # After the window, Sam's re-announcement brings his replying back.
        time.sleep(1.6)
        assert sam.call("still_here", {"ticket_id": ticket_id, "state": "replying"})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "replying")]
    finally:
        for client in (sam, ben, ada):
            client.disconnect()


def test_closing_the_conversation_or_the_inbox_clears_the_mark(live_server, linen):
    store, ticket_id = linen
    sam = agent_client(live_server, make_agent(name="Sam", stores=[store]))
    ben = agent_client(live_server, make_agent(name="Ben", stores=[store]))
    try:
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert _marks(ben, 2) == [(ticket_id, "Sam", "viewing"), (ticket_id, "Sam", "replying")]
        assert sam.call("close", {"ticket_id": ticket_id})["ok"]
        assert _marks(ben) == [(ticket_id, "Sam", "left")]
        # Back in it, a reply is news at once (leaving ended the throttle's window).
        assert sam.call("open", {"ticket_id": ticket_id})["ok"]
        assert sam.call("typing", {"ticket_id": ticket_id, "typing": True})["ok"]
        assert _marks(ben, 2) == [(ticket_id, "Sam", "viewing"), (ticket_id, "Sam", "replying")]
        # The tab goes (the page says goodbye on pagehide): the mark goes with it.
        sam.client.disconnect()
        assert _marks(ben, timeout=10) == [(ticket_id, "Sam", "left")]
    finally:
        for client in (sam, ben):
            client.disconnect()


def test_a_practice_chat_is_in_no_colleagues_queue(sent_events):
    trainee, practice = practising("Tia Trainee")
    real = make_ticket(practice.store, make_contact(practice.store, name="Ira"), "chat", "Hi")
    for ticket in (practice, real):
        events.colleague(ticket, trainee, "joined")
    marks = [(e["room"], e["payload"]["ticket_id"]) for e in sent_events if e["event"] == "ticket.colleague"]
    assert marks == [(events.store_room(real.store_id), real.id)]
