"""A visit moved by a merge of two contacts' tickets keeps emailing the shopper it was booked
for, over real SMTP (aiosmtpd on loopback): the address, the greeting, the language and the
iCalendar attendee of its update and its cancellation."""
from datetime import time

from icalendar import Calendar
from sqlalchemy import select

from helpdesk.actions.appointments import book_appointment, cancel_appointment, reschedule_appointment
from helpdesk.actions.tickets import merge_tickets
from helpdesk.extensions import db
from helpdesk.models import Appointment, EmailHeader, Ticket
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket
from tests.helpdesk.actions.test_appointments import _next
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture


def _event(msg):
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
    return part.get_param("method"), event


def test_after_a_merge_into_another_contacts_ticket_the_visit_still_emails_its_shopper(smtp_server):  # noqa: F811
    store = make_store("Linen & Co", languages=["en", "de"])
    agent = make_agent("Sam Carter")
    dana = make_contact(store, email="dana@example.test", name="Dana Shopper", locale="de")
    yuki = make_contact(store, email="yuki@example.test", name="Yuki Other", locale="en")
    duplicate = make_ticket(store, dana, "email", "Kann ich das Hemd im Laden anprobieren?")
    target = make_ticket(store, yuki, "email", "Do you have the linen shirt in M?")
    visit = book_appointment(duplicate, agent, location=make_location(store), starts_at=_next(1, time(15, 0)))
    (invite,) = smtp_server.wait_for(1)
    assert invite["To"] == "Dana Shopper <dana@example.test>"

    merge_tickets(duplicate, target, by=agent)
    visit = db.session.get(Appointment, visit.id)
    assert (visit.ticket_id, visit.contact_id) == (target.id, dana.id)
    assert db.session.get(Ticket, target.id).contact_id == yuki.id

    reschedule_appointment(visit, agent, starts_at=_next(2, time(11, 0)))
    _, update = smtp_server.wait_for(2)
    cancel_appointment(db.session.get(Appointment, visit.id), agent)
    _, _, cancel = smtp_server.wait_for(3)

    for msg, method, sequence, subject in ((update, "REQUEST", 1, "Aktualisierte Einladung: "),
                                           (cancel, "CANCEL", 2, "Abgesagt: ")):
        # To Dana, in her language, greeting her -- not Yuki, whose ticket the visit sits on now.
        assert msg["To"] == "Dana Shopper <dana@example.test>"
        assert msg["Subject"].startswith(subject)
        assert msg.get_body(("plain",)).get_content().startswith("Hallo Dana Shopper,")
        assert "Yuki" not in msg.as_string()
        got_method, event = _event(msg)
        assert got_method == method and str(event["UID"]) == visit.uid and int(event["SEQUENCE"]) == sequence
        assert str(event["ATTENDEE"]) == "mailto:dana@example.test"
    assert all("yuki@example.test" not in m["To"] for m in smtp_server.messages)
    # The Message-ID map records whom each mail went to (the merged ticket's, for threading).
    headers = db.session.scalars(select(EmailHeader).where(EmailHeader.direction == EmailHeader.OUT,
                                                           EmailHeader.ticket_id == target.id)).all()
    sent_ids = {m["Message-ID"].strip("<> ") for m in (update, cancel)}
    assert {h.contact_id for h in headers if h.rfc_message_id in sent_ids} == {dana.id}
