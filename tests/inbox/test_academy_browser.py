"""A new agent's onboarding in real Chromium: introduction → accept the store's policy →
practice chat in the real inbox (claim, reply, saved reply, product card), each step ticked
live from the server → done. The scripted shopper answers through the normal actions."""
import pytest
from playwright.sync_api import expect

from helpdesk.actions.academy import practice_store_ids, save_policy
from helpdesk.extensions import db
from helpdesk.models import AcademyProgress, PolicyAcceptance
from tests.browser import DESKTOP, screenshot
from tests.factories import make_agent, make_store
from tests.inbox.test_browser import TIMEOUT, sign_in

pytestmark = pytest.mark.browser


def test_a_new_agent_goes_through_the_academy(live_server, chromium, sent_events):
    store = make_store("Knit & Purl")
    admin = make_agent(name="Ada Admin", role="admin")
    policy = save_policy(admin, store, title="Privacy", body="Never ask for card numbers in a chat.")
    nina = make_agent(name="Nina New", academy=False)
    nina_id = nina.id

    context, page = sign_in(chromium, live_server, nina, DESKTOP)
    try:
        # Not trained yet: the inbox says so and links to the academy.
        panel = page.locator("#academy-panel")
        expect(panel).to_contain_text("Finish the onboarding academy", timeout=TIMEOUT)
        panel.get_by_role("link", name="Go to the academy").click()
        page.wait_for_url(f"{live_server}/inbox/academy/")

        # A reload would drop this: the steps below must update the page in place.
        page.evaluate("window.academyMarker = 'same page'")
        expect(page.get_by_role("button", name="Accept the policies")).to_be_disabled()
        # 1. Introduction.
        page.get_by_role("button", name="I have read this").click()
        expect(page.locator("#step-intro .tick")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("button", name="I have read this")).to_have_count(0)
        expect(page.get_by_role("button", name="Accept the policies")).to_be_enabled()
        # 2. The store's policy, accepted with its version.
        expect(page.locator("#step-policies")).to_contain_text("Never ask for card numbers in a chat.")
        page.get_by_label("I accept “Privacy”").check()
        page.get_by_role("button", name="Accept the policies").click()
        expect(page.locator("#step-policies .tick")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#step-policies")).to_contain_text("Privacy, version 1")
        expect(page.get_by_role("button", name="Start the practice chat")).to_be_enabled()
        expect(page.get_by_role("button", name="Start the practice chat")).to_be_focused()
        assert page.evaluate("window.academyMarker") == "same page"
        # 3. The practice chat opens in the real inbox.
        page.get_by_role("button", name="Start the practice chat").click()
        page.wait_for_url(f"{live_server}/inbox/")
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        db.session.expire_all()
        ticket_id = db.session.get(AcademyProgress, nina_id).practice_ticket_id
        conv = page.locator(f"#conv-{ticket_id}")
        conv.locator(".tl-msg.in", has_text="warm sweater").wait_for(timeout=TIMEOUT)
        checklist = page.locator("#academy-panel")
        sent_events.clear()

        conv.locator('[data-act="claim"]').click()
        checklist.locator('li[data-step="claimed"].done').wait_for(timeout=TIMEOUT)

        conv.locator("textarea").fill("Hello Sam, happy to help you find one!")
        conv.locator("textarea").press("Enter")
        checklist.locator('li[data-step="replied"].done').wait_for(timeout=TIMEOUT)
        conv.locator(".tl-msg.in", has_text="Could you show me one").wait_for(timeout=TIMEOUT)

        conv.locator("textarea").click()
        conv.locator("textarea").type("/welc")
        conv.locator('.suggest [role="option"]', has_text="Practice welcome").wait_for(timeout=TIMEOUT)
        conv.locator("textarea").press("Enter")
        assert conv.locator("textarea").input_value().startswith("Hi Sam, thanks for reaching out! I'm Nina")
        conv.locator("textarea").press("Enter")
        checklist.locator('li[data-step="saved_reply"].done').wait_for(timeout=TIMEOUT)
        expect(checklist.locator('li[data-step="product_card"].done')).to_have_count(0)

        conv.locator('[data-act="product"]').click()
        page.fill("#product-q", "sweater")
        page.locator("#product-results .product-row", has_text="Merino sweater").get_by_role("button").click()
        conv.locator(".product-card", has_text="Merino sweater").wait_for(timeout=TIMEOUT)
        expect(checklist).to_contain_text("Academy complete", timeout=TIMEOUT)
        screenshot(page, "academy-practice-done.png")
        assert page.js_errors == []
    finally:
        context.close()

    db.session.expire_all()
    progress = db.session.get(AcademyProgress, nina_id)
    assert progress.completed_at is not None
    assert set(progress.practice_steps) == {"claimed", "replied", "saved_reply", "product_card"}
    accepted = db.session.query(PolicyAcceptance).one()
    assert (accepted.policy_id, accepted.version, accepted.agent_id) == (policy.id, 1, nina_id)
    # Progress went to Nina's own devices only; the practice chat only to Nina's devices and
    # the open conversation, never to the store room or a shopper's widget.
    rooms = {(e["event"], e["room"]) for e in sent_events}
    assert {r for ev, r in rooms if ev == "academy.progress"} == {f"agent:{nina_id}"}
    assert not any(r.startswith("visitor:") for _, r in rooms)
    assert {r for ev, r in rooms if ev == "message.created"} == {f"agent:{nina_id}", f"ticket:{ticket_id}"}
    assert not any(r == f"store:{practice_store_ids()[0]}:agents" for _, r in rooms)
