"""A shopper's widget still connected while an admin erases them through the API, with real
Socket.IO clients against the live server: the open socket is ended by the server once the
erasure commits, the old token resumes nothing, a new chat starts a fresh contact, and a
message racing the erasure never gives the erased customer words again -- written before the
erasure takes the contact, it is erased with the rest; after, it is refused."""
import threading
import time
import uuid

import pytest
import requests
import socketio
from sqlalchemy import select

from helpdesk import events
from helpdesk.actions.agents import set_availability
from helpdesk.extensions import db
from helpdesk.models import Contact, Message, Ticket, Visitor
from helpdesk.models.people import ERASED
from tests.factories import make_agent, make_store, make_token
from tests.realtime import visitor_client, visitor_session

#: Words only the shopper writes: wherever they are found afterwards, erasure leaked.
LATE = "quorbly late words"


def cid():
    return uuid.uuid4().hex


@pytest.fixture
def chat(live_server):
    """Zed chatting in the widget (a contact with an email, an open chat ticket), and an
    admin's API token."""
    store = make_store("Zinc & Zebra")
    set_availability(make_agent(name="Lena Consultant"), "available")
    token = make_token(make_agent(name="Ada Admin", role="admin"))
    session = visitor_session(live_server, store)
    shopper = visitor_client(live_server, session["token"])
    ack = shopper.call("message", {"client_id": cid(), "body": "My zorblax teapot is cracked",
                                   "prechat": {"name": "Zed Zorn", "email": "zed@example.test"}})
    assert ack["ok"], ack
    contact_id = db.session.scalar(select(Contact.id).where(Contact.email == "zed@example.test"))
    yield store, token, session, shopper, contact_id, ack["message"]["ticket_id"]
    shopper.disconnect()


def erase(live_server, token, contact_id):
    return requests.post(f"{live_server}/api/v1/contacts/{contact_id}/erase", json={"confirm": True},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def the_erased_hold_nothing(contact_id, ticket_id):
    """Nothing of what the shopper wrote is on the placeholder or its conversation."""
    db.session.expire_all()
    placeholder = db.session.get(Contact, contact_id)
    assert placeholder.erasure is not None and placeholder.email is None
    texts = db.session.scalars(select(Message.body_text).where(
        (Message.ticket_id == ticket_id) | (Message.author_contact_id == contact_id))).all()
    assert texts and set(texts) <= {ERASED, ""}, texts
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.last_message_preview in (ERASED, "") and ticket.subject in (ERASED, "")
    late = db.session.execute(select(Message.ticket_id, Message.author_contact_id).where(
        Message.body_text.contains("quorbly"))).all()
    assert all(ticket_id not in row and contact_id not in row for row in late), late


def test_the_open_widget_is_ended_and_the_old_token_resumes_nothing(live_server, chat, sent_events):
    store, token, session, shopper, contact_id, ticket_id = chat
    uid = session["visitor"]

    assert erase(live_server, token, contact_id).status_code == 200

    # The server ends the socket after the commit; the client did not ask.
    assert shopper.wait_for("disconnect") == socketio.Client.reason.SERVER_DISCONNECT
    assert {"event": "disconnect", "room": f"visitor:{uid}", "namespace": "/widget", "payload": None} in sent_events
    with pytest.raises(socketio.exceptions.BadNamespaceError):
        shopper.call("message", {"client_id": cid(), "body": LATE})
    # The old token opens nothing any more: the socket is refused, the session starts anew.
    again = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(live_server, namespaces=["/widget"], auth={"token": session["token"]},
                      transports=["websocket"], wait_timeout=5)
    fresh = visitor_session(live_server, store, token=session["token"])
    assert fresh["visitor"] != uid and fresh["messages"] == [] and fresh["ticket"] is None and fresh["contact"] is None
    assert db.session.scalar(select(Visitor.id).where(Visitor.uid == uid)) is None

    # A new chat from the same person, same address: a fresh contact and conversation.
    shopper2 = visitor_client(live_server, fresh["token"])
    try:
        ack = shopper2.call("message", {"client_id": cid(), "body": LATE,
                                        "prechat": {"name": "Zed Zorn", "email": "zed@example.test"}})
        assert ack["ok"], ack
        assert ack["message"]["ticket_id"] != ticket_id and ack["message"]["author"]["id"] != contact_id
        assert [m["body_text"] for m in shopper2.call("resume", {"last_id": 0})["messages"]] == [LATE]
    finally:
        shopper2.disconnect()
    db.session.expire_all()
    newcomer = db.session.scalar(select(Contact).where(Contact.email == "zed@example.test"))
    assert newcomer.id != contact_id and newcomer.erasure is None
    the_erased_hold_nothing(contact_id, ticket_id)


def test_a_message_sent_while_the_erasure_runs_is_refused(live_server, chat, monkeypatch, sent_events):
    """The message's handler reads the visitor and contact before the erasure commits and
    writes after: it must not land on the placeholder's conversation."""
    store, token, session, shopper, contact_id, ticket_id = chat
    erasing, go_on = threading.Event(), threading.Event()
    contact_erased = events.contact_erased

    def held_before_commit(*args, **kwargs):  # the erasure has written everything; not committed
        contact_erased(*args, **kwargs)
        erasing.set()
        go_on.wait(10)

    monkeypatch.setattr(events, "contact_erased", held_before_commit)
    done = {}
    eraser = threading.Thread(target=lambda: done.setdefault("response", erase(live_server, token, contact_id)))
    eraser.start()
    try:
        assert erasing.wait(10)
        acks = []
        shopper.client.emit("message", {"client_id": cid(), "body": LATE}, namespace="/widget",
                            callback=acks.append)
        time.sleep(0.5)  # the handler has read the visitor; its write waits for the erasure
    finally:
        go_on.set()
        eraser.join(30)
    assert done["response"].status_code == 200
    assert shopper.wait_for("disconnect") == socketio.Client.reason.SERVER_DISCONNECT
    time.sleep(0.3)
    # Refused (when the answer got out before the socket was ended) or never answered; never stored.
    assert all(not a["ok"] and a["error"]["status"] == 401 for a in acks), acks
    the_erased_hold_nothing(contact_id, ticket_id)
    assert not [e for e in sent_events if e["event"] == "message.created"
                and LATE in (e["payload"]["message"].get("body_text") or "")]


def test_a_message_committed_just_before_the_erasure_is_erased_with_the_rest(live_server, chat, monkeypatch):
    """The message's transaction has written it when the erasure starts: the erasure waits
    for it (the contact's lock) and then erases it too."""
    store, token, session, shopper, contact_id, ticket_id = chat
    written, go_on = threading.Event(), threading.Event()
    message_created = events.message_created

    def held_before_commit(message, *args, **kwargs):  # the message is written; not committed
        message_created(message, *args, **kwargs)
        if message.body_text == LATE:
            written.set()
            go_on.wait(10)

    monkeypatch.setattr(events, "message_created", held_before_commit)
    result = {}
    sender = threading.Thread(target=lambda: result.setdefault("ack", shopper.call(
        "message", {"client_id": cid(), "body": LATE}, timeout=20)))
    sender.start()
    assert written.wait(10)
    done = {}
    eraser = threading.Thread(target=lambda: done.setdefault("response", erase(live_server, token, contact_id)))
    eraser.start()
    time.sleep(0.5)  # the erasure waits for the message's transaction
    go_on.set()
    sender.join(30)
    eraser.join(30)

    assert result["ack"]["ok"] and result["ack"]["message"]["ticket_id"] == ticket_id
    assert done["response"].status_code == 200
    db.session.expire_all()
    assert db.session.get(Message, result["ack"]["message"]["id"]).body_text == ERASED
    the_erased_hold_nothing(contact_id, ticket_id)
