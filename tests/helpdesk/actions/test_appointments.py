"""Booking, moving and cancelling in-store visits: validation in the location's time zone
(past, opening hours, DST), the rows and invitations written, the events and their rooms."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from helpdesk.actions import ActionError, Conflict, NotFound
from helpdesk.actions.appointments import (
    book_appointment,
    cancel_appointment,
    create_location,
    reschedule_appointment,
    upcoming_for,
)
from helpdesk.extensions import db
from helpdesk.models import Appointment, Message, OutboxItem
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket, make_visitor

PARIS = ZoneInfo("Europe/Paris")


def _next(weekday, at=time(10, 0), weeks=1):
    """Naive wall-clock datetime on the next ``weekday`` (0 = Monday), at least a week away."""
    today = date.today()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return datetime.combine(today + timedelta(days=days), at)


def _spring_forward(tz=PARIS):
    """The next day (within a year) whose clocks jump forward in ``tz``, and the local hour skipped."""
    day = date.today() + timedelta(days=1)
    for _ in range(370):
        before = datetime.combine(day, time(0, 0), tz).utcoffset()
        after = datetime.combine(day, time(23, 0), tz).utcoffset()
        if after > before:
            return day
        day += timedelta(days=1)
    raise AssertionError("no DST change within a year")


@pytest.fixture
def setup():
    store = make_store("Linen & Co")
    agent = make_agent("Sam Carter", title="Stylist")
    contact = make_contact(store, email="dana@example.test", name="Dana")
    visitor = make_visitor(store, contact)
    ticket = make_ticket(store, contact, visitor=visitor)
    location = make_location(store)
    return store, agent, contact, visitor, ticket, location


def test_booking_writes_the_visit_the_timeline_and_the_invitation(setup, sent_events):
    store, agent, contact, visitor, ticket, location = setup
    sent_events.clear()
    appt = book_appointment(ticket, agent, location=location, starts_at=_next(1, time(15, 0)), notes="Wedding suit")

    local = _next(1, time(15, 0)).replace(tzinfo=PARIS)
    assert appt.starts_at == local.astimezone(timezone.utc)
    assert appt.ends_at - appt.starts_at == timedelta(minutes=30)
    assert (appt.status, appt.sequence, appt.agent_id, appt.created_by_id) == ("booked", 0, agent.id, agent.id)
    assert appt.uid.endswith("@helpdesk") and len(appt.uid) > 30

    messages = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)).all()
    event, shopper = messages[-2:]
    assert event.kind == "event" and event.meta["event"] == "appointment_booked"
    assert "Sam Carter booked a visit at Downtown" in event.body_text
    assert shopper.kind == "message" and shopper.author_agent_id == agent.id
    card = shopper.meta["appointment"]
    assert (card["change"], card["location"], card["agent"]) == ("booked", "Downtown",
                                                                 {"name": "Sam Carter", "title": "Stylist"})
    assert card["time"] == "3:00\u202fPM – 3:30\u202fPM" and card["timezone"] == "Paris"

    (item,) = db.session.scalars(select(OutboxItem)).all()
    assert item.subject_ref == f"appointment:{appt.id}" and item.payload["to"] == "dana@example.test"
    assert item.payload["calendar"]["method"] == "REQUEST" and f"UID:{appt.uid}" in item.payload["calendar"]["ics"]

    # Exact recipients: the event and the shopper's message to the agents (store + open
    # conversation), the shopper's message to their widget, the appointment to its agent.
    rooms = sorted((e["event"], e["room"]) for e in sent_events if e["event"] != "ticket.updated")
    assert rooms == sorted([
        ("message.created", f"store:{store.id}:agents"), ("message.created", f"ticket:{ticket.id}"),
        ("message.created", f"store:{store.id}:agents"), ("message.created", f"ticket:{ticket.id}"),
        ("message.created", f"visitor:{visitor.uid}"),
        ("appointment.updated", f"agent:{agent.id}"), ("appointment.updated", f"ticket:{ticket.id}"),
    ])
    (to_widget,) = [e for e in sent_events if e["room"].startswith("visitor:")]
    assert to_widget["payload"]["message"]["appointment"]["heading"] == "Visit booked"
    assert "meta" not in to_widget["payload"]["message"]  # internal bookkeeping never reaches the shopper
    # The internal notes are for agents: neither the widget nor the invitation carries them.
    assert "Wedding suit" not in str(to_widget["payload"]) and "Wedding suit" not in item.payload["calendar"]["ics"]


def test_the_shoppers_card_is_in_their_language(setup):
    store, agent, contact, visitor, ticket, location = setup
    contact.locale = "fr"
    db.session.commit()
    appt = book_appointment(ticket, agent, location=location, starts_at=_next(2, time(15, 0)))
    shopper = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())
                                 ).first()
    card = shopper.meta["appointment"]
    assert card["time"] == "15:00 – 15:30"
    assert card["date"].split()[0] in ("mercredi",)  # weekday 2 is a Wednesday
    assert appt.id == card["id"]


def test_a_time_in_the_past_is_refused_with_a_clear_message(setup):
    store, agent, contact, visitor, ticket, location = setup
    yesterday = datetime.now(PARIS).replace(tzinfo=None) - timedelta(days=1)
    with pytest.raises(ActionError) as exc:
        book_appointment(ticket, agent, location=location, starts_at=yesterday)
    assert exc.value.status == 422 and exc.value.field == "starts_at"
    assert exc.value.message == "That time is in the past. Choose a time from now on."
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def test_times_outside_opening_hours_are_refused(setup):
    store, agent, contact, visitor, ticket, location = setup
    shop = make_location(store, "Weekdays", hours={d: [["09:00", "12:30"], ["13:30", "18:00"]]
                                                   for d in ("mon", "tue", "wed", "thu", "fri")})
    with pytest.raises(ActionError) as closed_day:
        book_appointment(ticket, agent, location=shop, starts_at=_next(6, time(11, 0)))  # a Sunday
    assert closed_day.value.message == "Weekdays is closed on Sunday. Choose another day."
    # Starts inside, but a 30-minute visit would run past the lunch break.
    with pytest.raises(ActionError) as over_lunch:
        book_appointment(ticket, agent, location=shop, starts_at=_next(0, time(12, 15)))
    assert over_lunch.value.message == ("Weekdays is open 09:00–12:30, 13:30–18:00 on Monday (Europe/Paris time): "
                                        "a visit of 30 minutes must fit inside those hours.")
    with pytest.raises(ActionError):
        book_appointment(ticket, agent, location=shop, starts_at=_next(0, time(8, 59)))
    # The last slot that fits is accepted.
    appt = book_appointment(ticket, agent, location=shop, starts_at=_next(0, time(17, 30)))
    assert appt.ends_at.astimezone(PARIS).time() == time(18, 0)


def test_opening_hours_are_read_in_the_locations_zone_not_utc(setup):
    store, agent, contact, visitor, ticket, location = setup
    new_york = make_location(store, "Fifth Avenue", tz="America/New_York")
    day = _next(3).date()
    # 15:00 UTC is 10:00 or 11:00 in New York (open); 23:30 UTC is evening there (closed).
    ok = book_appointment(ticket, agent, location=new_york, starts_at=datetime.combine(day, time(15, 0), timezone.utc))
    assert ok.starts_at == datetime.combine(day, time(15, 0), timezone.utc)
    with pytest.raises(ActionError) as late:
        book_appointment(ticket, agent, location=new_york,
                         starts_at=datetime.combine(day, time(23, 30), timezone.utc))
    assert "America/New_York time" in late.value.message
    # The same wall-clock time given without a zone means New York time there.
    naive = book_appointment(ticket, make_agent(), location=new_york, starts_at=datetime.combine(day, time(17, 0)))
    assert naive.starts_at.astimezone(ZoneInfo("America/New_York")).time() == time(17, 0)


def test_dst_a_skipped_local_time_is_refused_and_offsets_follow_the_date(setup):
    store, agent, contact, visitor, ticket, location = setup
    night = make_location(store, "Night shop", hours={d: [["00:00", "23:30"]] for d in
                                                      ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    day = _spring_forward()
    with pytest.raises(ActionError) as gap:
        book_appointment(ticket, agent, location=night, starts_at=datetime.combine(day, time(2, 30)))
    assert gap.value.message == ("02:30 does not exist in Europe/Paris: the clocks change that night. "
                                 "Choose another time.")
    before = book_appointment(ticket, agent, location=night, starts_at=datetime.combine(day - timedelta(days=1),
                                                                                         time(10, 0)))
    after = book_appointment(ticket, agent, location=night, starts_at=datetime.combine(day + timedelta(days=1),
                                                                                        time(10, 0)))
    # Same wall-clock time, one hour less to UTC once summer time has begun.
    assert before.starts_at.time() == time(9, 0) and after.starts_at.time() == time(8, 0)
    ics = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()[-1].payload["calendar"]["ics"]
    assert f"DTSTART;TZID=Europe/Paris:{(day + timedelta(days=1)).strftime('%Y%m%d')}T100000" in ics
    assert "BEGIN:VTIMEZONE" in ics and "TZOFFSETTO:+0200" in ics


def test_rescheduling_keeps_the_uid_raises_the_sequence_and_tells_both_agents(setup, sent_events):
    store, agent, contact, visitor, ticket, location = setup
    appt = book_appointment(ticket, agent, location=location, starts_at=_next(1))
    uid = appt.uid
    other = make_agent("Max")
    sent_events.clear()
    moved = reschedule_appointment(appt, agent, starts_at=_next(2, time(11, 0)), agent=other)
    assert (moved.uid, moved.sequence, moved.agent_id) == (uid, 1, other.id)
    assert moved.starts_at.astimezone(PARIS).time() == time(11, 0)
    rooms = sorted(e["room"] for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == sorted([f"agent:{agent.id}", f"agent:{other.id}", f"ticket:{ticket.id}"])
    assert {e["payload"]["change"] for e in sent_events if e["event"] == "appointment.updated"} == {"rescheduled"}
    items = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert [i.payload["calendar"]["method"] for i in items] == ["REQUEST", "REQUEST"]
    assert "SEQUENCE:1" in items[1].payload["calendar"]["ics"] and f"UID:{uid}" in items[1].payload["calendar"]["ics"]
    assert items[1].payload["subject"].startswith("Updated invitation:")

    # Moving it into the past is refused like booking there, and changes nothing.
    with pytest.raises(ActionError):
        reschedule_appointment(moved, agent, starts_at=datetime.now(PARIS).replace(tzinfo=None) - timedelta(hours=2))
    db.session.expire_all()
    assert db.session.get(Appointment, appt.id).sequence == 1


def test_cancelling_sends_a_cancel_with_the_same_uid(setup, sent_events):
    store, agent, contact, visitor, ticket, location = setup
    appt = book_appointment(ticket, agent, location=location, starts_at=_next(4))
    sent_events.clear()
    cancelled = cancel_appointment(appt, agent, reason="Shopper asked")
    assert (cancelled.status, cancelled.sequence) == ("cancelled", 1) and cancelled.cancelled_at
    item = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    ics = item.payload["calendar"]["ics"]
    assert item.payload["calendar"]["method"] == "CANCEL"
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics and f"UID:{appt.uid}" in ics
    (widget,) = [e for e in sent_events if e["room"] == f"visitor:{visitor.uid}"]
    assert widget["payload"]["message"]["appointment"]["status"] == "cancelled"
    # A second cancel is a no-op, not a second email.
    cancel_appointment(cancelled, agent)
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 2
    with pytest.raises(Conflict):
        reschedule_appointment(cancelled, agent, starts_at=_next(5))
    assert upcoming_for(agent) == []


def test_an_agent_cannot_be_in_two_visits_at_once(setup):
    store, agent, contact, visitor, ticket, location = setup
    book_appointment(ticket, agent, location=location, starts_at=_next(1, time(10, 0)))
    with pytest.raises(Conflict) as exc:
        book_appointment(ticket, agent, location=location, starts_at=_next(1, time(10, 15)))
    assert exc.value.message == "Sam Carter already has a visit at that time."
    # Back to back is fine.
    book_appointment(ticket, agent, location=location, starts_at=_next(1, time(10, 30)))
    assert [a.starts_at.astimezone(PARIS).time() for a in upcoming_for(agent, days=30)] == [time(10, 0),
                                                                                             time(10, 30)]


def test_another_stores_location_or_agent_is_not_found(setup):
    store, agent, contact, visitor, ticket, location = setup
    elsewhere = make_location(make_store("Other"))
    with pytest.raises(NotFound):
        book_appointment(ticket, agent, location=elsewhere, starts_at=_next(1))
    outsider = make_agent("Outsider", stores=[make_store("Third")])
    with pytest.raises(NotFound):
        book_appointment(ticket, agent, location=location, starts_at=_next(1), agent=outsider)


def test_no_email_address_means_no_invitation_but_the_chat_still_hears(setup):
    store, agent, contact, visitor, ticket, location = setup
    anonymous = make_contact(store, name="Anon")
    anonymous.email = None  # a chat shopper who never gave an address
    db.session.commit()
    chat = make_ticket(store, anonymous, visitor=make_visitor(store, anonymous))
    book_appointment(chat, agent, location=location, starts_at=_next(1))
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == chat.id, Message.kind == "message", Message.author_type == "agent")) == 1


@pytest.mark.parametrize("settings, message", [
    ({"timezone": "Mars/Olympus"}, "Unknown time zone Mars/Olympus."),
    ({"opening_hours": {"mon": [["18:00", "09:00"]]}}, "Opening hours on mon must be HH:MM–HH:MM, "
                                                      "opening before closing."),
    ({"opening_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "Opening hours on mon overlap."),
    ({"opening_hours": {"someday": []}}, "Unknown weekday someday (use mon … sun)."),
    ({"appointment_minutes": 0}, "Visits last between 5 minutes and 8 hours."),
])
def test_location_settings_are_checked(settings, message):
    with pytest.raises(ActionError) as exc:
        create_location(make_store(), "Shop", **settings)
    assert exc.value.message == message


def test_the_demo_seed_has_a_bookable_location():
    from helpdesk.models import StoreLocation
    from helpdesk.seed import seed_demo

    store, admin, _ = seed_demo()
    seed_demo()  # idempotent: still one location
    (location,) = db.session.scalars(select(StoreLocation).where(StoreLocation.store_id == store.id)).all()
    assert location.timezone == "America/New_York" and location.opening_hours["sat"] == [["10:00", "16:00"]]
    appt = book_appointment(make_ticket(store), admin, location=location, starts_at=_next(5, time(10, 0)))
    assert appt.ends_at.astimezone(ZoneInfo("America/New_York")).time() == time(10, 30)
    with pytest.raises(ActionError):  # closed on Sundays
        book_appointment(make_ticket(store), admin, location=location, starts_at=_next(6, time(10, 0)))
