"""Onboarding academy actions: steps, policy versions, the practice chat ticked off the real
actions, the scripted shopper, and the routing gate."""
import pytest

from helpdesk.actions import Conflict, Forbidden, NotFound
from helpdesk.actions.academy import (
    PRACTICE_SHORTCUT,
    accept_policies,
    complete_intro,
    may_take_chats,
    progress_of,
    progress_payload,
    save_policy,
    set_exempt,
    start_practice,
)
from helpdesk.actions.agents import set_availability
from helpdesk.actions.messages import reply
from helpdesk.actions.tickets import claim
from helpdesk.extensions import db
from helpdesk.models import AuthorType, Message, OutboxItem, PolicyAcceptance, SavedReply, Ticket
from tests.factories import make_agent, make_store, make_ticket


@pytest.fixture
def store():
    return make_store()


def progress_events(sent_events):
    return [(e["room"], e["payload"]["progress"]) for e in sent_events if e["event"] == "academy.progress"]


def offered_to(sent_events):
    return [e["room"] for e in sent_events if e["event"] == "chat.offered"]


def test_a_new_agent_is_not_routed_until_the_academy_is_done(store, admin, sent_events):
    newbie = make_agent(name="Nina New", academy=False)
    set_availability(newbie, "available")
    sent_events.clear()
    ticket = make_ticket(store)
    assert offered_to(sent_events) == []  # the only available agent is still in training
    with pytest.raises(Forbidden) as refused:
        claim(ticket, newbie)
    assert refused.value.status == 403 and refused.value.field == "academy"
    assert db.session.get(Ticket, ticket.id).assignee_id is None

    set_exempt(newbie, True, admin)
    assert progress_events(sent_events)[-1][0] == f"agent:{newbie.id}"
    sent_events.clear()
    second = make_ticket(store)
    assert offered_to(sent_events) == [f"agent:{newbie.id}"]
    assert claim(second, newbie).assignee_id == newbie.id


def test_editing_a_policy_text_makes_agents_accept_it_again(store, admin, sent_events):
    agent = make_agent(name="Pat")
    set_availability(agent, "available")
    policy = save_policy(admin, store, title="Privacy", body="Never share order details by chat.")
    assert policy.version == 1
    assert [(e["event"], e["room"]) for e in sent_events if e["event"] == "policy.updated"] == [
        ("policy.updated", f"store:{store.id}:agents")]
    assert not may_take_chats(agent, store.id)  # exempt from training, but the policy still applies
    sent_events.clear()
    make_ticket(store)
    assert offered_to(sent_events) == []

    accept_policies(agent, [policy.id], ip="203.0.113.9")
    row = db.session.query(PolicyAcceptance).one()
    assert (row.version, row.ip, row.accepted_at is not None) == (1, "203.0.113.9", True)
    assert may_take_chats(agent, store.id)

    # The same text again is not a new version; a changed text is.
    assert save_policy(admin, store, title="Privacy", body="Never share order details by chat.",
                       policy=policy).version == 1
    save_policy(admin, store, title="Privacy", body="Never share order or payment details.", policy=policy)
    assert policy.version == 2
    assert not may_take_chats(agent, store.id)
    other_store = make_store()
    assert may_take_chats(agent, other_store.id)  # only the store whose policy changed is gated
    accept_policies(agent, [policy.id])
    assert may_take_chats(agent, store.id)
    assert db.session.query(PolicyAcceptance).count() == 2  # both versions are on record


def test_only_admins_write_policies_and_agents_accept_only_their_stores(store, admin):
    agent = make_agent(name="Rae", stores=[store])
    with pytest.raises(Forbidden):
        save_policy(agent, store, title="T", body="B")
    elsewhere = save_policy(admin, make_store(), title="Other", body="Not Rae's store.")
    with pytest.raises(NotFound):
        accept_policies(agent, [elsewhere.id])


def test_practice_chat_steps_come_from_the_real_actions(store, admin, sent_events):
    save_policy(admin, store, title="Tone", body="Be kind.")
    newbie = make_agent(name="Nina New", academy=False)
    with pytest.raises(Conflict):
        start_practice(newbie)  # introduction and policies first
    complete_intro(newbie)
    accept_policies(newbie, [p["id"] for p in progress_payload(newbie)["pending_policies"]])
    progress = progress_of(newbie)
    assert progress.intro_done_at and progress.policies_done_at and progress.completed_at is None
    sent_events.clear()

    ticket = start_practice(newbie)
    assert ticket.is_practice and ticket.assignee_id is None and ticket.offered_agent_id is None
    assert start_practice(newbie).id == ticket.id  # a running practice chat is reused
    opening = db.session.query(Message).filter_by(ticket_id=ticket.id, author_type=AuthorType.CONTACT).all()
    assert len(opening) == 1
    assert offered_to(sent_events) == []  # nobody else is offered a practice chat
    # A practice chat reaches the trainee's own devices only: no store room (other agents'
    # queues), no visitor room, no webhooks.
    assert sorted({(e["event"], e["room"]) for e in sent_events}) == [
        ("academy.progress", f"agent:{newbie.id}"),
        ("message.created", f"agent:{newbie.id}"), ("message.created", f"ticket:{ticket.id}"),
        ("ticket.created", f"agent:{newbie.id}"),
        ("ticket.updated", f"agent:{newbie.id}"), ("ticket.updated", f"ticket:{ticket.id}")]
    assert db.session.query(OutboxItem).count() == 0

    sent_events.clear()
    claim(ticket, newbie)  # allowed before the academy is done: it is the practice
    assert [room for room, _ in progress_events(sent_events)] == [f"agent:{newbie.id}"]
    steps = progress_events(sent_events)[-1][1]["practice_steps"]
    assert steps["claimed"] and not steps["replied"]

    sent_events.clear()
    reply(ticket, newbie, "Hello Sam, happy to help!")
    steps = progress_of(newbie).practice_steps
    assert steps.get("replied") and not steps.get("saved_reply") and not steps.get("product_card")
    # The scripted shopper answered (a job after commit), through the normal action and events.
    shopper = db.session.query(Message).filter_by(ticket_id=ticket.id, author_type=AuthorType.CONTACT) \
        .order_by(Message.id).all()
    assert len(shopper) == 2
    assert [(e["event"], e["room"]) for e in sent_events if e["event"] == "message.created"] == [
        ("message.created", f"agent:{newbie.id}"), ("message.created", f"ticket:{ticket.id}"),
        ("message.created", f"agent:{newbie.id}"), ("message.created", f"ticket:{ticket.id}")]

    saved = db.session.query(SavedReply).filter_by(store_id=ticket.store_id, shortcut=PRACTICE_SHORTCUT).one()
    filled = saved.body.replace("{contact.first_name}", "Sam").replace("{agent.first_name}", "Nina")
    reply(ticket, newbie, filled)
    assert progress_of(newbie).practice_steps.get("saved_reply")
    assert progress_of(newbie).completed_at is None

    reply(ticket, newbie, "", meta={"product_card": {"title": "Merino sweater", "price": "89.00"}})
    progress = progress_of(newbie)
    assert progress.practice_steps.get("product_card") and progress.completed_at is not None
    assert progress_events(sent_events)[-1][1]["trained"] is True
    assert may_take_chats(newbie, store.id) is True
