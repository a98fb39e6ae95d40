"""Factories that build real rows through the actions (never by hand when an action exists)."""
import itertools

from helpdesk.actions.agents import create_api_token, create_agent
from helpdesk.actions.contacts import find_or_create_contact
from helpdesk.actions.messages import receive_customer_message
from helpdesk.extensions import db
from helpdesk.models import Store, Team, Visitor

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_store(name=None, **settings):
    n = next(_seq)
    store = Store(name=name or f"Store {n}", slug=f"store-{n}", settings=settings)
    db.session.add(store)
    db.session.commit()
    return store


def make_team(name="Sales", store=None):
    team = Team(name=name, store_id=store.id if store else None)
    db.session.add(team)
    db.session.commit()
    return team


def make_agent(name=None, role="agent", stores=None, academy=True, **kw):
    """``academy=False``: a brand-new agent who must go through the onboarding academy first;
    by default the agent is exempt from it, as agents were before the academy existed."""
    n = next(_seq)
    agent = create_agent(kw.pop("email", f"agent{n}@example.test"), name or f"Agent {n}", PASSWORD, role=role,
                         stores=stores, **kw)
    if academy:
        from helpdesk.actions.academy import set_exempt

        set_exempt(agent, True)
    return agent


def make_token(agent, name="tests"):
    return create_api_token(agent, name)[1]


def make_contact(store, email=None, name="Dana Shopper", **kw):
    return find_or_create_contact(store, email=email or f"shopper{next(_seq)}@example.test", name=name, **kw)


def make_visitor(store, contact=None):
    visitor = Visitor(store_id=store.id, contact_id=contact.id if contact else None)
    db.session.add(visitor)
    db.session.commit()
    return visitor


def make_ticket(store, contact=None, channel="chat", text="Hello, is this in stock?", visitor=None):
    contact = contact or make_contact(store)
    message, _ = receive_customer_message(store, contact, channel, text, visitor=visitor)
    return message.ticket


#: Every day 09:00-18:00: most appointment tests are about something other than the hours.
ALL_WEEK = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_location(store, name="Downtown", tz="Europe/Paris", hours=None, minutes=30, **kw):
    from helpdesk.actions.appointments import create_location

    return create_location(store, name, address=kw.pop("address", "1 Rue de la Paix, Paris"), timezone=tz,
                           opening_hours=ALL_WEEK if hours is None else hours, appointment_minutes=minutes, **kw)
