"""Signatures in the mail a shopper receives, delivered over real SMTP (aiosmtpd on loopback):
an agent's reply ends with "-- " and the agent's signature, else the store's, once in each
part; automatic mail carries the store's only; a note is never mailed. Markup typed in a
signature is text in the HTML part."""
from sqlalchemy import func, select

from helpdesk.actions.email import ingest_email, update_mailbox
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.actions.profile import set_signature
from helpdesk.actions.stores import update_store_settings
from helpdesk.extensions import db
from helpdesk.models import OutboxItem, Ticket
from tests.connectors.email.conftest import eml
from tests.factories import make_agent, make_contact
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture

HOSTILE = ('Sam Carter, shoe expert\n<script>alert("sig")</script> <img src=x onerror="alert(1)">\n'
           "help@linen-shop.com · https://linen-shop.com/returns")


def _parts(sent):
    text = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, sent.get_body(("html",)).get_content()


def _email_ticket(mailbox):
    return db.session.get(Ticket, ingest_email(mailbox, eml("02-gmail-alternative.eml"), source="raw").ticket_id)


def test_a_reply_ends_with_the_agents_signature_once_in_each_part_and_its_markup_as_text(
        mailbox, smtp_server):  # noqa: F811
    ticket = _email_ticket(mailbox)
    update_store_settings(ticket.store, signature="The {store_name} team")
    sam = make_agent("Sam Carter")
    set_signature(sam, HOSTILE)
    reply(ticket, sam, "We can exchange them.")

    (sent,) = smtp_server.wait_for(1)
    text, html = _parts(sent)
    assert text.count("\n-- \n" + HOSTILE + "\n") == 1
    assert text.index("We can exchange them.") < text.index("-- \n") < text.index("wrote:")  # above the quote
    assert "The Linen & Co team" not in text and "The Linen &amp; Co team" not in html  # the agent's wins
    assert html.count("shoe expert") == 1 and text.count("shoe expert") == 1
    # Shown as text, never run: no element comes out of what the agent typed.
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#34;sig&#34;)&lt;/script&gt; &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert '<a href="mailto:help@linen-shop.com"' in html and '<a href="https://linen-shop.com/returns"' in html
    assert html.index("We can exchange them.") < html.index("-- <br>") < html.index("shoe expert")


def test_without_their_own_an_agent_signs_with_the_stores_and_the_placeholders_filled(
        mailbox, smtp_server):  # noqa: F811
    ticket = _email_ticket(mailbox)
    update_store_settings(ticket.store, signature="{agent_name}\n{store_name} customer care")
    reply(ticket, make_agent("Max Mustermann"), "It ships today.")

    (sent,) = smtp_server.wait_for(1)
    text, html = _parts(sent)
    assert text.count("\n-- \nMax Mustermann\nLinen & Co customer care\n") == 1
    assert html.count("Max Mustermann<br>Linen &amp; Co customer care") == 1
    assert "{agent_name}" not in text + html and "{store_name}" not in text + html


def test_automatic_mail_carries_the_stores_signature_only(mailbox, smtp_server):  # noqa: F811
    update_mailbox(mailbox, auto_reply=True)
    update_store_settings(mailbox.store, signature="{agent_name}\nThe {store_name} team · https://linen-shop.com")
    set_signature(make_agent("Sam Carter"), "Sam's own signature")
    ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw")

    (ack,) = smtp_server.wait_for(1)
    text, html = _parts(ack)
    assert "We have received your message" in text
    # No agent wrote it: {agent_name} and the line it filled are left out.
    assert text.rstrip().endswith("-- \nThe Linen & Co team · https://linen-shop.com")
    assert text.count("The Linen & Co team") == 1 and html.count("The Linen &amp; Co team") == 1
    assert '<a href="https://linen-shop.com"' in html
    assert "Sam" not in text and "Sam" not in html


def test_without_any_signature_a_reply_keeps_the_agents_name_and_automatic_mail_the_stores(
        mailbox, smtp_server):  # noqa: F811
    update_mailbox(mailbox, auto_reply=True)
    ticket = _email_ticket(mailbox)
    reply(ticket, make_agent("Sam Carter", title="Stylist"), "Yes.")
    ack, answer = smtp_server.wait_for(2)
    assert _parts(ack)[0].rstrip().endswith("-- \nLinen & Co")
    text, html = _parts(answer)
    assert text.count("-- \nSam Carter, Stylist\nLinen & Co\n") == 1
    assert "Sam Carter, Stylist<br>Linen &amp; Co" in html and "-- <br>" not in html


def test_a_note_is_never_mailed_so_never_signed(store, smtp_server):  # noqa: F811
    contact = make_contact(store, email="ira@example.test", name="Ira")
    message, _ = receive_customer_message(store, contact, "chat", "Anyone there?", offline=True)
    sam = make_agent("Sam")
    set_signature(sam, "Sam's signature")
    add_note(message.ticket, sam, "Internal: call the carrier")
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    reply(message.ticket, sam, "Yes, it is in stock.")  # the offline chat's reply is mailed, signed
    (sent,) = smtp_server.wait_for(1)
    text, html = _parts(sent)
    assert text.count("-- \nSam's signature") == 1 and "Internal" not in text + html
