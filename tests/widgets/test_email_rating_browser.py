"""An email customer rates from their "How did we do?" email in real Chromium on a phone
(390 px): the link of the mail as a real SMTP server received it opens the page with its
stars chosen; a low rating without a reason is refused at the field, nothing typed lost;
with a reason and a comment it is stored and thanked. Accessible (axe), no sideways scroll."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.actions.email import create_mailbox, ingest_email
from helpdesk.actions.tickets import update_ticket
from helpdesk.extensions import db
from helpdesk.models import Ticket
from tests.browser import PHONE, screenshot, serious_violations
from tests.connectors.email.conftest import MANIFEST, eml
from tests.factories import make_agent, make_store
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
COMMENT = "The parcel came a week late <b>twice</b>"


def _received_link(smtp_server, stars):  # noqa: F811
    (sent,) = smtp_server.wait_for(1)
    html = sent.get_body(("html",)).get_content()
    links = dict((int(s), url) for url, s in re.findall(r'<a href="(http[^"]+/rate/[^"]+\?stars=(\d))"', html))
    assert sorted(links) == [1, 2, 3, 4, 5]
    return links[stars]


def test_a_customer_follows_the_emails_link_and_rates_two_stars_on_a_phone(
        app, live_server, chromium, smtp_server, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "PUBLIC_URL", live_server)  # the links lead to this server
    store = make_store("Linen & Co")
    mailbox = create_mailbox(store, MANIFEST["mailbox"], name="Support")
    ticket_id = ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw").ticket_id
    agent = make_agent("Sam Carter")
    update_ticket(db.session.get(Ticket, ticket_id), agent, assignee_id=agent.id, status="resolved")
    link = _received_link(smtp_server, 2)

    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
        stars = page.get_by_role("group", name="Rating")
        expect(stars.get_by_role("radio", name="2 stars")).to_be_checked()
        # The reasons follow the stars: a 2-star rating asks what could be better.
        expect(page.get_by_role("group", name="What could be better? Choose at least one.")).to_be_visible()
        expect(page.get_by_role("group", name="What went well? (optional)")).to_be_hidden()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert serious_violations(page) == []
        screenshot(page, "email-rating-390.png")

        # Sent without a reason: the message at the reasons, the comment still there.
        page.get_by_label("Comment").fill(COMMENT)
        page.get_by_role("button", name="Send rating").click()
        reasons = page.get_by_role("group", name="What could be better? Choose at least one.")
        expect(page.locator("#e-reasons")).to_have_text("Tell us what went wrong: choose a reason.", timeout=TIMEOUT)
        expect(reasons).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Comment")).to_have_value(COMMENT)
        expect(stars.get_by_role("radio", name="2 stars")).to_be_checked()
        expect(reasons.get_by_role("checkbox", name="Slow answer")).to_be_focused()  # the field at fault
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert serious_violations(page) == []
        screenshot(page, "email-rating-390-refused.png")
        db.session.expire_all()
        assert db.session.get(Ticket, ticket_id).rating is None

        # Choosing five stars and back shows the other reasons, then these again (CSS only).
        stars.get_by_text("5 stars").evaluate("el => el.closest('label').click()")
        expect(page.get_by_role("group", name="What went well? (optional)")).to_be_visible()
        stars.get_by_text("2 stars").evaluate("el => el.closest('label').click()")
        reasons.get_by_role("checkbox", name="Slow answer").check()
        page.get_by_role("button", name="Send rating").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thanks for your feedback!", timeout=TIMEOUT)
        expect(page.get_by_role("status")).to_contain_text("2 stars")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert serious_violations(page) == []
        screenshot(page, "email-rating-390-thanks.png")

        db.session.expire_all()
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.rating, ticket.rating_reasons, ticket.rating_comment) == (2, ["slow_answer"], COMMENT)

        # Back on the link later: the rating given, the comment shown as the text typed.
        page.goto(link.replace("?stars=2", ""))
        expect(stars.get_by_role("radio", name="2 stars")).to_be_checked()
        expect(page.get_by_label("Comment")).to_have_value(COMMENT)
        expect(page.locator("textarea b")).to_have_count(0)
        assert errors == []
    finally:
        context.close()
