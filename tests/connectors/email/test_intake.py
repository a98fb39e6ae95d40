"""Inbound intake: threading onto our own mail, reply tokens, reopening, duplicates, bounces,
automatic answers and their rate limit, quarantine."""
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text

from connectors.email import tokens
from helpdesk.actions.email import (
    AUTO_REPLY_LIMIT,
    accept_delivery,
    ingest_email,
    mailbox_session,
    process_delivery,
    update_mailbox,
)
from helpdesk.actions.messages import reply
from helpdesk.actions.tickets import change_status, set_tags
from helpdesk.extensions import db
from helpdesk.models import Contact, EmailHeader, InboundEmail, Message, OutboxItem, Ticket, utcnow
from tests.factories import make_agent
from tests.sql import statements_run


def mail(frm="Dana Fischer <dana@example.com>", to="support@shop.test", subject="Parcel", body="Where is it?",
         msgid=None, **headers):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = msgid or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def outgoing_id(ticket_id):
    """The Message-ID of our last email on the ticket (what a customer's client quotes)."""
    return db.session.scalar(select(EmailHeader.rfc_message_id).where(
        EmailHeader.ticket_id == ticket_id, EmailHeader.direction == "out").order_by(EmailHeader.id.desc()))


@pytest.fixture
def agent():
    return make_agent("Sam")


def test_a_new_email_opens_a_ticket_and_tells_the_agents(mailbox, store, sent_events):
    result = ingest_email(mailbox, mail(), source="raw")
    assert result.outcome == "created"
    ticket = db.session.get(Ticket, result.ticket_id)
    assert (ticket.channel, ticket.subject, ticket.contact.email) == ("email", "Parcel", "dana@example.com")
    assert ticket.contact.name == "Dana Fischer"
    names = {(e["event"], e["room"]) for e in sent_events}
    assert ("ticket.created", f"store:{store.id}:agents") in names
    assert ("message.created", f"store:{store.id}:agents") in names


def test_a_reply_to_our_email_threads_and_reopens_the_resolved_ticket(mailbox, agent, sent_events):
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    reply(ticket, agent, "It left the warehouse today.")
    change_status(ticket, "resolved", agent)
    ours = outgoing_id(ticket.id)
    assert ours.startswith(f"hd.{ticket.id}.")

    answer = ingest_email(mailbox, mail(subject="Re: Parcel", body="Thanks, but it is still not here.",
                                        In_Reply_To=f"<{ours}>"), source="raw")
    assert (answer.outcome, answer.ticket_id, answer.how) == ("threaded", ticket.id, "in-reply-to")
    db.session.refresh(ticket)
    assert ticket.status == "open" and ticket.resolved_at is None
    assert any(e["event"] == "ticket.updated" and "status" in e["payload"]["changes"] for e in sent_events)


def test_a_reply_to_a_closed_ticket_opens_a_new_one(mailbox, agent):
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    reply(ticket, agent, "Done.")
    change_status(ticket, "closed", agent)
    again = ingest_email(mailbox, mail(subject="Re: Parcel", In_Reply_To=f"<{outgoing_id(ticket.id)}>"),
                         source="raw")
    assert again.outcome == "created" and again.ticket_id != ticket.id
    assert db.session.get(Message, again.message_id).meta["email"]["not_threaded_to"] == [ticket.id]


def test_the_reply_token_address_threads_when_headers_are_lost(mailbox, agent):
    first = ingest_email(mailbox, mail(), source="raw")
    address = tokens.reply_address("support@shop.test", first.ticket_id)
    again = ingest_email(mailbox, mail(to=address, subject="new subject, no headers"), source="raw")
    assert (again.outcome, again.ticket_id, again.how) == ("threaded", first.ticket_id, "reply-token")


def test_a_forged_or_foreign_token_does_not_thread(mailbox):
    first = ingest_email(mailbox, mail(), source="raw")
    forged = f"support+t{first.ticket_id}-0000000000@shop.test"
    assert ingest_email(mailbox, mail(to=forged), source="raw").ticket_id != first.ticket_id
    stranger = ingest_email(mailbox, mail(frm="mallory@attacker.example",
                                          to=tokens.reply_address("support@shop.test", first.ticket_id)),
                            source="raw")
    assert stranger.outcome == "created" and stranger.ticket_id != first.ticket_id


def test_a_stranger_quoting_our_mail_is_refused_and_their_own_subject_tag_threads(mailbox, agent):
    dana = ingest_email(mailbox, mail(), source="raw")
    reply(db.session.get(Ticket, dana.ticket_id), agent, "On its way.")
    eve = ingest_email(mailbox, mail(frm="eve@example.net", subject="Refund"), source="raw")
    again = ingest_email(mailbox, mail(frm="eve@example.net", subject=f"Re: Refund [#{eve.ticket_id}]",
                                       In_Reply_To=f"<{outgoing_id(dana.ticket_id)}>"), source="raw")
    assert (again.outcome, again.ticket_id, again.how) == ("threaded", eve.ticket_id, "subject-tag")
    assert db.session.get(Message, again.message_id).meta["email"]["not_threaded_to"] == [dana.ticket_id]


def test_a_reply_reads_its_ticket_and_sender_with_the_message_id_lookup(mailbox, agent, sent_events):
    """The duplicate check and the threading lookup are one statement, which brings the
    ticket with its assignee and tags and the sender's contact: no second read of any of
    them for the ``ticket.updated`` payload, and no separate contact lookup."""
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    reply(ticket, agent, "On its way.")  # assigns the ticket to the agent
    set_tags(ticket, ["shipping", "parcel"])
    raw = mail(subject="Re: Parcel", In_Reply_To=f"<{outgoing_id(first.ticket_id)}>")
    db.session.expire_all()  # as the next message in a worker finds it
    del sent_events[:]
    with statements_run() as statements:
        answer = ingest_email(mailbox, raw, source="raw")
    assert answer.outcome == "threaded" and answer.ticket_id == first.ticket_id
    reads = [s for s in statements if s.startswith("select")]
    (lookup,) = [s for s in reads if "email_headers" in s]
    assert " join tickets" in lookup and " join contacts" in lookup and " join agents" in lookup
    assert not [s for s in reads if s is not lookup and (" from tickets" in s or " from contacts" in s
                                                          or " from agents" in s or "ticket_tags" in s)]
    (updated,) = [e["payload"] for e in sent_events if e["event"] == "ticket.updated"
                  and e["room"] == f"ticket:{first.ticket_id}" and e["payload"]["changes"] == ["last_message"]]
    assert updated["ticket"]["tags"] == ["parcel", "shipping"]
    assert updated["ticket"]["assignee"]["id"] == agent.id
    assert updated["ticket"]["contact"]["email"] == "dana@example.com"


def test_a_reply_asks_for_webhook_subscribers_only_when_the_store_has_some(mailbox, store, agent):
    """Whether the store has webhook subscribers is read with the threading lookup: a store
    without them costs a reply no query of its own; one with them gets the reply's events."""
    from helpdesk.actions.commerce import create_webhook_subscription

    first = ingest_email(mailbox, mail(), source="raw")
    reply(db.session.get(Ticket, first.ticket_id), agent, "On its way.")
    db.session.expire_all()
    with statements_run() as statements:
        answer = ingest_email(mailbox, mail(subject="Re: Parcel", In_Reply_To=f"<{outgoing_id(first.ticket_id)}>"),
                              source="raw")
    assert answer.outcome == "threaded"
    assert not [s for s in statements if s.startswith("select webhook_subscriptions")]
    assert db.session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == "webhook")) == 0

    create_webhook_subscription(store, "http://127.0.0.1:9/hooks", ["message", "ticket"])
    again = ingest_email(mailbox, mail(subject="Re: Parcel", body="Still waiting.",
                                       In_Reply_To=f"<{outgoing_id(first.ticket_id)}>"), source="raw")
    assert again.outcome == "threaded" and again.ticket_id == first.ticket_id
    hooks = db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "webhook")).all()
    assert sorted(h.payload["type"] for h in hooks) == ["message.created", "ticket.updated"]


def test_a_reply_from_an_address_shared_by_two_contacts_is_the_first_contacts(mailbox, store, agent):
    """The lookup's sender is the contact ``find_or_create_contact`` would find (the lowest
    id), not the contact of the ticket the mail names."""
    first = ingest_email(mailbox, mail(), source="raw")
    reply(db.session.get(Ticket, first.ticket_id), agent, "On its way.")
    dana = db.session.get(Ticket, first.ticket_id).contact
    # An agent gave another contact the same address; their ticket is not Dana's.
    other = Contact(store_id=store.id, email="elsewhere@example.com", name="Other")
    db.session.add(other)
    db.session.commit()
    theirs = ingest_email(mailbox, mail(frm="elsewhere@example.com"), source="raw")
    reply(db.session.get(Ticket, theirs.ticket_id), agent, "Noted.")
    other.email = "dana@example.com"
    db.session.commit()
    db.session.expire_all()

    again = ingest_email(mailbox, mail(subject="Re: Parcel", In_Reply_To=f"<{outgoing_id(theirs.ticket_id)}>"),
                         source="raw")
    assert again.outcome == "created" and again.ticket_id not in (first.ticket_id, theirs.ticket_id)
    message = db.session.get(Message, again.message_id)
    assert message.author_contact_id == dana.id < other.id
    assert message.meta["email"]["not_threaded_to"] == [theirs.ticket_id]


def test_a_reply_to_a_ticket_the_worker_still_holds_sees_its_current_state(mailbox, agent, sent_events):
    """A worker's session may still hold the ticket (expired after its commit) when the next
    reply names it: the lookup's row fills it in, no stale status reopens or stays."""
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    reply(ticket, agent, "On its way.")
    ours = outgoing_id(ticket.id)
    with mailbox_session(mailbox):
        second = ingest_email(mailbox, mail(subject="Re: Parcel", In_Reply_To=f"<{ours}>"), source="raw")
        change_status(ticket, "resolved", agent)
        del sent_events[:]
        with statements_run() as statements:
            third = ingest_email(mailbox, mail(subject="Re: Parcel", In_Reply_To=f"<{ours}>"), source="raw")
    assert second.ticket_id == third.ticket_id == ticket.id and third.outcome == "threaded"
    assert not [s for s in statements if s.startswith("select") and " from tickets" in s]
    assert ticket.status == "open" and ticket.resolved_at is None
    assert any(e["event"] == "ticket.updated" and e["payload"]["changes"] == ["last_message", "status"]
               for e in sent_events)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "open"


def test_the_same_message_delivered_twice_is_stored_once(mailbox):
    raw = mail(msgid="<same-1@example.com>")
    first = ingest_email(mailbox, raw, source="imap")
    second = ingest_email(mailbox, raw, source="raw")
    assert second.outcome == "duplicate" and second.message_id == first.message_id
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_reply_delivered_twice_is_stored_once(mailbox, agent):
    first = ingest_email(mailbox, mail(), source="raw")
    reply(db.session.get(Ticket, first.ticket_id), agent, "On its way.")
    raw = mail(subject="Re: Parcel", msgid="<reply-1@example.com>", In_Reply_To=f"<{outgoing_id(first.ticket_id)}>")
    answer = ingest_email(mailbox, raw, source="imap")
    again = ingest_email(mailbox, raw, source="raw")
    assert (again.outcome, again.ticket_id, again.message_id) == ("duplicate", first.ticket_id, answer.message_id)


def test_a_bounce_of_our_reply_marks_the_address_failing_and_shows_on_the_ticket(mailbox, agent, sent_events):
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    sent = reply(ticket, agent, "Here is your label.")
    ours = outgoing_id(ticket.id)
    dsn = (
        "From: MAILER-DAEMON@mx.shop.test\r\nTo: support@shop.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Fri, 8 Mar 2024 08:00:00 +0000\r\nMessage-ID: <dsn-1@mx.shop.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.test\r\n\r\n"
        "Final-Recipient: rfc822; dana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: dana@example.com\r\nMessage-ID: <{ours}>\r\n\r\n--b--\r\n"
    ).encode()
    result = ingest_email(mailbox, dsn, source="raw")
    assert result.outcome == "bounce" and result.ticket_id == ticket.id
    contact = db.session.scalar(select(Contact).where(Contact.email == "dana@example.com"))
    assert contact.email_failing is True
    event = db.session.get(Message, result.message_id)
    assert event.kind == "event" and event.meta["event"] == "email_bounced" and event.meta["status"] == "5.1.1"
    assert db.session.get(Message, sent.id).meta["delivery"]["status"] == "bounced"
    assert any(e["event"] == "contact.updated" for e in sent_events)
    # The ticket did not reopen or change hands, and no further copies go to the dead address.
    outbox_before = db.session.scalar(select(func.count()).select_from(OutboxItem))
    reply(ticket, agent, "Trying again")
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == outbox_before


def test_automatic_answers_go_to_people_only_and_are_rate_limited(mailbox):
    update_mailbox(mailbox, auto_reply=True)
    for n in range(AUTO_REPLY_LIMIT + 2):
        ingest_email(mailbox, mail(subject=f"Question {n}"), source="raw")
    acks = db.session.scalars(select(OutboxItem)).all()
    assert len(acks) == AUTO_REPLY_LIMIT
    assert all(a.payload["automatic"] for a in acks)
    # Auto-replies, list mail and bounces never get one.
    ingest_email(mailbox, mail(frm="ooo@example.org", Auto_Submitted="auto-replied"), source="raw")
    ingest_email(mailbox, mail(frm="news@example.org", Precedence="bulk"), source="raw")
    ingest_email(mailbox, mail(frm="list@example.org", List_Id="<l.example.org>"), source="raw")
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == AUTO_REPLY_LIMIT


def test_an_out_of_office_on_a_resolved_ticket_is_an_event_and_does_not_reopen(mailbox, agent):
    first = ingest_email(mailbox, mail(), source="raw")
    ticket = db.session.get(Ticket, first.ticket_id)
    reply(ticket, agent, "Solved!")
    change_status(ticket, "resolved", agent)
    ooo = ingest_email(mailbox, mail(subject="Out of office", In_Reply_To=f"<{outgoing_id(ticket.id)}>",
                                     Auto_Submitted="auto-replied"), source="raw")
    assert ooo.outcome == "auto_reply" and ooo.ticket_id == ticket.id
    db.session.refresh(ticket)
    assert ticket.status == "resolved"


def test_an_oversized_delivery_is_refused_with_a_reason(mailbox, monkeypatch):
    monkeypatch.setattr("helpdesk.actions.email.MAX_EMAIL_BYTES", 1000)
    row, created = accept_delivery(mailbox, mail(body="x" * 2000), source="raw")
    assert created and row.status == InboundEmail.REFUSED and row.raw is None and "over the" in row.reason
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_an_internal_error_quarantines_that_message_and_the_next_one_goes_on(mailbox, monkeypatch):
    calls = {"n": 0}
    real = ingest_email

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr("helpdesk.actions.email.ingest_email", flaky)
    bad, _ = accept_delivery(mailbox, mail(subject="first"), source="raw", delivery_key="k1")
    good, _ = accept_delivery(mailbox, mail(subject="second"), source="raw", delivery_key="k2")
    db.session.expire_all()
    bad, good = db.session.get(InboundEmail, bad.id), db.session.get(InboundEmail, good.id)
    assert bad.status == "quarantined" and bad.reason == "internal error: RuntimeError" and bad.raw
    assert good.status == "done" and good.ticket_id and good.raw is None
    # Once the cause is fixed, the quarantined message can be processed again.
    bad.status = InboundEmail.PENDING
    db.session.commit()
    assert process_delivery(bad.id).outcome == "created"


def test_two_workers_storing_the_same_message_at_once_store_it_once(app, mailbox):
    """The unique (store, Message-ID + sender + date) index decides a race; the loser
    retries and finds the winner's message."""
    import threading

    raw = mail(msgid="<race-1@example.com>")
    mailbox_id, results, errors = mailbox.id, [], []
    barrier = threading.Barrier(4)

    def worker():
        with app.app_context():
            try:
                box = db.session.get(type(mailbox), mailbox_id)
                barrier.wait(5)
                results.append(ingest_email(box, raw, source="imap").outcome)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == ["created", "duplicate", "duplicate", "duplicate"]
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_worker_that_lost_a_race_goes_on_with_its_next_message(mailbox, monkeypatch):
    """The loser of a duplicate race wrote a ticket and a message before its header failed;
    the retry finds the winner's. The rolled-back rows' objects must leave the session with
    them, not linger until a garbage collection: on SQLite the worker's next message gets
    the same ids for its own ticket and message ("another instance with key" otherwise, and
    a good message quarantined)."""
    import gc

    from connectors.email import threading as email_threading

    raw = mail(msgid="<race-2@example.com>")
    winner = ingest_email(mailbox, raw, source="raw")
    real, calls = email_threading.lookup, {"n": 0}

    def read_before_the_winner_committed(*args, **kwargs):
        calls["n"] += 1
        found = real(*args, **kwargs)
        if calls["n"] == 1:
            found.seen = None
        return found

    monkeypatch.setattr(email_threading, "lookup", read_before_the_winner_committed)
    gc.disable()  # no collection happens to run in between (as in the tuned server process)
    try:
        loser = ingest_email(mailbox, raw, source="imap")
        monkeypatch.setattr(email_threading, "lookup", real)
        following = ingest_email(mailbox, mail(frm="lee@example.org", subject="Sizes"), source="imap")
    finally:
        gc.enable()
    assert calls["n"] == 2
    assert (loser.outcome, loser.ticket_id, loser.message_id) == ("duplicate", winner.ticket_id, winner.message_id)
    assert following.outcome == "created"
    db.session.expire_all()
    ticket = db.session.get(Ticket, following.ticket_id)
    assert (ticket.subject, ticket.contact.email) == ("Sizes", "lee@example.org")
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_control_characters_and_absurd_addresses_never_reach_the_database(mailbox):
    raw = (b"From: " + b"x" * 300 + b"@example.com, Real Person <real@example.com>\r\n"
           b"To: support@shop.test\r\nSubject: Hi\x00\x01 there\r\nMessage-ID: <nul\x00id@example.com>\r\n"
           b"Content-Type: text/plain; charset=\"utf\x00-8\"\r\n\r\nBody with \x00 NUL.\r\n")
    result = ingest_email(mailbox, raw, source="raw")
    assert result.outcome == "created"
    message = db.session.get(Message, result.message_id)
    assert message.body_text == "Body with  NUL." and message.ticket.subject == "Hi there"
    assert message.author_contact.email == "real@example.com"
    assert message.meta["email"]["message_id"] == "nulid@example.com"


@pytest.fixture
def commit_settings():
    """``synchronous_commit`` as each COMMIT of the session finds it (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    seen = []

    def record(session):
        seen.append(session.execute(text("SHOW synchronous_commit")).scalar())

    sa_event.listen(db.session, "before_commit", record)
    yield seen
    sa_event.remove(db.session, "before_commit", record)


def test_mail_that_can_be_read_again_commits_without_waiting_for_the_disk(mailbox, store, commit_settings):
    from helpdesk.actions.messages import receive_message_from_address

    # The IMAP poller's read mark commits with the mail: a lost commit leaves it unread.
    assert ingest_email(mailbox, mail(), source="imap", with_intake=lambda: None).outcome == "created"
    assert commit_settings == ["off"]
    # A stored delivery stays pending until its processing commits.
    row, _created = accept_delivery(mailbox, mail(subject="Second"), source="raw", delivery_key="d-1")
    assert db.session.get(InboundEmail, row.id).status == InboundEmail.DONE
    assert commit_settings[1:] == ["on", "off"]  # the delivery itself waits for the disk
    # Mail nobody could read again, and everything else, waits for the disk as always.
    del commit_settings[:]
    assert ingest_email(mailbox, mail(subject="Third"), source="raw").outcome == "created"
    receive_message_from_address(store, email="lee@example.com", name="Lee", channel="form", text="Hello")
    assert commit_settings == ["on", "on"]
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_replies_naming_a_merged_ticket_thread_onto_the_ticket_it_was_merged_into(mailbox, agent):
    """Dana wrote twice, with different subjects; the agent answered the first, then merged
    it into the second. Whatever her reply names -- our answer's Message-ID, her own first
    mail's, the first ticket's [#number] or reply address -- it joins the second ticket."""
    from helpdesk.actions.tickets import merge_tickets

    first_mail = make_msgid(domain="example.com")
    first = ingest_email(mailbox, mail(subject="Parcel", msgid=first_mail), source="raw")
    second = ingest_email(mailbox, mail(subject="Order 1001 missing"), source="raw")
    assert first.ticket_id != second.ticket_id
    reply(db.session.get(Ticket, first.ticket_id), agent, "It left the warehouse today.")
    ours = outgoing_id(first.ticket_id)
    merge_tickets(db.session.get(Ticket, first.ticket_id), db.session.get(Ticket, second.ticket_id), by=agent)

    replies = {
        "in-reply-to": mail(subject="Re: Parcel [#%d]" % first.ticket_id, In_Reply_To=f"<{ours}>"),
        "references": mail(subject="Re: Parcel", References=f"{first_mail}"),
        "subject-tag": mail(subject=f"Re: Parcel [#{first.ticket_id}]"),
        "reply-token": mail(to=tokens.reply_address("support@shop.test", first.ticket_id), subject="Hello?"),
    }
    for how, raw in replies.items():
        answer = ingest_email(mailbox, raw, source="raw")
        assert (answer.outcome, answer.ticket_id, answer.how) == ("threaded", second.ticket_id, how)
        assert db.session.get(Message, answer.message_id).ticket_id == second.ticket_id
    merged = db.session.get(Ticket, first.ticket_id)
    assert merged.status == "closed" and merged.messages.count() == 1  # only its "merged into" event
    # Our next answer on the merged ticket continues the whole thread.
    reply(db.session.get(Ticket, second.ticket_id), agent, "Tracking number: ZX-4411.")
    payload = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first().payload
    assert f"<{ours}>" in payload["references"] and f"[#{second.ticket_id}]" in payload["subject"]


def test_the_merged_tickets_other_contact_continues_by_email_and_a_stranger_does_not(mailbox, agent):
    """Merged across two contacts of the store, the target keeps its contact; the duplicate's
    contact still goes on in the merged conversation when replying. Quoting its Message-ID
    is not enough for anyone else."""
    from helpdesk.actions.tickets import merge_tickets

    work = ingest_email(mailbox, mail(frm="Dana W. <dana.w@work.example>", subject="Invoice"), source="raw")
    home = ingest_email(mailbox, mail(subject="Invoice for order 1001"), source="raw")
    reply(db.session.get(Ticket, work.ticket_id), agent, "Attached.")
    ours = outgoing_id(work.ticket_id)
    merge_tickets(db.session.get(Ticket, work.ticket_id), db.session.get(Ticket, home.ticket_id), by=agent)
    assert db.session.get(Ticket, home.ticket_id).contact.email == "dana@example.com"

    again = ingest_email(mailbox, mail(frm="dana.w@work.example", subject="Re: Invoice",
                                       In_Reply_To=f"<{ours}>"), source="raw")
    assert (again.outcome, again.ticket_id) == ("threaded", home.ticket_id)
    stranger = ingest_email(mailbox, mail(frm="mallory@attacker.example", subject=f"Re: Invoice [#{work.ticket_id}]",
                                          In_Reply_To=f"<{ours}>"), source="raw")
    assert stranger.outcome == "created" and stranger.ticket_id not in (work.ticket_id, home.ticket_id)
