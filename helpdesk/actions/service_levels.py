"""Reply targets (service levels): by when a customer waiting for an answer should have one.

A store sets in its settings (``helpdesk.actions.stores``) how long the first answer to a
conversation and every next one may take, for live chat and for email and the contact form
(``reply_target_<chat|email>_<first|next>_minutes``; 0 = no target), and whether only its
business hours count (``reply_target_business_hours_only``). ``Ticket.reply_due_at`` is the
moment the oldest customer message still unanswered should be answered by:

- a customer message sets it when none is pending: the first-reply target while no agent has
  answered the conversation yet, the next-reply target after that. A pending one is kept, so
  the clock runs from the oldest unanswered message. It rides in the UPDATE the message makes
  anyway (``helpdesk.actions.messages._touch_ticket``), so the hot paths send nothing more;
- an agent's public reply clears it, and keeps the due time it answered on the reply
  (``Message.reply_due_at``) for the reply-time report; notes and automatic mail do not;
- resolving or closing the ticket clears it (``helpdesk.actions.tickets``); a customer
  writing again reopens the ticket and starts a new one. Snoozing keeps it: the customer is
  still waiting, and the queue says so.

Academy practice chats never get one. API tickets have no target: the settings speak of chat
and of email and the contact form only. A chat left while nobody was available is answered
later, by email: it follows the email targets, not the chat's minutes.

For a message, nothing here writes a row or emits an event: the callers put the value into
the statement they send anyway, in their own transaction. When an admin changes the targets,
``recompute_due_times`` gives the tickets already waiting their due times under the new ones.
"""
import functools
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk.extensions import db
from helpdesk.i18n import store_zone
from helpdesk.models import AuthorType, Channel, Message, MessageKind, Ticket, TicketStatus

#: The settings of each target, in minutes.
TARGET_SETTINGS = ("reply_target_chat_first_minutes", "reply_target_chat_next_minutes",
                   "reply_target_email_first_minutes", "reply_target_email_next_minutes")
BUSINESS_HOURS_ONLY = "reply_target_business_hours_only"
#: Days of opening hours walked to find a due time. A store open for too little of them (or
#: never: hours that are all empty) gets its target counted on the clock instead, so a
#: message never costs more than two weeks of intervals to place.
MAX_DAYS_WALKED = 14
#: Tickets whose due time one UPDATE (executemany) sets when the targets change.
RECOMPUTE_BATCH = 500
#: Statuses in which a customer can be waiting for an answer (snoozed keeps its due time).
WAITING_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SNOOZED)


def target_group(channel, offline=False):
    """Which targets a conversation follows: "chat", "email" or None (none apply)."""
    channel = Channel(channel)
    if channel == Channel.CHAT:
        # Left while nobody was available: answered later, by email (or when the shopper is back).
        return "email" if offline else "chat"
    if channel in (Channel.EMAIL, Channel.FORM):
        return "email"
    return None


def target_minutes(store, channel, *, offline=False, first=True):
    """Minutes the store gives an answer on ``channel`` (0: no target)."""
    group = target_group(channel, offline)
    if group is None:
        return 0
    return int(store.setting(f"reply_target_{group}_{'first' if first else 'next'}_minutes") or 0)


def targets_by_channel(store):
    """``{"chat": {"first": 2, "next": 5}, "chat_offline": {...}, "email": ..., "form": ...,
    "api": None}`` in minutes: what the inbox needs to tell a due time that is close (a
    quarter of its target left) without asking the server."""
    found = {}
    for key, channel, offline in (("chat", Channel.CHAT, False), ("chat_offline", Channel.CHAT, True),
                                  ("email", Channel.EMAIL, False), ("form", Channel.FORM, False),
                                  ("api", Channel.API, False)):
        found[key] = None if target_group(channel, offline) is None else {
            "first": target_minutes(store, channel, offline=offline, first=True),
            "next": target_minutes(store, channel, offline=offline, first=False)}
    return found


def reply_due(store, ticket, now, *, offline=False):
    """When an answer to a customer message written ``now`` on ``ticket`` is due, else None
    (no target, a practice chat). ``offline``: the message was left while nobody was available.
    Whether a due time is already pending is the caller's to decide (it keeps the earlier)."""
    if ticket.is_practice:
        return None
    minutes = target_minutes(store, ticket.channel, offline=offline or ticket.offline,
                             first=ticket.first_response_at is None)
    return due_after(store, now, minutes)


def due_after(store, start, minutes):
    """``start`` plus ``minutes`` of the store's time: wall-clock time, or with "business hours
    only" the store's opening hours in its time zone (daylight saving included). None for 0."""
    if not minutes:
        return None
    if store.setting(BUSINESS_HOURS_ONLY):
        hours = store.setting("business_hours") or []
        if hours:  # none set means always open: the clock is the answer
            due = add_open_time(start, minutes, _week(_hours_key(hours)), store_zone(store))
            if due is not None:
                return due
    return start + timedelta(minutes=minutes)


def recompute_due_times(store):
    """Give the store's tickets waiting for an answer the due time its current targets set,
    after an admin changed them (``helpdesk.actions.stores.update_store_settings``, in its
    transaction). Waiting: open, pending or snoozed, not practice, not merged, with a customer
    message (not hidden) after the latest agent public reply. The due time counts, as for a new
    message, from the oldest customer message since that reply: the first-reply target while
    the ticket has no first response, the next-reply one after; business hours as set. A ticket
    whose channel now has no target gets NULL; tickets not waiting are left as they are (NULL).

    One SELECT finds the waiting tickets with their oldest unanswered message: the store's
    tickets by ``ix_tickets_queue_store`` (materialized with their latest agent reply, so that
    is looked up once per ticket), each one's messages by ``ix_messages_ticket_id_id``, never
    a scan of the messages table. Then an UPDATE per RECOMPUTE_BATCH changed tickets
    (executemany): never one statement per ticket. A store with many thousands waiting (over
    5,000, say) is still right, only slower: the due times are worked out in Python.
    Emits nothing: no store-wide "queue changed" event exists, and the inbox shows the new due
    times on its next load. Returns the number of tickets whose due time changed."""
    in_store = (Ticket.store_id == store.id, Ticket.status.in_(WAITING_STATUSES),
                Ticket.is_practice.is_(False), Ticket.merged_into_id.is_(None))
    # Per ticket of the store (its index), the latest agent public reply (the ticket's messages').
    answered_at = (select(func.max(Message.created_at))
                   .where(Message.ticket_id == Ticket.id, Message.author_type == AuthorType.AGENT,
                          Message.kind == MessageKind.MESSAGE)
                   .correlate(Ticket).scalar_subquery())
    tickets = (select(Ticket.id, Ticket.channel, Ticket.offline, Ticket.first_response_at, Ticket.reply_due_at,
                      answered_at.label("answered_at"))
               .where(*in_store, Ticket.last_customer_message_at.is_not(None))
               # Materialized: the reply is looked up once per ticket, not again per message below.
               .cte("store_tickets").prefix_with("MATERIALIZED"))
    # And the oldest customer message since that reply (the same index): NULL when none, answered.
    since = (select(func.min(Message.created_at))
             .where(Message.ticket_id == tickets.c.id, Message.author_type == AuthorType.CONTACT,
                    Message.kind == MessageKind.MESSAGE, Message.hidden.is_(False),
                    or_(tickets.c.answered_at.is_(None), Message.created_at > tickets.c.answered_at))
             .correlate(tickets).scalar_subquery())
    waiting = db.session.execute(
        select(tickets.c.id, tickets.c.channel, tickets.c.offline, tickets.c.first_response_at,
               tickets.c.reply_due_at, since.label("since"))
    ).all()
    rows = []
    for ticket_id, channel, offline, first_response_at, current, since in waiting:
        if since is None:
            continue  # answered: not waiting
        minutes = target_minutes(store, channel, offline=offline, first=first_response_at is None)
        due = due_after(store, since, minutes)
        if due != current:
            rows.append({"ticket_id": ticket_id, "due": due})
    if not rows:
        return 0
    table = Ticket.__table__
    statement = (update(table).where(table.c.id == bindparam("ticket_id"))
                 .values(reply_due_at=bindparam("due", type_=Ticket.reply_due_at.type)))
    for start in range(0, len(rows), RECOMPUTE_BATCH):
        db.session.execute(statement, rows[start:start + RECOMPUTE_BATCH])
    # Tickets this session has loaded show the new values, without a second UPDATE at commit.
    due_by_id = {row["ticket_id"]: row["due"] for row in rows}
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, Ticket) and instance.id in due_by_id:
            set_committed_value(instance, "reply_due_at", due_by_id[instance.id])
    return len(rows)


def earliest(*moments):
    """The earliest of the due times given (None ones left out), or None: a ticket merged
    into another keeps the longer-waiting customer's clock."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None


# ---- business hours ---------------------------------------------------------------------------

def _hours_key(hours):
    # Hashable, for the cache of parsed weeks: the settings' list of dicts as tuples. Missing
    # days or times read as inbox.presence.within_business_hours reads them.
    return tuple((tuple(entry.get("days", range(7))), entry.get("open", "00:00"), entry.get("close", "24:00"))
                 for entry in hours if isinstance(entry, dict))


def _minute_of_day(hhmm):
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@functools.lru_cache(maxsize=512)
def _week(hours_key):
    """Per weekday (0 = Monday) the opening intervals as sorted, merged ``(open, close)``
    minutes of the day; built once per distinct set of hours, not per message."""
    week = [[] for _ in range(7)]
    for days, opens, closes in hours_key:
        try:
            start, end = _minute_of_day(opens), _minute_of_day(closes)
        except (ValueError, AttributeError):
            continue  # not a time (settings written around the schema): never open then
        if end <= start:
            continue
        for day in days:
            if isinstance(day, int) and 0 <= day <= 6:
                week[day].append((start, end))
    merged = []
    for intervals in week:
        day = []
        for start, end in sorted(intervals):
            if day and start <= day[-1][1]:
                day[-1] = (day[-1][0], max(day[-1][1], end))
            else:
                day.append((start, end))
        merged.append(tuple(day))
    return tuple(merged)


def add_open_time(start, minutes, week, zone):
    """``start`` (aware) plus ``minutes`` counted only inside ``week``'s intervals (``_week``),
    which are wall-clock times in ``zone``: each day's intervals are placed on that day's own
    UTC offset, so a day that changes to or from daylight saving time is an hour shorter or
    longer. None when MAX_DAYS_WALKED days of intervals do not hold the time."""
    left = timedelta(minutes=minutes)
    first_day = start.astimezone(zone).date()
    for offset in range(MAX_DAYS_WALKED + 1):
        day = first_day + timedelta(days=offset)
        midnight = datetime.combine(day, time(), tzinfo=zone)
        for open_minute, close_minute in week[day.weekday()]:
            # Aware arithmetic on the same zone is wall-clock arithmetic: 09:00 is 09:00 local
            # on either side of a change of offset; converted to UTC with that day's offset.
            closes = (midnight + timedelta(minutes=close_minute)).astimezone(timezone.utc)
            if closes <= start:
                continue
            begins = max((midnight + timedelta(minutes=open_minute)).astimezone(timezone.utc), start)
            if left <= closes - begins:
                return begins + left
            left -= closes - begins
    return None
