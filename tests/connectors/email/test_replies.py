"""Outgoing email through the outbox to a real SMTP server (aiosmtpd): threading headers,
reply-token Reply-To, text + HTML from templates, attachments, delivery state on the message."""
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select

from connectors.email import tokens
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.email import ingest_email, update_mailbox
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import EmailHeader, Message, OutboxItem, Ticket, utcnow
from tests.connectors.email.conftest import eml
from tests.factories import make_agent, make_contact
from tests.workers.conftest import smtp_down, smtp_server  # noqa: F401 -- fixtures
from workers import outbox

PNG = eml("14-inline-cid-image.eml")  # any bytes would do; we need a real PNG below


def _png():
    from connectors.email.parser import parse

    return next(p.data for p in parse(PNG).attachments if p.filename == "zipper.png")


def test_an_agent_reply_is_threaded_signed_and_templated(mailbox, smtp_server, sent_events):  # noqa: F811
    first = ingest_email(mailbox, eml("02-gmail-alternative.eml"), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    agent = make_agent("Sam Carter")
    upload = store_upload(ticket.store_id, f"agent:{agent.id}", "label.png", _png(), "image/png")
    message = reply(ticket, agent, "We can exchange them: here is your return label.", attachment_ids=[upload.id])

    (sent,) = smtp_server.wait_for(1)
    ours = db.session.scalar(select(EmailHeader).where(EmailHeader.message_id == message.id))
    assert ours.direction == "out" and sent["Message-ID"] == f"<{ours.rfc_message_id}>"
    customer = "<CAF+7nq2Xk1rYJ8o1zH8bq5bB2cJ6Yy1gWm3Qp=mZ7s9d2c4_Ew@mail.gmail.com>"
    assert sent["In-Reply-To"].strip() == customer  # long ids are folded onto a continuation line
    assert customer in sent["References"]
    assert sent["Reply-To"] == tokens.reply_address("support@shop.test", ticket.id)
    (sender,) = sent["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Sam Carter from Linen & Co", "support@shop.test")
    assert sent["Subject"] == f"Re: Size exchange for sneakers [#{ticket.id}]"
    assert sent["To"] == "Li Wei <li.wei@gmail.com>"
    assert "Auto-Submitted" not in sent
    assert "here is your return label." in sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "here is your return label." in html and "Sam Carter" in html
    (attached,) = list(sent.iter_attachments())
    assert attached.get_filename() == "label.png" and attached.get_content() == _png()

    db.session.expire_all()
    delivery = db.session.get(Message, message.id).meta["delivery"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    assert any(e["event"] == "message.updated" and e["payload"]["changes"] == ["delivery"] for e in sent_events)

    # The customer's answer to that email comes back onto the same ticket.
    answer = EmailMessage()
    answer["From"], answer["To"] = "Li Wei <li.wei@gmail.com>", sent["Reply-To"]
    answer["Subject"], answer["Date"] = "Re: " + sent["Subject"], format_datetime(utcnow())
    answer["Message-ID"], answer["In-Reply-To"] = "<answer-1@mail.gmail.com>", sent["Message-ID"]
    answer.set_content("Thanks, posted today.")
    result = ingest_email(mailbox, answer.as_bytes(), source="raw")
    assert (result.outcome, result.ticket_id, result.how) == ("threaded", ticket.id, "in-reply-to")


def test_a_failing_smtp_server_shows_retrying_on_the_message(mailbox, smtp_down):  # noqa: F811
    first = ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw")
    message = reply(db.session.get(Ticket, first.ticket_id), make_agent(), "On its way.")
    db.session.expire_all()
    delivery = db.session.get(Message, message.id).meta["delivery"]
    assert delivery["status"] == "retrying" and "ConnectionRefusedError" in delivery["error"]
    item = db.session.scalar(select(OutboxItem))
    assert item.status == OutboxItem.PENDING and item.next_attempt_at > utcnow()


def test_a_refused_recipient_shows_failed(mailbox, smtp_server, store):  # noqa: F811
    contact = make_contact(store, email="refuse@example.test")
    message, _ = receive_customer_message(store, contact, "email", "Hi", subject="Hi")
    sent = reply(message.ticket, make_agent(), "Hello")
    db.session.expire_all()
    assert db.session.get(Message, sent.id).meta["delivery"]["status"] == "failed"


def test_an_offline_chat_reply_goes_out_by_email_with_threading(store, smtp_server):  # noqa: F811
    contact = make_contact(store, email="shopper@example.test", name="Ira")
    message, _ = receive_customer_message(store, contact, "chat", "Anyone there?", offline=True)
    first = reply(message.ticket, make_agent("Sam"), "Sorry we missed you — yes, it is in stock.")
    second = reply(message.ticket, make_agent("Max"), "And it ships today.")
    one, two = smtp_server.wait_for(2)
    assert one["To"] == "Ira <shopper@example.test>" and "in stock" in one.get_body(("plain",)).get_content()
    assert two["In-Reply-To"].strip() == one["Message-ID"].strip() and one["Message-ID"].strip() in two["References"]
    # Without a mailbox the helpdesk's MAIL_FROM sends, and no reply token is offered.
    assert one["From"].endswith("<support@localhost>") and one["Reply-To"] is None
    db.session.expire_all()
    assert [db.session.get(Message, m.id).meta["delivery"]["status"] for m in (first, second)] == ["sent", "sent"]


def test_an_acknowledgement_is_marked_automatic(mailbox, smtp_server):  # noqa: F811
    update_mailbox(mailbox, auto_reply=True)
    ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw")
    (ack,) = smtp_server.wait_for(1)
    assert ack["Auto-Submitted"] == "auto-replied" and ack["X-Auto-Response-Suppress"] == "All"
    assert ack["In-Reply-To"].strip() == "<5f1e2a44-9c1b-4e7e-8d2a-1f0b3c9e7a11@example.com>"
    assert "We have received your message" in ack.get_body(("plain",)).get_content()


def test_a_mailbox_with_its_own_smtp_server_sends_through_it(app, mailbox, smtp_server, monkeypatch):  # noqa: F811
    update_mailbox(mailbox, smtp_url=smtp_server.url)
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    first = ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw")
    reply(db.session.get(Ticket, first.ticket_id), make_agent(), "Sent through the mailbox's server.")
    assert len(smtp_server.wait_for(1)) == 1
    assert outbox.sweep() == 0


def test_a_reply_email_quotes_what_it_answers_but_never_a_note(store, smtp_server):  # noqa: F811
    """An offline chat's shopper reads, below the answer, what they wrote in the widget (and
    the answer before it), newest first; internal notes and hidden messages stay inside."""
    from helpdesk.actions.messages import add_note

    contact = make_contact(store, email="quote@example.test", name="Ira <b>Q</b>")
    first, _ = receive_customer_message(store, contact, "chat", "Do you ship to Norway?", offline=True)
    ticket = first.ticket
    sam = make_agent("Sam")
    reply(ticket, sam, "Yes, in 3 days.")
    receive_customer_message(store, contact, "chat", "Great <script>alert(1)</script>\nAnd to Iceland?",
                             offline=True)
    add_note(ticket, sam, "Internal: check the Iceland carrier rates")
    reply(ticket, sam, "Iceland too, in 5 days.")
    _one, two = smtp_server.wait_for(2)
    text = two.get_body(("plain",)).get_content().replace("\r\n", "\n")
    answer, _, quoted = text.partition("wrote:")
    assert "Iceland too" in answer and "Internal" not in text
    assert "Ira <b>Q</b> wrote:" in text
    assert "> Great <script>alert(1)</script>\n> And to Iceland?" in text
    assert text.index("And to Iceland?") < text.index("> Yes, in 3 days.") < text.index("> Do you ship to Norway?")
    html = two.get_body(("html",)).get_content()
    assert "Internal" not in html and "<script>" not in html and "<b>Q</b>" not in html
    assert "Great &lt;script&gt;alert(1)&lt;/script&gt;" in html and "Ira &lt;b&gt;Q&lt;/b&gt; wrote:" in html


def test_a_reply_email_quotes_in_the_customers_language(store, smtp_server):  # noqa: F811
    store.settings = {**(store.settings or {}), "languages": ["en", "de"]}
    contact = make_contact(store, email="de@example.test", name="Jana")
    contact.locale = "de"
    db.session.commit()
    message, _ = receive_customer_message(store, contact, "chat", "Ist der Mantel noch da?", offline=True)
    reply(message.ticket, make_agent("Sam"), "Ja, in Größe M.")
    (sent,) = smtp_server.wait_for(1)
    text = sent.get_body(("plain",)).get_content()
    assert "schrieb Jana:" in text and "wrote:" not in text
