"""Rating requests by email (helpdesk.actions.ratings): an agent resolving an email or
contact-form ticket asks its customer "How did we do?" once per ticket, through the outbox,
as received by a real SMTP server (aiosmtpd on loopback); who is never asked; the store's
setting; the event agents see on the timeline; the shared rules of a rating."""
import re

import pytest
from sqlalchemy import func, select

from helpdesk.actions import ActionError
from helpdesk.actions.contacts import erase_contact, set_blocked
from helpdesk.actions.email import ingest_email, mark_email_failing, receive_form_submission
from helpdesk.actions.ratings import REQUESTED_EVENT, check_rating, request_email_rating
from helpdesk.actions.stores import update_store_settings
from helpdesk.actions.tickets import change_status, update_ticket
from helpdesk.actions.visitors import rate_ticket
from helpdesk.extensions import db
from helpdesk.models import Message, MessageKind, OutboxItem, Ticket
from tests.connectors.email.conftest import eml, mailbox, store  # noqa: F401 -- fixtures
from tests.factories import make_agent, make_contact, make_ticket, make_visitor
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture

LINK = re.compile(r"https?://[^\s\"<>]+/rate/(\d+)/([\w.-]+)\?stars=(\d)")


def _email_ticket(mailbox, name="01-plain-ascii.eml"):  # noqa: F811
    return db.session.get(Ticket, ingest_email(mailbox, eml(name), source="raw").ticket_id)


def _resolve(ticket, agent=None):
    return update_ticket(ticket, agent or make_agent("Sam Carter"), status="resolved")


def _requests(ticket):
    return db.session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.EVENT,
        Message.meta["event"].as_string() == REQUESTED_EVENT)).all()


def _rating_mail():
    return db.session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.kind == "email", OutboxItem.payload["subject"].as_string().like("How did we do?%")))


def _parts(sent):
    return sent.get_body(("plain",)).get_content().replace("\r\n", "\n"), sent.get_body(("html",)).get_content()


# ---- the email, as the customer receives it ------------------------------------------------

def test_resolving_an_email_ticket_mails_the_customer_five_star_links_threaded_and_signed(
        mailbox, smtp_server, sent_events):  # noqa: F811
    ticket = _email_ticket(mailbox)
    update_store_settings(ticket.store, signature="The {store_name} team")
    original_id = str(db.session.scalar(select(Message.meta).where(Message.ticket_id == ticket.id))["email"]
                      ["message_id"])
    _resolve(ticket)

    (sent,) = smtp_server.wait_for(1)
    assert sent["To"].addresses[0].addr_spec == "dana@example.com"
    assert str(sent["Subject"]) == f"How did we do? [#{ticket.id}]"
    assert sent["Auto-Submitted"] == "auto-replied"  # no auto-reply loop starts from it
    assert original_id.strip("<>") in sent["In-Reply-To"] and original_id.strip("<>") in sent["References"]
    assert sent["Reply-To"].addresses[0].addr_spec.startswith("support+t")  # a reply threads onto the ticket
    assert "Linen & Co" in str(sent["From"])  # the store writes it, no agent

    text, html = _parts(sent)
    text_links = LINK.findall(text)
    assert [stars for _id, _token, stars in text_links] == ["5", "4", "3", "2", "1"]
    assert {(i, t) for i, t, _stars in text_links} == {(str(ticket.id), text_links[0][1])}  # one token
    assert "1 star: http" in text and "5 stars: http" in text
    assert [s for _i, _t, s in LINK.findall(html)] == ["5", "4", "3", "2", "1"]
    assert html.count('<a href="http') == 5
    assert text.rstrip().endswith("-- \nThe Linen & Co team")  # the store's signature, once
    assert html.count("The Linen &amp; Co team") == 1

    # Agents see it on the timeline; the text says what happened.
    (event,) = _requests(ticket)
    assert event.body_text == "Rating requested by email"
    assert event.author_agent is not None and event.author_agent.name == "Sam Carter"
    created = [e for e in sent_events if e["event"] == "message.created"
               and e["payload"]["message"]["id"] == event.id]
    # Agents only: the store's and those with the conversation open; never a shopper's widget.
    assert sorted(e["room"] for e in created) == [f"store:{ticket.store_id}:agents", f"ticket:{ticket.id}"]


def test_a_form_customer_is_asked_in_the_language_of_the_form(app, store, smtp_server):  # noqa: F811
    store.settings = {"languages": ["en", "de"]}
    db.session.commit()
    message = receive_form_submission(store, email="jonas@example.test", name="Jonas", body="Wo ist mein Paket?",
                                      locale="de")
    _resolve(message.ticket)
    (sent,) = smtp_server.wait_for(1)
    text, html = _parts(sent)
    assert '<html lang="de"' in html
    assert "Hallo Jonas," in text  # the greeting the acknowledgement uses, translated
    assert len(LINK.findall(text)) == 5


# ---- once, and only to whom it makes sense -------------------------------------------------

def test_a_ticket_resolved_reopened_and_resolved_again_is_asked_once(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    agent = make_agent()
    _resolve(ticket, agent)
    update_ticket(ticket, agent, status="open")
    _resolve(ticket, agent)
    change_status(ticket, "closed", agent)
    assert len(_requests(ticket)) == 1
    assert _rating_mail() == 1


def _chat(store):  # noqa: F811
    return make_ticket(store, channel="chat")


def _api(store):  # noqa: F811
    return make_ticket(store, channel="api")


def _practice(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    ticket.is_practice = True  # an academy practice chat's flag, on an email ticket: never asked either
    db.session.commit()
    return ticket


def _blocked(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    set_blocked(ticket.contact, None)
    return ticket


def _failing(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    mark_email_failing(ticket.contact)
    return ticket


def _erased(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    erase_contact(ticket.contact, by=make_agent("Ada Admin", role="admin"))
    return ticket


def _no_address(store):  # noqa: F811
    from helpdesk.actions.contacts import find_or_create_contact

    return make_ticket(store, find_or_create_contact(store, phone="+49 30 1234", name="Phone only"), channel="email")


def _switched_off(store):  # noqa: F811
    update_store_settings(store, rating_email=False)
    return make_ticket(store, channel="email")


@pytest.mark.parametrize("make", [_chat, _api, _practice, _blocked, _failing, _erased, _no_address, _switched_off])
def test_who_is_never_asked(store, make):  # noqa: F811
    ticket = make(store)
    _resolve(ticket)
    assert _requests(ticket) == [] and _rating_mail() == 0


@pytest.mark.parametrize("name", ["24-x-autoreply.eml", "22-precedence-bulk-newsletter.eml", "23-mailing-list.eml"])
def test_a_ticket_whose_last_customer_mail_was_automatic_is_not_asked(mailbox, name):  # noqa: F811
    ticket = _email_ticket(mailbox, name)
    _resolve(ticket)
    assert _requests(ticket) == [] and _rating_mail() == 0


def test_a_ticket_the_system_resolves_asks_nobody_and_an_agent_asks_after_a_real_reply(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    change_status(ticket, "resolved")  # no agent: not "an agent resolved it"
    assert _requests(ticket) == []
    change_status(ticket, "open")
    _resolve(ticket)
    assert len(_requests(ticket)) == 1


def test_a_store_switches_the_request_off_and_on(store):  # noqa: F811
    assert store.setting("rating_email") is True  # on by default
    update_store_settings(store, rating_email=False)
    off = make_ticket(store, channel="email")
    _resolve(off)
    update_store_settings(store, rating_email=True)
    on = make_ticket(store, make_contact(store), channel="email")
    _resolve(on)
    assert _requests(off) == [] and len(_requests(on)) == 1


def test_the_request_is_part_of_the_resolving_transaction(store):  # noqa: F811
    ticket = make_ticket(store, channel="email")
    agent = make_agent()
    assert request_email_rating(ticket, agent) is not None  # asked directly: the same rules
    db.session.commit()
    assert request_email_rating(ticket, agent) is None  # never twice
    db.session.commit()
    assert _rating_mail() == 1


# ---- the rules of a rating, shared by the widget and the rating page ---------------------

@pytest.mark.parametrize("rating, reasons, field", [
    (0, [], "rating"), (6, [], "rating"), (True, [], "rating"), ("5", [], "rating"), (None, [], "rating"),
    (4, [], "reasons"), (2, ["friendly"], "reasons"), (5, ["slow_answer"], "reasons"),
])
def test_check_rating_refuses_what_the_widget_refuses(rating, reasons, field):
    with pytest.raises(ActionError) as refused:
        check_rating(rating, reasons)
    assert refused.value.field == field


def test_check_rating_keeps_the_allowed_reasons():
    assert check_rating(5) == [] and check_rating(5, ["friendly", "solved"]) == ["friendly", "solved"]
    assert check_rating(1, ["not_solved", 7]) == ["not_solved"]


def test_a_chat_rating_still_goes_through_the_widget_rules(store, sent_events):  # noqa: F811
    visitor = make_visitor(store)
    ticket = make_ticket(store, visitor=visitor)
    with pytest.raises(ActionError):
        rate_ticket(visitor, ticket, 3)
    rate_ticket(visitor, ticket, 3, ["slow_answer"], "  took a day  ")
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.rating, ticket.rating_reasons, ticket.rating_comment) == (3, ["slow_answer"], "took a day")
    assert any(e["event"] == "ticket.updated" and e["payload"]["changes"] == ["rating"] for e in sent_events)
