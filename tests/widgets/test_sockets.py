"""The live-chat loop over real Socket.IO connections: commit-then-ack, idempotent resends,
replay after reconnect, token scoping, offline fallback, notes never reaching shoppers."""
import uuid

import pytest
import socketio

from helpdesk.actions.agents import set_availability
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from tests.factories import make_agent, make_store
from tests.realtime import agent_client, in_process_client, visitor_client, visitor_session


@pytest.fixture
def shop(live_server):
    store = make_store("Lingerie & Co")
    agent = make_agent(name="Lena Consultant")
    set_availability(agent, "available")
    return store, agent


def cid():
    return uuid.uuid4().hex


def test_visitor_message_reaches_agent_and_reply_reaches_visitor(live_server, shop):
    store, agent = shop
    session = visitor_session(live_server, store)
    assert session["store"]["online"] is True
    shopper = visitor_client(live_server, session["token"])
    lena = agent_client(live_server, agent)
    try:
        ack = shopper.call("message", {"client_id": cid(), "body": "Is size L in stock?",
                                       "prechat": {"name": "Ira", "email": "ira@example.test"}})
        assert ack["ok"] and ack["offline"] is False
        got = lena.wait_for("message.created", lambda d: d["message"]["id"] == ack["message"]["id"])
        ticket_id = got["message"]["ticket_id"]
        assert got["message"]["body_text"] == "Is size L in stock?"
        sent = lena.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "Yes, in black and red."})
        assert sent["ok"]
        seen = shopper.wait_for("message.created", lambda d: d["message"]["author_type"] == "agent")
        assert seen["message"]["body_text"] == "Yes, in black and red."
        assert seen["message"]["author"]["name"] == "Lena Consultant"
    finally:
        shopper.disconnect()
        lena.disconnect()


def test_resend_with_same_client_id_is_acknowledged_identically_and_stored_once(live_server, shop):
    store, _agent = shop
    token = visitor_session(live_server, store)["token"]
    shopper = visitor_client(live_server, token)
    try:
        payload = {"client_id": cid(), "body": "hello once"}
        first = shopper.call("message", payload)
        second = shopper.call("message", payload)
        assert first["message"] == second["message"] and second["duplicate"] is True
        assert db.session.query(Message).filter_by(body_text="hello once").count() == 1
    finally:
        shopper.disconnect()


def test_reconnecting_visitor_and_agent_get_what_they_missed(live_server, shop):
    store, agent = shop
    token = visitor_session(live_server, store)["token"]
    shopper = visitor_client(live_server, token)
    lena = agent_client(live_server, agent)
    first = shopper.call("message", {"client_id": cid(), "body": "first"})["message"]
    ticket_id = first["ticket_id"]
    lena.wait_for("message.created", lambda d: d["message"]["id"] == first["id"])
    # The shopper's connection drops; the agent answers twice meanwhile.
    shopper.disconnect()
    r1 = lena.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "answer one"})["message"]
    r2 = lena.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "answer two"})["message"]
    # The agent's connection drops; the shopper comes back and writes.
    lena.disconnect()
    shopper = visitor_client(live_server, token)
    missed = shopper.call("resume", {"last_id": first["id"]})["messages"]
    assert [m["id"] for m in missed] == [r1["id"], r2["id"]]
    later = shopper.call("message", {"client_id": cid(), "body": "thanks!"})["message"]
    lena = agent_client(live_server, agent)
    agent_missed = lena.call("resume", {"last_id": r2["id"]})["messages"]
    assert [m["id"] for m in agent_missed] == [later["id"]]
    shopper.disconnect()
    lena.disconnect()


def test_note_is_never_sent_to_the_shopper(live_server, shop):
    store, agent = shop
    token = visitor_session(live_server, store)["token"]
    shopper = visitor_client(live_server, token)
    lena = agent_client(live_server, agent)
    try:
        m = shopper.call("message", {"client_id": cid(), "body": "hi"})["message"]
        note = lena.call("send", {"ticket_id": m["ticket_id"], "client_id": cid(), "kind": "note",
                                  "body": "SECRET internal"})
        assert note["ok"] and note["message"]["kind"] == "note"
        marker = lena.call("send", {"ticket_id": m["ticket_id"], "client_id": cid(), "body": "public"})
        shopper.wait_for("message.created", lambda d: d["message"]["id"] == marker["message"]["id"])
        resumed = shopper.call("resume", {"last_id": 0})["messages"]
        assert "SECRET internal" not in str(resumed)
        while not shopper.inbox.empty():
            assert "SECRET" not in str(shopper.inbox.get_nowait())
    finally:
        shopper.disconnect()
        lena.disconnect()


def test_forged_or_foreign_tokens_are_refused(live_server, shop):
    store, _agent = shop
    other = make_store("Other shop")
    token = visitor_session(live_server, store)["token"]
    with pytest.raises(socketio.exceptions.ConnectionError):
        visitor_client(live_server, token[:-3] + "abc")
    # A token for one store does not open a session in another store.
    foreign = visitor_session(live_server, other, token=token)
    assert foreign["token"] != token and foreign["messages"] == []


def test_another_visitors_conversation_is_not_reachable(live_server, shop):
    store, _agent = shop
    a = visitor_client(live_server, visitor_session(live_server, store)["token"])
    b = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        m = a.call("message", {"client_id": cid(), "body": "private to a"})["message"]
        assert b.call("resume", {"last_id": 0})["messages"] == []
        refused = b.call("rate", {"ticket_id": m["ticket_id"], "rating": 5})
        assert refused["ok"] is False and refused["error"]["status"] == 404
    finally:
        a.disconnect()
        b.disconnect()


def test_offline_store_takes_the_message_into_the_queue(live_server):
    """Nobody of this store is available (an agent of another store with a visitor is: the
    availability check, read along with the visitor, must ask about the visitor's own store)."""
    night, day = make_store("Night shop"), make_store("Day shop")
    make_agent()  # exists but offline
    set_availability(make_agent(stores=[day]), "available")
    assert visitor_session(live_server, day)["store"]["online"] is True
    session = visitor_session(live_server, night)
    assert session["store"]["online"] is False
    shopper = visitor_client(live_server, session["token"])
    try:
        ack = shopper.call("message", {"client_id": cid(), "body": "Are you open tomorrow?",
                                       "prechat": {"email": "night@example.test"}})
        assert ack["ok"] and ack["offline"] is True
        again = shopper.call("message", {"client_id": cid(), "body": "Hello?"})
        assert again["ok"] and again["offline"] is True
        ticket = db.session.get(Ticket, ack["message"]["ticket_id"])
        assert ticket.offline and ticket.status == "open" and ticket.contact.email == "night@example.test"
    finally:
        shopper.disconnect()


def test_a_store_that_subscribes_mid_chat_gets_the_next_message_as_a_webhook(live_server, shop):
    """Whether the store has webhook subscribers is read with the visitor, per message: a
    subscription made between two messages receives the second one."""
    from helpdesk.actions.commerce import create_webhook_subscription
    from helpdesk.models import OutboxItem

    store, _agent = shop
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        first = shopper.call("message", {"client_id": cid(), "body": "before", "prechat": {"name": "Ira"}})
        assert first["ok"] and db.session.query(OutboxItem).filter_by(kind="webhook").count() == 0
        create_webhook_subscription(store, "http://127.0.0.1:9/hooks", ["message"])
        second = shopper.call("message", {"client_id": cid(), "body": "after"})
        assert second["ok"]
        sent = [item.payload for item in db.session.query(OutboxItem).filter_by(kind="webhook")]
        assert [(p["type"], p["data"]["message"]["body_text"]) for p in sent] == [("message.created", "after")]
    finally:
        shopper.disconnect()


def test_oversized_and_flooding_messages_get_clear_errors(live_server, shop, app):
    store, _agent = shop
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        too_long = shopper.call("message", {"client_id": cid(), "body": "x" * (app.config["MAX_MESSAGE_LENGTH"] + 1)})
        assert too_long["ok"] is False and too_long["error"]["field"] == "body"
        acks = [shopper.call("message", {"client_id": cid(), "body": f"m{i}"}) for i in range(25)]
        accepted = [a for a in acks if a["ok"]]
        limited = [a for a in acks if not a["ok"]]
        assert limited and limited[0]["error"]["status"] == 429
        stored = {m.body_text for m in db.session.query(Message).all()}
        assert {a["message"]["body_text"] for a in accepted} <= stored
    finally:
        shopper.disconnect()


def test_socket_events_get_a_request_context_without_a_routing_error(app):
    """Every Socket.IO event runs in a request context built from the connection's environ;
    its path must match a URL rule, or each event would raise and keep a NotFound (garbage
    cycles on the chat's hot path)."""
    for path in ("/socket.io/", "/socket.io"):
        with app.test_request_context(path, query_string={"EIO": "4", "transport": "websocket"}) as ctx:
            assert ctx.request.routing_exception is None
    with app.test_client() as client:
        assert client.get("/socket.io/").status_code != 500


def test_a_message_in_an_ongoing_chat_costs_three_statements(live_server, shop):
    """The chat hot path (bench/chat_latency.py): the visitor with contact, store and open
    chat ticket (with its tags), read along with whether an agent is available, whether the
    client_id was stored already and whether the store has webhook subscribers; the INSERT;
    the ticket's activity UPDATE. One more is a regression someone should look at."""
    from sqlalchemy import event

    store, agent = shop
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    lena = agent_client(live_server, agent)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    try:
        shopper.call("message", {"client_id": cid(), "body": "first", "prechat": {"name": "Ira"}})
        shopper.call("message", {"client_id": cid(), "body": "second"})
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            ack = shopper.call("message", {"client_id": cid(), "body": "third, still chatting"})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert ack["ok"] and not ack["duplicate"]
        lena.wait_for("message.created", lambda d: d["message"]["id"] == ack["message"]["id"])
    finally:
        shopper.disconnect()
        lena.disconnect()
    verbs = [s.split()[0] for s in statements]
    assert verbs.count("INSERT") == 1 and verbs.count("UPDATE") == 1, statements
    assert len(statements) <= 3, "\n".join(s[:100] for s in statements)
    stored = db.session.get(Message, ack["message"]["id"])
    ticket = db.session.get(Ticket, stored.ticket_id)
    assert stored.body_text == "third, still chatting"
    assert ticket.last_message_preview == "third, still chatting"
    assert ticket.last_customer_message_at == stored.created_at == ticket.last_activity_at


def test_each_shoppers_message_joins_their_own_chat_and_a_closed_one_is_not_continued(live_server, shop):
    """The open chat a message joins is looked up with the visitor (one statement): it must
    be this visitor's contact's latest continuable chat, never another shopper's."""
    from helpdesk.models import TicketStatus

    store, _agent = shop
    shoppers = [visitor_client(live_server, visitor_session(live_server, store)["token"]) for _ in range(2)]
    try:
        firsts = [s.call("message", {"client_id": cid(), "body": f"hello from shopper {i}",
                                     "prechat": {"name": f"Shopper {i}"}}) for i, s in enumerate(shoppers)]
        tickets = [db.session.get(Message, a["message"]["id"]).ticket_id for a in firsts]
        assert tickets[0] != tickets[1]
        for _round in range(2):
            for i, s in enumerate(reversed(shoppers)):
                ack = s.call("message", {"client_id": cid(), "body": f"more from shopper {1 - i}"})
                db.session.expire_all()
                assert db.session.get(Message, ack["message"]["id"]).ticket_id == tickets[1 - i]
        db.session.get(Ticket, tickets[0]).status = TicketStatus.CLOSED
        db.session.commit()
        ack = shoppers[0].call("message", {"client_id": cid(), "body": "back after it was closed"})
        db.session.expire_all()
        new_ticket = db.session.get(Message, ack["message"]["id"]).ticket_id
        assert new_ticket not in tickets
        ack = shoppers[1].call("message", {"client_id": cid(), "body": "still here"})
        assert db.session.get(Message, ack["message"]["id"]).ticket_id == tickets[1]
    finally:
        for s in shoppers:
            s.disconnect()


@pytest.fixture
def shopper_test_client(app, client):
    """A visitor on Flask-SocketIO's in-process test client: enough for input validation."""
    from widgets.sockets import _recent

    store = make_store("Fuzzed shop")
    token = client.post("/widget/api/session", json={"key": store.widget_key}).get_json()["token"]
    with in_process_client(app, "/widget", client, auth={"token": token}) as sc:
        def call(event, data):
            _recent.clear()  # no flood limit in the way of the probes
            return sc.emit(event, data, namespace="/widget", callback=True)

        yield call


@pytest.mark.parametrize("event, data", [
    ("message", {"client_id": "a", "body": "\ud800"}),
    ("message", {"client_id": "\udc00", "body": "hi"}),
    ("message", {"client_id": "b", "body": "hi", "prechat": {"name": "\ud800", "email": "i@example.test"}}),
    ("page", {"url": "https://shop.test/", "title": "\ud800"}),
    ("identify", {"customer_id": "\ud800", "signature": "x"}),
    ("attributes", {"attributes": {"\ud800": "x"}}),
])
def test_lone_surrogates_get_a_malformed_request_error(shopper_test_client, event, data):
    ack = shopper_test_client(event, data)
    assert ack["ok"] is False and ack["error"]["status"] == 400
    assert db.session.query(Message).count() == 0


@pytest.mark.parametrize("bad", [2**70, -1, True, 1.5])
def test_ids_out_of_the_databases_range_or_not_ints_get_clear_errors(shopper_test_client, bad):
    first = shopper_test_client("message", {"client_id": cid(), "body": "hello"})
    ticket_id = first["message"]["ticket_id"]
    ack = shopper_test_client("message", {"client_id": cid(), "body": "hi", "attachments": [bad]})
    assert ack["ok"] is False and ack["error"]["field"] == "attachments"
    ack = shopper_test_client("resume", {"last_id": bad})
    assert ack["ok"] is False and ack["error"]["field"] == "last_id"
    assert shopper_test_client("read", {"up_to_id": bad}) == {"ok": True, "read": 0}
    ack = shopper_test_client("rate", {"ticket_id": bad, "rating": 5})
    assert ack["ok"] is False and ack["error"]["status"] == 404
    ack = shopper_test_client("rate", {"ticket_id": ticket_id, "rating": 4, "reasons": bad})
    assert ack["ok"] is False and ack["error"]["field"] == "reasons"
    assert db.session.get(Ticket, ticket_id).rating is None


def test_a_rating_comment_that_is_not_text_is_refused(shopper_test_client):
    first = shopper_test_client("message", {"client_id": cid(), "body": "hello"})
    ticket_id = first["message"]["ticket_id"]
    ack = shopper_test_client("rate", {"ticket_id": ticket_id, "rating": 5, "comment": {"nested": [1]}})
    assert ack["ok"] is False and ack["error"]["field"] == "comment"
    assert db.session.get(Ticket, ticket_id).rating_comment in (None, "")


def test_a_non_ascii_identity_signature_is_refused_not_an_error(shopper_test_client):
    ack = shopper_test_client("identify", {"customer_id": "42", "signature": "é" * 64})
    assert ack["ok"] is False and ack["error"]["field"] == "signature" and ack["error"]["status"] == 403
