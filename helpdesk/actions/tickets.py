"""Tickets: open, assign/claim, transfer, status, tags, merge duplicates."""
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import aliased, contains_eager

from helpdesk import events
from helpdesk.actions import ActionError, Conflict, NotFound, action, insert_loaded
from helpdesk.actions.service_levels import earliest
from helpdesk.extensions import db
from helpdesk.models import (
    ENDED_STATUSES,
    Agent,
    Appointment,
    AssistRequest,
    Attribution,
    AuthorType,
    Channel,
    ChatSilence,
    EmailHeader,
    Handoff,
    Message,
    MessageKind,
    Tag,
    Team,
    Ticket,
    TicketStatus,
    ticket_tags,
    utcnow,
)
from helpdesk.text import clean_text, preview


def with_tags(statement):
    """``statement``, which selects ``Ticket``, loading each ticket's tags in the same
    statement (event payloads list them). Joined flat, two LEFT JOINs: the nested form the
    ORM writes for ``joinedload(Ticket.tags)``, ``LEFT JOIN (ticket_tags JOIN tags)``, makes
    SQLite build the whole tag-link join first, a scan of every tagged ticket (67 ms per
    lookup with 300,000 of them, instead of 0.01 ms)."""
    return (statement.outerjoin(ticket_tags, ticket_tags.c.ticket_id == Ticket.id)
            .outerjoin(Tag, Tag.id == ticket_tags.c.tag_id)
            .options(contains_eager(Ticket.tags)).order_by(Tag.name))

#: Statuses in which a chat takes one of its agent's ``max_chats`` places.
_BUSY = (TicketStatus.OPEN, TicketStatus.PENDING)


@action
def open_ticket(store, contact, channel, *, subject="", visitor=None, offline=False, team=None):
    """Open a ticket for ``contact`` in ``store``. Emits ``ticket.created`` to the store's agents."""
    if contact.store_id != store.id:
        raise ActionError("The contact belongs to another store.", "contact_id")
    ticket = insert_loaded(
        Ticket,
        store_id=store.id,
        contact_id=contact.id,
        visitor_id=visitor.id if visitor is not None else None,
        channel=Channel(channel),
        status=TicketStatus.OPEN,
        subject=clean_text(subject, 255),
        offline=bool(offline),
        team_id=team.id if team is not None else None,
        tags=[],  # a new ticket has none: no lazy load when the event payload is built
    )
    events.ticket_created(ticket)
    return ticket


def add_event(ticket, event_type, agent=None, **meta):
    """Append a system event (assigned, transferred, status changed...) to the timeline.
    Part of the calling action's transaction; emits ``message.created`` to agents only."""
    text = meta.pop("text", "")
    message = Message(
        ticket_id=ticket.id,
        author_type=AuthorType.SYSTEM,
        author_agent_id=agent.id if agent is not None else None,
        kind=MessageKind.EVENT,
        body_text=text,
        meta={"event": event_type, **meta},
    )
    db.session.add(message)
    db.session.flush()
    events.message_created(message)
    return message


def _agent_or_404(agent_id, ticket):
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.active or not agent.can_access_store(ticket.store_id):
        raise NotFound("No such agent for this store.", "assignee_id")
    return agent


def _team_or_404(team_id, ticket):
    team = db.session.get(Team, team_id)
    if team is None or (team.store_id is not None and team.store_id != ticket.store_id):
        raise NotFound("No such team for this store.", "team_id")
    return team


@action
def assign(ticket, assignee, by_agent=None):
    """Set (or clear, with ``None``) the ticket's assignee. Emits ``ticket.updated`` and an
    ``assigned`` event on the timeline."""
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("This ticket is closed.", "status")
    new_id = assignee.id if assignee is not None else None
    if ticket.assignee_id == new_id:
        return ticket
    ticket.assignee_id = new_id
    ticket.last_activity_at = utcnow()
    db.session.flush()
    db.session.refresh(ticket, ["assignee"])
    add_event(ticket, "assigned", by_agent, assignee_id=new_id,
              assignee_name=assignee.name if assignee is not None else None)
    events.ticket_updated(ticket, {"assignee"})
    return ticket


@action
def claim(ticket, agent):
    """An agent takes an unassigned ticket. Two agents claiming at once: exactly one wins
    (a conditional UPDATE), the other gets a Conflict naming who has it."""
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("This ticket is closed.", "status")
    if ticket.channel == Channel.CHAT and not ticket.is_practice and ticket.assignee_id is None:
        from helpdesk.actions.academy import ensure_may_take_chats

        ensure_may_take_chats(agent, ticket.store_id)  # 403 before the academy / a policy re-acceptance
    won = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.assignee_id.is_(None))
        .values(assignee_id=agent.id, last_activity_at=utcnow())
    ).rowcount
    db.session.refresh(ticket)
    if not won:
        if ticket.assignee_id == agent.id:
            return ticket
        if ticket.assignee:
            raise Conflict(_("%(name)s already took this conversation.", name=ticket.assignee.name), "assignee_id")
        raise Conflict("Another agent already took this conversation.", "assignee_id")
    add_event(ticket, "assigned", agent, assignee_id=agent.id, assignee_name=agent.name, claimed=True)
    events.ticket_updated(ticket, {"assignee"})
    if ticket.is_practice:
        from helpdesk.actions.academy import practice_claimed

        practice_claimed(ticket, agent)
    return ticket


@action
def transfer(ticket, by_agent, *, to_agent=None, to_team=None, note="", message_to_customer=""):
    """Hand a ticket to another agent or a team, with a personal note for the receiver
    and optionally a message to the shopper. Records a Handoff, an event on the timeline,
    emits ``handoff.received`` to the receiver and ``ticket.updated`` to the store."""
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("A closed ticket cannot be transferred.", "status")
    if to_agent is None and to_team is None:
        raise ActionError("Choose an agent or a team.", "to_agent_id")
    if to_agent is not None and not to_agent.can_access_store(ticket.store_id):
        raise NotFound("No such agent for this store.", "to_agent_id")
    if to_team is not None and to_team.store_id not in (None, ticket.store_id):
        raise NotFound("No such team for this store.", "to_team_id")
    handoff = Handoff(
        ticket_id=ticket.id,
        from_agent_id=by_agent.id if by_agent else None,
        to_agent_id=to_agent.id if to_agent else None,
        to_team_id=to_team.id if to_team else None,
        note=clean_text(note, 5000),
    )
    db.session.add(handoff)
    ticket.assignee_id = to_agent.id if to_agent else None
    if to_team is not None:
        ticket.team_id = to_team.id
    ticket.last_activity_at = utcnow()
    db.session.flush()
    db.session.refresh(ticket, ["assignee", "team"])
    add_event(ticket, "transferred", by_agent,
              to_agent_id=handoff.to_agent_id, to_agent_name=to_agent.name if to_agent else None,
              to_team_id=handoff.to_team_id, to_team_name=to_team.name if to_team else None,
              note=handoff.note)
    if message_to_customer:
        from helpdesk.actions.messages import reply

        reply(ticket, by_agent, message_to_customer)
    events.handoff_received(ticket, handoff, by_agent)
    events.ticket_updated(ticket, {"assignee", "team"} if to_team else {"assignee"})
    return handoff


@action
def change_status(ticket, status, by_agent=None, *, snoozed_until=None):
    """Move a ticket to ``status``. Resolving stamps ``resolved_at`` and, like closing, clears
    the reply due time (helpdesk.actions.service_levels); snoozing needs a time.
    Emits ``ticket.updated`` (and ``conversation.status`` to the shopper's widget; when an
    unrated chat ends, ``rating.requested``). An agent resolving an email or form ticket
    queues its rating request email (``ratings.request_email_rating``)."""
    status = TicketStatus(status)
    if status == ticket.status and status != TicketStatus.SNOOZED:
        return ticket
    if ticket.merged_into_id is not None:
        # Its conversation moved to the ticket it was merged into: reopened, it would be empty.
        raise Conflict(_("This ticket was merged into #%(id)s: the conversation goes on there.",
                         id=ticket.merged_into_id), "status")
    if ticket.status == TicketStatus.CLOSED and by_agent is not None and status != TicketStatus.OPEN:
        raise Conflict("This ticket is closed; reopen it first.", "status")
    if status == TicketStatus.SNOOZED:
        if snoozed_until is None or snoozed_until <= utcnow():
            raise ActionError("Snooze until a time in the future.", "snoozed_until")
        ticket.snoozed_until = snoozed_until
    else:
        ticket.snoozed_until = None
    previous = ticket.status
    ticket.status = status
    if status in ENDED_STATUSES:
        # Done with: nobody is waiting for an answer any more (a customer writing again
        # reopens it with a new due time). A snoozed ticket keeps its due time.
        ticket.reply_due_at = None
    if status in ENDED_STATUSES and ticket.resolved_at is None:
        ticket.resolved_at = utcnow()
    if status == TicketStatus.OPEN:
        ticket.resolved_at = None
    ticket.last_activity_at = utcnow()
    db.session.flush()
    add_event(ticket, "status_changed", by_agent, previous=str(previous), status=str(status),
              snoozed_until=snoozed_until.isoformat() if snoozed_until else None)
    events.ticket_updated(ticket, {"status"})
    if (ticket.channel == Channel.CHAT and status in ENDED_STATUSES and TicketStatus(previous) not in ENDED_STATUSES
            and ticket.rating is None):
        # The chat has ended, whichever side ended it (the shopper, the agent resolving it,
        # the inactivity sweep): the shopper's widget asks for stars.
        events.rating_requested(ticket)
    if status in ENDED_STATUSES and TicketStatus(previous) not in ENDED_STATUSES and by_agent is not None:
        # An agent resolved it: an email or form customer is asked by email (once per ticket).
        from helpdesk.actions.ratings import request_email_rating

        request_email_rating(ticket, by_agent)
    if (ticket.channel == Channel.CHAT and ticket.assignee_id is not None
            and TicketStatus(previous) in _BUSY and status not in _BUSY):
        # The agent has room for one more chat: offer them (or anyone) the longest waiting.
        from helpdesk.actions.routing import offer_waiting

        offer_waiting([ticket.store_id])
    return ticket


def _tags_by_name(names):
    wanted = sorted({clean_text(n, 64).lower() for n in names if clean_text(n)})
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(wanted)))} if wanted else {}
    for name in wanted:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.session.add(existing[name])
    return [existing[n] for n in wanted]


@action(retry_on_conflict=True)
def set_tags(ticket, names, by_agent=None):
    """Replace the ticket's tags. Emits ``ticket.updated``."""
    tags = _tags_by_name(names)
    if sorted(t.name for t in ticket.tags) == [t.name for t in tags]:
        return ticket
    ticket.tags = tags
    db.session.flush()
    events.ticket_updated(ticket, {"tags"})
    return ticket


@action(retry_on_conflict=True)
def update_ticket(ticket, by_agent, **changes):
    """Apply several changes (status, assignee, team, tags, subject) in one transaction,
    as the API's PATCH does: all of them or none."""
    changed = set()
    if "subject" in changes:
        subject = clean_text(changes["subject"], 255)
        if subject != ticket.subject:
            ticket.subject = subject
            changed.add("subject")
    if "team_id" in changes:
        team = _team_or_404(changes["team_id"], ticket) if changes["team_id"] else None
        if ticket.team_id != (team.id if team else None):
            ticket.team_id = team.id if team else None
            changed.add("team")
    if "assignee_id" in changes:
        assignee = _agent_or_404(changes["assignee_id"], ticket) if changes["assignee_id"] else None
        assign(ticket, assignee, by_agent)
    if "tags" in changes:
        set_tags(ticket, changes["tags"], by_agent)
    if "status" in changes:
        change_status(ticket, changes["status"], by_agent, snoozed_until=changes.get("snoozed_until"))
    if changed:
        db.session.flush()
        events.ticket_updated(ticket, changed)
    return ticket


#: Characters of the latest message shown in the queue row.
PREVIEW_LENGTH = 200


def touch_preview(ticket, text):
    ticket.last_message_preview = preview(text, PREVIEW_LENGTH)


def bulk_update(tickets, by_agent, **changes):
    """Apply the same ``update_ticket`` changes (status, assignee, team, tags) to many tickets
    from the queue. Each ticket is its own transaction, so one stale ticket (closed meanwhile,
    say) is reported and does not undo or block the others. Returns ``(updated, errors)`` with
    ``errors`` as ``[(ticket, ActionError)]``; emits what ``update_ticket`` emits per ticket."""
    updated, errors = [], []
    for ticket in tickets:
        try:
            updated.append(update_ticket(ticket, by_agent, **changes))
        except ActionError as exc:
            errors.append((ticket, exc))
    return updated, errors


# ---- merging duplicates ----------------------------------------------------------------

#: What hangs off a ticket and goes with its conversation into the ticket it is merged into
#: (each names its ticket in ``ticket_id``). What stays with the duplicate, and why, is said
#: in ``merge_tickets``.
MOVED_WITH_THE_CONVERSATION = (
    Message,        # messages, notes, timeline events; attachments hang off their message
    EmailHeader,    # the Message-ID map: a reply to one of the duplicate's emails threads onto the target
    Handoff,        # who handed the conversation to whom, with the notes they left
    # A visit booked in the conversation: its agents move it or cancel it from there. Its
    # contact_id stays: its emails still go to the shopper it was booked for.
    Appointment,
    Attribution,    # a sale credited from the conversation: the link follows it, the credit is unchanged
    AssistRequest,  # writing-assist suggestions: one still on its way lands where the agent works now
    # The inactivity sweep's silences, each keyed by the message it started with, which moves
    # too: a silence already prompted is found there and not prompted twice.
    ChatSilence,
)


def _check_mergeable(source, target, by):
    """The refusals that need no lock: who may merge, and which two tickets can be."""
    # Not found, never forbidden (helpdesk.api.access): a restricted agent does not learn
    # that a ticket of another store exists.
    if not by.can_access_store(source.store_id):
        raise NotFound("No such ticket.", "ticket_id")
    if not by.can_access_store(target.store_id):
        raise NotFound("No such ticket.", "into_ticket_id")
    # Invalid values of the target (422, as the API's field errors), not a malformed request.
    if source.id == target.id:
        raise ActionError("A ticket cannot be merged into itself.", "into_ticket_id", status=422)
    if source.store_id != target.store_id:
        raise ActionError("Tickets of different stores cannot be merged.", "into_ticket_id", status=422)
    if source.is_practice or target.is_practice:
        raise ActionError("An academy practice chat cannot be merged.", "into_ticket_id", status=422)


def _lock_for_merge(source, target):
    """Take both tickets while neither is merged into anything, and read them again. Of two
    agents merging A into B and B into A at the same moment (or one duplicate into two
    tickets), one wins; the other finds a row already merged and gets a Conflict. One
    statement for both rows, so every merge locks them in the same order (no deadlock on
    PostgreSQL); on SQLite the write waits for the other writer's COMMIT, and the rows read
    again include what it committed."""
    now = utcnow()
    db.session.execute(
        update(Ticket).where(Ticket.id.in_([source.id, target.id]), Ticket.merged_into_id.is_(None))
        .values(last_activity_at=now).execution_options(synchronize_session=False))
    db.session.refresh(source)
    db.session.refresh(target)
    if source.merged_into_id is not None:
        raise Conflict(_("This ticket was already merged into #%(id)s.", id=source.merged_into_id), "ticket_id")
    if target.merged_into_id is not None:
        raise Conflict(_("#%(id)s was merged into #%(into)s: merge into that one instead.",
                         id=target.id, into=target.merged_into_id), "into_ticket_id")
    if target.status == TicketStatus.CLOSED:
        # A closed ticket is history: a customer writing again opens a new one
        # (CONTINUABLE_STATUSES), so a conversation merged into it would wait unseen.
        raise Conflict("That ticket is closed: reopen it first, or merge it into this one.", "into_ticket_id")
    return now


@action
def merge_tickets(source, target, *, by):
    """Merge the duplicate ``source`` into ``target`` (the same store's): everything written on
    it moves there (``MOVED_WITH_THE_CONVERSATION``; messages keep their ids, so the merged
    timeline stays in the order they were written), tags are joined, and ``source`` is closed
    with ``merged_into_id`` pointing at ``target``. Any two contacts of the store may be merged
    (the inbox warns when they differ): ``target`` keeps its contact, assignee and team.

    What stays: the duplicate's rating (given for that chat, counted once in the reports),
    whom each visit was booked for (``Appointment.contact_id``: a visit moved to another
    contact's ticket still emails its own shopper),
    its tags (a copy goes to the target), mail already in the outbox (it leaves as written;
    its ``[#source]`` tag and reply token lead replies to the target, connectors.email.threading),
    the delivery log (``InboundEmail.ticket_id``: where each delivery went when it came; nothing
    reads it back, and it has no index to find a ticket's deliveries by).

    Refused: a ticket into itself, across stores, practice chats, a ticket ``by`` cannot see
    (404), a duplicate already merged, a target merged or closed (409).

    Emits ``message.created`` for an event on each timeline, ``ticket.updated`` for both,
    ``ticket.merged`` for the inbox and the shopper's widget (events.ticket_merged);
    ``offer.withdrawn`` when the duplicate was being offered, what ``change_status`` emits when
    the target reopens, and what ``routing.offer_waiting`` emits when an agent's chat place frees up."""
    _check_mergeable(source, target, by)
    source_activity, target_activity = source.last_activity_at, target.last_activity_at
    now = _lock_for_merge(source, target)
    source_status = TicketStatus(source.status)

    # A client id is unique per ticket (a resend is recognised by it). A moved message whose
    # id the target already has (one integration reporting both, say) drops it: the target's
    # message keeps it.
    theirs = aliased(Message)
    db.session.execute(
        update(Message).where(Message.ticket_id == source.id, Message.client_id.in_(
            select(theirs.client_id).where(theirs.ticket_id == target.id, theirs.client_id.is_not(None))))
        .values(client_id=None).execution_options(synchronize_session=False))
    for model in MOVED_WITH_THE_CONVERSATION:
        db.session.execute(update(model).where(model.ticket_id == source.id).values(ticket_id=target.id)
                           .execution_options(synchronize_session=False))
    # Tickets merged into the duplicate before now point at the target: never a chain to follow.
    db.session.execute(update(Ticket).where(Ticket.merged_into_id == source.id)
                       .values(merged_into_id=target.id).execution_options(synchronize_session=False))
    for obj in list(db.session.identity_map.values()):
        # Rows this session holds that just moved (a caller's message, say) read their ticket again.
        if isinstance(obj, MOVED_WITH_THE_CONVERSATION) and obj.__dict__.get("ticket_id") == source.id:
            db.session.expire(obj)

    changes = {"merged"}
    if {t.id for t in source.tags} - {t.id for t in target.tags}:
        target.tags = sorted({*target.tags, *source.tags}, key=lambda t: t.name)
        changes.add("tags")
    if target.visitor_id is None and source.visitor_id is not None:
        # The shopper's widget hears of the conversation where it goes on (events are sent to
        # the ticket's visitor) and shows it on return (widgets.history).
        target.visitor_id = source.visitor_id
    target.language = target.language or source.language
    if source.first_response_at and (not target.first_response_at
                                     or source.first_response_at < target.first_response_at):
        target.first_response_at = source.first_response_at
    if source.last_customer_message_at and (not target.last_customer_message_at
                                            or source.last_customer_message_at > target.last_customer_message_at):
        target.last_customer_message_at = source.last_customer_message_at  # "waiting since"
    # The duplicate's unanswered messages now wait on the target: the longer wait counts.
    target.reply_due_at = earliest(source.reply_due_at, target.reply_due_at)
    if source_activity > target_activity:
        target.last_message_preview = source.last_message_preview
        changes.add("last_message")

    offered = source.offered_agent_id
    source.offered_agent_id = source.offer_expires_at = None
    source.status = TicketStatus.CLOSED
    source.snoozed_until = None
    source.reply_due_at = None
    source.resolved_at = source.resolved_at or now
    source.merged_into_id = target.id
    db.session.flush()
    add_event(source, "merged_into", by, text=_("Merged into #%(id)s by %(name)s.", id=target.id, name=by.name),
              into_ticket_id=target.id)
    add_event(target, "merged", by,
              text=_("#%(id)s was merged into this ticket by %(name)s.", id=source.id, name=by.name),
              merged_ticket_id=source.id, contact_id=source.contact_id)
    if source_status == TicketStatus.OPEN and target.status in (TicketStatus.RESOLVED, TicketStatus.SNOOZED):
        # The duplicate was waiting for an answer: the conversation it joins must not stay
        # out of the open queue.
        change_status(target, TicketStatus.OPEN, by)
    if offered is not None:
        events.offer_withdrawn(source.id, offered, "merged")
    events.ticket_updated(source, {"status", "merged"})
    events.ticket_updated(target, changes)
    events.ticket_merged(source, target)
    if source.channel == Channel.CHAT and source.assignee_id is not None and source_status in _BUSY:
        # The duplicate chat's agent has a place free (as when a chat ends: change_status).
        from helpdesk.actions.routing import offer_waiting

        offer_waiting([source.store_id])
    return target
