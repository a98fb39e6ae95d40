"""Agents: accounts, roles and access, availability, API tokens."""
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

    A role sets which stores the agent sees (admins see every one), so a change is a change
    of access: a demoted admin's conversations in stores they no longer see go back to the
    queue, and their open sockets are ended (``agent_access_changed``) to reconnect with the
    rooms of their new role."""
    if not by.is_admin:
        raise Forbidden("Only admins change roles.")
    try:
        role = Role(role)
    except ValueError:
        raise ActionError("Choose a role.", "role") from None
    if agent.id == by.id and role != Role.ADMIN:
        raise ActionError("You cannot remove your own admin role. Ask another admin to do it.", "role", status=409)
    if agent.role != role:
        before = set(visible_store_ids(agent))
        agent.role = role
        _access_changed(agent, before, by)
    return agent


@action
def set_access(agent, *, all_stores, stores=(), teams=None, by):
    """Which stores ``agent`` sees -- every store (also those added later) or only ``stores``
    -- and, unless ``teams`` is None, which teams they are in. Only an admin (``by``) may.
    Admins see every store whatever is set here; it applies if they become an agent.

    Refused: no store at all (an agent who sees nothing), or a team of a store the agent will
    not see (they would be offered its chats and could open none). An agent who loses a store
    hands its conversations back to the queue and leaves its upcoming visits unassigned, as a
    deactivated agent does (``_release``), and their open sockets are ended
    (``agent_access_changed``): rooms are joined at connect, so without it a tab left open
    would keep receiving that store's events. Only a change of stores does that: teams have
    no rooms of their own."""
    if not by.is_admin:
        raise Forbidden("Only admins change an agent's access.")
    stores = list(dict.fromkeys(stores))
    if not all_stores and not stores:
        raise ActionError("Tick at least one store, or choose every store.", "stores")
    if teams is not None:
        teams = list(dict.fromkeys(teams))
        store_ids = {s.id for s in stores}
        if not (all_stores or agent.is_admin):
            for team in teams:
                if team.store_id is not None and team.store_id not in store_ids:
                    raise ActionError(_("The team %(team)s belongs to a store this agent will not see: "
                                        "tick that store too, or leave the team.", team=team.name), "teams")
    before = set(visible_store_ids(agent))
    agent.all_stores = bool(all_stores)
    agent.stores = [] if all_stores else stores
    if teams is not None:
        agent.teams = teams
    db.session.flush()
    _access_changed(agent, before, by)
    return agent


@action
def set_active(agent, active, *, by):
    """Deactivate (or reactivate) an agent's account; only an admin (``by``) may, and not
    their own. A deactivated agent cannot sign in, their open sessions stop working (the
    user loader refuses inactive agents), their open sockets are ended by the server
    (``agent_access_changed``; the reconnect is refused) and they are set offline
    (``set_availability`` emits ``agent.availability``), so no chat is offered to them any more.

    Their conversations still going on go back to the queue and their upcoming visits are
    left unassigned for a colleague to take over (``_release``)."""
    if not by.is_admin:
        raise Forbidden("Only admins deactivate accounts.")
    if agent.id == by.id and not active:
        raise ActionError("You cannot deactivate your own account.", "active", status=409)
    was_active = agent.active
    agent.active = bool(active)
    if was_active and not agent.active:
        set_availability(agent, Availability.OFFLINE)
        _release(agent, by)
        events.agent_access_changed(agent)
    return agent


def _access_changed(agent, before, by):
    """After a change of role or stores: ``before`` is the store ids the agent saw. What they
    no longer see they stop working on; any change ends their sockets, which reconnect with
    the rooms of the stores they see now (more or fewer)."""
    after = set(visible_store_ids(agent))
    if before - after:
        _release(agent, by, store_ids=sorted(before - after))
    if before != after:
        events.agent_access_changed(agent)


def _release(agent, by, store_ids=None):
    """Hand ``agent``'s work in ``store_ids`` (None: everywhere) to the others: their
    conversations still going on (open, pending, snoozed) go back to the queue
    (``tickets.assign``: ``ticket.updated`` and a timeline event each), a chat being offered
    to them moves on to the next agent (``offer.withdrawn``), and the waiting chats are offered
    to the others: nobody would answer them otherwise. Their in-store visits still to come
    stay booked for the shopper but lose their agent, for a colleague to take over
    (``appointments.unassign_appointments``). Resolved and closed tickets keep their
    assignee, which reports and sales attribution read; visits that have ended keep theirs."""
    from helpdesk.actions.appointments import unassign_appointments
    from helpdesk.actions.routing import offer_waiting, pass_offer
    from helpdesk.actions.tickets import assign

    in_stores = (Ticket.store_id.in_(store_ids),) if store_ids is not None else ()
    ongoing = db.session.scalars(select(Ticket).where(
        Ticket.assignee_id == agent.id, Ticket.status.not_in(ENDED_STATUSES), *in_stores).order_by(Ticket.id)).all()
    for ticket in ongoing:
        assign(ticket, None, by)
    offered = db.session.scalars(select(Ticket).where(
        Ticket.offered_agent_id == agent.id, Ticket.assignee_id.is_(None), *in_stores).order_by(Ticket.id)).all()
    for ticket in offered:
        pass_offer(ticket, agent.id, reason="access")
    unassign_appointments(agent, by, store_ids=store_ids)
    if ongoing:
        offer_waiting(sorted({t.store_id for t in ongoing}))


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
