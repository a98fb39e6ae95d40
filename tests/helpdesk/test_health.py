"""/healthz: database and Redis state, 503 when something it needs is down."""
from tests.conftest import free_port, need, redis_url


def test_healthz_reports_database_ok_and_redis_not_configured(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not configured", "jobs": "sync"}


def test_healthz_is_degraded_when_redis_is_unreachable(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["redis"].startswith("error: ")


def test_healthz_reports_redis_ok(app, client, monkeypatch):
    url = redis_url()
    need(url, "Redis (set TEST_REDIS_URL)")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "ok"


def test_healthz_is_degraded_when_the_database_fails(client, monkeypatch):
    from helpdesk.extensions import db

    def broken(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "error: ConnectionError"


def test_healthz_needs_no_login_and_is_not_cached(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
