"""The booking dialog's JSON endpoints and the "My upcoming appointments" page: sign-in,
CSRF, store access (404), validation (422 with field messages, never a 500)."""
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.actions.appointments import book_appointment
from helpdesk.extensions import db
from helpdesk.models import Appointment
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket
from tests.inbox.test_views import sign_in


def _next(weekday, at=time(10, 0)):
    today = date.today()
    return datetime.combine(today + timedelta(days=(weekday - today.weekday()) % 7 + 7), at)


@pytest.fixture
def shop():
    store = make_store("Main shop")
    ticket = make_ticket(store, make_contact(store, email="dana@example.test", name="Dana"))
    return store, ticket, make_location(store, "Downtown")


def test_endpoints_need_sign_in(client, shop):
    store, ticket, location = shop
    assert client.get(f"/inbox/api/tickets/{ticket.id}/appointments").status_code == 401
    assert client.get("/inbox/api/appointments/upcoming").json["status"] == 401
    assert client.get("/inbox/appointments").status_code == 302


def test_book_move_cancel_through_the_dialog_endpoints(client, shop, sent_events):
    store, ticket, location = shop
    agent = make_agent("Sam Carter")
    token = sign_in(client, agent)
    headers = {"X-CSRFToken": token}

    data = client.get(f"/inbox/api/tickets/{ticket.id}/appointments").json
    assert [loc["name"] for loc in data["locations"]] == ["Downtown"] and data["appointments"] == []

    start = _next(1, time(15, 0)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(f"/inbox/api/tickets/{ticket.id}/appointments", headers=headers,
                          json={"location_id": location.id, "starts_at": start, "notes": "Suit fitting"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["local_start"] == start and body["agent"]["name"] == "Sam Carter" and body["sequence"] == 0
    assert body["location"]["timezone"] == "Europe/Paris" and body["status"] == "booked"

    moved = client.patch(f"/inbox/api/appointments/{body['id']}", headers=headers,
                         json={"starts_at": _next(2, time(11, 0)).strftime("%Y-%m-%dT%H:%M")})
    assert moved.status_code == 200 and moved.json["sequence"] == 1 and moved.json["uid"] == body["uid"]

    upcoming = client.get("/inbox/api/appointments/upcoming?days=30").json["items"]
    assert [a["id"] for a in upcoming] == [body["id"]]
    page = client.get("/inbox/appointments?days=30").get_data(as_text=True)
    assert "My upcoming appointments" in page and "Dana" in page and "Downtown" in page
    assert "11:00\u202fAM – 11:30\u202fAM" in page  # the shop's wall-clock time, not UTC

    cancelled = client.post(f"/inbox/api/appointments/{body['id']}/cancel", headers=headers, json={})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.get("/inbox/api/appointments/upcoming").json["items"] == []
    assert "No visits booked with you" in client.get("/inbox/appointments").get_data(as_text=True)


def test_refusals_are_json_with_the_field_at_fault(client, shop):
    store, ticket, location = shop
    headers = {"X-CSRFToken": sign_in(client, make_agent())}
    url = f"/inbox/api/tickets/{ticket.id}/appointments"

    past = client.post(url, headers=headers, json={"location_id": location.id, "starts_at": "2020-01-01T10:00"})
    assert past.status_code == 422
    assert past.json["errors"] == {"starts_at": ["That time is in the past. Choose a time from now on."]}

    night = client.post(url, headers=headers, json={"location_id": location.id,
                                                    "starts_at": _next(3, time(22, 0)).isoformat()})
    assert night.status_code == 422 and "is open 09:00–18:00 on Thursday" in night.json["message"]

    for bad in ({}, {"location_id": "x", "starts_at": "soon"}, {"location_id": location.id},
                {"location_id": location.id, "starts_at": "2030-01-01T10:00", "extra": 1}, [1, 2], "null"):
        response = client.post(url, headers=headers, json=bad)
        assert response.status_code in (400, 422), (bad, response.status_code)
        assert response.json["message"]

    unknown = client.post(url, headers=headers, json={"location_id": 999999, "starts_at": _next(1).isoformat()})
    assert unknown.status_code == 404 and unknown.json["errors"] == {"location_id": ["No such location for this store."]}
    nothing = client.patch("/inbox/api/appointments/1", headers=headers, json={})
    assert nothing.status_code in (404, 422)
    assert client.get("/inbox/api/appointments/upcoming?days=abc").status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_csrf_is_required(client, shop):
    store, ticket, location = shop
    sign_in(client, make_agent())
    response = client.post(f"/inbox/api/tickets/{ticket.id}/appointments",
                           json={"location_id": location.id, "starts_at": _next(1).isoformat()})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_another_stores_ticket_and_visits_are_not_found(client, shop):
    store, ticket, location = shop
    owner = make_agent("Owner")
    appt = book_appointment(ticket, owner, location=location, starts_at=_next(1))
    outsider = make_agent("Rita", stores=[make_store("Other shop")])
    headers = {"X-CSRFToken": sign_in(client, outsider)}
    assert client.get(f"/inbox/api/tickets/{ticket.id}/appointments").status_code == 404
    assert client.patch(f"/inbox/api/appointments/{appt.id}", headers=headers,
                        json={"notes": "x"}).status_code == 404
    assert client.post(f"/inbox/api/appointments/{appt.id}/cancel", headers=headers, json={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Appointment, appt.id).status == "booked"


def test_the_inbox_page_offers_the_dialog_and_the_links(client, shop):
    sign_in(client, make_agent())
    html = client.get("/inbox/").get_data(as_text=True)
    assert 'id="appointment-dialog"' in html and 'data-act="appointment"' in html
    assert 'href="/inbox/appointments"' in html and 'href="/inbox/profile"' in html
    assert '"appt_booked"' in html  # the dialog's strings come translated from the page


GARBAGE = [b"{", b"\xff\xfe", b"[]", b'"x"', b"null", b"42", b"[" * 10_000]
ODD_VALUES = ["0001-01-01T00:00", "9999-12-31T23:59", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00",
              "2030-02-30T10:00", "", "  ", "\u0000", "x" * 5000, 10**30, -1, None, [], {}, True, 1.5]


def test_garbage_never_makes_a_500(client, shop):
    store, ticket, location = shop
    agent = make_agent()
    appt = book_appointment(ticket, agent, location=location, starts_at=_next(1))
    headers = {"X-CSRFToken": sign_in(client, agent), "Content-Type": "application/json"}
    urls = [("post", f"/inbox/api/tickets/{ticket.id}/appointments"), ("patch", f"/inbox/api/appointments/{appt.id}"),
            ("post", f"/inbox/api/appointments/{appt.id}/cancel"), ("post", "/inbox/api/profile")]
    for method, url in urls:
        for raw in GARBAGE:
            response = getattr(client, method)(url, headers=headers, data=raw)
            assert response.status_code in (400, 422) and response.is_json, (url, raw[:20], response.status_code)
    for field in ("location_id", "starts_at", "agent_id", "notes"):
        for value in ODD_VALUES:
            body = {"location_id": location.id, "starts_at": _next(2).isoformat(), field: value}
            for method, url in urls[:2]:
                response = getattr(client, method)(url, headers=headers, json=body)
                assert response.status_code < 500 and response.is_json, (url, field, value, response.status_code)
    for query in ("days=0", "days=-5", "days=99999999999999999999", "days=", "days=%00", "x=1"):
        response = client.get(f"/inbox/api/appointments/upcoming?{query}")
        assert response.status_code == 422 and response.is_json, query
        assert client.get(f"/inbox/appointments?{query}").status_code == 200
    for bad_id in ("0", "99999999999999999999", "-1", "abc"):
        assert client.get(f"/inbox/api/tickets/{bad_id}/appointments").status_code == 404
        assert client.post(f"/inbox/api/appointments/{bad_id}/cancel", headers=headers, json={}).status_code == 404


@pytest.mark.browser
def test_booking_in_real_chromium_reaches_the_shoppers_socket(live_server, chromium):
    """At phone width (375px): open the conversation, book through the dialog (a refused time
    first, with the server's reason shown), and the shopper's real Socket.IO client receives
    the visit card."""
    import uuid

    from tests.browser import screenshot
    from tests.inbox.test_browser import TIMEOUT
    from tests.inbox.test_browser import sign_in as browser_sign_in
    from tests.realtime import visitor_client, visitor_session

    store = make_store("Linen & Co")
    make_location(store, "Downtown")
    agent = make_agent("Sam Carter")
    context, page = browser_sign_in(chromium, live_server, agent, {"width": 375, "height": 780})
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "Can I try it on in the shop?",
                                       "prechat": {"name": "Ira", "email": "ira@example.test"}})
        ticket_id = ack["message"]["ticket_id"]
        page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click(timeout=TIMEOUT)
        conv = page.locator(f"#conv-{ticket_id}")
        conv.locator('[data-act="appointment"]').click(timeout=TIMEOUT)
        dialog = page.locator("#appointment-dialog")
        dialog.get_by_text("No visits booked in this conversation.").wait_for(timeout=TIMEOUT)
        page.get_by_label("Date and time (the shop's local time)").fill(_next(1, time(22, 0)).strftime("%Y-%m-%dT%H:%M"))
        dialog.get_by_role("button", name="Book and send the invitation").click()
        dialog.get_by_role("alert").filter(has_text="is open 09:00–18:00").wait_for(timeout=TIMEOUT)
        page.get_by_label("Date and time (the shop's local time)").fill(_next(1, time(15, 0)).strftime("%Y-%m-%dT%H:%M"))
        dialog.get_by_role("button", name="Book and send the invitation").click()
        dialog.locator(".appt-row").filter(has_text="Downtown").wait_for(timeout=TIMEOUT)
        screenshot(page, "appointment-dialog-phone.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling

        got = shopper.wait_for("message.created", lambda d: d["message"].get("appointment"), timeout=10)
        card = got["message"]["appointment"]
        assert card["heading"] == "Visit booked" and card["location"] == "Downtown"
        assert card["agent"]["name"] == "Sam Carter"
        assert page.js_errors == []
    finally:
        shopper.disconnect()
        context.close()
