"""Mailbox administration in helpdesk.actions.email: removing a stored secret, removing a
mailbox (its history stays), and the quarantine's import-again and discard."""
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.actions import Conflict, NotFound
from helpdesk.actions.email import (
    accept_delivery,
    create_mailbox,
    delete_mailbox,
    discard_quarantined,
    import_quarantined,
    ingest_email,
    quarantine,
    quarantined_email,
    ticket_mailbox,
    update_mailbox,
)
from helpdesk.extensions import db
from helpdesk.models import EmailHeader, InboundEmail, Mailbox, MailboxFolder, Message, Ticket, utcnow
from tests.factories import make_store
from tests.sql import statements_run

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"


def eml(name):
    return (CORPUS / name).read_bytes()


def mail(subject="Parcel", msgid=None, in_reply_to=None):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Dana Fischer <dana@example.com>", "support@shop.test", subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = msgid or make_msgid(domain="example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content("Where is it?")
    return msg.as_bytes()


@pytest.fixture
def store():
    return make_store("Linen & Co")


@pytest.fixture
def mailbox(store):
    return create_mailbox(store, "support@shop.test", imap_host="imap.shop.test", imap_username="support",
                          imap_password="imap-Pa55", smtp_url="smtp://u:p@smtp.shop.test",
                          mailgun_signing_key="key-1")


def _reload(mailbox):
    db.session.expire_all()
    return db.session.get(Mailbox, mailbox.id)


# ---- secrets --------------------------------------------------------------------------------

def test_an_empty_secret_keeps_the_stored_one_and_none_removes_it(mailbox):
    update_mailbox(mailbox, imap_password="", smtp_url="", mailgun_signing_key="")
    mailbox = _reload(mailbox)
    assert (mailbox.imap_password, mailbox.smtp_url, mailbox.mailgun_signing_key) == (
        "imap-Pa55", "smtp://u:p@smtp.shop.test", "key-1")
    assert mailbox.polls_imap

    update_mailbox(mailbox, imap_password=None, smtp_url=None)
    mailbox = _reload(mailbox)
    assert (mailbox.imap_password, mailbox.smtp_url, mailbox.mailgun_signing_key) == (None, None, "key-1")
    # The server's settings stay; without a password there is nothing to log in with.
    assert mailbox.imap_host == "imap.shop.test" and not mailbox.polls_imap


# ---- removing a mailbox ---------------------------------------------------------------------

def test_removing_a_mailbox_keeps_its_tickets_and_deletes_its_config_and_quarantine(store, mailbox):
    first = ingest_email(mailbox, mail(msgid="<first@example.com>"), source="raw")
    delivered, _new = accept_delivery(mailbox, mail(subject="Second"), source="raw", delivery_key="d1")
    stuck, _new = accept_delivery(mailbox, eml("34-malformed-no-from.eml"), source="raw", delivery_key="d2")
    db.session.add_all([
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="raw", status=InboundEmail.PENDING,
                     raw=mail(subject="Waiting")),
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="imap", status=InboundEmail.REFUSED,
                     reason="too large"),
        MailboxFolder(mailbox_id=mailbox.id, name="INBOX", uidvalidity=7, last_uid=40),
    ])
    db.session.commit()
    other = create_mailbox(store, "orders@shop.test")
    delivered_id, stuck_id, mailbox_id = delivered.id, stuck.id, mailbox.id
    assert db.session.get(InboundEmail, stuck_id).status == InboundEmail.QUARANTINED

    assert delete_mailbox(mailbox) == {"discarded": 2, "pending": 1}

    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox_id) is None
    assert db.session.scalar(select(func.count()).select_from(MailboxFolder)) == 0
    # The mail that never became a ticket went with it (the row holds its bytes) ...
    assert db.session.get(InboundEmail, stuck_id) is None
    assert db.session.scalars(select(InboundEmail.status)).all() == [InboundEmail.DONE]
    # ... the history stays, without the mailbox.
    kept = db.session.get(InboundEmail, delivered_id)
    assert kept.mailbox_id is None and kept.ticket_id and kept.status == InboundEmail.DONE
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    headers = db.session.scalars(select(EmailHeader)).all()
    assert len(headers) == 2 and {h.mailbox_id for h in headers} == {None}
    ticket = db.session.get(Ticket, first.ticket_id)
    # Answers leave from the store's other mailbox; a reply to the first mail still threads.
    assert ticket_mailbox(ticket).id == other.id
    other = db.session.get(Mailbox, other.id)
    assert ingest_email(other, mail(in_reply_to="<first@example.com>"), source="raw").ticket_id == ticket.id
    # The address is free to be added again.
    assert create_mailbox(store, "support@shop.test").id != mailbox_id


# ---- quarantine -----------------------------------------------------------------------------

def test_a_quarantined_message_imported_again_becomes_a_ticket_and_leaves_the_quarantine(mailbox, store,
                                                                                          sent_events):
    # What process_delivery leaves after an error of ours: the message kept, with the reason.
    quarantine(mailbox, mail(subject="Lost parcel"), source="raw", reason="internal error: RuntimeError")
    row = db.session.scalar(select(InboundEmail))
    assert row.status == InboundEmail.QUARANTINED and row.raw
    row = quarantined_email(mailbox.id, row.id)

    result = import_quarantined(row)

    assert result.outcome == "created"
    db.session.expire_all()
    row = db.session.get(InboundEmail, row.id)
    assert (row.status, row.ticket_id, row.message_id, row.raw) == (
        InboundEmail.DONE, result.ticket_id, result.message_id, None)
    assert row.subject == "Lost parcel"
    assert db.session.get(Ticket, result.ticket_id).subject == "Lost parcel"
    assert ("ticket.created", f"store:{store.id}:agents") in {(e["event"], e["room"]) for e in sent_events}
    with pytest.raises(NotFound):
        quarantined_email(mailbox.id, row.id)  # no longer in the quarantine


def test_a_message_still_refused_stays_with_the_reason_and_its_bytes(mailbox, sent_events):
    row, _new = accept_delivery(mailbox, eml("34-malformed-no-from.eml"), source="raw", delivery_key="k")
    row = db.session.get(InboundEmail, row.id)
    row.reason = "an older reason"
    db.session.commit()
    sent_events.clear()

    result = import_quarantined(quarantined_email(mailbox.id, row.id))

    assert (result.outcome, result.reason) == ("quarantined", "no sender address (From)")
    db.session.expire_all()
    row = db.session.get(InboundEmail, row.id)
    assert (row.status, row.reason, row.raw) == (InboundEmail.QUARANTINED, "no sender address (From)",
                                                 eml("34-malformed-no-from.eml"))
    assert sent_events == [] and db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_message_imported_before_leaves_the_quarantine_as_a_duplicate(mailbox):
    raw = mail(msgid="<twice@example.com>")
    first = ingest_email(mailbox, raw, source="raw")
    quarantine(mailbox, raw, source="imap", reason="internal error: OperationalError", delivery_key="imap:x")
    row = db.session.scalar(select(InboundEmail).where(InboundEmail.status == InboundEmail.QUARANTINED))

    result = import_quarantined(row)

    assert (result.outcome, result.ticket_id) == ("duplicate", first.ticket_id)
    db.session.expire_all()
    assert db.session.get(InboundEmail, row.id).status == InboundEmail.DUPLICATE
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_message_that_was_not_kept_cannot_be_imported_again(mailbox, store):
    quarantine(mailbox, None, source="imap", delivery_key="imap:INBOX:1:9",
               reason="message of 30000000 bytes is over the 26214400 byte limit (left on the server)")
    row = db.session.scalar(select(InboundEmail))
    with pytest.raises(Conflict):
        import_quarantined(quarantined_email(mailbox.id, row.id))
    assert db.session.get(InboundEmail, row.id).status == InboundEmail.QUARANTINED


def test_discarding_deletes_the_row_and_its_bytes(mailbox):
    row, _new = accept_delivery(mailbox, eml("34-malformed-no-from.eml"), source="raw")
    row_id = row.id
    with statements_run() as sent:
        discard_quarantined(quarantined_email(mailbox.id, row_id))
    assert any(s.startswith("delete from inbound_emails") for s in sent)
    db.session.expire_all()
    assert db.session.get(InboundEmail, row_id) is None


def test_only_the_mailboxes_own_quarantined_rows_are_found(store, mailbox):
    other = create_mailbox(store, "orders@shop.test")
    done = ingest_email(mailbox, mail(), source="raw")
    row, _new = accept_delivery(mailbox, eml("34-malformed-no-from.eml"), source="raw")
    delivered, _new = accept_delivery(mailbox, mail(subject="Fine"), source="raw")
    assert done.outcome == "created"
    assert quarantined_email(mailbox.id, row.id).id == row.id
    for mailbox_id, inbound_id in ((other.id, row.id), (mailbox.id, delivered.id), (mailbox.id, 10 ** 6)):
        with pytest.raises(NotFound):
            quarantined_email(mailbox_id, inbound_id)
