"""Messages: what customers write, what agents answer, internal notes, read receipts."""
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk import events
from helpdesk.actions import ActionError, Conflict, action, insert_loaded, transaction_cache
from helpdesk.actions.automation import apply_automation_rules
from helpdesk.actions.service_levels import reply_due
from helpdesk.actions.tickets import PREVIEW_LENGTH, open_ticket, with_tags
from helpdesk.extensions import db
from helpdesk.i18n import detect_language
from helpdesk.models import (
    CONTINUABLE_STATUSES,
    Agent,
    Attachment,
    AuthorType,
    Channel,
    Contact,
    Message,
    MessageKind,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.models.people import ERASED_KEY
from helpdesk.prepared import prepare
from helpdesk.text import clean_text, preview, text_to_html

_MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+\.[\w.-]+)?)")


def _checked_text(text, field="body"):
    text = clean_text(text)
    if not text:
        raise ActionError("Write something first.", field)
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise ActionError(_("Messages are limited to %(count)s characters.", count=limit), field, status=413)
    return text


# The chat hot path's lookups are built once: a statement object keeps its cache key, and
# building and hashing a query costs more than SQLite answering it. The resend checks name
# table columns, not mapped attributes: a statement without ORM entities skips the ORM's
# compile and result setup, most of what a one-value lookup costs.
_MESSAGES, _TICKETS = Message.__table__, Ticket.__table__
_STORED = "helpdesk_stored_client_ids"


def stored_by_contact(contact_id):
    """The id of the message the contact already stored under the bind parameter
    ``client_id`` (so this one is a resend), else NULL: a scalar subquery. ``contact_id``
    may be a column, so the check rides along in a hot path's lookup (widgets.sockets reads
    it with the visitor), whose caller hands the answer to ``known_stored``."""
    # A join, not ``ticket_id IN (SELECT ...)``: a column of the enclosing query is only
    # correlated into the subquery just inside it.
    return (select(_MESSAGES.c.id).join(_TICKETS, _TICKETS.c.id == _MESSAGES.c.ticket_id)
            .where(_MESSAGES.c.client_id == bindparam("client_id"), _TICKETS.c.contact_id == contact_id)
            .limit(1).scalar_subquery())


def known_stored(contact_id, client_id, message_id):
    """What ``stored_by_contact`` answered for ``(contact_id, client_id)`` in this
    transaction: ``receive_customer_message`` then skips its own resend check."""
    if client_id:
        transaction_cache(_STORED)[(contact_id, client_id)] = message_id


_RESENT_BY_CONTACT = prepare(select(stored_by_contact(bindparam("contact_id"))))
_RESENT_ON_TICKET = prepare(select(_MESSAGES.c.id).where(
    _MESSAGES.c.client_id == bindparam("client_id"), _MESSAGES.c.ticket_id == bindparam("ticket_id")).limit(1))
_CONTINUABLE = "helpdesk_continuable_tickets"


def with_continuable_ticket(statement):
    """``statement`` (selecting ``Ticket``) loading what a ticket a customer's message joins
    needs: its tags (the event payload lists them) in the same statement. Not its contact:
    that is the one the caller holds (already in the session), so reading ticket.contact
    finds it without a query."""
    return with_tags(statement).options(lazyload(Ticket.contact))


def continuable_id(contact_id, channel):
    """The id of the contact's latest continuable ticket on ``channel`` (which a new
    message from them joins), else NULL: a scalar subquery. ``contact_id`` may be a column,
    so the lookup rides along in a hot path's statement (widgets.sockets loads the ticket
    with the visitor), whose caller hands the ticket to ``known_continuable``."""
    tickets = _TICKETS.alias("continuable")
    return (select(tickets.c.id)
            .where(tickets.c.contact_id == contact_id, tickets.c.channel == channel,
                   tickets.c.status.in_(CONTINUABLE_STATUSES))
            .order_by(tickets.c.last_activity_at.desc(), tickets.c.id.desc())
            .limit(1).scalar_subquery())


def known_continuable(contact_id, channel, ticket):
    """What ``continuable_id`` found for ``(contact_id, channel)`` in this transaction (the
    ticket, or None): ``receive_customer_message`` then skips its own first lookup."""
    transaction_cache(_CONTINUABLE)[(contact_id, Channel(channel))] = ticket


_CONTINUABLE_TICKET = prepare(with_continuable_ticket(
    select(Ticket).where(Ticket.id == continuable_id(bindparam("contact_id"), bindparam("channel")))))


_TOUCH_TICKET = prepare(
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("ticket_id"))
    .values(last_activity_at=bindparam("at"), last_message_preview=bindparam("preview"))
)
# A customer's message also sets "waiting since". An agent's answer leaves that column out
# of its UPDATE: writing back the value loaded with the ticket would undo a customer
# message committed since the ticket was read.
# It also refuses a conversation whose customer was erased: a message on its way while the
# erasure ran read the contact before (the widget's socket, the email intake). The erasure
# holds the contact's row lock, which the message's INSERT waits for (helpdesk.actions.
# contacts._hold), so this statement runs after its commit and sees it -- in the UPDATE the
# message needs anyway, not a query of its own.
_ERASED_OWNER = exists().where(Contact.__table__.c.id == _TICKETS.c.contact_id,
                               Contact.__table__.c.platform_ids[ERASED_KEY].as_string().is_not(None))
# The reply target's due time (helpdesk.actions.service_levels) rides in the same UPDATE: a
# pending one is kept (COALESCE: the clock runs from the oldest unanswered message, even when
# this transaction read the ticket before another message set it), else this message's.
_TOUCH_TICKET_BY_CUSTOMER = (_TOUCH_TICKET.values(last_customer_message_at=bindparam("customer_at"),
                                                  reply_due_at=func.coalesce(_TICKETS.c.reply_due_at, bindparam(
                                                      "due", type_=_TICKETS.c.reply_due_at.type)))
                             .where(~_ERASED_OWNER))
#: An agent's public reply answers whatever was due.
_TOUCH_TICKET_BY_AGENT = _TOUCH_TICKET.values(reply_due_at=None)
#: A blocked customer's message touches no ticket; it asks on its own (rare).
_ERASED_TICKET = select(_ERASED_OWNER.where(_TICKETS.c.id == bindparam("ticket_id")))


def _store_message(ticket, author, **values):
    """A new message on ``ticket`` by ``author`` (an Agent or a Contact), written at once
    (``insert_loaded``). Its ticket, author and (empty) attachments are set as loaded, so the
    event payloads read them without going through the lazy loaders."""
    agent = author if isinstance(author, Agent) else None
    contact = None if agent is not None else author
    return insert_loaded(Message, ticket_id=ticket.id, ticket=ticket, attachments=[],
                         author_agent_id=agent.id if agent else None, author_agent=agent,
                         author_contact_id=contact.id if contact else None, author_contact=contact, **values)


def _touch_ticket(ticket, at, text, customer=False, due=None, answered=False, **changes):
    """The ticket's latest activity and queue preview, plus any other column ``changes``
    (a reopen's status, say), written by one UPDATE. The loaded ticket shows the new values
    (its event payload is built from it) without being marked changed, so the commit does
    not send a second UPDATE for them. ``customer``: a customer's message, whose reply is
    ``due`` then unless one is pending already; ``answered``: an agent's public reply, which
    clears the due time."""
    values = {"last_activity_at": at, "last_message_preview": preview(text, PREVIEW_LENGTH)}
    statement = _TOUCH_TICKET
    if customer:
        values["last_customer_message_at"] = at
        values["reply_due_at"] = ticket.reply_due_at or due
        statement = _TOUCH_TICKET_BY_CUSTOMER
    elif answered:
        values["reply_due_at"] = None
        statement = _TOUCH_TICKET_BY_AGENT
    if changes:
        # Rare on the hot path (a reopen, the first message after an offline spell): the
        # statement is built for them, keyed by the columns it sets.
        statement = statement.values(**{key: bindparam(key) for key in changes})
    params = {"ticket_id": ticket.id, "at": at, "preview": values["last_message_preview"], **changes}
    if customer:
        params["customer_at"] = at
        params["due"] = due
    if not db.session.execute(statement, params).rowcount and customer:
        # An erased customer's (_TOUCH_TICKET_BY_CUSTOMER): the widget's words for a session gone.
        raise ActionError("Your session has ended; reload the page.", status=401)
    for key, value in {**values, **changes}.items():
        set_committed_value(ticket, key, value)


def _continuable_ticket(contact, channel, fresh=False):
    """The ticket a new message from ``contact`` joins, or None. ``fresh``: read it again
    even if this transaction's hot path looked already (after taking the contact's lock)."""
    if not fresh:
        answers = transaction_cache(_CONTINUABLE)
        key = (contact.id, channel)
        if key in answers:
            return answers.pop(key)
    return db.session.scalars(_CONTINUABLE_TICKET, {"contact_id": contact.id, "channel": channel}).unique().first()


def _merged_continuation(contact, channel):
    """The ticket the contact's latest conversation on ``channel`` was merged into, when a
    customer may still write to it: a shopper whose chat an agent merged into their email
    ticket goes on there rather than opening a third. Read only where a ticket would be
    opened (the merge made the duplicate the latest: it closed it just now)."""
    latest = (select(_TICKETS.c.merged_into_id).where(_TICKETS.c.contact_id == contact.id,
                                                       _TICKETS.c.channel == channel)
              .order_by(_TICKETS.c.last_activity_at.desc(), _TICKETS.c.id.desc()).limit(1).scalar_subquery())
    return db.session.scalars(with_continuable_ticket(select(Ticket).where(
        Ticket.id == latest, Ticket.status.in_(CONTINUABLE_STATUSES)))).unique().first()


def _lock_contact(contact):
    """Hold ``contact`` until this transaction ends. PostgreSQL: its row lock. SQLite has
    no row locks: a write (to the same value) takes the database's single write lock,
    waiting for the writer that holds it, and what this transaction reads afterwards
    includes everything that writer committed."""
    table = type(contact).__table__
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(table).where(table.c.id == contact.id).values(id=table.c.id))
    else:
        db.session.execute(select(table.c.id).where(table.c.id == contact.id).with_for_update())


def _existing(statement, client_id, known=None, **params):
    """The message already stored under ``client_id`` (a resend), or None. Asks for the id
    only: almost every message is new, and loading nothing is cheaper than a message row.
    ``known``: the key under which ``known_stored`` may have recorded the answer."""
    if not client_id:
        return None
    answers = transaction_cache(_STORED) if known is not None else {}
    if known in answers:
        message_id = answers[known]
    else:
        message_id = db.session.scalar(statement, {"client_id": client_id, **params})
    return db.session.get(Message, message_id) if message_id is not None else None


def _attach(message, attachment_ids, uploader):
    """Link uploads made by the same sender to ``message``; anything else is refused."""
    if not attachment_ids:
        return
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(list(attachment_ids)))).all()
    if len(rows) != len(set(attachment_ids)) or any(
        a.uploaded_by != uploader or a.message_id not in (None, message.id) for a in rows
    ):
        raise ActionError("Unknown attachment.", "attachments")
    for att in rows:
        # Through the relationship, not the column: messages start with attachments=[]
        # (no lazy load on the hot path), so the event payload would otherwise miss them.
        if att not in message.attachments:
            message.attachments.append(att)


@action(retry_on_conflict=True, keep_loaded=True)
def receive_customer_message(store, contact, channel, text, *, client_id=None, visitor=None, subject="",
                             html=None, meta=None, attachment_ids=(), offline=False, ticket=None,
                             max_length=None):
    """A customer wrote. Appends to the contact's continuable ticket on this channel
    (reopening it if resolved or snoozed) or opens one. A resend with the same
    ``client_id`` returns the stored message unchanged. ``max_length`` (email, forms):
    longer text is cut there instead of refused, and an empty text is allowed.

    The ticket's reply due time is set from the store's reply target unless one is pending
    (``helpdesk.actions.service_levels``), in the UPDATE the message makes anyway.

    Returns ``(message, created)``. Emits ``ticket.created`` for a new ticket,
    ``message.created`` (agents and the shopper's widget), ``ticket.updated`` on reopen, and
    ``chat.offered`` when an unassigned live chat is offered to an agent (actions.routing).
    A blocked contact's message is stored hidden and emits nothing.
    """
    channel = Channel(channel)
    existing = _existing(_RESENT_BY_CONTACT, client_id, (contact.id, client_id), contact_id=contact.id)
    if existing is not None:
        return existing, False
    if max_length is not None:
        text = clean_text(text, max_length)
    elif not attachment_ids:
        text = _checked_text(text)
    else:
        text = clean_text(text, current_app.config["MAX_MESSAGE_LENGTH"])

    if ticket is None:
        ticket = _continuable_ticket(contact, channel)
        if ticket is None:
            # About to open one: lock the contact so two first messages don't open two
            # tickets, then look again (the other may have opened it meanwhile). An ongoing
            # conversation needs no lock.
            _lock_contact(contact)
            ticket = _continuable_ticket(contact, channel, fresh=True) or _merged_continuation(contact, channel)
    opened = ticket is None
    changes = {}
    if opened:
        ticket = open_ticket(store, contact, channel, subject=subject or "", visitor=visitor, offline=offline)
    elif visitor is not None and ticket.visitor_id is None:
        changes["visitor_id"] = visitor.id

    now = utcnow()
    message = _store_message(
        ticket, contact,
        author_type=AuthorType.CONTACT,
        body_text=text,
        body_html=html if html is not None else text_to_html(text),
        client_id=client_id,
        meta=meta or {},
        language=detect_language(text),
        hidden=bool(contact.blocked),
        created_at=now,
    )
    if attachment_ids:
        _attach(message, attachment_ids, f"visitor:{visitor.uid}" if visitor is not None else f"contact:{contact.id}")

    if contact.blocked:
        if db.session.scalar(_ERASED_TICKET, {"ticket_id": ticket.id}):
            raise ActionError("Your session has ended; reload the page.", status=401)
        for key, value in changes.items():  # the visitor link; the ticket is not touched otherwise
            setattr(ticket, key, value)
        return message, True
    reopened = ticket.status != TicketStatus.OPEN
    if reopened:
        changes.update(status=TicketStatus.OPEN, snoozed_until=None, resolved_at=None)
    if offline and not ticket.offline:
        changes["offline"] = True
    first = ticket.last_customer_message_at is None  # read before the UPDATE sets it (automation's trigger)
    _touch_ticket(ticket, now, text or (message.attachments[0].filename if message.attachments else ""),
                  customer=True, due=reply_due(store, ticket, now, offline=offline), **changes)
    db.session.flush()
    events.message_created(message)
    events.ticket_updated(ticket, {"status", "last_message"} if reopened else {"last_message"})
    # Before the chat is offered: a rule may send it to a team, assign or close it.
    apply_automation_rules(store, ticket, message, first=first)
    if ticket.channel == Channel.CHAT and not offline and ticket.assignee_id is None and (
            opened or reopened or ticket.offline
            or (ticket.offered_agent_id is not None and ticket.offer_expires_at <= now)):
        # A new or reopened chat, one left while nobody was there, or one whose offer ran
        # out unnoticed: offer it to an available agent. A chat that already waits for
        # capacity is not retried on every message (three queries each); it is offered
        # when capacity frees up (actions.routing.offer_waiting).
        from helpdesk.actions.routing import offer_next

        offer_next(ticket)
    return message, True


@action(retry_on_conflict=True)
def receive_message_from_address(store, *, email, name, channel, text, subject="", client_id=None, **kwargs):
    """A message from someone known only by email address (API, email, contact form): find
    or create the contact and add the message, in ONE transaction, so a refused message
    leaves no contact behind. Returns ``(message, created)``; emits what
    ``receive_customer_message`` emits."""
    from helpdesk.actions.contacts import find_or_create_contact

    contact = find_or_create_contact(store, email=email, name=name or None)
    return receive_customer_message(store, contact, channel, text, subject=subject, client_id=client_id, **kwargs)


@action(retry_on_conflict=True, keep_loaded=True)
def reply(ticket, agent, text, *, client_id=None, attachment_ids=(), meta=None):
    """An agent answers the customer. Stamps the first response time and answers the reply
    target's due time (``Ticket.reply_due_at`` cleared, kept on the message for the reply-time
    report); on email tickets and chats left while offline the answer also goes out by email
    (outbox). Emits ``message.created`` to agents and to the shopper's widget."""
    existing = _existing(_RESENT_ON_TICKET, client_id, ticket_id=ticket.id)
    if existing is not None:
        return existing
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("This ticket is closed; reopen it to reply.", "status")
    text = _checked_text(text) if not (attachment_ids or meta) else clean_text(text)
    from helpdesk.actions.contacts import erased_now

    if erased_now(ticket.contact_id):
        # Erased since the agent opened it (their screen shows it): a reply quotes the
        # customer, and would go nowhere (no address is left).
        raise Conflict("This customer's data was erased: nothing more can be written here.", "ticket_id")
    now = utcnow()
    message = _store_message(
        ticket, agent,
        author_type=AuthorType.AGENT,
        body_text=text,
        body_html=text_to_html(text),
        client_id=client_id,
        meta=meta or {},
        language=detect_language(text),
        created_at=now,
        reply_due_at=ticket.reply_due_at,
    )
    _attach(message, attachment_ids, f"agent:{agent.id}")
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    took = ticket.assignee_id is None
    if took:
        # Replying takes an unassigned ticket. Through the relationship, not the column: the
        # agents' payload reads ``ticket.assignee`` (an offer of the chat still showing on
        # someone's screen is withdrawn when it names an assignee).
        ticket.assignee = agent
    _touch_ticket(ticket, now, text, answered=True)
    db.session.flush()
    _queue_email_copy(ticket, message, agent)
    events.message_created(message)
    events.ticket_updated(ticket, {"last_message", "assignee"} if took else {"last_message"})
    if ticket.is_practice:
        # The onboarding academy ticks its steps off the real reply (and its shopper answers).
        from helpdesk.actions.academy import practice_reply_sent

        practice_reply_sent(ticket, message, agent)
    return message


def _queue_email_copy(ticket, message, agent):
    contact = ticket.contact
    wants_email = ticket.channel in (Channel.EMAIL, Channel.FORM) or ticket.offline
    if not wants_email or not contact.email or contact.email_failing:
        return
    from helpdesk.actions.email import queue_reply_email

    queue_reply_email(ticket, message, agent)


@action(retry_on_conflict=True)
def add_note(ticket, agent, text, *, client_id=None):
    """An internal note: agents only, never the shopper. ``@name`` (or ``@email``) notifies
    the agents it names. Emits ``message.created`` to agents and ``note.mention``."""
    existing = _existing(_RESENT_ON_TICKET, client_id, ticket_id=ticket.id)
    if existing is not None:
        return existing
    text = _checked_text(text)
    message = Message(
        ticket_id=ticket.id,
        author_type=AuthorType.AGENT,
        author_agent_id=agent.id,
        kind=MessageKind.NOTE,
        body_text=text,
        body_html=text_to_html(text),
        client_id=client_id,
        meta={},
        language=detect_language(text),
        attachments=[],
    )
    db.session.add(message)
    db.session.flush()
    mentioned = _mentioned_agents(text, ticket.store_id)
    if mentioned:
        message.meta = {"mentions": [a.id for a in mentioned]}
    ticket.last_activity_at = utcnow()
    db.session.flush()
    events.message_created(message)
    for other in mentioned:
        if other.id != agent.id:
            events.agent_mentioned(other.id, message)
    return message


def _mentioned_agents(text, store_id):
    handles = {h.lower().rstrip(".") for h in _MENTION.findall(text)}
    if not handles:
        return []
    agents = db.session.scalars(select(Agent).where(Agent.active.is_(True))).all()
    found = []
    for agent in agents:
        first = agent.name.split()[0].lower() if agent.name else ""
        keys = {agent.email.lower(), agent.email.split("@")[0].lower(), first,
                agent.name.lower().replace(" ", "")}
        if handles & keys and agent.can_access_store(store_id):
            found.append(agent)
    return found


@action
def mark_read(ticket, reader, up_to_id):
    """Record that ``reader`` ("agent" or "contact") has read the other side's messages up to
    ``up_to_id``. Emits ``message.read`` to the other side."""
    other = AuthorType.CONTACT if reader == "agent" else AuthorType.AGENT
    changed = db.session.execute(
        update(Message)
        .where(Message.ticket_id == ticket.id, Message.id <= up_to_id, Message.author_type == other,
               Message.kind == MessageKind.MESSAGE, Message.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    if changed:
        events.message_read(ticket, up_to_id, reader)
    return changed
