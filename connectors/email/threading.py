"""Which ticket an inbound email continues (and whether it was stored already): read-only
lookups, all on indexed columns.

Order: In-Reply-To, then References (newest first), then a reply-token address
(``support+t<id>-<sig>@``), then a ``[#123]`` subject tag. Every candidate must belong to
the same store and to the sender's contact, so a stranger who quotes someone else's
Message-ID (or guesses a ticket number) never joins that conversation.

A ticket merged into another (helpdesk.actions.tickets.merge_tickets) took its Message-IDs
with it; its number, in an old subject tag or reply token, leads to the ticket it was merged
into, which the duplicate's contact may continue as well.
"""
import hashlib
import re

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import lazyload

from connectors.email import tokens
from connectors.webhooks_out import known_subscribed, subscribed
from helpdesk.actions import labelled_columns, load_row, row_values
from helpdesk.actions.contacts import LOOK_UP, with_merged
from helpdesk.actions.tickets import with_tags
from helpdesk.extensions import db
from helpdesk.models import CONTINUABLE_STATUSES, Agent, Contact, EmailHeader, Tag, Ticket, ticket_tags
from helpdesk.prepared import padded, prepare

_SUBJECT_TAG = re.compile(r"\[#(\d{1,10})\]")
MAX_ID_LENGTH = 255
# Built once: they run for every inbound message, and building a statement (and its cache
# key) costs about as much as running it. A ticket named by reply token or subject tag comes
# with its tags (the ``ticket.updated`` payload lists them) but not with its contact: a
# ticket the sender may continue is the sender's, already loaded by the intake.
_BY_TICKET_ID = prepare(with_tags(select(Ticket).where(Ticket.id.in_(bindparam("ids", expanding=True)))).options(
    lazyload(Ticket.contact)))
_HEADERS = EmailHeader.__table__
_SEEN = prepare(select(_HEADERS.c.ticket_id, _HEADERS.c.message_id).where(
    _HEADERS.c.store_id == bindparam("store_id"), _HEADERS.c.dedupe_key == bindparam("dedupe_key")))


# A reply: the duplicate check, the Message-ID lookup with each named ticket (its assignee
# and tags: the ``ticket.updated`` payload shows them) and the sender's contact, in one
# round trip. Core rows, not ORM entities: setting up the ORM's loaders for a joined
# statement cost more than the statement's round trip, for the one ticket that is used
# (``load_row`` makes ORM objects of what is used). The sender's contact is joined on
# ``(store_id, email)`` like ``contacts._BY_EMAIL`` (the lowest id wins, as there), not
# through the ticket, so a ticket of someone else never lends its contact to the sender.
_TICKETS, _ASSIGNEES = Ticket.__table__, Agent.__table__.alias("assignee")
_TAG_LINKS, _TAGS = ticket_tags.alias("ticket_tag"), Tag.__table__.alias("tag")
_SENDERS = Contact.__table__.alias("sender")
_TICKET_COLUMNS, _TICKET_KEYS = labelled_columns(_TICKETS, "t_")
_ASSIGNEE_COLUMNS, _ASSIGNEE_KEYS = labelled_columns(_ASSIGNEES, "a_")
_TAG_COLUMNS, _TAG_KEYS = labelled_columns(_TAGS, "g_")
_SENDER_COLUMNS, _SENDER_KEYS = labelled_columns(_SENDERS, "s_")
# Whether the store has webhook subscribers rides along too (``webhooks_out.known_subscribed``):
# a reply's events then cost a store without them no query of their own.
_SEEN_OR_NAMED = prepare(
    select(_HEADERS.c.dedupe_key, _HEADERS.c.message_id, _HEADERS.c.rfc_message_id,
           *_TICKET_COLUMNS, *_ASSIGNEE_COLUMNS, *_TAG_COLUMNS, *_SENDER_COLUMNS,
           subscribed(bindparam("store_id")).label("webhooks"))
    .select_from(
        _HEADERS.join(_TICKETS, _TICKETS.c.id == _HEADERS.c.ticket_id)
        .outerjoin(_ASSIGNEES, _ASSIGNEES.c.id == _TICKETS.c.assignee_id)
        # Flat, not LEFT JOIN (links JOIN tags): see helpdesk.actions.tickets.with_tags.
        .outerjoin(_TAG_LINKS, _TAG_LINKS.c.ticket_id == _TICKETS.c.id)
        .outerjoin(_TAGS, _TAGS.c.id == _TAG_LINKS.c.tag_id)
        .outerjoin(_SENDERS, (_SENDERS.c.store_id == bindparam("store_id"))
                   & (_SENDERS.c.email == bindparam("sender")) & _SENDERS.c.merged_into_id.is_(None)))
    .where(_HEADERS.c.store_id == bindparam("store_id"),
           or_(_HEADERS.c.dedupe_key == bindparam("dedupe_key"),
               _HEADERS.c.rfc_message_id.in_(bindparam("keys", expanding=True))))
)


class Lookup:
    """What ``lookup`` read: ``seen`` is ``(ticket_id, message_id)`` of this same email
    stored before (a duplicate) or None; ``named`` maps the Message-IDs its In-Reply-To and
    References name to their tickets (ORM objects, for ``find_ticket``); ``sender`` is the
    sender's contact as ``contacts.find_or_create_contact(by_email=...)`` takes it (a
    Contact or None) or ``LOOK_UP`` when the statement could not tell."""

    __slots__ = ("seen", "named", "sender")

    def __init__(self, seen=None, named=None, sender=None):
        self.seen, self.named, self.sender = seen, named if named is not None else {}, sender


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


def lookup(store, email, dedupe_key, sender=None):
    """The duplicate check and the Message-ID lookup (with the ``sender`` address's contact,
    normalised as contacts store it), in one statement. Returns a ``Lookup``."""
    keys = [key for _how, key in candidates(email)]
    # Core statements do not flush the session first as ORM queries do: changes still in
    # it (an outer action's) must be visible to the lookup.
    db.session.flush()
    if not keys:
        row = db.session.execute(_SEEN, {"store_id": store.id, "dedupe_key": dedupe_key}).first()
        return Lookup(tuple(row) if row is not None else None, sender=LOOK_UP)
    rows = db.session.execute(_SEEN_OR_NAMED, {"store_id": store.id, "dedupe_key": dedupe_key,
                                               "keys": padded(keys), "sender": sender}).all()
    seen, named_ids, tickets, tags, senders = None, {}, {}, {}, {}
    wanted = set(keys)
    for row in rows:
        values = row._mapping
        if row.dedupe_key == dedupe_key:
            seen = (row.t_id, row.message_id)
        if row.rfc_message_id in wanted:
            named_ids.setdefault(row.rfc_message_id, row.t_id)
            tickets.setdefault(row.t_id, values)
            ticket_tags_ = tags.setdefault(row.t_id, {})
            if row.g_id is not None:
                ticket_tags_[row.g_id] = values
        if row.s_id is not None:
            senders.setdefault(row.s_id, values)
    if seen is not None:
        return Lookup(seen)  # a duplicate: nothing else is read
    if not rows:
        return Lookup(sender=LOOK_UP)
    known_subscribed(store.id, rows[0].webhooks)
    found = {}
    for ticket_id, values in tickets.items():
        assignee = load_row(Agent, row_values(values, _ASSIGNEE_KEYS)) if values["a_id"] is not None else None
        tag_list = sorted((load_row(Tag, row_values(v, _TAG_KEYS)) for v in tags[ticket_id].values()),
                          key=lambda t: t.name)
        found[ticket_id] = load_row(Ticket, row_values(values, _TICKET_KEYS), assignee=assignee, tags=tag_list)
    contact = load_row(Contact, row_values(senders[min(senders)], _SENDER_KEYS)) if senders and sender else None
    return Lookup(None, {key: found[ticket_id] for key, ticket_id in named_ids.items()},
                  contact if sender else LOOK_UP)


def find_ticket(store, email, contact, named):
    """``(ticket, how, refused)``: the continuable ticket this email belongs to, how it was
    found, and the ids of tickets it pointed at that the sender may not join (or that are
    closed). ``ticket`` is None for a new conversation. ``named``: ``lookup``'s tickets by
    the Message-IDs the email names (read with the duplicate check, in one statement);
    reply-token and subject-tag tickets are read only when none of them is a ticket the
    sender may continue."""
    refused = []
    tried = set()
    ids = candidates(email)
    if ids:
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
        _BY_TICKET_ID, {"ids": padded(sorted({ticket_id for _, ticket_id in pointed}))}).unique()}
    for how, ticket_id in pointed:
        if ticket_id in tried:
            continue
        tried.add(ticket_id)
        ticket = found.get(ticket_id)
        if ticket is not None and ticket.merged_into_id is not None and ticket.store_id == store.id:
            # A merged duplicate's number: the conversation goes on where it was merged.
            ticket = db.session.get(Ticket, ticket.merged_into_id)
            if ticket is None or ticket.id in tried:
                continue
            tried.add(ticket.id)
        if ticket is None:
            refused.append(ticket_id)
            continue
        if _may_continue(ticket, store, contact, refused):
            return ticket, how, refused
    return None, None, refused


def _merged_from(ticket, contact):
    """Whether a ticket of ``contact`` was merged into ``ticket``: an agent joined their
    conversation to this one (merge_tickets keeps the target's contact), so they go on here."""
    return db.session.scalar(select(Ticket.id).where(
        Ticket.merged_into_id == ticket.id, Ticket.contact_id == contact.id).limit(1)) is not None


def _may_continue(ticket, store, contact, refused):
    """The sender's own continuable ticket in this store (or one their ticket was merged
    into); otherwise its id joins ``refused``."""
    if ticket.store_id != store.id or (ticket.contact_id != contact.id and not _merged_from(ticket, contact)):
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


def thread_ids(ticket_id, contact, limit=20):
    """``(in_reply_to, references)`` for an email we send on the ticket to ``contact``: the
    last email on it exchanged with them (theirs or ours) and the chain before it.

    Only their own: when two contacts' tickets were merged (actions.tickets.merge_tickets),
    the ticket holds both people's emails, and naming the other's Message-IDs would tell the
    recipient's mail client of another person's mail and thread ours under it. A contact
    merged into ``contact`` is the same person (actions.contacts.merge_contacts moves tickets,
    not the Message-ID map): their emails count as ``contact``'s. A bounce (no contact) is
    nobody's conversation."""
    people = [c.id for c in with_merged(contact)]
    # By ``ix_email_headers_ticket`` (ticket_id, id), newest first: a ticket holds few emails,
    # whoever they were exchanged with.
    rows = db.session.scalars(
        select(EmailHeader.rfc_message_id).where(EmailHeader.ticket_id == ticket_id,
                                                 EmailHeader.contact_id.in_(people))
        .order_by(EmailHeader.id.desc()).limit(limit)
    ).all()
    ids = [f"<{r}>" for r in reversed(rows) if not r.startswith("sha256:")]
    return (ids[-1] if ids else None), ids
