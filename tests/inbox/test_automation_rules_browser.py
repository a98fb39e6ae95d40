"""Automation rules in real Chromium on a phone (390 px): an admin adds a rule on the store
settings page -- never a sideways scroll, tap-sized controls, errors at their field, no serious
accessibility finding -- and a shopper's contact-form message is then tagged by it."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Ticket
from tests.browser import PHONE, screenshot, serious_violations
from tests.factories import make_agent, make_store, make_team
from tests.inbox.test_browser import TIMEOUT, sign_in
from tests.inbox.test_store_settings_browser import NO_SIDEWAYS_SCROLL, SMALL_TARGETS

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_rule_on_a_phone_and_a_contact_form_message_is_tagged(live_server, chromium):
    store = make_store("Linen Lane")
    billing = make_team("Billing", store)
    admin = make_agent(name="Ada Admin", role="admin")
    context, page = sign_in(chromium, live_server, admin, PHONE)
    shopper = chromium.new_context(viewport=PHONE, locale="en-US")
    try:
        page.goto(f"{live_server}/inbox/settings/stores/{store.id}#automation")
        expect(page.locator("#automation-none")).to_be_visible()
        form = page.locator("#automation-form")

        # Refused first: nothing to do. The message is at its field, the page still fits.
        form.get_by_label("Name").fill("Refunds <script>alert(1)</script>")
        form.get_by_role("button", name="Add the rule").click()
        expect(page.locator("#ar-actions-error")).to_contain_text("Choose at least one action", timeout=TIMEOUT)
        expect(page.locator("#ar-summary")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

        form = page.locator("#automation-form")
        expect(form.get_by_label("Name")).to_have_value("Refunds <script>alert(1)</script>")
        form.get_by_label("Contact form").check()
        form.get_by_label("Message contains any of").fill("refund, money back")
        form.get_by_label("Add tags").fill("refund")
        form.get_by_label("Send to team").select_option(label="Billing")
        form.get_by_label("Internal note for the agents").fill("Check the payment <b>first</b>.")
        form.get_by_role("button", name="Add the rule").click()
        expect(page.locator(".flash")).to_contain_text("Automation rule saved.", timeout=TIMEOUT)

        row = page.locator(".automation-rule")
        expect(row).to_have_count(1)
        expect(row.locator("strong")).to_have_text("Refunds <script>alert(1)</script>")  # as text
        expect(row.locator(".rule-then")).to_contain_text("add the tags refund; send to the team Billing")
        expect(row.locator(".rule-note")).to_have_text("Check the payment <b>first</b>.")
        expect(row.get_by_role("button", name=re.compile("Turn off"))).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert page.evaluate(SMALL_TARGETS) == []
        assert serious_violations(page) == []
        row.scroll_into_view_if_needed()
        screenshot(page, "automation-rules-390.png")
        page.locator("#automation-form").scroll_into_view_if_needed()
        screenshot(page, "automation-rules-form-390.png")

        # A shopper writes through the contact form: the rule tags the new ticket.
        form_page = shopper.new_page()
        form_page.goto(f"{live_server}/form/{store.widget_key}")
        form_page.get_by_label("Your name").fill("Dana")
        form_page.get_by_label("Email address").fill("dana@example.test")
        form_page.get_by_label("Message").fill("Hello, I would like my MONEY BACK for order 1001.")
        form_page.get_by_role("button", name="Send").click()
        form_page.wait_for_load_state()
        db.session.expire_all()
        ticket = db.session.scalars(select(Ticket).where(Ticket.store_id == store.id)).one()
        assert ticket.channel == "form"
        assert [t.name for t in ticket.tags] == ["refund"] and ticket.team_id == billing.id
        assert page.js_errors == []
    finally:
        shopper.close()
        context.close()
