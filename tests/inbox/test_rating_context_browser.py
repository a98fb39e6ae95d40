"""A ticket's rating in the agent's context panel, in real Chromium: the stars (read out as
"2 of 5 stars"), the reasons in the agent's words and the comment as text; it appears live
when the customer rates while the agent has the conversation open."""
import pytest
from playwright.sync_api import expect

from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.ratings import rate_by_email, rating_token
from helpdesk.extensions import db
from helpdesk.models import Ticket
from tests.browser import DESKTOP, screenshot, serious_violations
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser


def test_the_customers_rating_shows_in_the_context_panel_as_it_arrives(live_server, chromium):
    store = make_store("Linen Lane")
    message, _ = receive_customer_message(store, make_contact(store, email="ira@example.test", name="Ira"),
                                          "email", "Can I exchange the sneakers?", subject="Exchange")
    ticket = db.session.get(Ticket, message.ticket_id)
    context, page = sign_in(chromium, live_server, make_agent(name="Sam", stores=[store]), DESKTOP)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{ticket.id}"] .row-open').click()
        panel = page.locator("#context-body")
        panel.locator(".ctx-name", has_text="Ira").wait_for(timeout=TIMEOUT)
        expect(panel.locator(".ctx-stars")).to_have_count(0)  # not rated yet

        rate_by_email(ticket.id, rating_token(ticket), 2, ["slow_answer", "not_solved"],
                      "<b>Waited</b> three days")
        stars = panel.locator(".ctx-stars")
        expect(stars).to_have_attribute("aria-label", "2 of 5 stars", timeout=TIMEOUT)
        expect(stars).to_have_text("★★☆☆☆")
        expect(panel).to_contain_text("Slow answer, Not solved")
        # The comment is text: the markup shows as typed, nothing is rendered.
        expect(panel).to_contain_text("<b>Waited</b> three days")
        assert panel.locator("b", has_text="Waited").count() == 0
        panel.locator(".ctx-stars").scroll_into_view_if_needed()
        screenshot(page, "context-rating.png")
        assert serious_violations(page) == []

        # Reloaded later: read from the ticket, not only from the live event.
        page.reload()
        page.locator(f'.ticket-row[data-ticket-id="{ticket.id}"] .row-open').click()
        expect(page.locator("#context-body .ctx-stars")).to_have_attribute("aria-label", "2 of 5 stars",
                                                                          timeout=TIMEOUT)
        assert page.js_errors == []
    finally:
        context.close()
