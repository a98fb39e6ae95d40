"""Visits whose agent left the store, in the inbox: listed for the store's agents (the JSON
endpoint and the "My upcoming appointments" page), taken over or given to a colleague (JSON and
the page's form), gone from the former agent's list; CSRF, store access (404), never a 500."""
import re
from datetime import time

import pytest

from helpdesk.actions.agents import set_access
from helpdesk.actions.appointments import book_appointment
from helpdesk.extensions import db
from helpdesk.models import Appointment
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket
from tests.inbox.test_appointments_views import _next
from tests.inbox.test_views import sign_in


@pytest.fixture
def left():
    """Sam booked a visit at Beta, then the admin took Beta away from Sam."""
    alpha, beta = make_store("Alpha shop"), make_store("Beta shop")
    sam = make_agent("Sam Carter")
    ticket = make_ticket(beta, make_contact(beta, email="dana@example.test", name="Dana"))
    visit = book_appointment(ticket, sam, location=make_location(beta, "Downtown"), starts_at=_next(1, time(15, 0)))
    set_access(sam, all_stores=False, stores=[alpha], by=make_agent("Ada Admin", role="admin"))
    return {"alpha": alpha, "beta": beta, "sam": sam, "ticket": ticket, "visit": db.session.get(Appointment, visit.id)}


def test_the_stores_agents_see_it_and_one_takes_it_over(client, left, sent_events):
    visit, beta = left["visit"], left["beta"]
    bea = make_agent("Bea", stores=[beta])
    token = sign_in(client, bea)

    (item,) = client.get("/inbox/api/appointments/unassigned").json["items"]
    assert (item["id"], item["agent"], item["status"]) == (visit.id, None, "booked")
    (in_dialog,) = client.get(f"/inbox/api/tickets/{left['ticket'].id}/appointments").json["appointments"]
    assert in_dialog["agent"] is None
    page = client.get("/inbox/appointments").get_data(as_text=True)
    assert "Visits without an agent" in page and "Take it over" in page and "Dana" in page
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.split('id="appt-unassigned"')[1])
    assert ("Bea" in [name for _, name in options]) and ("Sam Carter" not in [name for _, name in options])
    assert "No visits booked with you in this period." in page

    url = f"/inbox/api/appointments/{visit.id}/assign"
    assert client.post(url, json={}).status_code == 400  # no CSRF token
    taken = client.post(url, headers={"X-CSRFToken": token}, json={})
    assert taken.status_code == 200, taken.json
    assert taken.json["agent"]["name"] == "Bea" and taken.json["sequence"] == visit.sequence
    again = client.post(url, headers={"X-CSRFToken": token}, json={})
    assert again.status_code == 409 and again.json["message"] == "Bea is the agent of this visit already."
    assert [a["id"] for a in client.get("/inbox/api/appointments/upcoming").json["items"]] == [visit.id]
    assert client.get("/inbox/api/appointments/unassigned").json["items"] == []
    assert "Visits without an agent" not in client.get("/inbox/appointments").get_data(as_text=True)


def test_the_former_agent_no_longer_has_it(client, left):
    visit = left["visit"]
    token = sign_in(client, left["sam"])
    assert client.get("/inbox/api/appointments/upcoming?days=30").json["items"] == []
    assert client.get("/inbox/api/appointments/unassigned").json["items"] == []
    page = client.get("/inbox/appointments?days=30").get_data(as_text=True)
    assert "No visits booked with you in this period." in page and "Dana" not in page
    # Beta is not Sam's store any more: its visit is not found, not taken back.
    response = client.post(f"/inbox/api/appointments/{visit.id}/assign", headers={"X-CSRFToken": token}, json={})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).agent_id is None


def test_the_pages_form_gives_it_to_a_colleague_and_says_why_it_cannot(client, left):
    visit, beta = left["visit"], left["beta"]
    admin = make_agent("Ann Admin", role="admin")
    busy = make_agent("Max", stores=[beta])
    book_appointment(make_ticket(beta), busy, location=visit.location, starts_at=_next(1, time(15, 0)))
    bea = make_agent("Bea", stores=[beta])
    sign_in(client, admin)
    page = client.get("/inbox/appointments").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    url = f"/inbox/appointments/{visit.id}/assign"

    clash = client.post(url, data={"csrf_token": form_token, "agent_id": str(busy.id)}, follow_redirects=True)
    assert clash.status_code == 200 and "Max already has a visit at that time." in clash.get_data(as_text=True)
    unknown = client.post(url, data={"csrf_token": form_token, "agent_id": "99999"}, follow_redirects=True)
    assert "No such agent for this store." in unknown.get_data(as_text=True)
    assert client.post(url, data={"agent_id": str(bea.id)}).status_code == 400  # no CSRF token

    given = client.post(url, data={"csrf_token": form_token, "agent_id": str(bea.id)})
    assert given.status_code == 303 and given.headers["Location"].endswith("/inbox/appointments")
    shown = client.get(given.headers["Location"]).get_data(as_text=True)
    assert "Bea is now the agent of the visit of Dana." in shown and "Visits without an agent" not in shown
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).agent_id == bea.id
    late = client.post(url, data={"csrf_token": form_token}, follow_redirects=True)
    assert "Bea is the agent of this visit already." in late.get_data(as_text=True)


def test_garbage_never_makes_a_500(client, left):
    visit = left["visit"]
    headers = {"X-CSRFToken": sign_in(client, make_agent("Bea", stores=[left["beta"]])),
               "Content-Type": "application/json"}
    url = f"/inbox/api/appointments/{visit.id}/assign"
    for raw in (b"{", b"[]", b"null", b'"x"', b"[" * 10_000, b'{"agent_id": "1"}', b'{"agent_id": 0.5}',
                b'{"agent_id": 99999999999}', b'{"agent_id": -1}', b'{"other": 1}'):
        response = client.post(url, headers=headers, data=raw)
        assert response.status_code in (400, 404, 422) and response.is_json, (raw[:20], response.status_code)
    for bad_id in ("0", "99999999999999999999", "abc"):
        assert client.post(f"/inbox/api/appointments/{bad_id}/assign", headers=headers, json={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).agent_id is None


@pytest.mark.browser
def test_taking_over_from_the_conversation_in_real_chromium(live_server, chromium, left):
    """At phone width: the appointments page lists the visit without an agent (no sideways
    scrolling); in the conversation the visit shows it has no agent, and "Take it over" makes
    it the agent's, with the dialog's list saying so."""
    from tests.browser import screenshot
    from tests.inbox.test_browser import TIMEOUT
    from tests.inbox.test_browser import sign_in as browser_sign_in

    bea = make_agent("Bea", stores=[left["beta"]])
    ticket_id = left["ticket"].id
    context, page = browser_sign_in(chromium, live_server, bea, {"width": 375, "height": 780})
    try:
        page.goto(f"{live_server}/inbox/appointments")
        page.get_by_role("heading", name="Visits without an agent").wait_for(timeout=TIMEOUT)
        page.get_by_label("Give it to").wait_for(timeout=TIMEOUT)
        screenshot(page, "appointments-unassigned-page-phone.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.goto(f"{live_server}/inbox/")
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click(timeout=TIMEOUT)
        page.locator(f"#conv-{ticket_id}").locator('[data-act="appointment"]').click(timeout=TIMEOUT)
        dialog = page.locator("#appointment-dialog")
        row = dialog.locator(".appt-row").filter(has_text="Downtown")
        row.get_by_text("No agent").wait_for(timeout=TIMEOUT)
        screenshot(page, "appointment-unassigned-phone.png")
        row.get_by_role("button", name=re.compile("^Take over the visit of ")).click()
        page.get_by_text("The visit is yours now. The customer's booking is unchanged.").wait_for(timeout=TIMEOUT)
        dialog.locator(".appt-row").filter(has_text="with Bea").wait_for(timeout=TIMEOUT)
        assert dialog.get_by_text("No agent").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.js_errors == []
        db.session.expire_all()
        assert db.session.get(Appointment, left["visit"].id).agent_id == bea.id
    finally:
        context.close()


def test_the_pages_lists_come_alone_for_the_live_update(client, left):
    """What static/inbox/appointments.js fetches when a visit changes: the same lists as the
    page (the same ``days``), without the page around them; signed-out, the sign-in form."""
    visit, beta = left["visit"], left["beta"]
    assert client.get("/inbox/appointments/lists").status_code == 302
    bea = make_agent("Bea", stores=[beta])
    sign_in(client, bea)
    page = client.get("/inbox/appointments?days=30").get_data(as_text=True)
    assert 'data-src="/inbox/appointments/lists?days=30"' in page and 'src="/static/inbox/appointments.js"' in page
    lists = client.get("/inbox/appointments/lists?days=30").get_data(as_text=True)
    assert f'data-appointment="{visit.id}"' in lists and "Visits without an agent" in lists
    assert "<html" not in lists and "My upcoming appointments" not in lists
    assert "No visits booked with you in this period." in lists

    book_appointment(make_ticket(beta, make_contact(beta, name="Eve")), bea, location=visit.location,
                     starts_at=_next(2, time(11, 0)))
    lists = client.get("/inbox/appointments/lists?days=30").get_data(as_text=True)
    assert "Eve" in lists and "No visits booked with you in this period." not in lists


def test_another_stores_visit_answers_like_a_missing_one(client, left):
    """The inbox's endpoints say the same for a visit of a store the agent does not see as for
    none at all: its existence is not given away."""
    headers = {"X-CSRFToken": sign_in(client, make_agent("Otto", stores=[left["alpha"]]))}
    theirs = client.post(f"/inbox/api/appointments/{left['visit'].id}/assign", headers=headers, json={})
    missing = client.post("/inbox/api/appointments/999999/assign", headers=headers, json={})
    assert theirs.status_code == missing.status_code == 404 and theirs.json == missing.json
