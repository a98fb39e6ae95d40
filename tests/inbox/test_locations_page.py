"""The admins' page of a store's locations: admins only, linked from "My upcoming
appointments", carries the store's locations and the zone names; and in Chromium at phone
width, an admin adds a location (a refused zone first, shown next to its field with the
input kept) and then books a visit there from a conversation."""
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Appointment, StoreLocation
from tests.factories import make_agent, make_location, make_store
from tests.inbox.test_views import sign_in


def test_only_admins_get_the_page_and_the_link(client):
    store = make_store("Linen & Co")
    make_location(store, "Downtown")
    sign_in(client, make_agent("Olena Agent"))
    assert client.get("/inbox/appointments/locations").status_code == 403
    assert "/inbox/appointments/locations" not in client.get("/inbox/appointments").get_data(as_text=True)


def test_the_page_lists_the_chosen_stores_locations(client):
    make_location(make_store("Another shop"), "Elsewhere")
    store = make_store("Linen & Co")
    make_location(store, "Downtown")
    sign_in(client, make_agent("Ada Admin", role="admin"))
    assert 'href="/inbox/appointments/locations"' in client.get("/inbox/appointments").get_data(as_text=True)
    html = client.get(f"/inbox/appointments/locations?store={store.id}").get_data(as_text=True)
    assert 'id="loc-form"' in html and '<label for="loc-timezone">Time zone</label>' in html
    assert '<option value="Europe/Berlin">' in html and '"loc_add_hours"' in html
    boot = re.search(r'id="inbox-data">(.*?)</script>', html).group(1)
    assert "Downtown" in boot and "Elsewhere" not in boot
    # An unknown or garbage store parameter falls back to the first store, never a 500.
    for value in ("999999", "abc", "\x00", "9" * 40):
        assert client.get("/inbox/appointments/locations", query_string={"store": value}).status_code == 200


def _next(weekday, at):
    today = date.today()
    return datetime.combine(today + timedelta(days=(weekday - today.weekday()) % 7 + 7), at)


@pytest.mark.browser
def test_an_admin_adds_a_location_and_books_a_visit_there(live_server, chromium):
    import uuid

    from tests.browser import screenshot
    from tests.inbox.test_browser import TIMEOUT
    from tests.inbox.test_browser import sign_in as browser_sign_in
    from tests.realtime import visitor_client, visitor_session

    store = make_store("Linen & Co")
    admin = make_agent("Ada Admin", role="admin")
    context, page = browser_sign_in(chromium, live_server, admin, {"width": 375, "height": 780})
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        page.goto(f"{live_server}/inbox/appointments")
        page.get_by_role("link", name="Store locations").click()
        page.get_by_text("No locations yet: add the first one below.").wait_for(timeout=TIMEOUT)
        form = page.locator("#loc-form")
        page.get_by_label("Name").fill("Riverside")
        page.get_by_label("Address").fill("3 Quay Street")
        page.get_by_label("Time zone").fill("Mars/Olympus")
        # Monday gets a lunch break: 09:00–12:30 and 13:30–18:00.
        page.get_by_label("Monday, period 1: closes").fill("12:30")
        page.get_by_role("button", name="Add opening hours on Monday").click()
        page.get_by_label("Monday, period 2: opens").fill("13:30")
        page.get_by_label("Monday, period 2: closes").fill("18:00")
        page.get_by_label("Appointment length (minutes)").fill("45")
        form.get_by_role("button", name="Add the location").click()
        error = page.locator("#loc-timezone-error")
        error.filter(has_text="Unknown time zone Mars/Olympus.").wait_for(timeout=TIMEOUT)
        assert page.get_by_label("Time zone").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Name").input_value() == "Riverside"  # the admin's input is kept
        assert page.get_by_label("Monday, period 2: opens").input_value() == "13:30"

        page.get_by_label("Time zone").fill("Europe/Berlin")
        form.get_by_role("button", name="Add the location").click()
        page.get_by_role("status").filter(has_text="Riverside added.").wait_for(timeout=TIMEOUT)
        page.locator(".loc-item").filter(has_text="Europe/Berlin").wait_for(timeout=TIMEOUT)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
        page.locator("h1").scroll_into_view_if_needed()
        screenshot(page, "locations-admin-phone.png")

        location = db.session.scalars(select(StoreLocation).where(StoreLocation.store_id == store.id)).one()
        assert (location.timezone, location.appointment_minutes) == ("Europe/Berlin", 45)
        assert location.opening_hours["mon"] == [["09:00", "12:30"], ["13:30", "18:00"]]

        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "Can I come by on Monday?",
                                       "prechat": {"name": "Ira", "email": "ira@example.test"}})
        ticket_id = ack["message"]["ticket_id"]
        page.goto(f"{live_server}/inbox/")
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click(timeout=TIMEOUT)
        page.locator(f"#conv-{ticket_id}").locator('[data-act="appointment"]').click(timeout=TIMEOUT)
        dialog = page.locator("#appointment-dialog")
        dialog.get_by_text("No visits booked in this conversation.").wait_for(timeout=TIMEOUT)
        assert dialog.get_by_label("Location").locator("option").all_inner_texts() == ["Riverside (Europe/Berlin)"]
        start = _next(0, time(14, 0))
        page.get_by_label("Date and time (the shop's local time)").fill(start.strftime("%Y-%m-%dT%H:%M"))
        dialog.get_by_role("button", name="Book and send the invitation").click()
        dialog.locator(".appt-row").filter(has_text="Riverside").wait_for(timeout=TIMEOUT)
        screenshot(page, "locations-booked-phone.png")

        db.session.expire_all()
        (appt,) = db.session.scalars(select(Appointment)).all()
        assert appt.location_id == location.id and appt.ends_at - appt.starts_at == timedelta(minutes=45)
        assert page.js_errors == []
    finally:
        shopper.disconnect()
        context.close()
