"""Quiet shoppers: a check-in prompt after N minutes, the chat ended after M, once each, with
time driven explicitly (``now`` passed to the sweep) and concurrent sweeps."""
import threading
from datetime import timedelta, timezone

import pytest

from helpdesk.actions.inactivity import SWEEP_BATCH, _quiet_chats as quiet_chats, sweep
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.actions.tickets import claim
from helpdesk.extensions import db
from helpdesk.models import ChatSilence, Message, MessageKind, Ticket, TicketStatus, utcnow
from tests.factories import make_agent, make_contact, make_store, make_visitor
from tests.sql import big_table_stats, query_plans, scans


@pytest.fixture
def store():
    return make_store(inactivity_checkin_minutes=5, inactivity_close_minutes=15)


def chat(store, agent):
    """A widget chat the agent claimed and answered; returns (ticket, the agent's answer time)."""
    contact = make_contact(store)
    visitor = make_visitor(store, contact)
    message, _ = receive_customer_message(store, contact, "chat", "Is this in stock?", visitor=visitor)
    ticket = message.ticket
    claim(ticket, agent)
    answer = reply(ticket, agent, "Let me check for you.")
    return ticket, answer.created_at


def inactivity_events(sent_events):
    return [(e["event"], e["room"]) for e in sent_events
            if e["event"] in ("chat.inactive", "rating.requested", "conversation.status")]


def test_the_agent_is_prompted_once_after_n_minutes_of_silence(store, sent_events):
    agent = make_agent(name="Ola")
    ticket, answered = chat(store, agent)
    sent_events.clear()

    assert sweep(now=answered + timedelta(minutes=4, seconds=59)) == {"prompted": 0, "ended": 0}
    assert sweep(now=answered + timedelta(minutes=5)) == {"prompted": 1, "ended": 0}
    assert inactivity_events(sent_events) == [("chat.inactive", f"agent:{agent.id}")]
    payload = sent_events[-1]["payload"]
    assert payload == {"ticket_id": ticket.id, "minutes": 5, "contact_name": "Dana Shopper"}
    # Stored: the next sweeps of the same silence do not prompt again.
    assert sweep(now=answered + timedelta(minutes=9)) == {"prompted": 0, "ended": 0}
    # A check-in from the agent does not restart the silence either.
    reply(ticket, agent, "Are you still there?")
    assert sweep(now=answered + timedelta(minutes=10)) == {"prompted": 0, "ended": 0}
    assert db.session.query(ChatSilence).count() == 1


def test_after_m_minutes_the_chat_ends_with_the_rating_prompt(store, sent_events):
    agent = make_agent(name="Ola")
    ticket, answered = chat(store, agent)
    visitor_uid = ticket.visitor.uid
    sweep(now=answered + timedelta(minutes=6))
    sent_events.clear()

    assert sweep(now=answered + timedelta(minutes=15)) == {"prompted": 0, "ended": 1}
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.RESOLVED
    assert inactivity_events(sent_events) == [
        ("conversation.status", f"visitor:{visitor_uid}"), ("rating.requested", f"visitor:{visitor_uid}")]
    events = [m.meta["event"] for m in db.session.query(Message).filter_by(ticket_id=ticket.id, kind=MessageKind.EVENT)
              .order_by(Message.id)]
    assert events[-2:] == ["ended_for_inactivity", "status_changed"]
    ended = db.session.query(Message).filter(Message.ticket_id == ticket.id).order_by(Message.id.desc()).all()[1]
    assert "15 minutes" in ended.body_text
    assert sweep(now=answered + timedelta(minutes=30)) == {"prompted": 0, "ended": 0}


def test_a_shopper_who_answers_starts_a_new_silence(store, sent_events):
    agent = make_agent(name="Ola")
    ticket, answered = chat(store, agent)
    sweep(now=answered + timedelta(minutes=5))
    receive_customer_message(store, ticket.contact, "chat", "Sorry, I was away.", ticket=ticket)
    assert sweep(now=answered + timedelta(minutes=20)) == {"prompted": 0, "ended": 0}  # the shopper's turn is over
    again = reply(ticket, agent, "No problem! It is in stock.")
    sent_events.clear()
    assert sweep(now=again.created_at + timedelta(minutes=5)) == {"prompted": 1, "ended": 0}
    assert inactivity_events(sent_events) == [("chat.inactive", f"agent:{agent.id}")]


def test_minutes_are_per_store_and_zero_turns_it_off(sent_events):
    agent = make_agent(name="Ola")
    off = make_store(inactivity_checkin_minutes=0, inactivity_close_minutes=0)
    quick = make_store(inactivity_checkin_minutes=1, inactivity_close_minutes=0)
    defaults = make_store()
    _, a = chat(off, agent)
    _, b = chat(quick, agent)
    _, c = chat(defaults, agent)
    latest = max(a, b, c)
    assert sweep(now=latest + timedelta(minutes=2)) == {"prompted": 1, "ended": 0}  # only the 1-minute store
    # Two hours on: the defaults (5 and 15) end that chat without a late prompt; the 1-minute
    # store's chat never ends (0) and was prompted already; the switched-off store never acts.
    assert sweep(now=latest + timedelta(hours=2)) == {"prompted": 0, "ended": 1}


def test_time_zones_and_naive_times_mean_the_same_instant(store):
    agent = make_agent(name="Ola")
    _, answered = chat(store, agent)
    tokyo = timezone(timedelta(hours=9))
    # 4 minutes later, written in another zone: not yet 5 minutes of silence.
    assert sweep(now=(answered + timedelta(minutes=4)).astimezone(tokyo)) == {"prompted": 0, "ended": 0}
    naive_utc = (answered + timedelta(minutes=5)).astimezone(timezone.utc).replace(tzinfo=None)
    assert sweep(now=naive_utc) == {"prompted": 1, "ended": 0}


def test_practice_email_and_unassigned_chats_are_left_alone(store):
    contact = make_contact(store)
    message, _ = receive_customer_message(store, contact, "email", "Where is my order?")
    agent = make_agent(name="Ola")
    reply(message.ticket, agent, "On its way.")  # an email ticket: no live conversation to end
    unassigned, _ = receive_customer_message(store, make_contact(store), "chat", "Hello?")
    assert sweep(now=utcnow() + timedelta(hours=1)) == {"prompted": 0, "ended": 0}


def test_the_sweep_finds_quiet_chats_through_open_tickets_not_every_message(store):
    """The sweep runs on every beat: it reaches each open chat's last message by ticket. A
    GROUP BY over messages made SQLite walk every message ever written (130 ms with 500,000)."""
    chat(store, make_agent(name="Ola"))
    with big_table_stats(), query_plans() as plans:
        quiet_chats(SWEEP_BATCH)
    assert plans or db.engine.dialect.name != "sqlite"
    assert not scans(plans, "messages", "tickets"), plans


def test_concurrent_sweeps_prompt_and_end_once(app, store, sent_events):
    agent = make_agent(name="Ola")
    ticket, answered = chat(store, agent)
    sent_events.clear()
    results, barrier = [], threading.Barrier(3)

    def run(now):
        with app.app_context():
            try:
                barrier.wait()
                results.append(sweep(now=now))
            finally:
                db.session.remove()

    for minutes in (6, 16):
        threads = [threading.Thread(target=run, args=(answered + timedelta(minutes=minutes),)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sum(r["prompted"] for r in results) == 1
    assert sum(r["ended"] for r in results) == 1
    assert [e["event"] for e in sent_events].count("chat.inactive") == 1
    assert [e["event"] for e in sent_events].count("rating.requested") == 1
