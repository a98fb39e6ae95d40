"""Merging a duplicate ticket into another: every relation that moves (and what stays), the
refusals, who may, the exact events and their recipients -- sent only once committed."""
from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.base import LineRecord, OrderRecord
from helpdesk.actions import ActionError, Conflict, NotFound, action
from helpdesk.actions.appointments import book_appointment
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import upsert_order
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.actions.tickets import assign, change_status, merge_tickets, open_ticket, set_tags, transfer
from helpdesk.extensions import db
from helpdesk.models import (
    AssistRequest,
    Attribution,
    ChatSilence,
    EmailHeader,
    Handoff,
    InboundEmail,
    Message,
    Ticket,
    utcnow,
)
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket, make_visitor
from tests.helpdesk.actions.test_appointments import _next


def by_event(sent, name):
    return [e for e in sent if e["event"] == name]


def duplicate(store, contact, channel="email", text="Where is order 1001?"):
    """A ticket of its own, even while the contact has one open on the channel: a duplicate."""
    ticket = open_ticket(store, contact, channel)
    receive_customer_message(store, contact, channel, text, ticket=ticket)
    return ticket


def rows(model, ticket):
    return db.session.scalars(select(model.id).where(model.ticket_id == ticket.id)).all()


@action
def put_order(store, contact, total="80.00"):
    record = OrderRecord(platform_id="o-1", number="#1001", currency="EUR", total=Decimal(total),
                         placed_at=utcnow() + timedelta(hours=1), email=contact.email,
                         lines=[LineRecord(title="Linen shirt", quantity=1, unit_price=Decimal(total),
                                           total=Decimal(total))])
    order = upsert_order(store, "generic", record)
    attribute_order(order)
    return order


@pytest.fixture
def store():
    return make_store("Linen & Co")


@pytest.fixture
def ann():
    return make_agent(name="Ann")


@pytest.fixture
def dana(store):
    return make_contact(store, email="dana@example.test", name="Dana")


def test_everything_on_the_duplicate_moves_to_the_target_in_the_order_it_was_written(store, ann, dana):
    bo = make_agent(name="Bo")
    visitor = make_visitor(store, dana)
    chat = make_ticket(store, dana, "chat", "Where is order 1001?", visitor=visitor)   # the duplicate
    email = make_ticket(store, dana, "email", "Order 1001 has not arrived")             # the target
    receive_customer_message(store, dana, "chat", "Hello? Still waiting.", visitor=visitor)
    answer = reply(chat, ann, "It left the warehouse yesterday.")
    add_note(chat, ann, "Carrier says Monday")
    transfer(chat, ann, to_agent=bo, note="VIP")
    set_tags(chat, ["shipping", "vip"])
    set_tags(email, ["shipping", "late"])
    appointment = book_appointment(chat, ann, location=make_location(store), starts_at=_next(1, time(15, 0)))
    put_order(store, dana)
    db.session.add_all([
        AssistRequest(ticket_id=chat.id, agent_id=ann.id, action="fix", input_text="Its on it's way"),
        ChatSilence(ticket_id=chat.id, message_id=answer.id, since=utcnow(), prompted_at=utcnow()),
        InboundEmail(store_id=store.id, source="raw", status="done", ticket_id=chat.id),
        EmailHeader(store_id=store.id, ticket_id=chat.id, direction="in", rfc_message_id="dana-1@example.test",
                    dedupe_key="d1"),
    ])
    db.session.commit()
    receive_customer_message(store, dana, "email", "Any news?", ticket=email)
    moved = {model: rows(model, chat) for model in (Message, EmailHeader, Handoff, AssistRequest, ChatSilence,
                                                  Attribution)}
    delivery = rows(InboundEmail, chat)
    assert all(moved.values()) and db.session.get(Attribution, moved[Attribution][0]).ticket_id == chat.id
    before = set(rows(Message, email))

    merged = merge_tickets(chat, email, by=ann)

    assert merged.id == email.id
    for model, ids in moved.items():
        assert set(ids) <= set(rows(model, email)), model.__name__
    assert db.session.get(type(appointment), appointment.id).ticket_id == email.id
    assert rows(InboundEmail, chat) == delivery  # the delivery log says where mail went when it came
    chat, email = db.session.get(Ticket, chat.id), db.session.get(Ticket, email.id)
    assert (chat.status, chat.merged_into_id, email.merged_into_id) == ("closed", email.id, None)
    assert chat.resolved_at is not None
    # What stays with the duplicate: its own event, its tags.
    assert [m.meta["event"] for m in chat.messages] == ["merged_into"]
    assert sorted(t.name for t in chat.tags) == ["shipping", "vip"]
    assert sorted(t.name for t in email.tags) == ["late", "shipping", "vip"]
    # The target keeps its contact and owner; it now shows the shopper's browser.
    assert (email.contact_id, email.assignee_id, email.visitor_id) == (dana.id, None, visitor.id)
    assert email.first_response_at == answer.created_at
    # One timeline, in the order it was written (ids grow with time), the merge last.
    timeline = email.messages.order_by(Message.id).all()
    assert {m.id for m in timeline} >= before | set(moved[Message])
    assert [m.created_at for m in timeline] == sorted(m.created_at for m in timeline)
    last = timeline[-1]
    assert (last.kind, last.author_agent_id, last.meta["event"], last.meta["merged_ticket_id"]) == (
        "event", ann.id, "merged", chat.id)
    assert last.body_text == f"#{chat.id} was merged into this ticket by Ann."
    assert chat.messages.one().body_text == f"Merged into #{email.id} by Ann."


def test_the_events_go_to_the_store_both_tickets_and_the_shopper_once_committed(store, ann, dana, sent_events):
    visitor = make_visitor(store, dana)
    chat = make_ticket(store, dana, "chat", "Where is order 1001?", visitor=visitor)
    email = make_ticket(store, dana, "email", "Order 1001 has not arrived")
    sent_events.clear()

    @action
    def merge_then_fail():
        merge_tickets(chat, email, by=ann)  # joins this transaction
        assert sent_events == []            # queued, not sent
        raise ActionError("changed my mind")

    with pytest.raises(ActionError):
        merge_then_fail()
    assert sent_events == []  # rolled back: nothing was sent, nothing changed
    assert db.session.get(Ticket, chat.id).merged_into_id is None

    merge_tickets(db.session.get(Ticket, chat.id), db.session.get(Ticket, email.id), by=ann)
    store_room = f"store:{store.id}:agents"
    updated = {(e["room"], e["payload"]["ticket"]["id"]): e["payload"] for e in by_event(sent_events, "ticket.updated")}
    assert updated[(store_room, chat.id)]["ticket"]["merged_into_id"] == email.id
    assert updated[(store_room, chat.id)]["changes"] == ["merged", "status"]
    assert "merged" in updated[(store_room, email.id)]["changes"]
    assert {(f"ticket:{chat.id}", chat.id), (f"ticket:{email.id}", email.id)} <= set(updated)
    merged = by_event(sent_events, "ticket.merged")
    assert {e["room"] for e in merged} == {store_room, f"ticket:{chat.id}", f"ticket:{email.id}"}
    assert merged[0]["payload"]["ticket_id"] == chat.id and merged[0]["payload"]["into_ticket_id"] == email.id
    # The shopper's widget follows the conversation; it is not told the chat ended.
    widget = [e for e in sent_events if e["namespace"] == "/widget"]
    assert [(e["event"], e["room"]) for e in widget] == [("conversation.merged", f"visitor:{visitor.uid}")]
    assert widget[0]["payload"] == {"ticket_id": chat.id, "into_ticket_id": email.id, "status": "open"}
    assert not by_event(sent_events, "rating.requested")
    # Each timeline's event reaches the agents; never the shopper (it is not a message).
    events = by_event(sent_events, "message.created")
    assert {e["payload"]["message"]["meta"]["event"] for e in events} == {"merged", "merged_into"}
    assert all(e["namespace"] == "/inbox" for e in events)


def test_any_two_contacts_of_the_store_merge_and_the_target_keeps_its_own(store, ann, dana):
    other = make_contact(store, email="dana.w@work.example", name="Dana W.")
    source, target = make_ticket(store, other, "email"), make_ticket(store, dana, "email")
    merge_tickets(source, target, by=ann)
    target = db.session.get(Ticket, target.id)
    assert target.contact_id == dana.id
    assert target.messages.filter(Message.author_contact_id == other.id).count() == 1


def test_an_open_duplicate_reopens_a_resolved_target_and_frees_its_agents_chat_place(store, ann, dana, sent_events):
    chat, email = make_ticket(store, dana, "chat"), make_ticket(store, dana, "email")
    assign(chat, ann, ann)
    change_status(email, "resolved", ann)
    sent_events.clear()
    merge_tickets(chat, email, by=ann)
    email = db.session.get(Ticket, email.id)
    assert email.status == "open" and email.resolved_at is None
    assert [m.meta["event"] for m in email.messages.filter(Message.kind == "event").order_by(Message.id)][-2:] == [
        "merged", "status_changed"]


def test_a_running_offer_of_the_duplicate_is_withdrawn(store, ann, dana, sent_events):
    from helpdesk.actions.agents import set_availability

    set_availability(ann, "available")
    chat = make_ticket(store, dana, "chat")
    assert chat.offered_agent_id == ann.id
    target = make_ticket(store, dana, "email")
    sent_events.clear()
    merge_tickets(db.session.get(Ticket, chat.id), target, by=ann)
    assert db.session.get(Ticket, chat.id).offered_agent_id is None
    withdrawn = by_event(sent_events, "offer.withdrawn")
    assert [(e["room"], e["payload"]["reason"]) for e in withdrawn] == [(f"agent:{ann.id}", "merged")]


def test_a_merged_ticket_stays_closed_its_conversation_goes_on_in_the_target(store, ann, dana):
    source, target = duplicate(store, dana), duplicate(store, dana)
    merge_tickets(source, target, by=ann)
    with pytest.raises(Conflict) as exc:
        change_status(db.session.get(Ticket, source.id), "open", ann)
    assert exc.value.field == "status" and f"#{target.id}" in exc.value.message
    with pytest.raises(Conflict):
        reply(db.session.get(Ticket, source.id), ann, "Hello?")
    assert db.session.get(Ticket, source.id).status == "closed"


def test_tickets_merged_into_the_duplicate_follow_it_no_chains(store, ann, dana):
    first, second, third = (duplicate(store, dana, "email", f"Mail {n}") for n in range(3))
    merge_tickets(first, second, by=ann)
    merge_tickets(db.session.get(Ticket, second.id), third, by=ann)
    assert db.session.get(Ticket, first.id).merged_into_id == third.id
    assert db.session.get(Ticket, second.id).merged_into_id == third.id


def test_a_client_id_both_tickets_used_stays_on_the_targets_message(store, ann, dana):
    other = make_contact(store)
    source, target = make_ticket(store, dana, "api"), make_ticket(store, other, "api")
    mine = reply(source, ann, "Hi", client_id="same-id")
    theirs = reply(target, ann, "Hi", client_id="same-id")
    merge_tickets(source, target, by=ann)
    assert db.session.get(Message, theirs.id).client_id == "same-id"
    moved = db.session.get(Message, mine.id)
    assert (moved.ticket_id, moved.client_id) == (target.id, None)


@pytest.mark.parametrize("case,error,status,field", [
    ("itself", ActionError, 422, "into_ticket_id"),
    ("other store", ActionError, 422, "into_ticket_id"),
    ("duplicate merged already", Conflict, 409, "ticket_id"),
    ("target merged", Conflict, 409, "into_ticket_id"),
    ("target closed", Conflict, 409, "into_ticket_id"),
    ("practice chat", ActionError, 422, "into_ticket_id"),
])
def test_refusals_name_the_field_and_change_nothing(store, ann, dana, sent_events, case, error, status, field):
    source, target = duplicate(store, dana), duplicate(store, dana)
    if case == "itself":
        target = source
    elif case == "other store":
        target = make_ticket(make_store())
    elif case == "duplicate merged already":
        merge_tickets(source, duplicate(store, dana), by=ann)
    elif case == "target merged":
        merge_tickets(target, duplicate(store, dana), by=ann)
    elif case == "target closed":
        change_status(target, "closed", ann)
    elif case == "practice chat":
        target.is_practice = True
        db.session.commit()
    source, target = db.session.get(Ticket, source.id), db.session.get(Ticket, target.id)
    state = (source.status, source.merged_into_id, source.messages.count(), target.messages.count())
    sent_events.clear()
    with pytest.raises(error) as exc:
        merge_tickets(source, target, by=ann)
    assert (exc.value.status, exc.value.field) == (status, field)
    source, target = db.session.get(Ticket, source.id), db.session.get(Ticket, target.id)
    assert (source.status, source.merged_into_id, source.messages.count(), target.messages.count()) == state
    assert sent_events == []


def test_an_agent_who_cannot_see_a_store_cannot_merge_its_tickets(store, dana):
    elsewhere = make_store()
    restricted = make_agent(stores=[elsewhere])
    source, target = duplicate(store, dana), duplicate(store, dana)
    with pytest.raises(NotFound) as exc:
        merge_tickets(source, target, by=restricted)
    assert exc.value.field == "ticket_id"
    mine = make_ticket(elsewhere)
    with pytest.raises(NotFound) as exc:
        merge_tickets(mine, target, by=restricted)
    assert exc.value.field == "into_ticket_id"  # not "another store": its existence stays unknown
    assert db.session.get(Ticket, mine.id).merged_into_id is None


def test_merging_back_into_a_ticket_a_colleague_just_merged_is_refused(store, ann, dana):
    """Ann merges A into B; Bo, who had both open, then merges B into A: the merge reads
    both rows again under its lock and finds A merged, so no two tickets point at each other."""
    bo = make_agent(name="Bo")
    a, b = duplicate(store, dana), duplicate(store, dana)
    bos_a, bos_b = db.session.get(Ticket, a.id), db.session.get(Ticket, b.id)
    merge_tickets(a, b, by=ann)
    with pytest.raises(Conflict) as exc:
        merge_tickets(bos_b, bos_a, by=bo)
    assert exc.value.field == "into_ticket_id" and f"#{b.id}" in exc.value.message
    assert db.session.get(Ticket, b.id).merged_into_id is None
    assert db.session.get(Ticket, a.id).merged_into_id == b.id
