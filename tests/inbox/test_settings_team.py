"""Admins' team page (inbox/settings_team.py): accounts, roles and access through the
actions; a generated password is shown once; nobody locks themself out."""
import re

from helpdesk.extensions import db
from helpdesk.models import Agent, Role
from tests.factories import PASSWORD, make_agent
from tests.inbox.test_views import sign_in


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


# ---- access: stores and teams ------------------------------------------------------------------

def _access(admin_client, agent, **form):
    return admin_client.post(f"/inbox/settings/team/{agent.id}/access", data={"csrf_token": admin_client.csrf, **form})


def test_admin_changes_an_agents_stores_and_teams(admin_client, store, sent_events):
    from tests.factories import make_store, make_team

    other = make_store("Other Outlet")
    sales, anywhere = make_team("Sales", store), make_team("Anywhere")
    agent = make_agent("Ann Agent")
    page = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    form = page[page.index(f'id="access-{agent.id}"'):]
    form = form[:form.index("</details>")]
    # Saved state: every store; each group a fieldset with its legend; ids unique per agent.
    assert '<input type="radio" name="access" value="all" checked>' in form
    assert "<legend>Stores of Ann Agent</legend>" in form and "<legend>Teams of Ann Agent</legend>" in form
    assert "<legend>Only these stores</legend>" in form and "Sales <span class=\"muted\">(Linen Lane)</span>" in form
    assert 'name="csrf_token"' in form

    response = _access(admin_client, agent, access="some", store_ids=[str(store.id), "99999999999999"],
                       team_ids=[str(sales.id), str(anywhere.id)])
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#agent-{agent.id}")
    agent = db.session.get(Agent, agent.id)
    db.session.refresh(agent)
    assert agent.all_stores is False and [s.id for s in agent.stores] == [store.id]
    assert sorted(t.name for t in agent.teams) == ["Anywhere", "Sales"]
    assert [(e["event"], e["room"]) for e in sent_events if e["event"] == "disconnect"] == [
        ("disconnect", f"agent:{agent.id}")]
    page = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert "The access of Ann Agent is saved." in page
    form = page[page.index(f'id="access-{agent.id}"'):]
    form = form[:form.index("</details>")]
    assert '<input type="radio" name="access" value="some" checked>' in form
    assert f'name="store_ids" value="{store.id}" checked>' in form and f'name="store_ids" value="{other.id}">' in form
    assert f'name="team_ids" value="{sales.id}" checked>' in form

    # Back to every store; unticking every team leaves them all.
    assert _access(admin_client, agent, access="all", store_ids=[str(other.id)]).status_code == 302
    db.session.expire_all()
    agent = db.session.get(Agent, agent.id)
    assert agent.all_stores is True and agent.stores == [] and agent.teams == []


def test_a_refused_access_form_comes_back_open_as_typed(admin_client, store):
    from tests.factories import make_store, make_team

    other = make_store("Other Outlet")
    other_team = make_team("Returns", other)
    agent = make_agent("Ann Agent", stores=[other])
    response = _access(admin_client, agent, access="some", team_ids=[str(other_team.id)])
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    form = html[html.index(f'id="access-{agent.id}"'):]
    form = form[:form.index("</details>")]
    assert form.startswith(f'id="access-{agent.id}" open>')
    assert (f'<p id="access-{agent.id}-stores-error" class="error field-error" role="alert">'
            "Tick at least one store, or choose every store.</p>") in form
    assert f'<fieldset class="access-stores" aria-describedby="access-{agent.id}-stores-error">' in form
    # What was typed, not what is saved: "some", no store ticked (Other Outlet is saved), the team ticked.
    assert '<input type="radio" name="access" value="some" checked>' in form
    assert f'name="store_ids" value="{other.id}">' in form
    assert f'name="team_ids" value="{other_team.id}" checked>' in form

    response = _access(admin_client, agent, access="some", store_ids=[str(store.id)], team_ids=[str(other_team.id)])
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (f'<p id="access-{agent.id}-teams-error" class="error field-error" role="alert">The team Returns belongs '
            "to a store this agent will not see: tick that store too, or leave the team.</p>") in html
    assert f'name="store_ids" value="{store.id}" checked>' in html

    response = _access(admin_client, agent, store_ids=[str(store.id)])  # neither radio
    assert response.status_code == 422 and "Choose every store or only some." in response.get_data(as_text=True)
    db.session.expire_all()
    agent = db.session.get(Agent, agent.id)
    assert [s.id for s in agent.stores] == [other.id] and agent.teams == []


def test_the_access_form_needs_its_csrf_token_and_an_admin(client, admin, store):
    agent = make_agent("Ann Agent")
    csrf = sign_in(client, admin)
    response = client.post(f"/inbox/settings/team/{agent.id}/access",
                           data={"access": "some", "store_ids": [str(store.id)]})
    assert response.status_code == 400
    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, make_agent("Nosy Agent"))
    response = client.post(f"/inbox/settings/team/{agent.id}/access",
                           data={"csrf_token": csrf, "access": "some", "store_ids": [str(store.id)]})
    assert response.status_code == 403
    assert client.post("/inbox/settings/team/2147483648/access", data={"csrf_token": csrf}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).all_stores is True


def test_names_in_the_access_form_are_escaped(admin_client):
    from tests.factories import make_store, make_team

    shop = make_store('<img src=x onerror="alert(1)">')
    make_team("<b>Bold team</b>", shop)
    agent = make_agent('<script>alert("agent")</script>', stores=[shop])
    html = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Bold team</b>" not in html
    assert "&lt;script&gt;alert(&#34;agent&#34;)&lt;/script&gt;" in html
    assert ('&lt;b&gt;Bold team&lt;/b&gt; <span class="muted">(&lt;img src=x onerror=&#34;alert(1)&#34;&gt;)</span>'
            in html)
    response = _access(admin_client, agent, access="some")
    assert response.status_code == 422 and "<script>alert" not in response.get_data(as_text=True)


def test_an_agent_who_loses_a_store_stops_seeing_its_tickets(client, admin, store):
    """Every HTTP read checks the agent's stores at the time of the request."""
    from helpdesk.actions.agents import set_access
    from helpdesk.actions.tickets import assign
    from tests.factories import make_store, make_ticket

    other = make_store("Other Outlet")
    agent = make_agent("Ann Agent")
    kept, lost = make_ticket(store), make_ticket(other)
    for ticket in (kept, lost):
        assign(ticket, agent)
    kept_id, lost_id = kept.id, lost.id
    sign_in(client, agent)
    assert {kept_id, lost_id} <= {t["id"] for t in client.get("/api/v1/tickets").get_json()["items"]}

    set_access(agent, all_stores=False, stores=[store], by=admin)
    listed = {t["id"] for t in client.get("/api/v1/tickets").get_json()["items"]}
    assert kept_id in listed and lost_id not in listed
    assert client.get(f"/api/v1/tickets/{lost_id}").status_code == 404
    assert client.get(f"/api/v1/tickets/{kept_id}").status_code == 200
