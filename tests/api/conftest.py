"""API test helpers: a client that speaks JSON with a Bearer token, and row counters."""
import json
import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from tests.factories import PASSWORD, make_agent, make_store, make_token


class Api:
    """``api.get("/tickets")`` → the test client's response for /api/v1/tickets, as ``token``."""

    def __init__(self, client, token=None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        out = {"Accept": "application/json"}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(headers or {})
        return out

    def request(self, method, url, json_body=None, *, data=None, headers=None, query=None):
        kwargs = {"headers": self._headers(headers), "query_string": query}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["content_type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = "application/json"
        return self.client.open("/api/v1" + url, method=method, **kwargs)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, json_body=None, **kw):
        return self.request("POST", url, json_body, **kw)

    def patch(self, url, json_body=None, **kw):
        return self.request("PATCH", url, json_body, **kw)

    def put(self, url, json_body=None, **kw):
        return self.request("PUT", url, json_body, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def store():
    return make_store("Main shop")


@pytest.fixture
def agent():
    return make_agent(name="Olena Agent")


@pytest.fixture
def admin():
    return make_agent(name="Ada Admin", role="admin")


@pytest.fixture
def api(client, agent):
    """An all-stores agent's API client."""
    return Api(client, make_token(agent))


@pytest.fixture
def admin_api(app, admin):
    return Api(app.test_client(), make_token(admin))


def api_for(app, agent):
    return Api(app.test_client(), make_token(agent))


def login(client, agent):
    """Sign in through the real form; returns the CSRF token the page carried."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return token


class QueryCounter:
    """Counts SQL statements sent while active (``with QueryCounter() as q: ...; q.count``)."""

    def __enter__(self):
        from sqlalchemy import event

        self.count = 0
        self._event = event
        self._engine = db.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, *args, **kwargs):
        self.count += 1

    def __exit__(self, *exc):
        self._event.remove(self._engine, "before_cursor_execute", self._seen)
