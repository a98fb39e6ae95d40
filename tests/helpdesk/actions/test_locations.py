"""Admins configure a store's locations: every setting is validated (zone, opening hours,
visit length, name and address lengths), only admins may change them, nothing is emitted,
and a deactivated location keeps its visits but refuses new ones with its name."""
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.actions import ActionError, Forbidden, NotFound
from helpdesk.actions.appointments import book_appointment, cancel_appointment, reschedule_appointment
from helpdesk.actions.locations import create_location, deactivate_location, update_location
from helpdesk.extensions import db
from helpdesk.models import Appointment, StoreLocation
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket

WEEKDAY_HOURS = {"mon": [["13:30", "18:00"], ["09:00", "12:30"]], "sat": [["10:00", "16:00"]], "sun": []}


def _next(weekday, at=time(10, 0)):
    today = date.today()
    return datetime.combine(today + timedelta(days=(weekday - today.weekday()) % 7 + 7), at)


def test_an_admin_creates_and_changes_a_location_and_nothing_is_emitted(admin, sent_events):
    store = make_store("Linen & Co")
    sent_events.clear()
    location = create_location(store, "  Flagship  ", by_admin=admin, address="12 Market Street",
                               timezone="America/New_York", opening_hours=WEEKDAY_HOURS, appointment_minutes=45)
    # Intervals come back sorted; the name is trimmed.
    assert (location.name, location.timezone, location.appointment_minutes) == ("Flagship", "America/New_York", 45)
    assert location.opening_hours["mon"] == [["09:00", "12:30"], ["13:30", "18:00"]] and location.active

    update_location(location, by_admin=admin, name="Flagship (Main St)", appointment_minutes=480,
                    opening_hours={"tue": [["09:00", "18:00"]]})
    db.session.expire_all()
    saved = db.session.get(StoreLocation, location.id)
    assert (saved.name, saved.appointment_minutes, saved.opening_hours) == (
        "Flagship (Main St)", 480, {"tue": [["09:00", "18:00"]]})
    # Configuration: the booking dialog reads locations when it opens, so no event.
    assert sent_events == []


@pytest.mark.parametrize("settings, field, message", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone Mars/Olympus."),
    ({"timezone": "../../etc/passwd"}, "timezone", "Unknown time zone ../../etc/passwd."),
    ({"timezone": "Europe/" + "x" * 80}, "timezone", "Unknown time zone Europe/" + "x" * 57 + "."),
    ({"opening_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "opening_hours",
     "Opening hours on mon overlap."),
    ({"opening_hours": {"wed": [["18:00", "09:00"]]}}, "opening_hours",
     "Opening hours on wed must be HH:MM–HH:MM, opening before closing."),
    ({"opening_hours": {"wed": [["09:00", "09:00"]]}}, "opening_hours",
     "Opening hours on wed must be HH:MM–HH:MM, opening before closing."),
    ({"opening_hours": {"thu": [["9:00", "18:00"]]}}, "opening_hours",
     "Opening hours on thu must be HH:MM–HH:MM, opening before closing."),
    ({"opening_hours": {"thu": [["09:00", "24:00"]]}}, "opening_hours",
     "Opening hours on thu must be HH:MM–HH:MM, opening before closing."),
    ({"opening_hours": {"fri": [["09:00", "10:00", "11:00"]]}}, "opening_hours",
     "Opening hours on fri must be HH:MM–HH:MM, opening before closing."),
    ({"opening_hours": {"fri": "09:00-18:00"}}, "opening_hours", "Give at most six opening intervals per day."),
    ({"opening_hours": {"fri": [["08:00", "08:30"]] * 7}}, "opening_hours",
     "Give at most six opening intervals per day."),
    ({"opening_hours": {"someday": []}}, "opening_hours", "Unknown weekday someday (use mon … sun)."),
    ({"opening_hours": [["09:00", "18:00"]]}, "opening_hours",
     "Opening hours must map weekdays to lists of intervals."),
    ({"appointment_minutes": 4}, "appointment_minutes", "Visits last between 5 minutes and 8 hours."),
    ({"appointment_minutes": 481}, "appointment_minutes", "Visits last between 5 minutes and 8 hours."),
    ({"appointment_minutes": True}, "appointment_minutes", "Visits last between 5 minutes and 8 hours."),
    ({"name": "   "}, "name", "Name the location."),
    ({"name": "x" * 121}, "name", "Use at most 120 characters."),
    ({"address": "x" * 1001}, "address", "Use at most 1000 characters."),
])
def test_every_setting_is_checked_and_names_its_field(admin, settings, field, message):
    store = make_store()
    with pytest.raises(ActionError) as exc:
        create_location(store, settings.pop("name", "Shop"), by_admin=admin, **settings)
    assert (exc.value.field, exc.value.message, exc.value.status) == (field, message, 422)
    assert db.session.scalar(select(func.count()).select_from(StoreLocation)) == 0


def test_touching_intervals_and_the_limits_are_accepted(admin):
    location = create_location(make_store(), "x" * 120, by_admin=admin, address="a" * 1000,
                               opening_hours={"mon": [["12:00", "18:00"], ["09:00", "12:00"]]},
                               appointment_minutes=5, timezone="Asia/Kathmandu")
    assert location.opening_hours == {"mon": [["09:00", "12:00"], ["12:00", "18:00"]]}


def test_only_admins_manage_locations():
    store = make_store()
    agent = make_agent("Olena Agent", stores=[store])
    location = make_location(store)
    for attempt in (lambda: create_location(store, "Annex", by_admin=agent),
                    lambda: update_location(location, by_admin=agent, name="Mine now"),
                    lambda: deactivate_location(location, by_admin=agent)):
        with pytest.raises(Forbidden):
            attempt()
    db.session.expire_all()
    saved = db.session.get(StoreLocation, location.id)
    assert (saved.name, saved.active) == ("Downtown", True)
    assert db.session.scalar(select(func.count()).select_from(StoreLocation)) == 1


def test_a_deactivated_location_keeps_its_visits_and_refuses_new_ones(admin, sent_events):
    store = make_store()
    agent = make_agent("Sam Carter")
    location = make_location(store, "Downtown")
    other = make_location(store, "Riverside")
    ticket = make_ticket(store, make_contact(store, email="dana@example.test"))
    booked = book_appointment(ticket, agent, location=location, starts_at=_next(1))

    sent_events.clear()
    deactivate_location(location, by_admin=admin)
    assert sent_events == []
    db.session.expire_all()
    assert db.session.get(Appointment, booked.id).status == "booked"  # the visit stays

    with pytest.raises(ActionError) as exc:
        book_appointment(ticket, agent, location=db.session.get(StoreLocation, location.id), starts_at=_next(2))
    assert exc.value.message == "Downtown no longer takes visits. Choose another location."
    assert (exc.value.field, exc.value.status) == ("location_id", 422)
    appt = db.session.get(Appointment, booked.id)
    with pytest.raises(ActionError, match="no longer takes visits"):  # a new time there is a new booking
        reschedule_appointment(appt, agent, starts_at=_next(3))
    # The existing visit can still get notes, move elsewhere, or be cancelled.
    reschedule_appointment(appt, agent, notes="Bring the receipt")
    moved = reschedule_appointment(appt, agent, location=db.session.get(StoreLocation, other.id))
    assert moved.location_id == other.id
    assert cancel_appointment(moved, agent).status == "cancelled"

    # Another store's location is still "not found", not "inactive".
    foreign = make_location(make_store("Elsewhere"), "Far away")
    with pytest.raises(NotFound):
        book_appointment(ticket, agent, location=foreign, starts_at=_next(2))

    update_location(db.session.get(StoreLocation, location.id), by_admin=admin, active=True)
    again = book_appointment(ticket, agent, location=db.session.get(StoreLocation, location.id), starts_at=_next(4))
    assert again.location_id == location.id
