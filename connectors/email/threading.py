"""Which ticket an inbound email continues (and whether it was stored already): read-only
lookups, all on indexed columns.

Order: In-Reply-To, then References (newest first), then a reply-token address
(``support+t<id>-<sig>@``), then a ``[#123]`` subject tag. Every candidate must belong to
the same store and to the sender's contact, so a stranger who quotes someone else's
Message-ID (or guesses a ticket number) never joins that conversation.
"""
import hashlib
import re

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload, lazyload

from connectors.email import tokens
from helpdesk.extensions import db
from helpdesk.models import CONTINUABLE_STATUSES, EmailHeader, Ticket

_SUBJECT_TAG = re.compile(r"\[#(\d{1,10})\]")
MAX_ID_LENGTH = 255
# Built once: they run for every inbound message, and building a statement (and its cache
# key) costs about as much as running it. The ticket comes with its tags (the
# ``ticket.updated`` payload lists them) but not with its contact: a ticket the sender may
# continue is the sender's, already loaded by the intake; each join costs PostgreSQL more to
# plan than the lookup costs to run.
_WITH_TAGS = (joinedload(Ticket.tags), lazyload(Ticket.contact))
_BY_MESSAGE_ID = (
    select(EmailHeader.rfc_message_id, Ticket)
    .join(Ticket, Ticket.id == EmailHeader.ticket_id)
    .where(EmailHeader.store_id == bindparam("store_id"),
           EmailHeader.rfc_message_id.in_(bindparam("keys", expanding=True)))
    .options(*_WITH_TAGS)
)
_BY_TICKET_ID = select(Ticket).where(Ticket.id.in_(bindparam("ids", expanding=True))).options(*_WITH_TAGS)
_HEADERS = EmailHeader.__table__
_SEEN = select(_HEADERS.c.ticket_id, _HEADERS.c.message_id).where(
    _HEADERS.c.store_id == bindparam("store_id"), _HEADERS.c.dedupe_key == bindparam("dedupe_key"))
# A reply: the duplicate check and the Message-ID lookup in one round trip.
_SEEN_OR_NAMED = (
    select(EmailHeader.dedupe_key, EmailHeader.message_id, EmailHeader.rfc_message_id, Ticket)
    .join(Ticket, Ticket.id == EmailHeader.ticket_id)
    .where(EmailHeader.store_id == bindparam("store_id"),
           or_(EmailHeader.dedupe_key == bindparam("dedupe_key"),
               EmailHeader.rfc_message_id.in_(bindparam("keys", expanding=True))))
    .options(*_WITH_TAGS)
)


def normalise_id(message_id):
    """How a Message-ID is stored and looked up: no brackets, long ones hashed."""
    value = (message_id or "").strip().strip("<>")
    if len(value) > MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def candidates(email):
    """``[(how, message_id)]`` in the order they are tried."""
    seen, out = set(), []
    for how, ids in (("in-reply-to", email.in_reply_to), ("references", list(reversed(email.references)))):
        for value in ids:
            key = normalise_id(value)
            if key and key not in seen:
                seen.add(key)
                out.append((how, key))
    return out


def lookup(store, email, dedupe_key):
    """``(seen, named)``: ``seen`` is ``(ticket_id, message_id)`` of this same email stored
    before (a duplicate) or None; ``named`` maps the Message-IDs its In-Reply-To and
    References name to their tickets, for ``find_ticket``. One statement."""
    keys = [key for _how, key in candidates(email)]
    if not keys:
        row = db.session.execute(_SEEN, {"store_id": store.id, "dedupe_key": dedupe_key}).first()
        return (tuple(row) if row is not None else None), {}
    seen, named = None, {}
    rows = db.session.execute(_SEEN_OR_NAMED, {"store_id": store.id, "dedupe_key": dedupe_key, "keys": keys})
    wanted = set(keys)
    for row_key, message_id, rfc_id, ticket in rows.unique():
        if row_key == dedupe_key:
            seen = (ticket.id, message_id)
        if rfc_id in wanted:
            named.setdefault(rfc_id, ticket)
    return seen, named


def find_ticket(store, email, contact, named=None):
    """``(ticket, how, refused)``: the continuable ticket this email belongs to, how it was
    found, and the ids of tickets it pointed at that the sender may not join (or that are
    closed). ``ticket`` is None for a new conversation. ``named``: what ``lookup`` found
    (read here when not given).

    The tickets come with the Message-ID lookup (one statement, tags included: the
    ``ticket.updated`` payload lists them); reply-token and subject-tag tickets are read only
    when no Message-ID led to a ticket the sender may continue."""
    refused = []
    tried = set()
    ids = candidates(email)
    if ids:
        if named is None:
            named = {}
            rows = db.session.execute(_BY_MESSAGE_ID, {"store_id": store.id, "keys": [k for _, k in ids]})
            for rfc_id, ticket in rows.unique():
                named.setdefault(rfc_id, ticket)
        for how, key in ids:
            ticket = named.get(key)
            if ticket is None or ticket.id in tried:
                continue
            tried.add(ticket.id)
            if _may_continue(ticket, store, contact, refused):
                return ticket, how, refused

    pointed = []  # (how, ticket_id) in priority order
    token_ticket = tokens.ticket_id_from(email.recipients)
    if token_ticket:
        pointed.append(("reply-token", token_ticket))
    tag = _SUBJECT_TAG.search(email.subject or "")
    if tag:
        pointed.append(("subject-tag", int(tag.group(1))))
    pointed = [(how, ticket_id) for how, ticket_id in pointed if ticket_id not in tried]
    if not pointed:
        return None, None, refused
    found = {t.id: t for t in db.session.scalars(
        _BY_TICKET_ID, {"ids": sorted({ticket_id for _, ticket_id in pointed})}).unique()}
    for how, ticket_id in pointed:
        if ticket_id in tried:
            continue
        tried.add(ticket_id)
        ticket = found.get(ticket_id)
        if ticket is None:
            refused.append(ticket_id)
            continue
        if _may_continue(ticket, store, contact, refused):
            return ticket, how, refused
    return None, None, refused


def _may_continue(ticket, store, contact, refused):
    """The sender's own continuable ticket in this store; otherwise its id joins ``refused``."""
    if ticket.store_id != store.id or ticket.contact_id != contact.id:
        refused.append(ticket.id)
        return False
    if ticket.status not in CONTINUABLE_STATUSES:
        refused.append(ticket.id)  # closed: history; the mail opens a new ticket
        return False
    return True


def header_for(store_id, message_id, direction=None):
    """The stored email with this Message-ID in the store (ours first when both exist)."""
    return db.session.scalars(header_query(store_id, message_id, direction)).first()


def header_query(store_id, message_id, direction=None):
    """The statement behind ``header_for``."""
    query = select(EmailHeader).where(EmailHeader.store_id == store_id,
                                      EmailHeader.rfc_message_id == normalise_id(message_id))
    if direction:
        query = query.where(EmailHeader.direction == direction)
    return query.order_by(EmailHeader.direction.desc(), EmailHeader.id).limit(1)


def thread_ids(ticket_id, limit=20):
    """``(in_reply_to, references)`` for an email we send on the ticket: the last email on
    it (theirs or ours) and the chain before it."""
    rows = db.session.scalars(
        select(EmailHeader.rfc_message_id).where(EmailHeader.ticket_id == ticket_id)
        .order_by(EmailHeader.id.desc()).limit(limit)
    ).all()
    ids = [f"<{r}>" for r in reversed(rows) if not r.startswith("sha256:")]
    return (ids[-1] if ids else None), ids
