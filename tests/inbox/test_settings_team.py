"""Admins' team page (inbox/settings_team.py): accounts, roles and access through the
actions; a generated password is shown once; nobody locks themself out."""
import re

import pytest

from helpdesk.extensions import db
from helpdesk.models import Agent, Role
from tests.factories import PASSWORD, make_agent, make_store
from tests.inbox.test_views import sign_in


@pytest.fixture
def store():
    return make_store("Linen Lane")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


@pytest.fixture
def admin_client(client, admin):
    client.csrf = sign_in(client, admin)
    return client


def test_admin_creates_an_agent_with_a_generated_password_shown_once(admin_client, store, client, app):
    page = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert "Ada Admin" in page and "pbkdf2" not in page and "scrypt" not in page
    response = admin_client.post("/inbox/settings/team", data={
        "csrf_token": admin_client.csrf, "name": "Nina New", "email": "Nina@Shop.test", "role": "agent",
        "password": "", "store_ids": [str(store.id)]})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    agent = db.session.scalar(db.select(Agent).where(Agent.email == "nina@shop.test"))
    assert agent.name == "Nina New" and agent.role == Role.AGENT and [s.id for s in agent.stores] == [store.id]
    password = re.search(r'<p class="snippet"><code>([^<]+)</code></p>', html).group(1)
    assert agent.check_password(password)
    assert agent.password_hash not in html
    listed = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert password not in listed and agent.password_hash not in listed and "Linen Lane" in listed

    # A password the admin typed is not shown back.
    response = admin_client.post("/inbox/settings/team", data={
        "csrf_token": admin_client.csrf, "name": "Otto", "email": "otto@shop.test", "role": "admin",
        "password": "typed-Pa55-word"})
    assert response.status_code == 201 and "typed-Pa55-word" not in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Agent).where(Agent.email == "otto@shop.test")).is_admin


def test_creating_an_agent_refused_keeps_the_typing(admin_client, admin):
    response = admin_client.post("/inbox/settings/team", data={
        "csrf_token": admin_client.csrf, "name": "Twin", "email": admin.email, "role": "agent", "password": "short"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p id="ag-password-error" class="error field-error">Passwords need at least 10 characters.</p>' in html
    assert re.search(r'id="ag-password"[^>]*aria-describedby="ag-password-help ag-password-error"', html)
    assert 'value="Twin"' in html and 'value="short"' not in html
    response = admin_client.post("/inbox/settings/team", data={
        "csrf_token": admin_client.csrf, "name": "Twin", "email": admin.email, "role": "agent", "password": ""})
    assert "An agent with this email already exists." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Agent)) == 1


def test_role_change_and_deactivation(admin_client):
    agent = make_agent("Ann Agent")
    response = admin_client.post(f"/inbox/settings/team/{agent.id}/role", data={"csrf_token": admin_client.csrf, "role": "admin"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).role == Role.ADMIN
    assert "Ann Agent is now an admin." in admin_client.get("/inbox/settings/team").get_data(as_text=True)

    admin_client.post(f"/inbox/settings/team/{agent.id}/role", data={"csrf_token": admin_client.csrf, "role": "agent"})
    admin_client.post(f"/inbox/settings/team/{agent.id}/active", data={"csrf_token": admin_client.csrf, "active": "0"})
    db.session.expire_all()
    agent = db.session.get(Agent, agent.id)
    assert (agent.role, agent.active, agent.availability) == (Role.AGENT, False, "offline")
    html = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert "Deactivated" in html and "Reactivate" in html


def test_deactivating_an_agent_hands_their_ongoing_chats_to_the_others(admin_client, store):
    from helpdesk.actions.agents import set_availability
    from helpdesk.actions.tickets import assign, change_status
    from helpdesk.models import Ticket, TicketStatus
    from tests.factories import make_contact, make_ticket

    leaving, colleague = make_agent("Lea Leaving", stores=[store]), make_agent("Cole League", stores=[store])
    ongoing = make_ticket(store, make_contact(store, "one@example.test"))
    done = make_ticket(store, make_contact(store, "two@example.test"))
    for ticket in (ongoing, done):
        assign(ticket, leaving)
    change_status(done, TicketStatus.RESOLVED)
    set_availability(colleague, "available")
    ongoing_id, done_id = ongoing.id, done.id
    response = admin_client.post(f"/inbox/settings/team/{leaving.id}/active",
                                 data={"csrf_token": admin_client.csrf, "active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    ongoing, done = db.session.get(Ticket, ongoing_id), db.session.get(Ticket, done_id)
    # Back in the queue, offered to whoever is there; the history keeps who solved what.
    assert ongoing.assignee_id is None and ongoing.offered_agent_id == colleague.id
    assert done.assignee_id == leaving.id


def test_an_admin_cannot_demote_or_deactivate_themself(admin_client, admin):
    response = admin_client.post(f"/inbox/settings/team/{admin.id}/role", data={"csrf_token": admin_client.csrf, "role": "agent"})
    assert response.status_code == 409
    assert "You cannot remove your own admin role." in response.get_data(as_text=True)
    response = admin_client.post(f"/inbox/settings/team/{admin.id}/active", data={"csrf_token": admin_client.csrf, "active": "0"})
    assert response.status_code == 409 and "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.expire_all()
    me = db.session.get(Agent, admin.id)
    assert me.is_admin and me.active
    # Still an admin: the page still opens.
    assert admin_client.get("/inbox/settings/team").status_code == 200


def test_a_deactivated_agent_is_signed_out(client, admin):
    from helpdesk.actions.agents import set_active

    agent = make_agent("Ann Agent")
    sign_in(client, agent)
    set_active(agent, False, by=admin)
    assert client.get("/inbox/").status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401
