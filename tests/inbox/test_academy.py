"""The academy pages and endpoints: the routing gate seen from the inbox (claim refused with a
clear 403), the agent's steps over HTTP, the admins' progress page and the API."""
import pytest

from helpdesk.actions.academy import accept_policies, may_take_chats, save_policy
from helpdesk.actions.agents import set_availability
from helpdesk.extensions import db
from helpdesk.models import Agent, PolicyAcceptance, StorePolicy, Ticket
from tests.factories import make_agent, make_store, make_ticket, make_token
from tests.inbox.test_views import sign_in


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def admin():
    return make_agent(name="Ada Admin", role="admin")


def test_an_untrained_agent_cannot_claim_a_real_chat(client, store, sent_events):
    newbie = make_agent(name="Nina New", academy=False)
    ticket = make_ticket(store)
    token = make_token(newbie)
    sent_events.clear()
    response = client.post(f"/api/v1/tickets/{ticket.id}/claim", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    body = response.get_json()
    assert body["message"] == "Finish the onboarding academy before you take chats."
    assert body["errors"] == {"academy": [body["message"]]}
    assert db.session.get(Ticket, ticket.id).assignee_id is None
    assert [e["event"] for e in sent_events] == []  # refused: nothing happened, nothing sent


def test_a_changed_policy_is_accepted_again_over_http(client, store, admin, sent_events):
    agent = make_agent(name="Pat")
    set_availability(agent, "available")
    policy = save_policy(admin, store, title="Privacy", body="Never share card numbers.")
    ticket = make_ticket(store)
    assert ticket.offered_agent_id is None  # Pat owes the policy: not routed
    csrf = sign_in(client, agent)
    token = make_token(agent)
    claim = client.post(f"/api/v1/tickets/{ticket.id}/claim", headers={"Authorization": f"Bearer {token}"})
    assert claim.status_code == 403 and claim.get_json()["errors"] == {"policies": [claim.get_json()["message"]]}

    page = client.get("/inbox/academy/").get_data(as_text=True)
    assert "Never share card numbers." in page and f'value="{policy.id}"' in page
    no_csrf = client.post("/inbox/academy/api/policies", json={"policy_ids": [policy.id]})
    assert no_csrf.status_code == 400
    bad = client.post("/inbox/academy/api/policies", json={"policy_ids": ["x"]}, headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422 and "policy_ids" in bad.get_json()["errors"]
    sent_events.clear()
    ok = client.post("/inbox/academy/api/policies", json={"policy_ids": [policy.id]}, headers={"X-CSRFToken": csrf},
                     environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert ok.status_code == 200 and ok.get_json()["progress"]["pending_policies"] == []
    assert [(e["event"], e["room"]) for e in sent_events] == [("academy.progress", f"agent:{agent.id}")]
    assert db.session.query(PolicyAcceptance).one().ip == "198.51.100.7"
    assert client.post(f"/api/v1/tickets/{ticket.id}/claim",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_steps_over_http_and_the_practice_chat(client, store):
    newbie = make_agent(name="Nina New", academy=False)
    csrf = sign_in(client, newbie)
    headers = {"X-CSRFToken": csrf}
    early = client.post("/inbox/academy/api/practice", headers=headers)
    assert early.status_code == 409
    assert client.post("/inbox/academy/api/intro", headers=headers).get_json()["progress"]["intro_done_at"]
    done = client.post("/inbox/academy/api/policies", json={"policy_ids": []}, headers=headers).get_json()
    assert done["progress"]["policies_done_at"]  # no policies in Nina's stores: nothing to accept
    started = client.post("/inbox/academy/api/practice", headers=headers)
    assert started.status_code == 201
    ticket_id = started.get_json()["ticket_id"]
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert f'"practice_ticket_id": {ticket_id}' in inbox and "academy.js" in inbox and "inactivity.js" in inbox
    # The practice ticket is reachable for the trainee: the normal claim works on it.
    token = make_token(newbie)
    assert client.post(f"/api/v1/tickets/{ticket_id}/claim",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    me = client.get("/inbox/academy/api/progress").get_json()["progress"]
    assert me["practice_steps"]["claimed"] and not me["practice_steps"]["replied"]


def test_admins_see_everyones_progress_and_exempt_agents(client, store, admin):
    newbie = make_agent(name="Nina New", academy=False)
    policy = save_policy(admin, store, title="Returns", body="30 days.")
    token = make_token(admin)
    listing = client.get("/api/v1/academy/progress", headers={"Authorization": f"Bearer {token}"}).get_json()
    by_name = {i["agent"]["name"]: i for i in listing["items"]}
    assert by_name["Nina New"]["trained"] is False and by_name["Ada Admin"]["exempt"] is True
    assert by_name["Nina New"]["pending_policies"] == [
        {"id": policy.id, "store_id": store.id, "title": "Returns", "version": 1}]
    mine = client.get("/api/v1/academy/progress", headers={"Authorization": f"Bearer {make_token(newbie)}"})
    assert [i["agent"]["name"] for i in mine.get_json()["items"]] == ["Nina New"]
    refused = client.put(f"/api/v1/agents/{admin.id}/academy", json={"exempt": False},
                         headers={"Authorization": f"Bearer {make_token(newbie)}"})
    assert refused.status_code == 403

    csrf = sign_in(client, admin)
    page = client.get("/inbox/academy/admin").get_data(as_text=True)
    assert "Nina New" in page and "Returns v1: not accepted" in page
    response = client.post(f"/inbox/academy/admin/agents/{newbie.id}/exempt", data={"exempt": "1", "csrf_token": csrf})
    assert response.status_code == 302
    listing = client.get("/api/v1/academy/progress", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {i["agent"]["name"]: i for i in listing["items"]}["Nina New"]["trained"] is True

    edited = client.put(f"/api/v1/policies/{policy.id}", json={"title": "Returns", "body": "60 days."},
                        headers={"Authorization": f"Bearer {token}"})
    assert edited.status_code == 200 and edited.get_json()["version"] == 2


def test_agents_cannot_open_the_admin_page(client):
    agent = make_agent(name="Pat")
    sign_in(client, agent)
    assert client.get("/inbox/academy/admin").status_code == 403


def test_admins_add_and_edit_policies_on_the_academy_page(client, store, admin, sent_events):
    agent = make_agent(name="Pat")
    csrf = sign_in(client, admin)
    page = client.get("/inbox/academy/admin").get_data(as_text=True)
    # Labelled fields: the form is usable with a screen reader and the keyboard.
    for field in ("new-policy-store", "new-policy-title", "new-policy-body"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    form = {"store_id": str(store.id), "title": "Returns", "body": "30 days, unworn."}
    assert client.post("/inbox/academy/admin/policies", data=form).status_code == 400  # no CSRF token

    empty = client.post("/inbox/academy/admin/policies", data={**form, "body": "", "csrf_token": csrf})
    assert empty.status_code == 422
    text = empty.get_data(as_text=True)
    assert 'id="new-policy-body-error"' in text and 'aria-invalid="true"' in text
    assert 'value="Returns"' in text  # what the admin typed is kept
    wrong_store = client.post("/inbox/academy/admin/policies",
                              data={**form, "store_id": "99999", "csrf_token": csrf})
    assert wrong_store.status_code == 422 and 'id="new-policy-store-error"' in wrong_store.get_data(as_text=True)
    assert db.session.query(StorePolicy).count() == 0

    sent_events.clear()
    added = client.post("/inbox/academy/admin/policies", data={**form, "csrf_token": csrf})
    assert added.status_code == 302
    policy = db.session.query(StorePolicy).one()
    assert (policy.store_id, policy.title, policy.body, policy.version) == (store.id, "Returns", "30 days, unworn.", 1)
    assert [(e["event"], e["room"]) for e in sent_events] == [("policy.updated", f"store:{store.id}:agents")]

    accept_policies(agent, [policy.id])
    page = client.get("/inbox/academy/admin").get_data(as_text=True)
    accepted = page.split(f'id="policy-{policy.id}"')[1].split("</article>")[0]
    assert "Accepted this version:" in accepted and "Pat (" in accepted
    assert "Not accepted yet: Ada Admin<" in accepted  # the admin serves the store too

    same = client.post(f"/inbox/academy/admin/policies/{policy.id}",
                       data={"title": "Returns", "body": "30 days, unworn.", "csrf_token": csrf})
    assert same.status_code == 302
    db.session.expire_all()
    assert db.session.get(StorePolicy, policy.id).version == 1  # the same text is not a new version

    edited = client.post(f"/inbox/academy/admin/policies/{policy.id}",
                         data={"title": "Returns", "body": "60 days, unworn.", "csrf_token": csrf})
    assert edited.status_code == 302
    db.session.expire_all()
    assert db.session.get(StorePolicy, policy.id).version == 2
    assert not may_take_chats(db.session.get(Agent, agent.id), store.id)  # Pat must accept again
    page = client.get("/inbox/academy/admin").get_data(as_text=True)
    card = page.split(f'id="policy-{policy.id}"')[1].split("</article>")[0]
    assert "version 2" in card and "nobody yet" in card and "Not accepted yet: Ada Admin, Pat<" in card
    assert "60 days, unworn." in card

    bad_edit = client.post(f"/inbox/academy/admin/policies/{policy.id}",
                           data={"title": "", "body": "x", "csrf_token": csrf})
    assert bad_edit.status_code == 422 and f'id="policy-{policy.id}-title-error"' in bad_edit.get_data(as_text=True)
    assert client.post("/inbox/academy/admin/policies/2147483647",
                       data={"title": "T", "body": "B", "csrf_token": csrf}).status_code == 404


def test_agents_cannot_write_policies_from_the_page(client, store):
    agent = make_agent(name="Pat")
    csrf = sign_in(client, agent)
    response = client.post("/inbox/academy/admin/policies",
                           data={"store_id": str(store.id), "title": "T", "body": "B", "csrf_token": csrf})
    assert response.status_code == 403
    assert db.session.query(StorePolicy).count() == 0
