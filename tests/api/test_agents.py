"""Agents (me, availability, colleagues) and API tokens."""
from helpdesk.extensions import db
from helpdesk.models import Agent, ApiToken
from tests.api.conftest import Api, api_for, count
from tests.factories import make_agent, make_store, make_token


def test_me(api, agent):
    body = api.get("/agents/me").get_json()
    assert body["id"] == agent.id and body["role"] == "agent" and "password_hash" not in body


def test_set_availability_emits_to_my_devices_and_stores(api, agent, store, sent_events):
    response = api.put("/agents/me/availability", {"availability": "available"})
    assert response.status_code == 200 and response.get_json()["availability"] == "available"
    rooms = {e["room"] for e in sent_events if e["event"] == "agent.availability"}
    assert rooms == {f"agent:{agent.id}", f"store:{store.id}:agents"}
    assert db.session.get(Agent, agent.id).availability == "available"


def test_availability_validation(api):
    for payload in ({"availability": "busy"}, {}, {"availability": 1}, {"availability": "away", "mood": "x"}):
        response = api.put("/agents/me/availability", payload)
        assert response.status_code == 422, payload
    assert api.post("/agents/me/availability", {"availability": "away"}).status_code == 405


def test_list_agents_shows_names_and_availability_not_emails(app, store):
    restricted = make_agent(name="Rita", stores=[store])
    make_agent(name="Ben")
    gone = make_agent(name="Gone")
    gone.active = False
    db.session.commit()
    body = api_for(app, restricted).get("/agents").get_json()
    assert [a["name"] for a in body["items"]] == ["Ben", "Rita"]
    assert set(body["items"][0]) == {"id", "name", "title", "avatar_url", "availability"}


def test_create_use_list_and_revoke_a_token(client, api, agent):
    created = api.post("/tokens", {"name": "Zapier"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["token"].startswith("hd_") and body["name"] == "Zapier" and body["prefix"] == body["token"][:10]
    new_api = Api(client, body["token"])
    assert new_api.get("/agents/me").get_json()["id"] == agent.id
    listed = api.get("/tokens").get_json()["items"]
    assert [t["name"] for t in listed] == ["tests", "Zapier"] and all("token" not in t for t in listed)

    assert api.delete(f"/tokens/{body['id']}").status_code == 204
    assert new_api.get("/agents/me").status_code == 401
    assert api.delete(f"/tokens/{body['id']}").status_code == 204  # already revoked: same answer
    assert api.get("/agents/me").status_code == 200  # the other token still works


def test_token_name_is_required(api):
    for payload in ({}, {"name": ""}, {"name": "x" * 81}, {"name": 5}):
        response = api.post("/tokens", payload)
        assert response.status_code == 422 and "name" in response.get_json()["errors"], payload
    assert count(ApiToken) == 1


def test_cannot_revoke_someone_elses_token_but_admin_can(app, api, admin_api):
    other = make_agent()
    make_token(other)
    theirs = db.session.scalar(db.select(ApiToken).where(ApiToken.agent_id == other.id))
    assert api.delete(f"/tokens/{theirs.id}").status_code == 404
    assert db.session.get(ApiToken, theirs.id).revoked_at is None
    assert admin_api.delete(f"/tokens/{theirs.id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(ApiToken, theirs.id).revoked_at is not None


def test_restricted_agent_sees_only_own_tokens(app):
    store = make_store()
    a, b = make_agent(stores=[store]), make_agent()
    make_token(b, "b's")
    assert [t["name"] for t in api_for(app, a).get("/tokens").get_json()["items"]] == ["tests"]


def test_i_set_and_clear_my_email_signature(app, api, agent, sent_events):
    assert api.get("/agents/me").get_json()["signature"] is None
    response = api.put("/agents/me/signature", {"signature": "Olena\r\nLinen & Co <3\n"})
    assert response.status_code == 200 and response.get_json()["signature"] == "Olena\nLinen & Co <3"
    assert api.get("/agents/me").get_json()["signature"] == "Olena\nLinen & Co <3"
    assert not [e for e in sent_events if e["event"] == "agent.updated"]
    # Colleagues never see it.
    other = api_for(app, make_agent(name="Ben")).get("/agents").get_json()["items"]
    assert all("signature" not in a for a in other)
    for payload in ({}, {"signature": "x" * 1001}, {"signature": 5}, {"signature": "x", "name": "y"}):
        refused = api.put("/agents/me/signature", payload)
        assert refused.status_code == 422, payload
    assert db.session.get(Agent, agent.id).signature == "Olena\nLinen & Co <3"
    assert api.put("/agents/me/signature", {"signature": None}).get_json()["signature"] is None
    assert api.put("/agents/me/signature", {"signature": "Olena"}).status_code == 200
    assert api.put("/agents/me/signature", {"signature": ""}).get_json()["signature"] is None
