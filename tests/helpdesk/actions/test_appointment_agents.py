"""Who hosts a visit: an agent who loses a store (or their account) leaves their visits still
to come there unassigned, with the shopper told nothing; a colleague takes one over (the clash
rule applies, the first one wins); visits that have ended keep their agent. Data left from
before (migration 0022) gets the same state."""
import importlib.util
import os
from datetime import datetime, time, timedelta, timezone

import pytest
from flask import current_app
from sqlalchemy import func, select

from helpdesk.actions import Conflict, NotFound
from helpdesk.actions.agents import set_access, set_active, set_role
from helpdesk.actions.appointments import (
    assign_appointment,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
    unassigned_for,
    upcoming_for,
)
from helpdesk.extensions import db
from helpdesk.models import Appointment, Message, OutboxItem, utcnow
from tests.factories import make_agent, make_contact, make_location, make_ticket, make_visitor
from tests.helpdesk.actions.test_appointments import _next


def _visit(store, agent, weekday=1, at=time(15, 0), email=None):
    contact = make_contact(store, email=email, name="Dana")
    ticket = make_ticket(store, contact, visitor=make_visitor(store, contact))
    return book_appointment(ticket, agent, location=make_location(store), starts_at=_next(weekday, at))


def _ended(appointment):
    """A visit that took place yesterday (booking in the past is refused, so it is set here)."""
    appointment.starts_at = utcnow() - timedelta(days=1)
    appointment.ends_at = appointment.starts_at + timedelta(minutes=30)
    db.session.commit()
    return appointment


def reload(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def counts():
    return (db.session.scalar(select(func.count()).select_from(OutboxItem)),
            db.session.scalar(select(func.count()).select_from(Message).where(Message.kind == "message")))


def test_losing_a_store_leaves_its_visits_to_come_unassigned_and_tells_the_shopper_nothing(shops, admin,
                                                                                          sent_events):
    alpha, beta = shops
    sam = make_agent("Sam")
    colleague = make_agent("Cole", stores=[beta])
    only_alpha = make_agent("Otto", stores=[alpha])
    kept = _visit(alpha, sam)
    lost = _visit(beta, sam, weekday=2)
    past = _ended(_visit(beta, sam, weekday=3))
    cancelled = cancel_appointment(_visit(beta, sam, weekday=4), sam)
    sequence, uid = lost.sequence, lost.uid
    before = counts()
    sent_events.clear()

    set_access(sam, all_stores=False, stores=[alpha], by=admin)

    lost = reload(lost)
    assert (lost.agent_id, lost.status, lost.sequence, lost.uid) == (None, "booked", sequence, uid)
    assert lost.unassigned
    assert reload(kept).agent_id == sam.id                 # a store Sam still works at
    assert reload(past).agent_id == sam.id                 # history: who received the shopper
    assert reload(cancelled).agent_id == sam.id
    # Nothing the shopper was promised changed: no email, no chat message.
    assert counts() == before
    assert not [e for e in sent_events if e["room"].startswith("visitor:")]
    # The conversation's timeline says what happened, for the agents.
    event = db.session.scalars(select(Message).where(Message.ticket_id == lost.ticket_id)
                               .order_by(Message.id.desc())).first()
    assert (event.kind, event.meta["event"], event.meta["previous_agent_id"]) == (
        "event", "appointment_unassigned", sam.id)
    assert event.body_text.startswith("Sam no longer works at this store: the visit at Downtown on ")
    assert event.body_text.endswith("needs another agent. The customer's visit stays booked.")
    # Sam's list drops it; the store's agents (and admins) see it waiting; other stores' do not.
    assert [a.id for a in upcoming_for(sam, days=30)] == [kept.id]
    assert [a.id for a in unassigned_for(colleague)] == [lost.id]
    assert [a.id for a in unassigned_for(admin)] == [lost.id]
    assert unassigned_for(only_alpha) == []
    # Live: the store's agents and the open conversation hear of it; Sam, who no longer sees
    # the store, does not.
    rooms = sorted(e["room"] for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == sorted([f"store:{beta.id}:agents", f"ticket:{lost.ticket_id}"])
    (update,) = {e["payload"]["change"]: e for e in sent_events if e["event"] == "appointment.updated"}.values()
    assert update["payload"]["change"] == "unassigned" and update["payload"]["appointment"]["agent"] is None


def test_deactivation_and_demotion_unassign_every_visit_to_come(shops, admin):
    alpha, beta = shops
    lea, ada = make_agent("Lea"), make_agent("Ada Two", role="admin", stores=[alpha])
    visits = [_visit(alpha, lea), _visit(beta, lea, weekday=2)]
    ada_visits = [_visit(alpha, ada, weekday=3), _visit(beta, ada, weekday=4)]

    set_active(lea, False, by=admin)
    set_role(ada, "agent", by=admin)  # an admin saw every store; as an agent only Alpha

    assert [reload(v).agent_id for v in visits] == [None, None]
    assert [reload(v).agent_id for v in ada_visits] == [ada.id, None]
    assert upcoming_for(reload(lea), days=30) == []
    # Reactivated, Lea gets nothing back by herself: a colleague may have taken them over.
    set_active(reload(lea), True, by=admin)
    assert [reload(v).agent_id for v in visits] == [None, None]


def test_a_colleague_takes_it_over_under_the_clash_rule_and_the_first_wins(shops, admin, sent_events):
    alpha, beta = shops
    sam, max_, bea = make_agent("Sam"), make_agent("Max", stores=[beta]), make_agent("Bea", stores=[beta])
    visit = _visit(beta, sam, at=time(15, 0))
    busy = _visit(beta, max_, at=time(15, 15))  # Max is with another shopper then
    set_access(sam, all_stores=False, stores=[alpha], by=admin)
    visit = reload(visit)
    before = counts()

    with pytest.raises(Conflict) as clash:
        assign_appointment(visit, bea, agent=max_)
    assert clash.value.message == "Max already has a visit at that time."
    with pytest.raises(NotFound):  # Sam no longer works at Beta
        assign_appointment(visit, bea, agent=reload(sam))
    with pytest.raises(NotFound):
        assign_appointment(visit, make_agent("Outsider", stores=[alpha]))
    assert reload(visit).agent_id is None

    sent_events.clear()
    taken = assign_appointment(reload(visit), bea)
    assert (taken.agent_id, taken.sequence, taken.status) == (bea.id, visit.sequence, "booked")
    assert counts() == before  # the shopper's booking is unchanged: nothing sent to them
    assert [a.id for a in upcoming_for(bea, days=30)] == [visit.id]
    assert unassigned_for(bea) == []
    event = db.session.scalars(select(Message).where(Message.ticket_id == visit.ticket_id)
                               .order_by(Message.id.desc())).first()
    assert (event.meta["event"], event.meta["agent_id"]) == ("appointment_assigned", bea.id)
    assert event.body_text.startswith("Bea took over the visit at Downtown on ")
    rooms = sorted((e["event"], e["room"]) for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == sorted([("appointment.updated", f"store:{beta.id}:agents"),
                            ("appointment.updated", f"ticket:{visit.ticket_id}")])
    assert not [e for e in sent_events if e["room"].startswith("visitor:")]

    # Max, a moment later (or from a stale page): Bea has it.
    with pytest.raises(Conflict) as late:
        assign_appointment(visit, max_)
    assert late.value.message == "Bea is the agent of this visit already."
    # Handing it on from Bea is a move (it tells the shopper), not a take-over.
    assert reload(visit).agent_id == bea.id
    assert reload(busy).agent_id == max_.id


def test_an_admin_gives_it_to_a_colleague_but_not_a_cancelled_or_ended_one(shops, admin):
    alpha, beta = shops
    sam, max_ = make_agent("Sam"), make_agent("Max", stores=[beta])
    visit, other, old = _visit(beta, sam), _visit(beta, sam, weekday=2), _visit(beta, sam, weekday=3)
    set_active(sam, False, by=admin)

    given = assign_appointment(reload(visit), admin, agent=max_)
    assert given.agent_id == max_.id
    event = db.session.scalars(select(Message).where(Message.ticket_id == visit.ticket_id)
                               .order_by(Message.id.desc())).first()
    assert event.body_text.startswith("Ada Admin gave the visit at Downtown on ") and event.body_text.endswith(
        " to Max.")
    cancel_appointment(reload(other), admin)
    with pytest.raises(Conflict):
        assign_appointment(reload(other), admin, agent=max_)
    _ended(reload(old))
    with pytest.raises(Conflict) as over:
        assign_appointment(reload(old), admin, agent=max_)
    assert over.value.message == "This visit is over."


def test_an_unassigned_visit_moved_or_cancelled_still_reaches_its_shopper(shops, admin):
    alpha, beta = shops
    sam = make_agent("Sam")
    visit = _visit(beta, sam, email="dana@example.test")
    set_active(sam, False, by=admin)

    moved = reschedule_appointment(reload(visit), admin, starts_at=_next(2, time(11, 0)))
    # Moving it does not make whoever moved it its agent: it waits for someone to take it.
    assert (moved.agent_id, moved.sequence) == (None, 1)
    shopper = db.session.scalars(select(Message).where(Message.ticket_id == visit.ticket_id,
                                                       Message.kind == "message").order_by(Message.id.desc())).first()
    assert shopper.body_text.startswith("Your visit to Downtown is now on ")
    assert shopper.body_text.endswith("(Paris time).") and " with " not in shopper.body_text
    assert shopper.meta["appointment"]["agent"] is None
    item = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    assert item.payload["to"] == "dana@example.test" and item.payload["calendar"]["method"] == "REQUEST"
    assert item.payload["subject"].startswith("Updated invitation: Visit to Downtown with Beta, ")
    assert "SEQUENCE:1" in item.payload["calendar"]["ics"]

    # Moving it to a named agent gives it one (and tells the shopper who).
    max_ = make_agent("Max", stores=[beta])
    moved = reschedule_appointment(reload(visit), admin, starts_at=_next(2, time(12, 0)), agent=max_)
    assert moved.agent_id == max_.id and unassigned_for(admin) == []

    cancelled = cancel_appointment(reload(visit), admin)
    assert cancelled.status == "cancelled" and cancelled.agent_id == max_.id
    last = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    assert last.payload["calendar"]["method"] == "CANCEL" and last.payload["to"] == "dana@example.test"


def test_migration_0022_unassigns_visits_left_with_agents_who_had_gone(shops, admin):
    """Before this change, deactivating an agent or taking a store away left their visits on
    them. The data migration gives those the state a change of access gives now."""
    alpha, beta = shops
    gone, moved_on, everywhere, boss = (make_agent("Gone"), make_agent("Moved On"), make_agent("All"),
                                        make_agent("Boss", role="admin", stores=[alpha]))
    cases = {
        "inactive": _visit(beta, gone), "inactive_ended": _ended(_visit(beta, gone, weekday=2)),
        "lost_store": _visit(beta, moved_on, weekday=3), "kept_store": _visit(alpha, moved_on, weekday=4),
        "all_stores": _visit(beta, everywhere, weekday=4), "admin": _visit(beta, boss, weekday=5),
        "cancelled": cancel_appointment(_visit(beta, gone, weekday=6), gone),
    }
    # What the old actions did: the flags changed, the visits stayed.
    gone.active = False
    moved_on.all_stores, moved_on.stores = False, [alpha]
    db.session.commit()

    path = os.path.join(os.path.dirname(current_app.root_path), "helpdesk", "migrations", "versions",
                        "0022_appointments_unassign.py")
    spec = importlib.util.spec_from_file_location("migration_0022", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.down_revision == "0021_messages_author_contact"
    assert len(migration.revision) <= 32  # alembic_version.version_num is a VARCHAR(32)
    changed = migration.unassign_departed(db.session.connection(), datetime.now(timezone.utc))
    db.session.commit()

    assert changed == 2
    agents = {name: reload(visit).agent_id for name, visit in cases.items()}
    assert agents == {"inactive": None, "inactive_ended": gone.id, "lost_store": None,
                      "kept_store": moved_on.id, "all_stores": everywhere.id, "admin": boss.id,
                      "cancelled": gone.id}
    assert [a.id for a in unassigned_for(admin)] == [cases["inactive"].id, cases["lost_store"].id]


def test_colleagues_taking_it_over_at_the_same_moment_one_wins(app, shops, admin):
    """Four colleagues click "Take it over" at once: one becomes its agent, the others are
    told who did; the timeline says it once. (PostgreSQL: the others' UPDATE waits on the
    row lock, then matches no row; SQLite: their write waits for the first COMMIT.)"""
    import threading

    from helpdesk.models import Agent

    alpha, beta = shops
    sam = make_agent("Sam")
    visit = _visit(beta, sam)
    set_active(sam, False, by=admin)
    takers = [make_agent(f"Taker {n}", stores=[beta]).id for n in range(4)]
    visit_id = visit.id
    db.session.commit()
    barrier, won, refused, errors = threading.Barrier(4), [], [], []

    def take(agent_id):
        with app.app_context():
            try:
                appointment, agent = db.session.get(Appointment, visit_id), db.session.get(Agent, agent_id)
                barrier.wait()
                assign_appointment(appointment, agent)
                won.append(agent_id)
            except Conflict as exc:
                refused.append(exc.message)
            except Exception as exc:  # noqa: BLE001 -- reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take, args=(agent_id,)) for agent_id in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and len(won) == 1 and len(refused) == 3
    winner = db.session.get(Agent, won[0])
    assert set(refused) == {f"{winner.name} is the agent of this visit already."}
    assert reload(visit).agent_id == winner.id
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == visit.ticket_id, Message.kind == "event")
        .where(Message.body_text.like("% took over the visit %"))) == 1
