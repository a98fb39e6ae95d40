"""The corpus: every real-world-shaped message in tests/fixtures/email parses and lands
in the queue exactly as manifest.json says (one fixture per case, Zulip-style)."""
import pytest
from sqlalchemy import func, select

from connectors.email.parser import MalformedEmail, parse
from helpdesk.actions.email import ingest_email
from helpdesk.extensions import db
from helpdesk.models import Attachment, Contact, EmailHeader, InboundEmail, Message, OutboxItem, Ticket
from tests.connectors.email.conftest import MANIFEST, eml

MESSAGES = MANIFEST["messages"]
NAMES = sorted(MESSAGES)


def test_the_corpus_is_big_enough():
    assert len(NAMES) >= 50
    outcomes = {e["outcome"] for e in MESSAGES.values()}
    assert {"created", "threaded", "duplicate", "auto_reply", "bounce", "quarantined"} <= outcomes


def test_each_fixture_parses_as_the_manifest_says(subtests):
    # One subtest per fixture (one database reset for all: parsing touches no table).
    for name in NAMES:
        with subtests.test(msg=name):
            _check_parse(name)


def _check_parse(name):
    expected = MESSAGES[name]
    raw = eml(name)
    if expected["outcome"] == "quarantined" and expected.get("reason", "").startswith("no sender"):
        with pytest.raises(MalformedEmail) as err:
            parse(raw)
        assert err.value.reason == expected["reason"]
        return
    email = parse(raw)
    if "sender" in expected:
        assert email.from_address == expected["sender"]
    if "from_name" in expected:
        assert email.from_name == expected["from_name"]
    if "subject" in expected:
        assert email.subject == expected["subject"]
    for fragment in expected.get("text_contains", []):
        assert fragment in email.text
    for fragment in expected.get("text_excludes", []):
        assert fragment not in email.text
        assert fragment in email.quoted_text or fragment in email.quoted_html  # kept, only collapsed
    if "quoted" in expected:
        assert bool(email.quoted_text or email.quoted_html) is expected["quoted"]
    for fragment in expected.get("html_excludes", []):
        assert fragment not in email.html
    if "auto" in expected:
        if expected["auto"] is None:
            assert email.loop_reason is None
        else:
            assert (email.loop_reason or "").startswith(expected["auto"])
    if "bounce_recipients" in expected:
        assert [r["address"] for r in email.bounce.recipients] == expected["bounce_recipients"]
    if expected.get("defects"):
        assert email.defects
    if "attachments" in expected:
        names = [p.filename for p in email.attachments]
        for filename in expected["attachments"]:
            assert filename in names
    if "inline" in expected:
        assert sum(1 for p in email.attachments if p.inline) == expected["inline"]


def test_the_corpus_lands_in_the_queue_as_the_manifest_says(mailbox, sent_events):
    tickets = {}
    for name in NAMES:
        expected = MESSAGES[name]
        result = ingest_email(mailbox, eml(name), source="raw")
        assert result.outcome == expected["outcome"], (name, result)
        tickets[name] = result.ticket_id
        if "reason" in expected:
            assert result.reason == expected["reason"], name
        if "thread_to" in expected:
            assert result.ticket_id == tickets[expected["thread_to"]], name
        if "not_thread_to" in expected:
            assert result.ticket_id != tickets[expected["not_thread_to"]], name
        if "how" in expected:
            assert result.how == expected["how"], name
        if result.outcome in ("created", "threaded"):
            _check_message(name, expected, db.session.get(Message, result.message_id))
        if name == "01-plain-ascii.eml":
            assert result.ticket_id == 1  # the subject-tag fixtures name [#1]
        for address in expected.get("failing", []):
            assert db.session.scalar(select(Contact.email_failing).where(Contact.email == address)) is True
        for address in expected.get("not_failing", []):
            assert db.session.scalar(select(Contact.email_failing).where(Contact.email == address)) is False

    # Nothing was stored twice, nothing was dropped: every message is a message, an event
    # on its ticket, or a quarantine row with a reason.
    expected_quarantine = sum(1 for e in MESSAGES.values() if e["outcome"] == "quarantined")
    rows = db.session.scalars(select(InboundEmail)).all()
    assert len(rows) == expected_quarantine and all(r.reason for r in rows)
    stored = db.session.scalar(select(func.count()).select_from(EmailHeader))
    assert stored == len(NAMES) - expected_quarantine - sum(1 for e in MESSAGES.values()
                                                            if e["outcome"] == "duplicate"
                                                            or (e["outcome"] == "bounce" and "failing" in e
                                                                and not e.get("thread_to")))
    # Automatic mail never triggered an automatic answer (this mailbox has none) nor reopened anything.
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def _check_message(name, expected, message):
    ticket = db.session.get(Ticket, message.ticket_id)
    assert ticket.channel == "email" and ticket.status == "open"
    meta = message.meta["email"]
    if "stored_text" in expected:
        assert message.body_text == expected["stored_text"]
    for fragment in expected.get("text_contains", []):
        assert fragment in message.body_text, name
    for fragment in expected.get("html_contains", []) + expected.get("stored_html_contains", []):
        assert fragment in message.body_html, name
    for fragment in expected.get("html_excludes", []) + expected.get("stored_html_excludes", []):
        assert fragment not in message.body_html, name
    if expected.get("quoted"):
        assert meta.get("quoted_text") or meta.get("quoted_html"), name
    if "auto" in expected and expected["auto"]:
        assert meta["auto"].startswith(expected["auto"]), name
    if expected.get("remote_images"):
        assert meta.get("remote_images") is True
    files = sorted(a.filename for a in message.attachments)
    if "attachments" in expected:
        assert files == sorted(expected["attachments"]), name
    for filename in expected.get("attachments_include", []):
        assert filename in files, name
    if "refused_attachments" in expected:
        assert [r["filename"] for r in meta["refused_attachments"]] == expected["refused_attachments"]
    for att in message.attachments:
        assert db.session.get(Attachment, att.id).size > 0
