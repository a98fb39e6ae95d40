"""Mail waiting in the outbox while an admin removes its mailbox, makes it inactive or its
address changes: it leaves from where the ticket's mail leaves now (the store's active
mailbox, else MAIL_FROM and the helpdesk's SMTP server), never from the old address, and is
never dropped. Checked on what a real SMTP server (aiosmtpd) receives: From, Reply-To and
the envelope sender."""
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from connectors.email import tokens
from helpdesk.actions.email import create_mailbox, delete_mailbox, ingest_email, update_mailbox
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import EmailHeader, Mailbox, Message, OutboxItem, Ticket, utcnow
from tests.conftest import free_port
from tests.connectors.email.conftest import eml
from tests.factories import make_agent, make_contact
from tests.workers.conftest import _Mailbox, smtp_server  # noqa: F401 -- fixtures
from workers import outbox

CUSTOMER_ID = "<5f1e2a44-9c1b-4e7e-8d2a-1f0b3c9e7a11@example.com>"  # 01-plain-ascii.eml


@pytest.fixture
def mailbox_smtp():
    """A second real SMTP server: the support mailbox's own (``Mailbox.smtp_url``)."""
    server = _Mailbox()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    server.url = f"smtp://127.0.0.1:{port}"
    yield server
    controller.stop()


@pytest.fixture
def backlog(monkeypatch):
    """Outbox rows are written but their delivery jobs wait (a worker behind, Redis down):
    the test sends them with ``outbox.deliver`` once the admin has changed the mailbox."""
    waiting = []
    monkeypatch.setattr(outbox, "enqueue", lambda path, *args: waiting.append(args))
    return waiting


def _queue(kind, store, mailbox):
    """Queue one email of ``kind`` on a new ticket; returns (ticket, outbox item, display name)."""
    if kind == "offline chat":
        contact = make_contact(store, email="ira@example.test", name="Ira")
        message, _ = receive_customer_message(store, contact, "chat", "Do you ship to Norway?", offline=True)
        ticket = message.ticket
    else:
        if kind == "acknowledgement":
            update_mailbox(mailbox, auto_reply=True)
        ticket = db.session.get(Ticket, ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw").ticket_id)
    if kind == "acknowledgement":
        ref, name = f"ticket:{ticket.id}", "Linen & Co"
    else:
        ref, name = f"message:{reply(ticket, make_agent('Sam Carter'), 'It left today.').id}", \
            "Sam Carter from Linen & Co"
    item = db.session.scalar(select(OutboxItem).where(OutboxItem.subject_ref == ref))
    assert item.payload["mailbox_id"] == mailbox.id and item.status == OutboxItem.PENDING
    return ticket, item, name


def _change(mailbox, change):
    if change == "removed":
        delete_mailbox(mailbox)
    else:
        update_mailbox(mailbox, active=False)


def _deliver(item_id):
    assert outbox.deliver(item_id) is True  # sent, not dropped nor left to retry
    db.session.expire_all()
    return db.session.get(OutboxItem, item_id)


def _header(item):
    return db.session.scalar(select(EmailHeader).where(
        EmailHeader.rfc_message_id == item.payload["message_id"].strip("<>")))


def _check_sent(server, ticket, item, name, address, reply_to):
    (sent,) = server.wait_for(1)
    (sender,) = sent["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, address)
    assert server.envelope_senders == [address]
    assert sent["Reply-To"] == reply_to
    # The Message-ID recorded at queue time goes out, and the threading headers with it.
    assert sent["Message-ID"] == item.payload["message_id"] == f"<{_header(item).rfc_message_id}>"
    if ticket.channel == "email":
        assert sent["In-Reply-To"].strip() == CUSTOMER_ID
    return sent


@pytest.mark.parametrize("change", ["removed", "deactivated"])
def test_queued_mail_leaves_from_the_stores_other_active_mailbox(mailbox, store, backlog, smtp_server,  # noqa: F811
                                                                  mailbox_smtp, change):
    """The reply was queued from support@ (which sends through its own SMTP server); support@
    goes, orders@ of the same store stays: the reply leaves from orders@, through the
    helpdesk's SMTP server (orders@ has none of its own), with orders@'s reply token, and the
    customer's answer to it threads onto the ticket."""
    update_mailbox(mailbox, smtp_url=mailbox_smtp.url)
    orders = create_mailbox(store, "orders@shop.test", name="Orders")
    ticket, item, name = _queue("reply", store, mailbox)
    _change(db.session.get(Mailbox, mailbox.id), change)

    row = _deliver(item.id)
    sent = _check_sent(smtp_server, ticket, row, name, "orders@shop.test",
                       tokens.reply_address("orders@shop.test", ticket.id))
    assert mailbox_smtp.messages == []  # not through the old mailbox's server either
    assert row.payload["mailbox_id"] == orders.id
    header = _header(row)
    assert (header.sender, header.mailbox_id, header.direction) == ("orders@shop.test", orders.id, "out")
    assert db.session.get(Message, int(row.subject_ref.split(":")[1])).meta["delivery"]["status"] == "sent"

    answer = EmailMessage()
    answer["From"], answer["To"] = "Dana Fischer <dana@example.com>", sent["Reply-To"]
    answer["Subject"], answer["Date"] = "Re: " + sent["Subject"], format_datetime(utcnow())
    answer["Message-ID"], answer["In-Reply-To"] = "<answer-1@example.com>", sent["Message-ID"]
    answer.set_content("Thanks!")
    result = ingest_email(db.session.get(Mailbox, orders.id), answer.as_bytes(), source="raw")
    assert (result.outcome, result.ticket_id) == ("threaded", ticket.id)


@pytest.mark.parametrize("kind", ["reply", "acknowledgement", "offline chat"])
@pytest.mark.parametrize("change", ["removed", "deactivated"])
def test_queued_mail_leaves_from_mail_from_when_the_store_has_no_other_mailbox(
        app, mailbox, store, backlog, smtp_server, mailbox_smtp, change, kind):  # noqa: F811
    """No mailbox of the store is left to answer: MAIL_FROM and the helpdesk's SMTP server,
    with no reply token (there is no mailbox to receive the answer), as for mail queued
    without a mailbox."""
    update_mailbox(mailbox, smtp_url=mailbox_smtp.url)
    ticket, item, name = _queue(kind, store, mailbox)
    _change(db.session.get(Mailbox, mailbox.id), change)

    row = _deliver(item.id)
    _check_sent(smtp_server, ticket, row, name, app.config["MAIL_FROM"], None)
    assert mailbox_smtp.messages == []
    assert row.payload["mailbox_id"] is None and row.payload["reply_to"] is None
    header = _header(row)
    assert (header.sender, header.mailbox_id) == (app.config["MAIL_FROM"], None)


def test_queued_mail_follows_a_changed_address(mailbox, store, backlog, smtp_server, mailbox_smtp):  # noqa: F811
    """The same mailbox under another address (no setting changes it today: an operator in
    the database, or a later setting): the mail leaves from the new address, with its reply
    token, still through the mailbox's own SMTP server."""
    update_mailbox(mailbox, smtp_url=mailbox_smtp.url)
    ticket, item, name = _queue("reply", store, mailbox)
    db.session.get(Mailbox, mailbox.id).address = "help@shop.test"
    db.session.commit()

    row = _deliver(item.id)
    _check_sent(mailbox_smtp, ticket, row, name, "help@shop.test", tokens.reply_address("help@shop.test", ticket.id))
    assert smtp_server.messages == []
    assert row.payload["mailbox_id"] == mailbox.id
    header = _header(row)
    assert (header.sender, header.mailbox_id) == ("help@shop.test", mailbox.id)


def test_queued_mail_of_an_unchanged_mailbox_leaves_as_queued(mailbox, store, backlog, smtp_server):  # noqa: F811
    update_mailbox(mailbox, name="Customer care")  # a change that is not about sending
    ticket, item, name = _queue("reply", store, mailbox)
    queued = dict(item.payload)

    row = _deliver(item.id)
    _check_sent(smtp_server, ticket, row, name, "support@shop.test",
                tokens.reply_address("support@shop.test", ticket.id))
    assert row.payload == queued
    assert (_header(row).sender, _header(row).mailbox_id) == ("support@shop.test", mailbox.id)


def test_a_rerouted_mail_that_fails_is_retried_on_its_new_route(app, mailbox, store, backlog,
                                                                  smtp_server):  # noqa: F811
    """The reroute is kept with the row: an SMTP failure after it retries from the new
    address, and a mailbox removed after that moves it once more."""
    ticket, item, name = _queue("reply", store, mailbox)
    orders = create_mailbox(store, "orders@shop.test", name="Orders", smtp_url=f"smtp://127.0.0.1:{free_port()}")
    delete_mailbox(db.session.get(Mailbox, mailbox.id))
    assert outbox.deliver(item.id) is False  # orders@'s SMTP server is down
    db.session.expire_all()
    row = db.session.get(OutboxItem, item.id)
    assert row.status == OutboxItem.PENDING and "ConnectionRefusedError" in row.last_error
    assert row.payload["mailbox_id"] == orders.id and _header(row).sender == "orders@shop.test"

    update_mailbox(db.session.get(Mailbox, orders.id), active=False)
    row.next_attempt_at = utcnow()  # the backoff has passed
    db.session.commit()
    row = _deliver(item.id)
    _check_sent(smtp_server, ticket, row, name, app.config["MAIL_FROM"], None)
    assert row.attempts == 2
