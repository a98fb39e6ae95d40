"""Availability by presence (an agent whose last device disconnected goes away after a grace
period) and the end of a chat offer's countdown."""
from flask import current_app

from helpdesk.extensions import db, socketio
from helpdesk.models import Agent, Availability, utcnow
from inbox.presence import AWAY_GRACE_SECONDS


def schedule_away_check(agent_id, grace=None):
    app = current_app._get_current_object()
    grace = AWAY_GRACE_SECONDS if grace is None else grace
    disconnected_at = utcnow()

    def check():
        socketio.sleep(grace)
        from inbox.sockets import connected_devices

        if connected_devices(agent_id):
            return
        with app.app_context():
            from helpdesk.actions.agents import set_availability

            agent = db.session.get(Agent, agent_id)
            # An account made after the disconnect is not the one that left, whatever its id
            # (an emptied database hands ids out again: the test suite does, between tests).
            if (agent is not None and agent.created_at <= disconnected_at
                    and agent.availability == Availability.AVAILABLE):
                set_availability(agent, Availability.AWAY)
            db.session.remove()

    socketio.start_background_task(check)


def expire_offer(ticket_id, agent_id):
    """Job: the countdown of the chat offered to ``agent_id`` ran out (enqueued by
    helpdesk.actions.routing.offer_next); it moves on unless it was taken meanwhile."""
    from helpdesk.actions.routing import pass_offer
    from helpdesk.models import Ticket

    ticket = db.session.get(Ticket, ticket_id)
    if ticket is not None:
        pass_offer(ticket, agent_id, reason="expired")


def offer_waiting_chats():
    """Sweep backstop: offer the chats waiting for capacity, store by store (a store where
    nobody has room costs one capacity check and offers nothing). Capacity normally frees through an action (a chat resolved, an agent
    available) that offers at once; this catches what those paths cannot see, such as an
    admin raising an agent's ``max_chats``. Returns how many chats were offered."""
    from sqlalchemy import select

    from helpdesk.actions.routing import offer_waiting, waiting_chats
    from helpdesk.models import Store

    offered = 0
    for store_id in db.session.scalars(select(Store.id).where(waiting_chats().exists())):
        offered += offer_waiting([store_id])
    return offered
