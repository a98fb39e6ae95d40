"""The "My upcoming appointments" page follows the store's visits live in real Chromium, at
phone width: a colleague's visit appears under "Visits without an agent" when that colleague
loses the store, and goes when another colleague takes it over -- without a reload."""
from datetime import time

import pytest

from helpdesk.actions.agents import set_access
from helpdesk.actions.appointments import assign_appointment, book_appointment
from helpdesk.extensions import db
from helpdesk.models import Appointment
from tests.browser import PHONE, screenshot
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket
from tests.inbox.test_appointments_views import _next
from tests.inbox.test_browser import TIMEOUT
from tests.inbox.test_browser import sign_in as browser_sign_in

pytestmark = pytest.mark.browser


def test_a_visit_without_an_agent_appears_and_goes_live_at_phone_width(live_server, chromium):
    alpha, beta = make_store("Alpha shop"), make_store("Beta shop")
    sam, admin = make_agent("Sam Carter"), make_agent("Ada Admin", role="admin")
    bea, max_ = make_agent("Bea", stores=[beta]), make_agent("Max", stores=[beta])
    ticket = make_ticket(beta, make_contact(beta, email="dana@example.test", name="Dana"))
    visit = book_appointment(ticket, sam, location=make_location(beta, "Downtown"), starts_at=_next(1, time(15, 0)))
    visit_id = visit.id

    context, page = browser_sign_in(chromium, live_server, bea, PHONE)
    try:
        page.goto(f"{live_server}/inbox/appointments")
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        page.evaluate("window.notReloaded = true")
        section = page.locator("#appt-unassigned")
        assert section.count() == 0
        page.get_by_text("No visits booked with you in this period.").wait_for(timeout=TIMEOUT)

        set_access(sam, all_stores=False, stores=[alpha], by=admin)  # Sam no longer works at Beta

        section.get_by_role("heading", name="Visits without an agent").wait_for(timeout=TIMEOUT)
        item = section.locator(f'[data-appointment="{visit_id}"]')
        item.get_by_text("Dana").wait_for(timeout=TIMEOUT)
        assert item.get_by_role("button", name="Take it over").is_visible()
        assert item.get_by_label("Give it to").locator("option").all_inner_texts() == ["Ada Admin", "Bea", "Max"]
        screenshot(page, "appointments-live-unassigned-phone.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        assign_appointment(db.session.get(Appointment, visit_id), max_)  # Max takes it over

        section.wait_for(state="detached", timeout=TIMEOUT)
        page.get_by_text("No visits booked with you in this period.").wait_for(timeout=TIMEOUT)
        screenshot(page, "appointments-live-taken-over-phone.png")
        assert page.evaluate("window.notReloaded") is True
        assert page.js_errors == []
    finally:
        context.close()
