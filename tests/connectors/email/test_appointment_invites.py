"""Appointment invitations over real SMTP (aiosmtpd on loopback): the received MIME message
and its iCalendar part, parsed back with ``icalendar`` as a calendar client would."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar

from helpdesk.actions.appointments import book_appointment, cancel_appointment, reschedule_appointment
from helpdesk.actions.email import ingest_email
from helpdesk.extensions import db
from helpdesk.models import Ticket
from tests.connectors.email.conftest import eml
from tests.factories import make_agent, make_contact, make_location, make_ticket
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture

PARIS = ZoneInfo("Europe/Paris")


def _next(weekday, at):
    today = date.today()
    return datetime.combine(today + timedelta(days=(weekday - today.weekday()) % 7 + 7), at)


def _calendar(msg):
    """The text/calendar alternative (what Outlook/Gmail act on) and the .ics attachment."""
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    (attached,) = [p for p in msg.iter_attachments() if p.get_filename() == "invite.ics"]
    assert attached.get_content_type() == "application/ics"
    assert attached.get_content().decode() == part.get_content()  # the same invitation twice
    return part, Calendar.from_ical(part.get_content())


def _event(cal):
    (event,) = cal.walk("VEVENT")
    return event


def test_book_reschedule_cancel_reach_the_shopper_as_itip_messages(mailbox, store, smtp_server):  # noqa: F811
    agent = make_agent("Sam Carter", title="Stylist")
    contact = make_contact(store, email="dana@example.test", name="Dana Shopper")
    ticket = make_ticket(store, contact)
    location = make_location(store, "Linen & Co Marais", address="12 Rue des Archives, Paris",
                             email="marais@shop.test")

    appt = book_appointment(ticket, agent, location=location, starts_at=_next(1, time(15, 0)))
    (invite,) = smtp_server.wait_for(1)
    assert invite["To"] == "Dana Shopper <dana@example.test>"
    assert invite["Subject"].startswith("Invitation: Visit to Linen & Co Marais with Sam Carter, ")
    assert "3:00\u202fPM – 3:30\u202fPM" in invite["Subject"]
    part, cal = _calendar(invite)
    assert part.get_param("method") == "REQUEST"
    assert str(cal["METHOD"]) == "REQUEST"
    event = _event(cal)
    assert str(event["UID"]) == appt.uid and int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]) == "Linen & Co Marais, 12 Rue des Archives, Paris"
    assert str(event["ORGANIZER"]) == "mailto:marais@shop.test"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:dana@example.test"
    assert (attendee.params["RSVP"], attendee.params["PARTSTAT"], attendee.params["CN"]) == \
        ("TRUE", "NEEDS-ACTION", "Dana Shopper")
    start = event.decoded("DTSTART")
    assert start == _next(1, time(15, 0)).replace(tzinfo=PARIS) and start.tzinfo.key == "Europe/Paris"
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    # The readable parts come from the templates, and a reply threads onto the ticket.
    assert "Your visit to Linen & Co Marais is booked." in invite.get_body(("plain",)).get_content()
    assert "Sam Carter, Stylist" in invite.get_body(("html",)).get_content()
    assert invite["Reply-To"].startswith("support+")

    reschedule_appointment(appt, agent, starts_at=_next(2, time(10, 0)))
    _, update = smtp_server.wait_for(2)
    part, cal = _calendar(update)
    event = _event(cal)
    assert part.get_param("method") == "REQUEST"
    assert str(event["UID"]) == appt.uid and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == _next(2, time(10, 0)).replace(tzinfo=PARIS)
    assert update["Subject"].startswith("Updated invitation:")
    assert "has been moved" in update.get_body(("plain",)).get_content()

    cancel_appointment(db.session.get(type(appt), appt.id), agent)
    _, _, cancel = smtp_server.wait_for(3)
    part, cal = _calendar(cancel)
    event = _event(cal)
    assert part.get_param("method") == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == appt.uid and int(event["SEQUENCE"]) == 2
    assert cancel["Subject"].startswith("Cancelled:")
    assert "is cancelled" in cancel.get_body(("plain",)).get_content()
    # Each of the three mails threads under the ticket's conversation.
    assert update["References"] and invite["Message-ID"].strip() in update["References"]


def test_the_invitation_of_an_email_ticket_answers_in_its_thread(mailbox, smtp_server):  # noqa: F811
    first = ingest_email(mailbox, eml("02-gmail-alternative.eml"), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    location = make_location(ticket.store, tz="America/New_York")
    start = datetime.combine(_next(3, time(12, 0)).date(), time(16, 0), timezone.utc)
    book_appointment(ticket, make_agent(), location=location, starts_at=start)
    (invite,) = smtp_server.wait_for(1)
    customer = "<CAF+7nq2Xk1rYJ8o1zH8bq5bB2cJ6Yy1gWm3Qp=mZ7s9d2c4_Ew@mail.gmail.com>"
    assert invite["In-Reply-To"].strip() == customer
    _, cal = _calendar(invite)
    event = _event(cal)
    # An aware UTC time becomes the shop's wall-clock time in its own zone.
    assert event.decoded("DTSTART") == start and event.decoded("DTSTART").tzinfo.key == "America/New_York"
    # Without a location mailbox, the support mailbox organizes.
    assert str(event["ORGANIZER"]) == "mailto:support@shop.test"
