"""Authentication: Bearer tokens, session cookies with CSRF, and the per-credential rate limit."""
import pytest

from helpdesk.actions.agents import revoke_api_token
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Ticket
from tests.api.conftest import Api, count, login
from tests.factories import make_agent, make_ticket, make_token


def assert_401(response):
    assert response.status_code == 401
    body = response.get_json()
    assert body["status"] == 401 and body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_token_is_401_json(client):
    assert_401(Api(client).get("/tickets"))
    assert_401(Api(client).post("/tickets", {"store_id": 1}))


@pytest.mark.parametrize("header", [
    "Bearer hd_not-a-real-token",
    "Bearer nonsense",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "hd_token-without-scheme",
    "Bearer hd_" + "x" * 300,
])
def test_bad_token_is_401(client, header):
    assert_401(client.get("/api/v1/agents/me", headers={"Authorization": header}))


def test_revoked_token_is_401(client, agent):
    raw = make_token(agent)
    api = Api(client, raw)
    assert api.get("/agents/me").status_code == 200
    revoke_api_token(db.session.get(ApiToken, 1))
    assert_401(api.get("/agents/me"))


def test_token_of_deactivated_agent_is_401(client, agent):
    api = Api(client, make_token(agent))
    agent.active = False
    db.session.commit()
    assert_401(api.get("/agents/me"))


def test_token_identifies_its_agent_and_records_use(client, agent):
    api = Api(client, make_token(agent))
    body = api.get("/agents/me").get_json()
    assert body["id"] == agent.id and body["email"] == agent.email
    assert db.session.scalar(db.select(ApiToken)).last_used_at is not None


def test_bearer_requests_need_no_csrf_token(api, store):
    ticket = make_ticket(store)
    response = api.post(f"/tickets/{ticket.id}/claim")
    assert response.status_code == 200


def test_session_get_works_without_csrf_token(client, agent, store):
    make_ticket(store)
    login(client, agent)
    response = client.get("/api/v1/tickets")
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 1


def test_session_post_without_csrf_token_is_refused_and_changes_nothing(client, agent, store):
    ticket = make_ticket(store)
    login(client, agent)
    response = client.post(f"/api/v1/tickets/{ticket.id}/claim")
    assert response.status_code in (400, 403)
    body = response.get_json()
    assert body["status"] == response.status_code and "CSRF" in body["message"]
    assert db.session.get(Ticket, ticket.id).assignee_id is None


def test_session_post_with_wrong_csrf_token_is_refused(client, agent, store):
    ticket = make_ticket(store)
    login(client, agent)
    response = client.post(f"/api/v1/tickets/{ticket.id}/claim", headers={"X-CSRFToken": "forged"})
    assert response.status_code in (400, 403)
    assert db.session.get(Ticket, ticket.id).assignee_id is None


def test_session_unsafe_methods_with_csrf_token_work(client, agent, store):
    ticket = make_ticket(store)
    csrf_token = login(client, agent)
    headers = {"X-CSRFToken": csrf_token}
    response = client.post(f"/api/v1/tickets/{ticket.id}/claim", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["assignee"]["id"] == agent.id
    response = client.put("/api/v1/agents/me/availability", json={"availability": "away"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["availability"] == "away"
    # Every unsafe method is checked, not only POST.
    assert client.patch(f"/api/v1/tickets/{ticket.id}", json={"subject": "x"}).status_code in (400, 403)
    assert client.delete("/api/v1/tokens/1").status_code in (400, 403)
    assert client.patch(f"/api/v1/tickets/{ticket.id}", json={"subject": "x"}, headers=headers).status_code == 200


def test_a_wrong_token_is_refused_even_with_a_valid_session(client, agent):
    login(client, agent)
    assert_401(client.get("/api/v1/agents/me", headers={"Authorization": "Bearer hd_wrong"}))


def test_rate_limit_is_per_token_across_endpoints(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")
    first, second = make_agent(), make_agent()
    api1, api2 = Api(client, make_token(first)), Api(client, make_token(second))
    assert [api1.get(url).status_code for url in ("/agents/me", "/tickets", "/agents")] == [200, 200, 200]
    limited = api1.get("/agents/me")
    assert limited.status_code == 429
    assert limited.get_json()["status"] == 429
    assert api2.get("/agents/me").status_code == 200  # another token has its own budget


def test_rate_limit_default_allows_normal_use(api):
    for _ in range(30):
        assert api.get("/agents/me").status_code == 200
    assert count(ApiToken) == 1
