"""Live-chat routing: offer waiting chats to available agents with spare capacity.

A new live chat is offered to one agent at a time: the least busy available agent of the
ticket's team (then of the store) whose open chats plus pending offers stay under their
``max_chats``. The offer lasts OFFER_SECONDS; claiming takes the chat, declining or letting
the countdown run out offers it to the next agent. When every candidate has passed, the
round starts again. Chats nobody could take wait in the queue and are offered again when an
agent becomes available (``set_availability`` calls ``offer_waiting``); the widget meanwhile
shows its offline mode (inbox.presence decides that).
"""
from datetime import timedelta

from sqlalchemy import func, or_, select

from helpdesk import events
from helpdesk.actions import academy, action
from helpdesk.extensions import db
from helpdesk.models import Agent, Availability, Channel, Ticket, TicketStatus, agent_stores, agent_teams, utcnow

#: Seconds an agent has to accept an offered chat before it moves on.
OFFER_SECONDS = 30
#: Waiting chats older than this (last activity) are no longer offered when someone comes back.
WAITING_MAX_AGE = timedelta(hours=24)
#: How many waiting chats one agent becoming available may trigger offers for.
WAITING_BATCH = 50
_BUSY_STATUSES = (TicketStatus.OPEN.value, TicketStatus.PENDING.value)


def _candidates(ticket, passed):
    """Available agents who may answer this store, least busy first, with spare capacity."""
    restricted = select(agent_stores.c.agent_id).where(agent_stores.c.store_id == ticket.store_id)
    agents = db.session.scalars(select(Agent).where(
        Agent.active.is_(True), Agent.availability == Availability.AVAILABLE,
        or_(Agent.all_stores.is_(True), Agent.role == "admin", Agent.id.in_(restricted)),
        # Not before the onboarding academy is done and the store's policies are accepted.
        academy.ready_clause(ticket.store_id),
    ).order_by(Agent.id)).all()
    agents = [a for a in agents if a.id not in passed]
    if not agents:
        return []
    ids = [a.id for a in agents]
    load = dict(db.session.execute(
        select(Ticket.assignee_id, func.count()).where(
            Ticket.assignee_id.in_(ids), Ticket.channel == Channel.CHAT, Ticket.status.in_(_BUSY_STATUSES))
        .group_by(Ticket.assignee_id)).all())
    offers = dict(db.session.execute(
        select(Ticket.offered_agent_id, func.count()).where(
            Ticket.offered_agent_id.in_(ids), Ticket.assignee_id.is_(None), Ticket.id != ticket.id,
            Ticket.offer_expires_at > utcnow())
        .group_by(Ticket.offered_agent_id)).all())
    team_members = set()
    if ticket.team_id is not None:
        team_members = set(db.session.scalars(select(agent_teams.c.agent_id).where(
            agent_teams.c.team_id == ticket.team_id)))
    busy = {a.id: load.get(a.id, 0) + offers.get(a.id, 0) for a in agents}
    free = [a for a in agents if busy[a.id] < (a.max_chats or 0)]
    # Team first, then the least busy; equal load goes to the lowest id (stable, testable).
    return sorted(free, key=lambda a: (a.id not in team_members, busy[a.id], a.id))


def _clear(ticket):
    ticket.offered_agent_id = None
    ticket.offer_expires_at = None


def routable(ticket):
    # A practice chat belongs to the agent in training; nobody else is offered it.
    return (ticket.channel == Channel.CHAT and ticket.assignee_id is None
            and ticket.status == TicketStatus.OPEN and not ticket.is_practice)


@action
def offer_next(ticket):
    """Offer ``ticket`` to the next candidate. Returns the agent offered to, or None when
    nobody can take it now (it waits). Emits ``chat.offered`` to that agent and schedules
    the countdown's end (``inbox.routing.expire_offer``)."""
    from workers import enqueue_in

    if not routable(ticket):
        _clear(ticket)
        return None
    passed = set(ticket.offer_passed_ids or [])
    candidates = _candidates(ticket, passed)
    if not candidates and passed:
        # Everyone had their turn: start a new round rather than leave the chat unoffered.
        ticket.offer_passed_ids = []
        candidates = _candidates(ticket, set())
    if not candidates:
        _clear(ticket)
        db.session.flush()
        return None
    agent = candidates[0]
    expires = utcnow() + timedelta(seconds=OFFER_SECONDS)
    ticket.offered_agent_id, ticket.offer_expires_at = agent.id, expires
    db.session.flush()
    events.chat_offered(ticket, agent.id, expires)
    enqueue_in(OFFER_SECONDS, "inbox.routing.expire_offer", ticket.id, agent.id)
    return agent


@action
def pass_offer(ticket, agent_id, reason="declined"):
    """``agent_id`` declines the chat offered to them (or its countdown ran out): it is offered
    to the next agent. A stale call (the offer already moved on, or was claimed) changes
    nothing. Emits ``offer.withdrawn`` to that agent, then what ``offer_next`` emits."""
    if ticket.offered_agent_id != agent_id:
        return None
    if reason == "expired" and ticket.offer_expires_at and ticket.offer_expires_at > utcnow():
        return None  # an early timer or clock skew: the offer still runs
    ticket.offer_passed_ids = sorted(set(ticket.offer_passed_ids or []) | {agent_id})
    _clear(ticket)
    events.offer_withdrawn(ticket.id, agent_id, reason)
    return offer_next(ticket)


def waiting_chats(store_ids=None):
    """SELECT of the ids of live chats waiting for an agent: open, unassigned, recent and
    without a running offer (in ``store_ids``, or correlated to ``stores`` when None)."""
    from helpdesk.models import Store

    now = utcnow()
    query = select(Ticket.id).where(
        Ticket.channel == Channel.CHAT, Ticket.status == TicketStatus.OPEN, Ticket.assignee_id.is_(None),
        Ticket.last_activity_at > now - WAITING_MAX_AGE,
        or_(Ticket.offered_agent_id.is_(None), Ticket.offer_expires_at <= now))
    if store_ids is None:
        return query.where(Ticket.store_id == Store.id)
    return query.where(Ticket.store_id.in_(list(store_ids)))


@action
def offer_waiting(store_ids):
    """Offer the chats waiting in these stores (unassigned, open, no running offer), oldest
    first, e.g. when an agent becomes available. Returns how many were offered."""
    if not store_ids:
        return 0
    waiting = db.session.scalars(
        select(Ticket).where(Ticket.id.in_(waiting_chats(store_ids).scalar_subquery()))
        .order_by(Ticket.last_customer_message_at.asc().nulls_last(), Ticket.id).limit(WAITING_BATCH)
    ).all()
    offered = 0
    for ticket in waiting:
        ticket.offer_passed_ids = []
        if offer_next(ticket) is None:
            break  # nobody has spare capacity left
        offered += 1
    return offered

