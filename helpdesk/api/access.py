"""What the calling agent may see: rows of other stores are "not found", never "forbidden",
so a restricted agent cannot even learn that a ticket id exists elsewhere."""
from flask_babel import gettext as _

from helpdesk.actions import Forbidden, NotFound
from helpdesk.extensions import db
from helpdesk.models import Agent, Appointment, Contact, Store, Team, Ticket

#: URL converter for ids: larger numbers are not a route (404) instead of a database error.
ID = "int(max=2147483647)"


def restrict_to_stores(query, column, agent):
    """``query`` limited to the stores ``agent`` may see (admins and all-store agents: all)."""
    ids = agent.accessible_store_ids()
    return query if ids is None else query.where(column.in_(ids))


def ticket_or_404(ticket_id, agent, field=None):
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not agent.can_access_store(ticket.store_id):
        raise NotFound(_("No such ticket."), field)
    return ticket


def contact_or_404(contact_id, agent, field=None):
    contact = db.session.get(Contact, contact_id)
    if contact is None or not agent.can_access_store(contact.store_id):
        raise NotFound(_("No such contact."), field)
    return contact


def appointment_or_404(appointment_id, agent):
    """An in-store visit of a store ``agent`` sees: the same answer for one of another store
    as for none at all (the inbox and the REST API)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not agent.can_access_store(appointment.store_id):
        raise NotFound(_("No such appointment."))
    return appointment


def store_or_404(store_id, agent, field="store_id"):
    store = db.session.get(Store, store_id)
    if store is None or not agent.can_access_store(store.id):
        raise NotFound(_("No such store."), field)
    return store


def admin_store_or_404(store_id, agent):
    """A store ``agent`` sees (else 404) and administers (else 403): its settings and rules."""
    store = store_or_404(store_id, agent)
    if not agent.is_admin:
        raise Forbidden(_("Only admins can do this."))
    return store


def agent_or_404(agent_id, field):
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise NotFound(_("No such agent."), field)
    return agent


def team_or_404(team_id, field, store_id=None):
    """A team that exists and (when ``store_id`` is given) serves that store."""
    team = db.session.get(Team, team_id)
    if team is None or (store_id is not None and team.store_id not in (None, store_id)):
        raise NotFound(_("No such team."), field)
    return team
