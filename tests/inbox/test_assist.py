"""Writing assist from the inbox: the JSON endpoint (CSRF, validation, access, rate limit),
the result reaching the asking agent's real Socket.IO client only, and in real Chromium:
Assist → Fix spelling shows a suggestion and Use puts it into the reply box, unsent."""
import re

import pytest
import requests

from helpdesk.extensions import db
from helpdesk.models import AssistRequest, Message
from tests.assist_server import assist_server, no_provider, provider  # noqa: F401 (fixtures)
from tests.browser import DESKTOP, PHONE, screenshot
from tests.factories import make_agent, make_store, make_ticket
from tests.inbox.test_browser import TIMEOUT, sign_in as browser_sign_in
from tests.inbox.test_views import sign_in
from tests.realtime import UA, agent_client, agent_cookie


def url(ticket):
    return f"/inbox/api/tickets/{ticket.id}/assist"


@pytest.fixture
def ticket():
    return make_ticket(make_store("Main shop"), text="Where is my order #1001?")


def test_post_needs_csrf_and_answers_202_with_the_result_pushed(client, ticket, no_provider, sent_events):
    agent = make_agent()
    csrf = sign_in(client, agent)
    body = {"action": "fix", "draft": "You will recieve teh ordr #1001."}
    assert client.post(url(ticket), json=body).status_code == 400  # no CSRF token
    response = client.post(url(ticket), json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 202, response.json
    request_id = response.json["id"]
    [event] = [e for e in sent_events if e["event"] == "assist.result"]
    assert event["room"] == f"agent:{agent.id}"
    assert event["payload"]["request"]["result"] == "You will receive the order #1001."
    status = client.get(f"/inbox/api/assist/{request_id}").json
    assert status["status"] == "done" and status["result"] == "You will receive the order #1001."


def test_bad_input_is_a_json_error(client, ticket, no_provider):
    csrf = sign_in(client, make_agent())
    headers = {"X-CSRFToken": csrf}
    assert client.post(url(ticket), data="nope", headers=headers, content_type="application/json").status_code == 400
    bad = client.post(url(ticket), json={"action": "poem"}, headers=headers)
    assert bad.status_code == 422 and "action" in bad.json["errors"]
    extra = client.post(url(ticket), json={"action": "fix", "draft": "x", "model": "gpt"}, headers=headers)
    assert extra.status_code == 422 and "model" in extra.json["errors"]
    empty = client.post(url(ticket), json={"action": "fix", "draft": "  "}, headers=headers)
    assert empty.status_code == 422 and "draft" in empty.json["errors"]
    needs = client.post(url(ticket), json={"action": "formal", "draft": "hi"}, headers=headers)
    assert needs.status_code == 422 and "needs a configured AI provider" in needs.json["message"]
    assert client.post("/inbox/api/tickets/999999/assist", json={"action": "fix", "draft": "x"},
                       headers=headers).status_code == 404
    assert db.session.query(AssistRequest).count() == 0


def as_other_agent(app):
    """The fixture's app context spans the test, and flask-login and the CSRF token are cached
    on it (``g``): another test client (another agent) needs an app context of its own."""
    return app.app_context()


def test_other_stores_tickets_and_other_agents_requests_are_not_found(app, client, ticket, no_provider):
    owner_csrf = sign_in(client, make_agent())
    mine = client.post(url(ticket), json={"action": "fix", "draft": "teh"}, headers={"X-CSRFToken": owner_csrf})
    assert mine.status_code == 202
    outsider = make_agent(stores=[make_store("Other shop")])
    with as_other_agent(app):
        other = app.test_client()
        csrf = sign_in(other, outsider)
        response = other.post(url(ticket), json={"action": "fix", "draft": "teh"}, headers={"X-CSRFToken": csrf})
        assert response.status_code == 404
        # Another agent's request is not readable either.
        assert other.get(f"/inbox/api/assist/{mine.json['id']}").status_code == 404


def test_rate_limited_per_agent(app, client, ticket, no_provider):
    csrf = sign_in(client, make_agent())
    codes = [client.post(url(ticket), json={"action": "fix", "draft": "teh"}, headers={"X-CSRFToken": csrf}).status_code
             for _ in range(21)]
    assert codes[:20] == [202] * 20 and codes[20] == 429
    # Another agent (same address) still gets through.
    second = make_agent()
    with as_other_agent(app):
        other = app.test_client()
        other_csrf = sign_in(other, second)
        assert other.post(url(ticket), json={"action": "fix", "draft": "teh"},
                          headers={"X-CSRFToken": other_csrf}).status_code == 202


def test_page_never_shows_the_provider_url_or_key(client, provider):
    from tests.assist_server import API_KEY

    sign_in(client, make_agent())
    page = client.get("/inbox/").get_data(as_text=True)
    assert API_KEY not in page and provider.base_url not in page
    # The page only learns that a provider exists, not where it is or how to reach it.
    assert '"provider": true' in page


def test_result_reaches_the_asking_agents_socket_only(live_server, provider):
    store = make_store()
    ticket = make_ticket(store, text="Where is my order?")
    alice, bob = make_agent(name="Alice Able"), make_agent(name="Bob Baker")
    provider.answer = "Dear customer, your order ships today."
    client_a, client_b = agent_client(live_server, alice), agent_client(live_server, bob)
    try:
        # Alice's browser, as a plain HTTP session (the sign-in is bound to its User-Agent).
        session = requests.Session()
        session.headers.update({"Cookie": agent_cookie(live_server, alice), "User-Agent": UA})
        page = session.get(f"{live_server}/inbox/", timeout=5).text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        response = session.post(f"{live_server}/inbox/api/tickets/{ticket.id}/assist",
                                json={"action": "formal", "draft": "ur order ships 2day"},
                                headers={"X-CSRFToken": csrf}, timeout=10)
        assert response.status_code == 202, response.text
        got = client_a.wait_for("assist.result", lambda d: d["request"]["id"] == response.json()["id"], timeout=10)
        assert got["request"]["result"] == "Dear customer, your order ships today."
        with pytest.raises(AssertionError):
            client_b.wait_for("assist.result", timeout=1)
    finally:
        client_a.disconnect()
        client_b.disconnect()


@pytest.mark.browser
def test_fix_spelling_then_use_puts_it_in_the_reply_box(live_server, chromium, no_provider):
    store = make_store()
    ticket = make_ticket(store, channel="email", text="Where is my order #1001? I am waiting since Monday.")
    agent = make_agent(name="Alice Able")
    context, page = browser_sign_in(chromium, live_server, agent, DESKTOP)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{ticket.id}"] .row-open').click()
        conv = page.locator(f"#conv-{ticket.id}")
        conv.locator(".tl-msg.in", has_text="order #1001").wait_for(timeout=TIMEOUT)
        textarea = conv.locator("textarea")
        textarea.fill("You will recieve teh ordr #1001 tomorrow.")
        conv.locator(".assist-menu summary").click()
        # Without a provider the menu says which actions need one.
        assert "needs a configured AI provider" in conv.locator('[data-assist-action="formal"]').inner_text()
        conv.get_by_role("button", name="Fix spelling & grammar").click()
        suggestion = conv.locator(".assist-suggestion .assist-text")
        suggestion.wait_for(state="visible", timeout=TIMEOUT)
        assert suggestion.inner_text() == "You will receive the order #1001 tomorrow."
        assert textarea.input_value() == "You will recieve teh ordr #1001 tomorrow."  # untouched until Use
        screenshot(page, "inbox-assist-suggestion.png")
        conv.get_by_role("button", name="Use", exact=True).click()
        assert textarea.input_value() == "You will receive the order #1001 tomorrow."
        conv.locator(".assist-suggestion").wait_for(state="hidden", timeout=TIMEOUT)
        # Not sent: no agent message on the timeline or in the database.
        assert conv.locator(".tl-msg.out").count() == 0
        assert db.session.query(Message).filter_by(ticket_id=ticket.id, author_type="agent").count() == 0

        # A transform that needs a provider says so and leaves the draft alone (phone width).
        page.set_viewport_size(PHONE)
        conv.locator(".assist-menu summary").click()
        menu = conv.locator(".assist-menu-body")
        box = menu.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # fits on a phone
        screenshot(page, "inbox-assist-phone-menu.png")
        conv.locator('[data-assist-action="friendly"]').click()
        error = conv.locator(".assist-suggestion.is-error .assist-status")
        error.wait_for(state="visible", timeout=TIMEOUT)
        assert "needs a configured AI provider" in error.inner_text()
        assert textarea.input_value() == "You will receive the order #1001 tomorrow."
        screenshot(page, "inbox-assist-phone-error.png")
        conv.get_by_role("button", name="Discard").click()
        conv.locator(".assist-suggestion").wait_for(state="hidden", timeout=TIMEOUT)
        assert page.js_errors == []
    finally:
        context.close()
