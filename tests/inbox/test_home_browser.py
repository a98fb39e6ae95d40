"""The home panel, posts and FAQ in real Chromium: the nudge appears while shoppers browse
and nobody is available and its button makes the agent available; a post an admin publishes
arrives live with the unread badge, and reading it clears the badge; the FAQ is searched
and its answer lands in the reply box. Checked at desktop and phone (375 px) widths."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from helpdesk.actions.faq import create_faq_entry
from helpdesk.actions.posts import create_post
from helpdesk.extensions import db
from helpdesk.models import Agent, utcnow
from tests.browser import DESKTOP, hold_events, screenshot
from tests.factories import make_agent, make_store, make_ticket, make_visitor
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser
PHONE_375 = {"width": 375, "height": 740}


def test_home_nudge_posts_and_faq(live_server, chromium):
    store = make_store("Linen Lane")
    admin = make_agent(name="Ada Admin", role="admin")
    agent = make_agent(name="Ann Agent", stores=[store])
    visitor = make_visitor(store)
    visitor.last_seen_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    make_ticket(store, text="Where is my order?")
    create_faq_entry(admin, question="How do returns work?", answer="Send it back within 30 days.")

    context, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        home = page.locator("#home")
        expect(home.locator('[data-figure="shoppers"]')).to_have_text("1 shopper browsing", timeout=TIMEOUT)
        expect(home.locator('[data-figure="waiting"]')).to_have_text("1 chat waiting")
        nudge = page.locator("#home-nudge")
        expect(nudge).to_be_visible()
        expect(nudge).to_contain_text("Linen Lane")
        screenshot(page, "home-desktop-nudge.png")
        nudge.get_by_role("button", name="Go available").click()
        expect(nudge).to_be_hidden(timeout=TIMEOUT)
        expect(page.locator("#availability")).to_have_value("available")
        db.session.expire_all()
        assert db.session.get(Agent, agent.id).availability == "available"

        # A post published now arrives live: toast and unread badge.
        create_post(admin, title="New returns label", body="Print it from https://example.com/labels")
        badge = page.locator("#posts-unread")
        expect(badge).to_have_text("1", timeout=TIMEOUT)
        page.get_by_role("button", name="Posts, 1 unread").click()
        dialog = page.locator("#posts-dialog")
        item = dialog.locator(".post", has_text="New returns label")
        expect(item.locator("a[href='https://example.com/labels']")).to_be_visible()
        item.get_by_role("button", name="Mark as read").click()
        expect(badge).to_be_hidden(timeout=TIMEOUT)
        dialog.get_by_role("button", name="Close").last.click()

        # FAQ search, and the answer goes into the open conversation's reply box.
        page.locator(".ticket-row .row-open").first.click()
        page.get_by_role("button", name="FAQ").click()
        page.fill("#faq-q", "RETURN")
        entry = page.locator(".faq-entry", has_text="How do returns work?")
        entry.wait_for(timeout=TIMEOUT)
        entry.get_by_role("button", name="Insert into reply").click()
        expect(page.locator(".conv:not([hidden]) textarea")).to_have_value("Send it back within 30 days.")
        page.get_by_role("button", name="Home").click()
        expect(page.locator("#home")).to_be_visible()
        assert page.js_errors == []
    finally:
        context.close()

    # At 375 px wide the panel buttons stay reachable and nothing overflows sideways.
    context, page = sign_in(chromium, live_server, agent, PHONE_375)
    try:
        page.get_by_role("button", name="Home").click()
        expect(page.locator("#home")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("button", name="FAQ")).to_be_visible()
        screenshot(page, "home-phone.png")
        wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376 && e.getClientRects().length).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide

        # Posts longer than the screen scroll inside the dialog; its Close stays on screen.
        for n in range(6):
            create_post(admin, title=f"Update {n}", body="A longer announcement for the whole team. " * 6)
        page.get_by_role("button", name="Posts").click()
        dialog = page.locator("#posts-dialog")
        dialog.locator(".post", has_text="Update 5").wait_for(timeout=TIMEOUT)
        assert dialog.evaluate("d => d.scrollHeight > d.clientHeight")
        close = dialog.get_by_role("button", name="Close").last
        box = close.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE_375["height"], box
        close.click()
        expect(dialog).to_be_hidden()
        assert page.js_errors == []
    finally:
        context.close()


def test_a_post_the_list_already_holds_is_counted_once_when_its_live_event_comes_late(live_server, chromium):
    """``post.published`` held back until the agent has opened Posts (whose list, loaded then,
    holds the post and counts it unread), then delivered: the badge stays at 1."""
    admin = make_agent(name="Ada Admin", role="admin")
    agent = make_agent(name="Ann Agent")
    context, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        published = hold_events(page, "post.published")
        create_post(admin, title="Inventory count on Sunday")
        page.get_by_role("button", name="Posts").click()
        page.locator("#posts-dialog .post", has_text="Inventory count on Sunday").wait_for(timeout=TIMEOUT)
        badge = page.locator("#posts-unread")
        expect(badge).to_have_text("1")
        page.locator("#posts-dialog").get_by_role("button", name="Close").last.click()
        assert len(published.held) == 1
        published.deliver(*published.held)
        page.locator(".toast", has_text="Inventory count on Sunday").wait_for(timeout=TIMEOUT)
        expect(badge).to_have_text("1")
        assert page.js_errors == []
    finally:
        context.close()
