"""Chats whose shopper went quiet: prompt the agent to check in, then end the chat.

A silence starts with the agent's first message after the shopper's last one (a check-in the
agent sends does not restart it; a word from the shopper ends it). After the store's
``inactivity_checkin_minutes`` the assigned agent is prompted once; after
``inactivity_close_minutes`` the chat ends through ``end_chat`` (the widget asks for a
rating). The sweep beat (workers.worker.sweep_once) runs ``sweep`` with the current time;
tests pass ``now``. Concurrent sweeps are safe: the silence row is unique per (ticket, first
message) and its prompt and end are claimed with a conditional UPDATE, as the outbox does.
"""
import logging
from datetime import timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from helpdesk import events
from helpdesk.actions import action
from helpdesk.extensions import db
from helpdesk.models import AuthorType, Channel, ChatSilence, Message, MessageKind, Store, Ticket, TicketStatus, utcnow

log = logging.getLogger(__name__)

#: Open chats examined per sweep (the longest-quiet first).
SWEEP_BATCH = 200


def _minutes(store, key):
    value = store.setting(key)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _quiet_chats(limit):
    """(ticket id, store id) of open, assigned, real chats whose last message is the agent's."""
    # Each chat's last message is looked up by ticket (a correlated subquery, from the tickets'
    # status index), not taken from one GROUP BY over messages: SQLite answered that by
    # walking every message ever written (130 ms per sweep with 500,000 of them), on every beat.
    last_id = (select(func.max(Message.id))
               .where(Message.ticket_id == Ticket.id, Message.kind == MessageKind.MESSAGE,
                      Message.hidden.is_(False))
               .correlate(Ticket).scalar_subquery())
    return db.session.execute(
        select(Message.ticket_id, Message.created_at)
        .select_from(Ticket).join(Message, Message.id == last_id)
        .where(Ticket.channel == Channel.CHAT, Ticket.status == TicketStatus.OPEN,
               Ticket.assignee_id.is_not(None), Ticket.is_practice.is_(False),
               Message.author_type == AuthorType.AGENT)
        .order_by(Message.created_at).limit(limit)).all()


def _silence_start(ticket_id):
    """The agent's first message since the shopper last wrote."""
    last_contact = select(func.coalesce(func.max(Message.id), 0)).where(
        Message.ticket_id == ticket_id, Message.author_type == AuthorType.CONTACT,
        Message.kind == MessageKind.MESSAGE).scalar_subquery()
    return db.session.execute(
        select(Message.id, Message.created_at).where(
            Message.ticket_id == ticket_id, Message.author_type == AuthorType.AGENT,
            Message.kind == MessageKind.MESSAGE, Message.id > last_contact)
        .order_by(Message.id).limit(1)).first()


def _silence_row(ticket_id, message_id, since):
    row = db.session.scalar(select(ChatSilence).where(
        ChatSilence.ticket_id == ticket_id, ChatSilence.message_id == message_id))
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = ChatSilence(ticket_id=ticket_id, message_id=message_id, since=since)
            db.session.add(row)
    except IntegrityError:  # another sweep recorded it first
        row = db.session.scalar(select(ChatSilence).where(
            ChatSilence.ticket_id == ticket_id, ChatSilence.message_id == message_id))
    return row


def _claim(row_id, column, now):
    """Take the prompt or the end of one silence; False when another sweep took it."""
    return bool(db.session.execute(
        update(ChatSilence).where(ChatSilence.id == row_id, column.is_(None))
        .values({column.key: now})).rowcount)


@action
def check_chat(ticket_id, now):
    """Prompt or end one quiet chat as its store's minutes say. Returns "prompted", "ended" or
    None. Emits ``chat.inactive`` to the assigned agent, or (ending) an "ended for inactivity"
    event on the timeline plus what ``end_chat`` emits (``ticket.updated``,
    ``conversation.status`` and ``rating.requested`` to the shopper)."""
    from helpdesk.actions.tickets import add_event
    from helpdesk.actions.visitors import end_chat

    ticket = db.session.get(Ticket, ticket_id)
    if (ticket is None or ticket.status != TicketStatus.OPEN or ticket.assignee_id is None
            or ticket.channel != Channel.CHAT or ticket.is_practice):
        return None
    store = db.session.get(Store, ticket.store_id)
    checkin, close = _minutes(store, "inactivity_checkin_minutes"), _minutes(store, "inactivity_close_minutes")
    if not checkin and not close:
        return None
    start = _silence_start(ticket.id)
    if start is None:
        return None
    quiet = now - start.created_at
    if not ((close and quiet >= timedelta(minutes=close)) or (checkin and quiet >= timedelta(minutes=checkin))):
        return None
    row = _silence_row(ticket.id, start.id, start.created_at)
    if close and quiet >= timedelta(minutes=close):
        if not _claim(row.id, ChatSilence.ended_at, now):
            return None
        add_event(ticket, "ended_for_inactivity", None, minutes=close,
                  text=_("The chat ended: the shopper was inactive for %(minutes)d minutes.", minutes=close))
        end_chat(ticket)
        return "ended"
    if not _claim(row.id, ChatSilence.prompted_at, now):
        return None
    events.chat_inactive(ticket, checkin)
    return "prompted"


def sweep(now=None, limit=SWEEP_BATCH):
    """Check every quiet chat once. Returns ``{"prompted": n, "ended": n}``; each chat is its
    own transaction, so one failure does not stop the others."""
    now = now or utcnow()
    if now.tzinfo is None:  # a naive time is taken as UTC, as the database columns are
        now = now.replace(tzinfo=timezone.utc)
    candidates = _quiet_chats(limit)
    db.session.rollback()
    done = {"prompted": 0, "ended": 0}
    for ticket_id, last_at in candidates:
        try:
            outcome = check_chat(ticket_id, now)
        except Exception:  # noqa: BLE001 -- the next sweep tries again
            log.exception("inactivity check failed", extra={"ticket_id": ticket_id})
            continue
        if outcome:
            done[outcome] += 1
    return done
