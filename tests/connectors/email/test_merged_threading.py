"""Threading headers of the mail we send on a ticket that another contact's ticket was merged
into, over real SMTP (aiosmtpd on loopback): each recipient's In-Reply-To and References name
only the emails exchanged with them, never the other person's (their mail client would
learn of that mail and thread ours under it)."""
from datetime import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from helpdesk.actions.appointments import book_appointment, reschedule_appointment
from helpdesk.actions.contacts import merge_contacts
from helpdesk.actions.email import ingest_email
from helpdesk.actions.messages import reply
from helpdesk.actions.tickets import merge_tickets
from helpdesk.extensions import db
from helpdesk.models import Appointment, Contact, Ticket, utcnow
from tests.factories import make_agent, make_location
from tests.helpdesk.actions.test_appointments import _next
from tests.sql import query_plans
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture


def _mail(frm, subject, body):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, "support@shop.test", subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return msg


def _write(mailbox, frm, subject, body):
    """A customer's email, taken in: ``(ticket, its Message-ID)``."""
    msg = _mail(frm, subject, body)
    result = ingest_email(mailbox, msg.as_bytes(), source="raw")
    return db.session.get(Ticket, result.ticket_id), msg["Message-ID"]


def _threading(msg):
    """``(In-Reply-To, [References])`` of a received email, unfolded."""
    return (" ".join((msg["In-Reply-To"] or "").split()), " ".join((msg["References"] or "").split()).split())


def test_after_a_merge_each_contact_is_answered_in_their_own_thread_only(mailbox, smtp_server):  # noqa: F811
    agent = make_agent("Sam Carter")
    yuki_ticket, yuki_asked = _write(mailbox, "Yuki Other <yuki@example.test>", "Linen shirt", "Is it in M?")
    reply(yuki_ticket, agent, "Yes, in M and L.")
    # Xena writes later: after the merge her mail is the ticket's last.
    xena_ticket, xena_asked = _write(mailbox, "Xena Shopper <xena@example.test>", "Fitting", "Can I try it on?")
    visit = book_appointment(xena_ticket, agent, location=make_location(mailbox.store), starts_at=_next(1, time(15)))
    to_yuki, invite = smtp_server.wait_for(2)
    assert invite["To"] == "Xena Shopper <xena@example.test>"
    assert _threading(invite) == (xena_asked, [xena_asked])

    merge_tickets(xena_ticket, yuki_ticket, by=agent)
    yukis = [yuki_asked, to_yuki["Message-ID"]]
    xenas = [xena_asked, invite["Message-ID"]]

    # A reply on the merged ticket goes to its contact, Yuki: her thread, none of Xena's mail.
    reply(db.session.get(Ticket, yuki_ticket.id), agent, "It is waiting for you at the counter.")
    # The visit's update goes to Xena, it was booked for her: her thread, none of Yuki's.
    reschedule_appointment(db.session.get(Appointment, visit.id), agent, starts_at=_next(2, time(11)))
    _, _, answer, update = smtp_server.wait_for(4)
    assert answer["To"] == "Yuki Other <yuki@example.test>" and update["To"] == "Xena Shopper <xena@example.test>"
    assert _threading(answer) == (to_yuki["Message-ID"], yukis)
    assert _threading(update) == (invite["Message-ID"], xenas)

    # Each thread goes on in its own: Yuki's next answer names our last mail to her.
    reply(db.session.get(Ticket, yuki_ticket.id), agent, "See you then.")
    *_, again = smtp_server.wait_for(5)
    assert _threading(again) == (answer["Message-ID"], yukis + [answer["Message-ID"]])


def test_a_merged_contacts_mail_still_threads_as_their_own(mailbox, smtp_server):  # noqa: F811
    """Merging two contacts (one person, two addresses) moves the tickets but not the
    Message-ID map: the mail exchanged with the merged contact stays in the thread."""
    agent = make_agent("Sam Carter")
    ticket, asked = _write(mailbox, "Dana Work <dana@work.test>", "Parcel", "Where is my parcel?")
    reply(ticket, agent, "On its way.")
    (first,) = smtp_server.wait_for(1)
    home = Contact(store_id=mailbox.store_id, email="dana@home.test", name="Dana Fischer")
    db.session.add(home)
    db.session.commit()
    merge_contacts(home, db.session.get(Ticket, ticket.id).contact, make_agent("Ada Admin", role="admin"))

    with query_plans() as plans:
        reply(db.session.get(Ticket, ticket.id), agent, "It arrives tomorrow.")
    _, second = smtp_server.wait_for(2)
    assert second["To"] == "Dana Fischer <dana@home.test>"
    assert _threading(second) == (first["Message-ID"], [asked, first["Message-ID"]])
    # The thread is read by the ticket's index, not by scanning every email of the store
    # (plans are SQLite's: none on other databases).
    steps = [step for sql, found in plans if "from email_headers" in sql.lower() and "rfc_message_id" in sql.lower()
             and "ticket_id" in sql.lower() for step in found]
    assert steps or not plans, plans
    assert all("ix_email_headers_ticket" in step for step in steps if "email_headers" in step), steps
