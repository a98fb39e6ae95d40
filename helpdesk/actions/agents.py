"""Agents: accounts, availability, API tokens."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from helpdesk import events
from helpdesk.actions import ActionError, Forbidden, action
from helpdesk.extensions import db
from helpdesk.models import ENDED_STATUSES, Agent, ApiToken, Availability, Role, Store, Ticket, utcnow
from helpdesk.text import clean_text

MIN_PASSWORD_LENGTH = 10


@action
def create_agent(email, name, password, *, role=Role.AGENT, title="", max_chats=5, teams=(), stores=None):
    """Create an agent account (password hashed). ``stores=None`` gives access to every store.
    Emits nothing: a new agent is offline until they sign in."""
    email = clean_text(email).lower()
    if "@" not in email:
        raise ActionError("Enter a valid email address.", "email")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ActionError(_("Passwords need at least %(count)s characters.", count=MIN_PASSWORD_LENGTH), "password")
    if db.session.scalar(select(func.count()).select_from(Agent).where(Agent.email == email)):
        raise ActionError("An agent with this email already exists.", "email", status=409)
    agent = Agent(email=email, name=clean_text(name, 120) or email.split("@")[0], title=clean_text(title, 120),
                  role=Role(role), max_chats=max_chats, all_stores=stores is None)
    agent.set_password(password)
    agent.teams = list(teams)
    if stores is not None:
        agent.stores = list(stores)
    db.session.add(agent)
    db.session.flush()
    return agent


@action
def set_role(agent, role, *, by):
    """Make ``agent`` an admin or an agent; only an admin (``by``) may. An admin cannot take
    their own admin role away: that is how a helpdesk ends up with nobody to give it back.
    Emits nothing: the new role applies from the agent's next page load."""
    if not by.is_admin:
        raise Forbidden("Only admins change roles.")
    try:
        role = Role(role)
    except ValueError:
        raise ActionError("Choose a role.", "role") from None
    if agent.id == by.id and role != Role.ADMIN:
        raise ActionError("You cannot remove your own admin role. Ask another admin to do it.", "role", status=409)
    agent.role = role
    return agent


@action
def set_active(agent, active, *, by):
    """Deactivate (or reactivate) an agent's account; only an admin (``by``) may, and not
    their own. A deactivated agent cannot sign in, their open sessions stop working (the
    user loader refuses inactive agents) and they are set offline (``set_availability``
    emits ``agent.availability``), so no chat is offered to them any more.

    Their conversations still going on (open, pending, snoozed) go back to the queue
    (``tickets.assign``: ``ticket.updated`` and a timeline event each) and waiting chats are
    offered to the others: nobody would answer them otherwise. Resolved and closed tickets
    keep their assignee, which reports and sales attribution read."""
    if not by.is_admin:
        raise Forbidden("Only admins deactivate accounts.")
    if agent.id == by.id and not active:
        raise ActionError("You cannot deactivate your own account.", "active", status=409)
    agent.active = bool(active)
    if not agent.active:
        set_availability(agent, Availability.OFFLINE)
        from helpdesk.actions.routing import offer_waiting
        from helpdesk.actions.tickets import assign

        ongoing = db.session.scalars(select(Ticket).where(
            Ticket.assignee_id == agent.id, Ticket.status.not_in(ENDED_STATUSES)).order_by(Ticket.id)).all()
        for ticket in ongoing:
            assign(ticket, None, by)
        if ongoing:
            offer_waiting(sorted({t.store_id for t in ongoing}))
    return agent


def visible_store_ids(agent):
    ids = agent.accessible_store_ids()
    if ids is None:
        ids = list(db.session.scalars(select(Store.id)))
    return ids


@action
def set_availability(agent, availability):
    """available / away / offline, set explicitly or by presence. Emits
    ``agent.availability`` to the agent's devices and the stores' agents; becoming available
    offers the chats waiting in those stores (``chat.offered``)."""
    availability = Availability(availability)
    if agent.availability == availability:
        return agent
    agent.availability = availability
    agent.last_seen_at = utcnow()
    db.session.flush()
    store_ids = visible_store_ids(agent)
    events.agent_availability_changed(agent, store_ids)
    if availability == Availability.AVAILABLE:
        # Chats that waited while nobody (or nobody with room) was available are offered now.
        from helpdesk.actions.routing import offer_waiting

        offer_waiting(store_ids)
    _announce_store_status(store_ids)
    return agent


def _announce_store_status(store_ids):
    """Widgets switch between live chat and the offline form as agents come and go."""
    from inbox.presence import store_is_online

    for store in db.session.scalars(select(Store).where(Store.id.in_(store_ids))):
        events.store_agents_online_changed(store.id, store_is_online(store))


@action
def create_api_token(agent, name):
    """Mint an API token; returns ``(token_row, raw_token)``. Only the hash is stored, so the
    raw token is shown once."""
    name = clean_text(name, 80)
    if not name:
        raise ActionError("Name the token after the integration using it.", "name")
    raw = ApiToken.generate()
    token = ApiToken(agent_id=agent.id, name=name, prefix=raw[:10], token_hash=ApiToken.hash(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


@action
def revoke_api_token(token):
    token.revoked_at = utcnow()
    return token
