"""What a returning shopper's widget shows and continues after an agent merged their chat
into another ticket (widgets.history): the whole conversation, and their next message there."""
import uuid

import pytest
from sqlalchemy import select

from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.actions.tickets import merge_tickets, open_ticket
from helpdesk.extensions import db
from helpdesk.models import Contact, Message, Ticket
from tests.factories import make_agent, make_contact, make_store
from tests.realtime import in_process_client


@pytest.fixture
def shop():
    return make_store("Linen & Co"), make_agent(name="Ann")


@pytest.fixture
def shopper(app, client, shop):
    """The shopper's widget on the in-process Socket.IO client: ``call(event, data)``."""
    from widgets.sockets import _recent

    store, _ann = shop
    token = client.post("/widget/api/session", json={"key": store.widget_key}).get_json()["token"]
    with in_process_client(app, "/widget", client, auth={"token": token}) as sc:
        def call(event, data):
            _recent.clear()
            return sc.emit(event, data, namespace="/widget", callback=True)

        call.received = lambda: sc.get_received("/widget")
        yield call


def email_ticket(store, contact, text):
    ticket = open_ticket(store, contact, "email", subject="Order 1001")
    receive_customer_message(store, contact, "email", text, ticket=ticket)
    return ticket


@pytest.mark.parametrize("same_contact", [True, False])
def test_a_shopper_whose_chat_was_merged_sees_the_whole_conversation_and_goes_on_there(shop, shopper, same_contact):
    store, ann = shop
    first = shopper("message", {"client_id": uuid.uuid4().hex, "body": "Where is order 1001?",
                                "prechat": {"name": "Dana", "email": "dana@example.test"}})
    chat = db.session.get(Ticket, first["message"]["ticket_id"])
    dana = db.session.scalar(select(Contact).where(Contact.email == "dana@example.test"))
    owner = dana if same_contact else make_contact(store, email="dana.w@work.example", name="Dana W.")
    email = email_ticket(store, owner, "I wrote about order 1001 this morning too.")
    reply(email, ann, "Looking into it now.")
    shopper.received()  # what the widget was sent so far

    merge_tickets(db.session.get(Ticket, chat.id), db.session.get(Ticket, email.id), by=ann)

    # A widget open at that moment follows the conversation to the target.
    assert [(p["name"], p["args"][0]) for p in shopper.received()] == [
        ("conversation.merged", {"ticket_id": chat.id, "into_ticket_id": email.id, "status": "open"})]
    # Back later: the history is the target's, in the order it was written, and it goes on there.
    again = shopper("resume", {"last_id": 0})
    assert again["ticket"] == {"id": email.id, "status": "open"}
    assert [m["body_text"] for m in again["messages"]] == [
        "Where is order 1001?", "I wrote about order 1001 this morning too.", "Looking into it now."]
    assert {m["ticket_id"] for m in again["messages"]} == {email.id}
    more = shopper("message", {"client_id": uuid.uuid4().hex, "body": "Thanks! Any tracking number?"})
    assert more["ok"] and more["message"]["ticket_id"] == email.id
    assert db.session.get(Message, more["message"]["id"]).author_contact_id == dana.id


def test_another_shoppers_tickets_stay_out_of_the_history(shop, shopper):
    """Only a ticket one of the visitor's own was merged into joins their history: another
    shopper's merge does not leak into it."""
    store, ann = shop
    shopper("message", {"client_id": uuid.uuid4().hex, "body": "Hello", "prechat": {"name": "Dana"}})
    eve = make_contact(store, email="eve@example.test", name="Eve")
    mine = email_ticket(store, eve, "Eve's first mail")
    merge_tickets(email_ticket(store, eve, "Eve's second mail"), mine, by=ann)
    assert [m["body_text"] for m in shopper("resume", {"last_id": 0})["messages"]] == ["Hello"]
