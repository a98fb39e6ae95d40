"""The email channel: mailboxes, inbound intake (parse, deduplicate, thread, store),
bounces and auto-replies, outgoing email copies and their delivery state, the contact form.

Inbound mail becomes messages through ``receive_customer_message`` (which reopens a
resolved ticket); the email-only bookkeeping (Message-ID map, quarantine, bounces) is here.
"""
import hashlib
import logging
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy import event as sa_event

from connectors.email import threading as email_threading
from connectors.email import tokens
from connectors.email.parser import MAX_EMAIL_BYTES, MalformedEmail, parse
from helpdesk import events, i18n
from helpdesk.actions import ActionError, Conflict, NotFound, action, replayable_transaction
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.contacts import find_or_create_contact, normalise_email
from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.tickets import add_event, open_ticket
from helpdesk.extensions import db
from helpdesk.models import (
    Channel,
    Contact,
    EmailAutoReply,
    EmailHeader,
    InboundEmail,
    Mailbox,
    MailboxFolder,
    Message,
    MessageKind,
    Ticket,
    utcnow,
)
from helpdesk.prepared import prepare
from helpdesk.signatures import reply_signature, store_signature
from helpdesk.text import clean_text, preview

log = logging.getLogger(__name__)

#: Longest email text kept on a message (the rest of a very long mail is in its .eml).
EMAIL_TEXT_LIMIT = 100_000
#: Automatic answers per sender address and store within AUTO_REPLY_WINDOW.
AUTO_REPLY_LIMIT = 3
AUTO_REPLY_WINDOW = timedelta(hours=1)
_CID_SRC = re.compile(r"""(src=["'])cid:([^"']+)(["'])""", re.IGNORECASE)
_REMOTE_IMG = re.compile(r"""<img[^>]+src=["']https?:""", re.IGNORECASE)
# Built once: it runs for every inbound message. Core, not ORM: the row is written, never
# read back.
_INSERT_HEADER = prepare(insert(EmailHeader.__table__))


@dataclass
class Intake:
    """What became of one inbound email. ``outcome``: created (new ticket), threaded,
    duplicate, auto_reply (event on its ticket), bounce, quarantined, refused."""

    outcome: str
    ticket_id: int = None
    message_id: int = None
    reason: str = ""
    how: str = ""


# ---- mailboxes ---------------------------------------------------------------------------

_MAILBOX_FIELDS = ("name", "active", "mailgun_signing_key", "imap_host", "imap_port", "imap_ssl",
                   "imap_username", "imap_password", "imap_folders", "smtp_url", "auto_reply")


@action
def create_mailbox(store, address, **settings):
    """A support address for ``store``. Emits nothing (admin configuration)."""
    address = normalise_email(address)
    if not address or "@" not in address:
        raise ActionError("Enter an email address.", "address")
    if db.session.scalar(select(Mailbox.id).where(Mailbox.address == address)):
        raise ActionError("That address already has a mailbox.", "address", status=409)
    mailbox = Mailbox(store_id=store.id, address=address, imap_folders=["INBOX"])
    db.session.add(mailbox)
    _apply(mailbox, settings)
    db.session.flush()
    return mailbox


#: Mail that did not become a ticket: kept for an admin to read, download, import again or discard.
QUARANTINE_STATUSES = (InboundEmail.QUARANTINED, InboundEmail.REFUSED)
_DELIVERED = (InboundEmail.DONE, InboundEmail.DUPLICATE)
#: Write-only settings: never shown back, so an empty value means "keep what is stored".
MAILBOX_SECRETS = ("imap_password", "smtp_url", "mailgun_signing_key")


@action
def update_mailbox(mailbox, **changes):
    """Change a mailbox's settings. A secret given as "" is left unchanged (the form never
    receives it back, so an empty field means "keep"); given as None it is removed (no more
    IMAP polling without a password, the helpdesk's own SMTP server, no Mailgun).
    ``rotate_inbound_secret=True`` issues a new inbound secret.

    Another IMAP server or user is another account, whose UIDs say nothing of what was
    imported from the old one (two accounts' INBOX can even share a UIDVALIDITY): the
    folders' read marks are dropped and the new account is read from its start, as a new
    mailbox's is; deduplication keeps mail already imported (the same account moved to
    another server) from being stored twice. A new password, port or folder list keeps
    them. A running IMAP watch logs in again with the new settings (``imap.watch``)."""
    if changes.pop("rotate_inbound_secret", False):
        mailbox.inbound_secret = secrets.token_hex(32)
    account = _imap_account(mailbox)
    _apply(mailbox, changes)
    if _imap_account(mailbox) != account:
        db.session.execute(update(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox.id)
                           .values(uidvalidity=None, last_uid=0).execution_options(synchronize_session=False))
    db.session.flush()
    return mailbox


def _imap_account(mailbox):
    return ((mailbox.imap_host or "").strip().lower(), mailbox.imap_username or "")


def _apply(mailbox, settings):
    for key, value in settings.items():
        if key not in _MAILBOX_FIELDS:
            raise ActionError(_("Unknown mailbox setting %(key)s.", key=key), key)
        if key in MAILBOX_SECRETS and value == "":
            continue
        if key == "imap_folders":
            value = [clean_text(f, 255) for f in (value or ["INBOX"]) if clean_text(f)] or ["INBOX"]
        setattr(mailbox, key, value)


@action
def delete_mailbox(mailbox):
    """Remove a mailbox (one added by mistake, or no longer used); its address can be added
    again. Emits nothing (admin configuration).

    What came through it stays: its tickets and messages, their Message-ID map (the
    database sets ``email_headers.mailbox_id`` to NULL, so replies still thread; answers
    leave from the store's other mailbox or MAIL_FROM) and the log of deliveries that became
    tickets (kept without the mailbox). What goes: its settings and secrets, the IMAP folders'
    read marks (cascade), and the mail that never became a ticket -- quarantined, refused,
    and deliveries not parsed yet, which cannot be imported without the mailbox. Returns
    ``{"discarded": quarantined and refused, "pending": not parsed yet}``."""
    counts = dict(db.session.execute(
        select(InboundEmail.status, func.count()).where(InboundEmail.mailbox_id == mailbox.id)
        .group_by(InboundEmail.status)).all())
    # inbound_emails.mailbox_id cascades (so a store's deletion takes everything): the
    # deliveries that became tickets are history and are let go of the mailbox first.
    db.session.execute(update(InboundEmail).where(
        InboundEmail.mailbox_id == mailbox.id, InboundEmail.status.in_(_DELIVERED))
        .values(mailbox_id=None).execution_options(synchronize_session=False))
    db.session.execute(delete(InboundEmail).where(InboundEmail.mailbox_id == mailbox.id)
                       .execution_options(synchronize_session=False))
    db.session.delete(mailbox)
    db.session.flush()
    log.info("mailbox deleted", extra={"mailbox_id": mailbox.id})
    return {"discarded": sum(counts.get(s, 0) for s in QUARANTINE_STATUSES),
            "pending": counts.get(InboundEmail.PENDING, 0)}


# ---- quarantine --------------------------------------------------------------------------

def quarantined_email(mailbox_id, inbound_id):
    """The quarantined (or refused) delivery ``inbound_id`` of mailbox ``mailbox_id``, else
    NotFound: one that has become a ticket is no longer in the quarantine."""
    row = db.session.scalar(select(InboundEmail).where(
        InboundEmail.id == inbound_id, InboundEmail.mailbox_id == mailbox_id,
        InboundEmail.status.in_(QUARANTINE_STATUSES)))
    if row is None:
        raise NotFound("No such message in the quarantine.")
    return row


def import_quarantined(row):
    """Run a quarantined message through the intake again: after a fix of ours (an internal
    error), or a setting changed since. Returns the ``Intake``: when it became a ticket (or
    a bounce, or was already there) the row leaves the quarantine as in ``process_delivery``
    (done, linked to its ticket, bytes dropped); refused again, it stays with the new reason.

    A row without its bytes (refused as too large: not kept, or left on the IMAP server)
    cannot be imported: Conflict. Emits what ``ingest_email`` emits."""
    if row.raw is None:
        raise Conflict("This message was not kept, so it cannot be imported again.")
    mailbox = db.session.get(Mailbox, row.mailbox_id)
    row_id, source = row.id, row.source
    try:
        return ingest_email(mailbox, row.raw, source=source, inbound=row)
    except Exception as exc:  # noqa: BLE001 -- as process_delivery: the row keeps the reason
        log.exception("inbound email failed again", extra={"inbound_id": row_id})
        return quarantine(mailbox, None, source=source, reason=f"internal error: {type(exc).__name__}",
                          inbound_id=row_id)


@action
def discard_quarantined(row):
    """Delete a quarantined delivery; its bytes are in the row (``raw``) and go with it."""
    db.session.delete(row)
    db.session.flush()
    log.info("quarantined email discarded", extra={"inbound_id": row.id, "mailbox_id": row.mailbox_id})


# ---- inbound -----------------------------------------------------------------------------

@action(retry_on_conflict=True)
def accept_delivery(mailbox, raw, *, source, delivery_key=None):
    """A provider (or the raw endpoint) handed us a message: write it down, parse it later.

    Returns ``(row, created)``; a replay of the same ``delivery_key`` returns the first row.
    An oversized message is refused (row kept, without its body, with the reason). The
    parsing job is enqueued after commit."""
    if delivery_key:
        existing = db.session.scalar(select(InboundEmail).where(
            InboundEmail.mailbox_id == mailbox.id, InboundEmail.delivery_key == delivery_key[:200]))
        if existing is not None:
            return existing, False
    row = InboundEmail(store_id=mailbox.store_id, mailbox_id=mailbox.id, source=source,
                       delivery_key=delivery_key[:200] if delivery_key else None, size=len(raw),
                       status=InboundEmail.PENDING, raw=raw)
    if len(raw) > MAX_EMAIL_BYTES:
        row.status, row.raw = InboundEmail.REFUSED, None
        row.reason = f"message of {len(raw)} bytes is over the {MAX_EMAIL_BYTES} byte limit"
        log.warning("inbound email refused", extra={"mailbox_id": mailbox.id, "size": len(raw), "source": source})
    db.session.add(row)
    db.session.flush()
    if row.status == InboundEmail.PENDING:
        from workers import enqueue

        enqueue("workers.email_jobs.process_inbound", row.id)
    return row, True


def process_delivery(row_id):
    """Parse a stored delivery into a ticket (the job behind ``accept_delivery``). A failure
    of ours (not of the message) quarantines the row with the error, never loses it."""
    row = db.session.get(InboundEmail, row_id)
    if row is None or row.status != InboundEmail.PENDING:
        return None
    mailbox = db.session.get(Mailbox, row.mailbox_id)
    try:
        return ingest_email(mailbox, row.raw, source=row.source, inbound=row)
    except Exception as exc:  # noqa: BLE001 -- one bad message never blocks the rest
        log.exception("inbound email failed", extra={"inbound_id": row_id})
        return quarantine(mailbox, None, source=row.source, reason=f"internal error: {type(exc).__name__}",
                          inbound_id=row_id)


@action
def quarantine(mailbox, raw, *, source, reason, delivery_key=None, inbound_id=None, sender=None, subject=None):
    """Keep a message that cannot become a ticket, with a reason an admin can read."""
    row = db.session.get(InboundEmail, inbound_id) if inbound_id else None
    if row is None and delivery_key:
        row = db.session.scalar(select(InboundEmail).where(InboundEmail.mailbox_id == mailbox.id,
                                                           InboundEmail.delivery_key == delivery_key[:200]))
    if row is None:
        row = InboundEmail(store_id=mailbox.store_id, mailbox_id=mailbox.id, source=source,
                           delivery_key=delivery_key[:200] if delivery_key else None,
                           size=len(raw or b""), raw=raw)
        db.session.add(row)
    row.status = InboundEmail.QUARANTINED
    row.reason = clean_text(reason, 500)
    row.sender = clean_text(sender, 255) or row.sender
    row.subject = clean_text(subject, 255) or row.subject
    row.processed_at = utcnow()
    db.session.flush()
    log.warning("inbound email quarantined", extra={"mailbox_id": mailbox.id, "inbound_id": row.id,
                                                     "reason": row.reason})
    return Intake("quarantined", reason=row.reason)


@action(retry_on_conflict=True)
def ingest_email(mailbox, raw, *, source, delivery_key=None, inbound=None, with_intake=None):
    """One inbound email into the queue: parse, drop duplicates, recognise bounces and
    automatic mail, thread it onto the sender's ticket or open one, store its attachments.

    Changes: contact (found or created), ticket, message, EmailHeader; for bounces the
    contact's ``email_failing`` and an event on the ticket. Emits what
    ``receive_customer_message`` emits, ``message.created`` for events and
    ``contact.updated`` for a failing address. Returns an ``Intake``.

    ``with_intake``: called first, inside this transaction, so what it changes is committed
    with the message or not at all (the IMAP poller's read-up-to mark of the folder).
    With ``with_intake`` or ``inbound`` the mail can be read again until this commits (the
    mark, or the delivery still pending): the commit does not wait for the disk."""
    if with_intake is not None or inbound is not None:
        # One commit per message would otherwise wait for a disk flush each: on PostgreSQL
        # about a quarter of what a reply costs the worker.
        replayable_transaction()
    if with_intake is not None:
        with_intake()
    inbound_id = inbound.id if inbound is not None else None
    try:
        email = parse(raw, bodies=False)  # read below, for mail that is not dropped
    except MalformedEmail as exc:
        return quarantine(mailbox, raw, source=source, reason=exc.reason, delivery_key=delivery_key,
                          inbound_id=inbound_id)
    store = mailbox.store
    key = email.dedupe_key(raw)
    sender = normalise_email(email.from_address)
    found = email_threading.lookup(store, email, key, sender)
    if found.seen is not None:
        result = Intake("duplicate", *found.seen)
        _finish(inbound, result)
        return result
    if email.from_address in _own_addresses(mailbox):
        return quarantine(mailbox, raw, source=source, reason="sent from this mailbox's own address (loop)",
                          delivery_key=delivery_key, inbound_id=inbound_id, sender=email.from_address,
                          subject=email.subject)
    if email.bounce is not None:
        result = _bounce(mailbox, email, key)
        if result is None:
            return quarantine(mailbox, raw, source=source, reason="bounce for a message we do not know",
                              delivery_key=delivery_key, inbound_id=inbound_id, sender=email.from_address,
                              subject=email.subject)
        _finish(inbound, result)
        return result

    email.read_bodies()
    contact = find_or_create_contact(store, email=sender, name=email.from_name or None, by_email=found.sender)
    ticket, how, refused = email_threading.find_ticket(store, email, contact, found.named)
    if ticket is not None and email.is_automatic and not email.loop_reason.startswith("list"):
        # An out-of-office answering our reply: shown on the ticket, never reopens it.
        event = add_event(ticket, "auto_reply", text=preview(email.text or email.subject, 500),
                          sender=email.from_address, reason=email.loop_reason, subject=email.subject)
        _record_header(store, mailbox, ticket, event, contact, email, key)
        result = Intake("auto_reply", ticket.id, event.id, email.loop_reason, how)
        _finish(inbound, result)
        return result

    created = ticket is None
    if created:
        ticket = open_ticket(store, contact, Channel.EMAIL, subject=email.subject or "(no subject)")
    attachments, refused_files = _store_attachments(store, contact, email, raw)
    html = _link_inline_images(email.html, attachments)
    text = email.text
    if not text.strip() and not html and not attachments:
        text = "(empty message)"
    meta = {"email": _email_meta(mailbox, email, how, refused, refused_files, html)}
    message, _new = receive_customer_message(
        store, contact, Channel.EMAIL, text, subject=email.subject, html=html or None, meta=meta,
        attachment_ids=[a.id for a in attachments], ticket=ticket, max_length=EMAIL_TEXT_LIMIT,
    )
    _record_header(store, mailbox, ticket, message, contact, email, key)
    if not contact.locale and message.language:
        # Automatic mail answers in the language the customer wrote in (if the store has it).
        contact.locale = message.language
    if created and not email.is_automatic:
        _acknowledge(mailbox, ticket, contact, "email/acknowledgement")
    result = Intake("created" if created else "threaded", ticket.id, message.id, email.loop_reason or "", how or "")
    _finish(inbound, result, email)
    return result


@dataclass
class Fetched:
    """One message as a mail server handed it over: its bytes, or, for one we would not
    take (too large: left on the server), the reason, which quarantines it."""

    raw: bytes = None
    delivery_key: str = None
    refused: str = None


@action
def ingest_batch(mailbox, fetched, *, source, with_intake=None):
    """Several inbound emails in one transaction: what the IMAP poller fetched in one round
    trip. Returns their ``Intake`` in order.

    A transaction per message costs BEGIN, the asynchronous-commit setting, the poller's
    read mark and COMMIT: four of the eight round trips of a reply without attachments.
    Here they are paid once, and the read mark (``with_intake``, run last) covers the
    batch. Events leave after the one COMMIT, a few milliseconds later for the first
    message.

    Anything raised rolls back all of them, and the caller imports them again one per
    transaction (``ingest_email``): a message that fails on its own is then quarantined
    there and holds back none of the others. Nothing here is committed without its mark,
    so a crash re-reads the batch and deduplication skips what had landed."""
    replayable_transaction()
    results = []
    for item in fetched:
        if item.refused:
            results.append(quarantine(mailbox, None, source=source, reason=item.refused,
                                      delivery_key=item.delivery_key))
        else:
            results.append(ingest_email(mailbox, item.raw, source=source))
    if with_intake is not None:
        with_intake()
    return results


@contextmanager
def mailbox_session(*mailboxes):
    """For one worker ingesting many messages (the IMAP poller): the mailboxes and their
    stores stay loaded across the per-message commits instead of being read again for
    every message; every other row is expired at commit as usual."""
    session = db.session()
    keep = {id(m) for m in mailboxes} | {id(m.store) for m in mailboxes}

    def expire_the_rest(sess):
        for obj in list(sess.identity_map.values()):
            if id(obj) not in keep:
                sess.expire(obj)

    previous = session.expire_on_commit
    session.expire_on_commit = False
    sa_event.listen(session, "after_commit", expire_the_rest)
    try:
        yield
    finally:
        sa_event.remove(session, "after_commit", expire_the_rest)
        session.expire_on_commit = previous


def _own_addresses(mailbox):
    return {mailbox.address, normalise_email(current_app.config["MAIL_FROM"])}


def _finish(inbound, result, email=None):
    if inbound is None:
        return
    inbound.status = InboundEmail.DUPLICATE if result.outcome == "duplicate" else InboundEmail.DONE
    inbound.ticket_id, inbound.message_id = result.ticket_id, result.message_id
    inbound.processed_at = utcnow()
    inbound.raw = None  # stored as a message now; keep no second copy
    if email is not None:
        inbound.sender, inbound.subject = email.from_address, email.subject


def _record_header(store, mailbox, ticket, message, contact, email, key):
    # Written at once: a concurrent duplicate fails here (unique dedupe key) and the action
    # runs again, finding the winner's row.
    db.session.execute(_INSERT_HEADER, {
        "store_id": store.id, "mailbox_id": mailbox.id if mailbox else None, "ticket_id": ticket.id,
        "message_id": message.id if message is not None else None, "contact_id": contact.id if contact else None,
        "direction": EmailHeader.IN,
        "rfc_message_id": email_threading.normalise_id(email.message_id) or f"no-id.{key}",
        "sender": email.from_address, "sent_at": email.date, "dedupe_key": key,
    })


def _email_meta(mailbox, email, how, refused, refused_files, html):
    meta = {
        "mailbox_id": mailbox.id,
        "message_id": email.message_id,
        "from": email.from_address,
        "from_name": email.from_name,
        "to": email.to[:20],
        "cc": email.cc[:20],
        "subject": email.subject,
        "date": email.date.isoformat() if email.date else None,
        "in_reply_to": email.in_reply_to[:5],
        "references": email.references[-20:],
        "threaded_by": how,
    }
    if email.quoted_text:
        meta["quoted_text"] = email.quoted_text[:EMAIL_TEXT_LIMIT]
    if email.quoted_html:
        meta["quoted_html"] = email.quoted_html[:EMAIL_TEXT_LIMIT * 2]
    if email.loop_reason:
        meta["auto"] = email.loop_reason
    if email.defects:
        meta["defects"] = email.defects
    if refused:
        meta["not_threaded_to"] = refused[:5]
    if refused_files:
        meta["refused_attachments"] = refused_files
    if html and _REMOTE_IMG.search(html):
        meta["remote_images"] = True
    return meta


def _store_attachments(store, contact, email, raw):
    """Store the email's files (and, for a damaged message, the raw .eml) for the message."""
    stored, refused = [], []
    parts = list(email.attachments)
    if email.defects:
        from connectors.email.parser import Part

        parts.append(Part("original.eml", "message/rfc822", raw))
    for part in parts[:50]:
        try:
            att = store_upload(store.id, f"contact:{contact.id}", part.filename, part.data, part.content_type,
                               source="email")
        except ActionError as exc:
            refused.append({"filename": part.filename, "reason": exc.message})
            continue
        att.content_id = part.content_id  # transient: used to link inline images below
        stored.append(att)
    return stored, refused


def _link_inline_images(html, attachments):
    """``cid:`` references -> the stored image's signed URL."""
    if not html or "cid:" not in html.lower():
        return html
    from helpdesk.media import attachment_url

    by_cid = {getattr(a, "content_id", ""): a for a in attachments if getattr(a, "content_id", "")}

    def swap(match):
        att = by_cid.get(match.group(2).replace("&amp;", "&"))
        return f"{match.group(1)}{attachment_url(att)}{match.group(3)}" if att else match.group(0)

    return _CID_SRC.sub(swap, html)


def _bounce(mailbox, email, key):
    """A delivery failure: mark the recipient's address failing, show it on the ticket and
    on the message that bounced. None when the bounce names nothing we know."""
    bounce = email.bounce
    store_id = mailbox.store_id
    header = email_threading.header_for(store_id, bounce.original_message_id) if bounce.original_message_id \
        else None
    ticket = db.session.get(Ticket, header.ticket_id) if header is not None else None
    addresses = [r["address"] for r in bounce.recipients]
    contacts = db.session.scalars(select(Contact).where(Contact.store_id == store_id,
                                                        Contact.email.in_(addresses))).all() if addresses else []
    if ticket is None and not contacts:
        return None
    if bounce.permanent:
        for contact in contacts:
            mark_email_failing(contact, failing=True)
    first = bounce.recipients[0] if bounce.recipients else {}
    event = None
    if ticket is not None:
        listed = ", ".join(addresses)
        event = add_event(ticket, "email_bounced" if bounce.permanent else "email_delayed",
                          text=f"The email to {listed} could not be delivered." if bounce.permanent
                          else f"The email to {listed} is delayed.",
                          recipients=addresses, status=first.get("status", ""),
                          diagnostic=first.get("diagnostic", ""))
        if header.message_id:
            record_delivery(header.message_id, "bounced" if bounce.permanent else "delayed",
                            error=first.get("diagnostic") or first.get("status"))
        _record_header(mailbox.store, mailbox, ticket, event, None, email, key)
    return Intake("bounce", ticket.id if ticket else None, event.id if event else None,
                  ", ".join(addresses))


@action
def mark_email_failing(contact, failing=True):
    """Mark (or clear) a contact's address as failing: no more email copies go to it.
    Emits ``contact.updated``."""
    if contact.email_failing == bool(failing):
        return contact
    contact.email_failing = bool(failing)
    db.session.flush()
    events.contact_updated(contact, {"email_failing"})
    return contact


# ---- outbound ----------------------------------------------------------------------------

def ticket_mailbox(ticket):
    """The mailbox a ticket's mail leaves from: the one its last email came through,
    else the store's first active mailbox, else None (MAIL_FROM)."""
    mailbox_id = db.session.scalar(
        select(EmailHeader.mailbox_id).where(EmailHeader.ticket_id == ticket.id,
                                             EmailHeader.mailbox_id.is_not(None))
        .order_by(EmailHeader.id.desc()).limit(1))
    if mailbox_id:
        mailbox = db.session.get(Mailbox, mailbox_id)
        if mailbox is not None and mailbox.active:
            return mailbox
    return db.session.scalar(select(Mailbox).where(Mailbox.store_id == ticket.store_id, Mailbox.active.is_(True))
                             .order_by(Mailbox.id).limit(1))


def _subject(ticket):
    subject = ticket.subject or _("Your conversation with %(store)s", store=ticket.store.name)
    subject = re.sub(r"^\s*((re|fwd?|aw|sv|antw)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    tag = f"[#{ticket.id}]"
    return f"Re: {subject}" if tag in subject else f"Re: {subject} {tag}"


def _render(template, **context):
    return render_template(f"{template}.txt", **context), render_template(f"{template}.html", **context)


def queue_ticket_email(ticket, *, template, message=None, agent=None, automatic=False, context=None,
                       subject=None, calendar=None, subject_ref=None, contact=None):
    """Write an email about ``ticket`` to the outbox (part of the caller's transaction):
    our Message-ID (recorded for threading), In-Reply-To/References (naming only the emails
    exchanged with the recipient, ``threading.thread_ids``), a reply-token
    Reply-To, text and HTML bodies from ``templates/<template>.txt|.html``, attachments.

    ``subject``: a callable run in the contact's locale (default: "Re: <ticket subject>");
    ``calendar``: ``{"method", "ics", "filename"}``, an iCalendar part (appointment invites).
    The mail ends with the store's signature (helpdesk.signatures) unless ``context`` names
    another ``signature`` (a reply: the agent's). ``contact``: the recipient when it is not the
    ticket's contact (a visit booked for the contact of a ticket since merged into this one)."""
    from workers import outbox

    contact = contact or ticket.contact
    store = ticket.store
    mailbox = ticket_mailbox(ticket)
    from_address = mailbox.address if mailbox else current_app.config["MAIL_FROM"]
    domain = from_address.rpartition("@")[2] or "helpdesk.local"
    rfc_id = f"hd.{ticket.id}.{message.id if message is not None else 'auto'}.{secrets.token_hex(6)}@{domain}"
    in_reply_to, references = email_threading.thread_ids(ticket.id, contact)
    context = dict(context or {})
    if "signature" not in context:
        context["signature"] = store_signature(store, agent)
    with force_locale(i18n.contact_locale(contact, store)):
        sender = _("%(agent)s from %(store)s", agent=agent.name, store=store.name) if agent else store.name
        text, html = _render(template, ticket=ticket, message=message, agent=agent, store=store, contact=contact,
                             **context)
        subject = subject() if subject is not None else _subject(ticket)
    payload = {
        "to": contact.email,
        "to_name": contact.name,
        "from": formataddr((sender, from_address)),
        "reply_to": tokens.reply_address(from_address, ticket.id) if mailbox else None,
        "subject": subject,
        "text": text,
        "html": html,
        "message_id": f"<{rfc_id}>",
        "in_reply_to": in_reply_to,
        "references": references,
        "automatic": bool(automatic),
        "attachment_ids": [a.id for a in message.attachments] if message is not None else [],
        "mailbox_id": mailbox.id if mailbox else None,
        "ticket_id": ticket.id,
        "message_ref": message.id if message is not None else None,
    }
    if calendar:
        payload["calendar"] = calendar
    item = outbox.add("email", payload, subject_ref=subject_ref or (f"message:{message.id}" if message is not None
                                                                    else f"ticket:{ticket.id}"))
    db.session.add(EmailHeader(
        store_id=ticket.store_id, mailbox_id=mailbox.id if mailbox else None, ticket_id=ticket.id,
        message_id=message.id if message is not None else None, contact_id=contact.id,
        direction=EmailHeader.OUT, rfc_message_id=rfc_id, sender=from_address, sent_at=utcnow(),
        dedupe_key=hashlib.sha256(rfc_id.encode()).hexdigest(),
    ))
    if message is not None:
        meta = dict(message.meta or {})
        meta["delivery"] = {"status": "queued", "outbox_id": item.id, "to": contact.email}
        message.meta = meta
    db.session.flush()
    return item


def outbox_mailbox(item):
    """The mailbox an outbox email leaves from, decided when it is sent (None: the helpdesk's
    MAIL_FROM and SMTP_URL). It is the one it was queued with, unless an admin has removed
    that mailbox, made it inactive or changed its address since: then the row is rerouted
    first (``reroute_queued_email``), so that no mail leaves from, or asks for answers at, an
    address nobody reads any more."""
    payload = item.payload or {}
    if not payload.get("mailbox_id"):
        return None  # queued for MAIL_FROM: nothing an admin can have taken away since
    mailbox = db.session.get(Mailbox, payload["mailbox_id"])
    if mailbox is not None and mailbox.active and mailbox.address == _queued_from(payload)[1]:
        return mailbox
    return reroute_queued_email(item)


def _queued_from(payload):
    """``(display name, address)`` of a queued email's From (the name may be RFC 2047 encoded)."""
    from email.policy import default as email_policy

    addresses = email_policy.header_factory("From", payload.get("from") or "").addresses
    return (addresses[0].display_name, normalise_email(addresses[0].addr_spec)) if addresses else ("", "")


@action
def reroute_queued_email(item):
    """Send a queued email from where its ticket's mail leaves now: its mailbox under its new
    address, or, when the mailbox was removed or made inactive, ``ticket_mailbox`` (the
    store's active mailbox), else MAIL_FROM with the helpdesk's SMTP server. The From keeps
    its name ("Sam from Linen & Co"), the Reply-To becomes that address's reply token (none
    for MAIL_FROM, as ``queue_ticket_email`` does), and ``mailbox_id`` its SMTP route. The
    Message-ID stays: the mail queued after it names it in References already.

    Changes the outbox row's payload and the EmailHeader recorded at queue time (sender,
    mailbox), so threading and ``ticket_mailbox`` see what was really sent. Emits nothing.
    Returns the mailbox (None: MAIL_FROM)."""
    payload = dict(item.payload)
    queued_id = payload["mailbox_id"]
    queued = db.session.get(Mailbox, queued_id)
    ticket = db.session.get(Ticket, payload["ticket_id"]) if payload.get("ticket_id") else None
    if queued is not None and queued.active:
        mailbox = queued  # only its address changed
    else:
        mailbox = ticket_mailbox(ticket) if ticket is not None else None
    address = mailbox.address if mailbox is not None else current_app.config["MAIL_FROM"]
    payload.update({
        "from": formataddr((_queued_from(payload)[0], address)),
        "reply_to": tokens.reply_address(address, ticket.id) if mailbox is not None else None,
        "mailbox_id": mailbox.id if mailbox is not None else None,
    })
    item.payload = payload
    if ticket is not None and payload.get("message_id"):
        header = email_threading.header_for(ticket.store_id, payload["message_id"], EmailHeader.OUT)
        if header is not None:
            header.sender, header.mailbox_id = address, payload["mailbox_id"]
    db.session.flush()
    log.info("queued email rerouted", extra={"outbox_id": item.id, "queued_mailbox_id": queued_id,
                                             "mailbox_id": payload["mailbox_id"]})
    return mailbox


#: A reply email quotes this many of the conversation's earlier messages, newest first,
#: each cut at QUOTED_LENGTH characters.
QUOTED_MESSAGES = 3
QUOTED_LENGTH = 1500


def queue_reply_email(ticket, message, agent):
    """An agent's reply goes to the customer by email (email and form tickets, offline chats).

    Below the answer it quotes what it answers, as a mail client would: the conversation's
    last messages before it (never a note, never a blocked contact's hidden message). The
    shopper of an offline chat sees what they wrote in the widget; an email customer, the
    thread even where their mail client does not keep it. It is signed with the agent's
    signature, else the store's."""
    earlier = db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.id < message.id,
                              Message.kind == MessageKind.MESSAGE, Message.hidden.is_(False))
        .order_by(Message.id.desc()).limit(QUOTED_MESSAGES)).all()
    quoted = [{"at": m.created_at, "author": _quoted_author(m),
               "text": _cut(m.body_text.strip(), QUOTED_LENGTH)} for m in earlier if m.body_text.strip()]
    return queue_ticket_email(ticket, template="email/reply", message=message, agent=agent,
                              context={"quoted": quoted, "signature": reply_signature(ticket.store, agent)})


def _cut(text, length):
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def _quoted_author(message):
    if message.author_agent is not None:
        return message.author_agent.name
    contact = message.author_contact
    return contact.display_name if contact is not None else ""


def may_auto_reply(store_id, address):
    """Fewer than AUTO_REPLY_LIMIT automatic answers to ``address`` in AUTO_REPLY_WINDOW."""
    since = utcnow() - AUTO_REPLY_WINDOW
    sent = db.session.scalar(select(func.count()).select_from(EmailAutoReply).where(
        EmailAutoReply.store_id == store_id, EmailAutoReply.address == address, EmailAutoReply.sent_at >= since))
    return sent < AUTO_REPLY_LIMIT


def _acknowledge(mailbox, ticket, contact, template):
    if mailbox is not None and not mailbox.auto_reply:
        return None
    if not contact.email or contact.email_failing or contact.blocked:
        return None
    if not may_auto_reply(ticket.store_id, contact.email):
        log.info("automatic answer rate-limited", extra={"ticket_id": ticket.id})
        return None
    db.session.add(EmailAutoReply(store_id=ticket.store_id, address=contact.email))
    return queue_ticket_email(ticket, template=template, automatic=True)


@action
def record_delivery(message_id, status, *, error=None, attempts=None):
    """The delivery state of a message's email copy (queued, sent, retrying, failed,
    bounced, delayed), kept in ``message.meta["delivery"]``. Emits ``message.updated``."""
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    meta = dict(message.meta or {})
    delivery = dict(meta.get("delivery") or {})
    delivery.update({"status": status, "at": utcnow().isoformat()})
    if error:
        delivery["error"] = clean_text(error, 300)
    elif status == "sent":
        delivery.pop("error", None)
    if attempts is not None:
        delivery["attempts"] = attempts
    meta["delivery"] = delivery
    message.meta = meta
    db.session.flush()
    events.message_updated(message, {"delivery"})
    return message


# ---- contact form ------------------------------------------------------------------------

@action(retry_on_conflict=True)
def receive_form_submission(store, *, email, name="", subject="", body="", fields=None, client_id=None,
                            locale=None):
    """A contact-form submission: a new ticket (channel ``form``) in the store's queue, and an
    acknowledgement email when the store's form asks for one (rate-limited per sender), in
    ``locale`` (the form's language, recorded on the contact).
    Emits what ``receive_customer_message`` emits. Returns the message."""
    contact = find_or_create_contact(store, email=email, name=name or None)
    if locale:
        contact.locale = clean_text(locale, 16)
    ticket = None
    if client_id:
        existing = db.session.scalar(select(Message).join(Ticket, Ticket.id == Message.ticket_id).where(
            Ticket.contact_id == contact.id, Message.client_id == client_id))
        if existing is not None:
            return existing
    if not clean_text(subject):
        # The subject the shopper's mail carries ("Re: ..."): in the contact's language.
        with force_locale(i18n.contact_locale(contact, store)):
            subject = _("Contact form")
    subject = clean_text(subject, 255)
    ticket = open_ticket(store, contact, Channel.FORM, subject=subject)
    extra = {k: clean_text(v, 500) for k, v in (fields or {}).items() if clean_text(v)}
    text = clean_text(body, current_app.config["MAX_MESSAGE_LENGTH"])
    if extra:
        text += "\n\n" + "\n".join(f"{k}: {v}" for k, v in extra.items())
    message, _created = receive_customer_message(store, contact, Channel.FORM, text, subject=subject,
                                                 meta={"form": extra}, ticket=ticket, client_id=client_id,
                                                 max_length=EMAIL_TEXT_LIMIT)
    settings = store.setting("contact_form") or {}
    if settings.get("acknowledge"):
        _acknowledge(None, ticket, contact, "email/form_acknowledgement")
    return message
