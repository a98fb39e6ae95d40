"""The inbox in real Chromium: two agents (separate browser contexts) and one shopper (the
widget's real Socket.IO client). The chat arrives live; A claims it, writes a note the shopper
never receives, transfers to B with a message; B is notified live and replies; the shopper
receives the reply. Screenshots at desktop and phone widths are kept as test artifacts."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from helpdesk.actions.agents import set_availability
from helpdesk.extensions import db
from tests.browser import DESKTOP, PHONE, hold_events, placeholder_room, screenshot, serious_violations
from tests.factories import PASSWORD, make_agent, make_store
from tests.realtime import visitor_client, visitor_session

pytestmark = pytest.mark.browser

TIMEOUT = 10_000

# The composer bar's visible items all sit on one row (their vertical centres agree).
ONE_ROW = """bar => {
    const centres = [...bar.children].filter(el => el.getClientRects().length)
        .map(el => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; });
    return Math.max(...centres) - Math.min(...centres) <= 2;
}"""


def expect_one_row(page, conv):
    page.wait_for_function(ONE_ROW, arg=conv.locator(".composer-bar").element_handle(), timeout=TIMEOUT)


def sign_in(browser, base_url, agent, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base_url}/login?next=/inbox/")
    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/$"))
    page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
    page.js_errors = errors
    return context, page


def test_two_agents_and_a_shopper(live_server, chromium):
    store = make_store("Lingerie & Co")
    alice = make_agent(name="Alice Able")
    bob = make_agent(name="Bob Baker")
    for agent in (alice, bob):
        set_availability(agent, "available")

    ctx_a, page_a = sign_in(chromium, live_server, alice, DESKTOP)
    ctx_b, page_b = sign_in(chromium, live_server, bob, DESKTOP)
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        # The chat arrives live in A's list, unread.
        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "Do you have the red set in M?",
                                       "prechat": {"name": "Ira Shopper", "email": "ira@example.test"}})
        assert ack["ok"], ack
        ticket_id = ack["message"]["ticket_id"]
        row_a = page_a.locator(f'.ticket-row[data-ticket-id="{ticket_id}"]')
        row_a.wait_for(timeout=TIMEOUT)
        assert "Ira Shopper" in row_a.inner_text()
        assert row_a.locator(".badge").inner_text() == "1"
        page_a.wait_for_function("document.title.startsWith('(1)')", timeout=TIMEOUT)
        # Routing offered the chat to A (equally idle, lower id) with a countdown; B got no offer.
        offer = page_a.locator(".offer", has_text="New chat from Ira Shopper")
        offer.wait_for(timeout=TIMEOUT)
        expect(offer.get_by_role("button", name="Accept")).to_be_visible()
        assert page_b.locator(".offer").count() == 0
        screenshot(page_a, "inbox-desktop-offer.png")

        # A opens and claims it.
        row_a.locator(".row-open").click()
        conv_a = page_a.locator(f"#conv-{ticket_id}")
        conv_a.locator(".tl-msg.in", has_text="red set in M").wait_for(timeout=TIMEOUT)
        expect(conv_a.locator(".conv-head .flag-blocked")).not_to_be_visible()
        conv_a.locator('[data-act="claim"]').click()
        page_a.wait_for_function(
            f"document.querySelector('#conv-{ticket_id} .conv-sub').textContent.includes('Alice Able')",
            timeout=TIMEOUT)
        offer.wait_for(state="detached", timeout=TIMEOUT)  # claimed: the offer is gone

        # A writes an internal note (Enter sends).
        conv_a.locator('[data-field="note"]').check()
        expect(conv_a.locator(".send-btn")).to_have_text("Add note")  # says it goes to colleagues only
        conv_a.locator("textarea").fill("SECRET: VIP customer, offer free shipping")
        conv_a.locator("textarea").press("Enter")
        conv_a.locator(".tl-msg.note", has_text="VIP customer").wait_for(timeout=TIMEOUT)
        screenshot(page_a, "inbox-desktop-agent-a.png")

        # A transfers to B with a note for B and a message to the shopper.
        conv_a.locator('[data-act="transfer"]').click()
        page_a.wait_for_selector(f'#transfer-agent option[value="{bob.id}"]', state="attached", timeout=TIMEOUT)
        page_a.select_option("#transfer-agent", str(bob.id))
        page_a.fill("#transfer-note", "Please take this one, she asked about sizes.")
        page_a.fill("#transfer-message", "Bob will take over now.")
        page_a.click('#transfer-form button[type="submit"]')
        shopper.wait_for("message.created", lambda d: d["message"]["body_text"] == "Bob will take over now.",
                         timeout=10)
        conv_a.locator(".tl-event", has_text="transferred it to Bob Baker").wait_for(timeout=TIMEOUT)

        # B is notified live and replies.
        toast = page_b.locator(".toast", has_text="transferred")
        toast.wait_for(timeout=TIMEOUT)
        assert "Please take this one" in toast.inner_text()
        toast.get_by_role("button", name="Open").click()
        conv_b = page_b.locator(f"#conv-{ticket_id}")
        conv_b.locator(".tl-msg.note", has_text="VIP customer").wait_for(timeout=TIMEOUT)
        conv_b.locator("textarea").fill("Hi Ira, Bob here: yes, the red set is in stock in M.")
        conv_b.locator("textarea").press("Enter")
        got = shopper.wait_for("message.created", lambda d: "Bob here" in d["message"]["body_text"], timeout=10)
        assert got["message"]["author"]["name"] == "Bob Baker"
        conv_b.locator(".tl-msg.out", has_text="Bob here").wait_for(timeout=TIMEOUT)

        # The shopper reads it: B sees the read receipt live.
        shopper.call("read", {"up_to_id": got["message"]["id"]})
        conv_b.locator(".tl-msg.out", has_text="Bob here").locator(".msg-state.read").wait_for(timeout=TIMEOUT)
        screenshot(page_b, "inbox-desktop-agent-b.png")

        # The note never reached the shopper, live or on replay.
        seen = []
        while not shopper.inbox.empty():
            seen.append(shopper.inbox.get_nowait())
        assert "SECRET" not in str(seen) and "Please take this one" not in str(seen)
        assert "SECRET" not in str(shopper.call("resume", {"last_id": 0}))

        # Phone width: the list, then the conversation.
        ctx_p, page_p = sign_in(chromium, live_server, bob, PHONE)
        row_p = page_p.locator(f'.ticket-row[data-ticket-id="{ticket_id}"]')
        row_p.wait_for(timeout=TIMEOUT)
        screenshot(page_p, "inbox-phone-list.png")
        row_p.locator(".row-open").click()
        conv_p = page_p.locator(f"#conv-{ticket_id}")
        conv_p.locator(".tl-msg.out", has_text="Bob here").wait_for(timeout=TIMEOUT)
        screenshot(page_p, "inbox-phone-conversation.png")
        conv_p.locator('[data-act="context"]').click()
        page_p.locator("#context-body", has_text="ira@example.test").wait_for(state="visible", timeout=TIMEOUT)
        screenshot(page_p, "inbox-phone-context.png")
        page_p.locator("#context-close").click()
        conv_p.locator('[data-act="back"]').click()
        row_p.wait_for(state="visible", timeout=TIMEOUT)
        page_p.locator("#toggle-views").click()
        page_p.locator("#views").get_by_role("button", name=re.compile("Unassigned")).wait_for(timeout=TIMEOUT)
        screenshot(page_p, "inbox-phone-views.png")
        page_p.locator("#views").get_by_role("button", name=re.compile("Mine")).click()
        page_p.locator("#queue-title", has_text="Mine").wait_for(timeout=TIMEOUT)
        for page in (page_a, page_b, page_p):
            assert page.js_errors == []
        ctx_p.close()
    finally:
        shopper.disconnect()
        ctx_a.close()
        ctx_b.close()


def test_a_new_chat_counts_one_unread_when_its_live_message_comes_after_the_lookup(live_server, chromium):
    """The queue badge of a new chat is counted once. The unread lookup that ``ticket.created``
    starts already holds the first message; its ``message.created``, held back here until the
    lookup has answered (as a slow socket or a reconnect's replay delivers it), must not count
    it again. Delivered twice (replayed), it still counts once."""
    store = make_store()
    agent = make_agent(name="Tess Agent")
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    created = hold_events(page, "message.created")
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    try:
        with page.expect_response(re.compile(r"/inbox/api/unread\?")) as lookup:
            ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "Is the red set in M?",
                                           "prechat": {"name": "Ira Shopper"}})
        assert lookup.value.json()["unread"] == {str(ack["message"]["ticket_id"]): 1}
        badge = page.locator(f'.ticket-row[data-ticket-id="{ack["message"]["ticket_id"]}"] .badge')
        expect(badge).to_have_text("1", timeout=TIMEOUT)
        assert len(created.held) == 1
        created.deliver(*created.held * 2)  # late, then replayed
        # Each delivery is announced to screen readers once it has been handled.
        expect(page.locator("#live-region")).to_contain_text("Is the red set in M?", timeout=TIMEOUT)
        page.wait_for_timeout(300)  # the second delivery too
        expect(badge).to_have_text("1")
        assert page.js_errors == []
    finally:
        shopper.disconnect()
        ctx.close()


def test_one_agent_working_several_chats(live_server, chromium):
    from decimal import Decimal

    from helpdesk.actions.saved_replies import create_saved_reply
    from helpdesk.extensions import db
    from helpdesk.models import Agent, Contact, Product
    from tests.browser import TABLET

    store = make_store("Lingerie & Co")
    db.session.add(Product(store_id=store.id, platform_id="red", title="Red lace set", price=Decimal("59.90"),
                           currency="EUR", url="https://shop.test/p/red"))
    db.session.commit()
    tess = make_agent(name="Tess Agent")
    set_availability(tess, "available")
    create_saved_reply(tess, shortcut="thanks", title="Thanks for waiting",
                       body="Hi {contact.first_name}, I'm {agent.name}. Order {order_number} ships today.")

    ira = visitor_client(live_server, visitor_session(live_server, store)["token"])
    max_ = visitor_client(live_server, visitor_session(live_server, store)["token"])
    ctx, page = sign_in(chromium, live_server, tess, DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        assert ira.call("attributes", {"attributes": {"order_number": "1001"}})["ok"]
        first = ira.call("message", {"client_id": uuid.uuid4().hex, "body": "Where is my order?",
                                     "prechat": {"name": "Ira Shopper", "email": "ira@example.test"}})
        second = max_.call("message", {"client_id": uuid.uuid4().hex, "body": "Any red sets?",
                                       "prechat": {"name": "Max Buyer", "email": "max@example.test"}})
        ira_id, max_id = first["message"]["ticket_id"], second["message"]["ticket_id"]
        from helpdesk.models import Order, utcnow

        contact_id = db.session.scalar(db.select(Contact.id).where(Contact.email == "ira@example.test"))
        db.session.add(Order(store_id=store.id, platform="shopify", platform_id="77", number="1001",
                             contact_id=contact_id, currency="EUR", total=Decimal("59.90"), placed_at=utcnow(),
                             url="https://shop.test/admin/orders/77"))
        db.session.commit()
        for ticket_id in (ira_id, max_id):
            page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
            page.locator(f"#conv-{ticket_id} .tl-msg.in").wait_for(timeout=TIMEOUT)
        conv_ira, conv_max = page.locator(f"#conv-{ira_id}"), page.locator(f"#conv-{max_id}")
        assert page.locator(".tab-wrap").count() == 2

        # A draft stays with its conversation; Alt+ArrowUp/Down move between tabs.
        conv_max.locator("textarea").fill("draft for Max")
        page.keyboard.press("Alt+ArrowUp")
        expect(conv_ira).to_be_visible()
        expect(conv_max).not_to_be_visible()
        assert conv_ira.locator("textarea").input_value() == ""
        page.locator("#context-body .ctx-orders", has_text="€59.90").wait_for(timeout=TIMEOUT)

        # "/" offers saved replies; picking one fills the placeholders.
        conv_ira.locator("textarea").click()
        conv_ira.locator("textarea").type("/tha")
        conv_ira.locator('.suggest [role="option"]', has_text="Thanks for waiting").wait_for(timeout=TIMEOUT)
        conv_ira.locator("textarea").press("Enter")
        assert conv_ira.locator("textarea").input_value() == "Hi Ira, I'm Tess Agent. Order 1001 ships today."
        conv_ira.locator("textarea").press("Enter")
        ira.wait_for("message.created", lambda d: d["message"]["body_text"].startswith("Hi Ira, I'm Tess"), timeout=10)

        page.keyboard.press("Alt+ArrowDown")
        expect(conv_max).to_be_visible()
        assert conv_max.locator("textarea").input_value() == "draft for Max"

        # A product card from the store's catalog reaches the shopper as a card.
        conv_max.locator('[data-act="product"]').click()
        page.fill("#product-q", "red")
        page.locator("#product-results .product-row", has_text="Red lace set").get_by_role("button").click()
        card = max_.wait_for("message.created", lambda d: d["message"].get("card"), timeout=10)["message"]["card"]
        assert card["title"] == "Red lace set" and card["url"] == "https://shop.test/p/red"
        conv_max.locator(".product-card", has_text="Red lace set").wait_for(timeout=TIMEOUT)

        # The connection drops; a message sent meanwhile arrives once after reconnecting.
        page.evaluate("window.inbox.socket.disconnect()")
        missed = max_.call("message", {"client_id": uuid.uuid4().hex, "body": "Is it lace all over?"})
        page.evaluate("window.inbox.socket.connect()")
        conv_max.locator(".tl-msg.in", has_text="lace all over").wait_for(timeout=TIMEOUT)
        page.wait_for_timeout(300)
        assert conv_max.locator(f'[data-message-id="{missed["message"]["id"]}"]').count() == 1

        # Block a shopper: flagged in the list and the conversation.
        page.keyboard.press("Alt+ArrowUp")
        page.get_by_role("button", name="Block this customer").click()
        page.locator(f'.ticket-row[data-ticket-id="{ira_id}"] .flag-blocked').wait_for(timeout=TIMEOUT)
        conv_ira.locator(".conv-head .flag-blocked").wait_for(timeout=TIMEOUT)
        assert db.session.scalar(db.select(Contact.blocked).where(Contact.email == "ira@example.test")) is True

        # On a desktop the tools show their words; on a tablet their icons, Send on the same row.
        expect_one_row(page, conv_ira)
        assert conv_ira.locator(".composer-bar.compact").count() == 0
        expect(conv_ira.locator(".composer-bar .tool-text", has_text="Attach")).to_be_visible()
        page.set_viewport_size(TABLET)
        expect_one_row(page, conv_ira)
        screenshot(page, "inbox-tablet-conversation.png")
        # Wide screens show the previous conversation beside the active one.
        page.set_viewport_size({"width": 1920, "height": 1000})
        # Layout settles after the resize: wait for it instead of sampling once.
        expect(conv_ira).to_be_visible(timeout=TIMEOUT)
        expect(conv_max).to_be_visible(timeout=TIMEOUT)
        screenshot(page, "inbox-wide-side-by-side.png")
        page.set_viewport_size(DESKTOP)
        expect(conv_ira).to_be_visible()
        expect(conv_max).not_to_be_visible()

        # Availability from the header.
        page.select_option("#availability", "away")
        page.locator(".toast", has_text="away").wait_for(timeout=TIMEOUT)
        db.session.expire_all()
        assert db.session.get(Agent, tess.id).availability == "away"

        # Bulk: resolve both from the list; they leave the "Open" list live.
        page.locator(f'.ticket-row[data-ticket-id="{ira_id}"] .row-select').check()
        page.locator(f'.ticket-row[data-ticket-id="{max_id}"] .row-select').check()
        page.select_option('#bulkbar select[name="bulk_status"]', "resolved")
        page.click('#bulkbar button[value="status"]')
        page.locator("#queue-empty").wait_for(state="visible", timeout=TIMEOUT)
        assert "Resolved" in conv_max.locator(".conv-sub").inner_text()
        assert page.js_errors == []
    finally:
        ira.disconnect()
        max_.disconnect()
        ctx.close()


def test_email_html_stays_in_a_sandboxed_frame_with_remote_images_blocked(live_server, chromium):
    from helpdesk.actions.messages import receive_customer_message
    from tests.factories import make_contact

    store = make_store()
    agent = make_agent(name="Eli Mail")
    contact = make_contact(store, name="Pat Mailer")
    html = '<p><b>Order 1001</b> arrived broken</p><img src="https://tracker.test/open.png"><script>x()</script>'
    message, _ = receive_customer_message(store, contact, "email", "Order 1001 arrived broken", subject="Broken",
                                          html=html)
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{message.ticket_id}"] .row-open').click()
        frame = page.locator(f"#conv-{message.ticket_id} iframe.email-frame")
        frame.wait_for(timeout=TIMEOUT)
        assert frame.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
        assert "img-src data:" in frame.get_attribute("srcdoc")
        assert page.locator(f"#conv-{message.ticket_id} .timeline b").count() == 0  # not in the page itself
        page.get_by_role("button", name="Show remote images").click()
        assert "img-src https:" in page.locator(f"#conv-{message.ticket_id} iframe.email-frame").get_attribute("srcdoc")
        assert page.js_errors == []
    finally:
        ctx.close()


def test_an_emails_inline_image_shows_in_its_frame_and_a_remote_one_waits(live_server, chromium):
    """A ``cid:`` image is an attachment stored here: it shows at once. A remote image (it can
    track the reader) waits for "Show remote images"; nothing else appears under the frame."""
    from helpdesk.actions.email import create_mailbox, ingest_email
    from tests.connectors.email.conftest import eml

    store = make_store()
    agent = make_agent(name="Eli Mail")
    mailbox = create_mailbox(store, "support@shop.test")
    inline = ingest_email(mailbox, eml("14-inline-cid-image.eml"), source="raw")
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        page.locator(f'.ticket-row[data-ticket-id="{inline.ticket_id}"] .row-open').click()
        conv = page.locator(f"#conv-{inline.ticket_id}")
        conv.locator("iframe.email-frame").wait_for(timeout=TIMEOUT)
        image = page.frame_locator(f"#conv-{inline.ticket_id} iframe.email-frame").locator("img").first
        expect(image).to_be_visible(timeout=TIMEOUT)
        for _ in range(50):  # loaded, not only laid out with its alt text
            if image.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            page.wait_for_timeout(100)
        assert image.evaluate("img => img.naturalWidth") > 0
        assert conv.locator(".msg-body").inner_text().strip() == ""  # the frame only, no stray text
        assert conv.get_by_role("button", name="Show remote images").count() == 0
        screenshot(page, "inbox-email-inline-image.png")
        assert page.js_errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("width", [390, 820, 1181, 1366])
def test_every_top_bar_link_is_on_screen_or_in_the_settings_menu(live_server, chromium, width):
    """Phones and tablets show the account links (Reports, My appointments, Profile, Academy,
    Sign out) in the Settings menu; wider screens in the bar. Nothing runs off the screen."""
    agent = make_agent(name="Tess Agent")
    ctx, page = sign_in(chromium, live_server, agent, {"width": width, "height": 900})
    try:
        overflow = page.evaluate("""() => [...document.querySelectorAll('.topbar :is(a, button, summary, select)')]
            .filter(el => el.offsetParent !== null && !el.closest('.menu-body'))
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map(el => el.textContent.trim())""")
        assert overflow == []
        names = ["Reports", "My appointments", "Profile", "Academy", "Sign out"]
        bar = page.locator(".topbar > .topbar-right")
        if width <= 1180:
            for name in names:
                expect(bar.locator(":scope > a, :scope > form").filter(has_text=name)).to_be_hidden()
            page.locator(".topbar .menu > summary").click()
            menu = page.locator(".topbar .menu-body")
            for name in names:
                expect(menu.get_by_text(name, exact=True)).to_be_visible()
            # The open menu lies on the screen (hung from its summary it ran off a phone's left edge).
            box = menu.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
            if width == 820:
                screenshot(page, "inbox-tablet-menu.png")
        else:
            for name in names:
                expect(bar.locator(":scope > a, :scope > form").filter(has_text=name).first).to_be_visible()
        assert page.js_errors == []
    finally:
        ctx.close()


def _open_a_shoppers_chat_on_a_phone(live_server, chromium, agent_name, body):
    """A shopper's chat (Ira Shopper, one message) opened by a new agent on a phone:
    ``(context, page, the conversation's locator)``."""
    store = make_store()
    agent = make_agent(name=agent_name)
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": body, "prechat": {"name": "Ira Shopper"}})
    shopper.disconnect()
    ticket_id = ack["message"]["ticket_id"]
    ctx, page = sign_in(chromium, live_server, agent, PHONE)
    page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
    return ctx, page, page.locator(f"#conv-{ticket_id}")


def test_a_notes_header_wraps_between_its_pieces_on_a_phone(live_server, chromium):
    """In a narrow bubble the header of a note (label, author, language, time) wraps between
    its pieces; no piece is squeezed until its own text breaks, as the language badge did
    (one letter a line)."""
    ctx, page, conv = _open_a_shoppers_chat_on_a_phone(live_server, chromium, "Alexandra Montgomery-Whitfield",
                                                       "Where is my parcel? It has been a week.")
    try:
        # The reply box starts at two lines on a phone and grows with a long draft, up to 40%
        # of the screen.
        box = conv.locator("textarea")
        empty = box.bounding_box()["height"]
        assert empty <= 64, empty
        box.fill("\n".join(f"line {n}" for n in range(6)))
        grown = box.bounding_box()["height"]
        assert empty + 40 <= grown <= 0.4 * PHONE["height"] + 1, (empty, grown)
        box.fill("\n".join(f"line {n}" for n in range(40)))
        assert box.bounding_box()["height"] <= 0.4 * PHONE["height"] + 1
        conv.locator('[data-field="note"]').check()
        box.fill("The parcel is stuck at the depot; the carrier promised delivery on Monday.")
        box.press("Enter")
        head = conv.locator(".tl-msg.note .msg-head")
        head.wait_for(timeout=TIMEOUT)
        squeezed = head.evaluate("""h => [...h.children].filter(el => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && r.height > 1.8 * parseFloat(getComputedStyle(el).fontSize);
          }).map(el => el.className + ': ' + el.textContent)""")
        assert squeezed == []
        screenshot(page, "inbox-phone-note.png")
        assert page.js_errors == []
    finally:
        ctx.close()


def test_a_phones_conversation_header_leaves_the_timeline_room_and_keeps_every_action(live_server, chromium):
    """On a phone the header is two rows: back, name and Details; then Claim, Transfer, Book a
    visit and the status on one line (they took two, leaving the messages a third of the
    screen). Every action keeps its name, stays on the screen and is reached by Tab in order."""
    ctx, page, conv = _open_a_shoppers_chat_on_a_phone(live_server, chromium, "Tess Agent",
                                                       "Is the red set in stock in M?")
    try:
        conv.locator(".tl-msg.in").wait_for(timeout=TIMEOUT)
        head = conv.locator(".conv-head")
        # Unassigned, so Claim shows too: the widest the usual header gets.
        controls = [head.get_by_role("button", name=name, exact=True)
                    for name in ("Back to the list", "Details", "Claim", "Transfer", "Book a visit")]
        controls.append(head.get_by_role("combobox", name="Status"))
        for control in controls:
            expect(control).to_be_visible()
            box = control.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        tops = conv.locator(".conv-actions").evaluate("""a => [...new Set([...a.children]
            .filter(el => el.getClientRects().length).map(el => Math.round(el.getBoundingClientRect().top)))]""")
        assert max(tops) - min(tops) <= 2, tops  # one row of actions
        head_height = head.bounding_box()["height"]
        timeline_height = conv.locator(".timeline").bounding_box()["height"]
        assert head_height <= 105, head_height
        assert timeline_height >= 0.5 * PHONE["height"], timeline_height
        controls[0].focus()
        order = []
        for _ in controls[1:]:
            page.keyboard.press("Tab")
            order.append(page.evaluate("document.activeElement.getAttribute('aria-label') || "
                                       "document.activeElement.textContent.trim()"))
        assert order == ["Details", "Claim", "Transfer", "Book a visit", "Status"]
        # The composer's tools and Send share one row (the tools show their icons), and each
        # tool keeps its name for a screen reader.
        bar = conv.locator(".composer-bar")
        expect_one_row(page, conv)
        for tool in (bar.get_by_role("button", name="Product"), bar.get_by_text("Assist"),
                     bar.get_by_role("button", name="Send")):
            box = tool.bounding_box() or tool.locator("xpath=..").bounding_box()
            assert box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        expect(bar.get_by_label("Attach")).to_be_attached()
        screenshot(page, "inbox-phone-conversation-head.png")
        assert serious_violations(page) == []
        assert page.js_errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("viewport,locale", [(DESKTOP, "en"), ({"width": 1280, "height": 800}, "en"),
                                             (DESKTOP, "de"), (PHONE, "de"), (DESKTOP, "uk")])
def test_the_queue_filters_show_their_whole_labels_on_a_desktop(live_server, chromium, viewport, locale):
    """Status and channel filters are as wide as their longest option ("All channels" showed
    as "All chan…" in a third of the row), with the tag field beside them on the same line in
    English. German's longer words ("Schlagwort" showed as "Schla") take a second row instead
    of being cut."""
    agent = make_agent(name="Tess Agent")
    agent.locale = locale
    db.session.commit()
    ctx, page = sign_in(chromium, live_server, agent, viewport)
    try:
        row = page.locator("#filters .filter-row")
        # A select's scrollWidth does not measure its text: compare it with a copy left at its
        # natural width, which fits the longest option.
        clipped = row.evaluate("""r => [...r.querySelectorAll('select')].map(sel => {
            const copy = sel.cloneNode(true);
            copy.style.cssText = 'position:absolute; width:auto; max-width:none; flex:none';
            r.append(copy);
            const need = copy.getBoundingClientRect().width;
            copy.remove();
            return [sel.name, Math.round(sel.getBoundingClientRect().width), Math.round(need)];
          }).filter(([, has, need]) => has + 0.5 < need)""")
        assert clipped == []
        # The search and tag fields' placeholders fit their boxes: each text measured in its font.
        for field in (page.locator("#search"), row.locator("input[name=tag]")):
            placeholder, room, need = placeholder_room(field)
            assert need <= room + 0.5, (placeholder, room, need)
        assert row.locator("input[name=tag]").get_attribute("placeholder") == \
            {"de": "Schlagwort", "uk": "Мітка"}.get(locale, "Tag")
        boxes = [el.bounding_box() for el in row.locator("select, input").all()]
        right = row.bounding_box()["x"] + row.bounding_box()["width"] + 0.5
        assert all(b["x"] >= row.bounding_box()["x"] - 0.5 and b["x"] + b["width"] <= right for b in boxes), boxes
        if locale == "en" and viewport is not PHONE:
            assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) <= 2, boxes  # one line
        assert page.js_errors == []
    finally:
        ctx.close()


def test_a_chat_left_while_nobody_was_available_says_so_and_where_the_reply_goes(live_server, chromium):
    """The widget took the message while every agent was away: the queue and the conversation
    flag it, and the reply box says the answer is also emailed, and to which address (or, with
    no address to write to, that the shopper sees it on coming back)."""
    from helpdesk.models import Contact

    store = make_store("Night shop")
    agent = make_agent(name="Tess Agent")  # signed in, but not available: the store is offline
    tickets = {}
    for email, body in (("night@example.test", "Are you open tomorrow?"), (None, "Do you ship to Austria?")):
        session = visitor_session(live_server, store)
        assert session["store"]["online"] is False
        shopper = visitor_client(live_server, session["token"])
        try:
            ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": body,
                                           "prechat": {"email": email} if email else {}})
            assert ack["ok"] and ack["offline"] is True
            tickets[email] = ack["message"]["ticket_id"]
        finally:
            shopper.disconnect()
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        for email, ticket_id in tickets.items():
            row = page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"]')
            expect(row.locator(".flag-offline")).to_have_text("Left offline", timeout=TIMEOUT)
            row.locator(".row-open").click()
            conv = page.locator(f"#conv-{ticket_id}")
            expect(conv.locator(".conv-head .flag-offline")).to_be_visible(timeout=TIMEOUT)
            hint = conv.locator(".offline-hint")
            if email:
                expect(hint).to_have_text(f"Left while nobody was available: your reply is also emailed to {email}.")
            else:
                expect(hint).to_contain_text("sees your reply when they come back to the store")
        # An address that bounced is no address to write to.
        db.session.execute(db.update(Contact).where(Contact.email == "night@example.test").values(email_failing=True))
        db.session.commit()
        page.reload()
        page.wait_for_function("document.body.dataset.connected === 'true'", timeout=TIMEOUT)
        page.locator(f'.ticket-row[data-ticket-id="{tickets["night@example.test"]}"] .row-open').click()
        expect(page.locator(f'#conv-{tickets["night@example.test"]} .offline-hint')).to_contain_text(
            "sees your reply when they come back", timeout=TIMEOUT)
        assert serious_violations(page) == []
        assert page.js_errors == []
    finally:
        ctx.close()


def test_view_names_take_a_second_line_instead_of_being_cut(live_server, chromium):
    """In German "Nicht zugewiesen" is wider than the views column beside its count."""
    agent = make_agent(name="Tess Agent")
    agent.locale = "de"
    db.session.commit()
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        names = page.locator("#views .view-name")
        expect(names.first).to_be_visible()
        texts = names.all_inner_texts()
        assert "Nicht zugewiesen" in [" ".join(t.split()) for t in texts], texts
        cut = names.evaluate_all("els => els.filter(el => el.scrollWidth > el.clientWidth + 0.5)"
                                 ".map(el => el.textContent)")
        assert cut == []
    finally:
        ctx.close()


def test_every_report_page_has_the_same_navigation_and_the_archive_search_fits_a_phone(live_server, chromium):
    """The metrics and archive pages had navigations of their own (the archive's lacked Ratings
    and Recurring questions), and the archive's search hint was cut on a phone."""
    admin = make_agent(name="Ada Admin", role="admin")
    ctx, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        navs = {}
        for path in ("/inbox/reports/", "/inbox/reports/ratings", "/inbox/reports/reply-times",
                     "/inbox/reports/archive", "/inbox/reports/recurring-questions"):
            page.goto(live_server + path)
            nav = page.get_by_role("navigation", name="Reports")
            navs[path] = [" ".join(t.split()) for t in nav.locator("a, strong").all_inner_texts()]
            assert nav.locator('[aria-current="page"]').count() == 1, path
        assert all(sorted(links) == sorted(navs["/inbox/reports/"]) for links in navs.values()), navs
        assert len(navs["/inbox/reports/"]) == 6, navs
        page.goto(live_server + "/inbox/reports/archive")
        placeholder, room, need = placeholder_room(page.locator("main input[type=search]"))
        assert need <= room + 0.5, (placeholder, room, need)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.js_errors == []
    finally:
        ctx.close()


def test_the_report_filters_sit_in_one_row_on_a_desktop(live_server, chromium):
    """The report pages' filter form is a row of fields, not the inbox's sticky search column
    (a shared class name once stacked the fields down the right edge)."""
    from helpdesk.actions.messages import receive_customer_message, reply
    from tests.factories import make_contact

    store = make_store()
    admin = make_agent(name="Ada Admin", role="admin")
    message, _ = receive_customer_message(store, make_contact(store), "chat", "Is the red set in stock?")
    reply(message.ticket, admin, "It is, in every size.")
    ctx, page = sign_in(chromium, live_server, admin, DESKTOP)
    try:
        for path in ("/inbox/reports/", "/inbox/reports/ratings", "/inbox/reports/reply-times"):
            page.goto(live_server + path)
            form = page.locator("main.reports form.filters")
            bottoms = form.evaluate("f => [...f.children].map(el => Math.round(el.getBoundingClientRect().bottom))")
            assert max(bottoms) - min(bottoms) <= 4, (path, bottoms)
            assert form.evaluate("f => getComputedStyle(f).position") == "static"
            if path == "/inbox/reports/":
                # The export link looks like the button beside it (same box, no underline).
                show, export = form.get_by_role("button", name="Show"), form.get_by_role("link", name="Export CSV")
                assert abs(show.bounding_box()["height"] - export.bounding_box()["height"]) <= 2
                assert export.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"
                expect(page.locator('.chart[data-series="chats"] title').last).to_have_text(re.compile(r"^\w+ \d{4}: 1$"))
                screenshot(page, "reports-desktop.png")
        assert page.js_errors == []
    finally:
        ctx.close()


def test_the_inbox_passes_an_accessibility_audit_and_closes_tabs_from_the_keyboard(live_server, chromium):
    """Tabs of open conversations follow the ARIA tabs pattern (only tabs in the tab list;
    Delete closes the focused one); queue rows are named by what they show; one main region;
    no serious or critical axe-core finding."""
    store = make_store()
    agent = make_agent(name="Tess Agent")
    tickets = []
    for name in ("Ira Shopper", "Max Buyer"):
        shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": f"Hello from {name}",
                                       "prechat": {"name": name}})
        tickets.append(ack["message"]["ticket_id"])
        shopper.disconnect()
    ctx, page = sign_in(chromium, live_server, agent, DESKTOP)
    try:
        assert serious_violations(page) == []
        for ticket_id in tickets:
            page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"] .row-open').click()
            page.locator(f"#conv-{ticket_id} .tl-msg.in").wait_for(timeout=TIMEOUT)
        expect(page.get_by_role("button", name=re.compile("Ira Shopper.*Hello from Ira Shopper"))).to_be_visible()
        tabs = page.get_by_role("tablist").get_by_role("tab")
        expect(tabs).to_have_count(2)
        expect(page.get_by_role("tablist").get_by_role("button")).to_have_count(0)
        assert page.get_by_role("main").count() == 1
        assert serious_violations(page) == []
        page.get_by_role("tab", selected=True).focus()
        page.keyboard.press("Delete")
        expect(tabs).to_have_count(1)
        expect(page.get_by_role("tab", selected=True)).to_be_focused()
        assert page.js_errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("path", ["/inbox/reports/", "/inbox/reports/ratings", "/inbox/reports/recurring-questions",
                                  "/inbox/reports/archive", "/inbox/profile", "/inbox/academy/admin",
                                  "/inbox/appointments", "/inbox/appointments/locations"])
def test_the_admin_pages_pass_an_accessibility_audit_on_a_phone(live_server, chromium, path):
    """Reports, profile, academy and appointment pages at phone width: no serious or critical
    axe-core finding (a wide table scrolls inside a region the keyboard can reach)."""
    from helpdesk.actions.messages import receive_customer_message
    from tests.factories import make_contact

    store = make_store()
    receive_customer_message(store, make_contact(store), "chat", "Is the red set in stock?")
    admin = make_agent(name="Ada Admin", role="admin")
    ctx, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        assert page.goto(live_server + path).status == 200
        page.wait_for_load_state("networkidle")
        assert serious_violations(page) == []
        for region in page.locator(".table-wrap").all():
            assert region.get_attribute("tabindex") == "0" and region.get_attribute("aria-label")
        assert page.js_errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("locale,path", [("ar", "/inbox/"), ("de", "/inbox/academy/"), ("en", "/inbox/reports/")])
def test_an_agent_page_does_not_scroll_sideways_on_a_phone(live_server, chromium, locale, path):
    """Nothing runs past a phone's edge: the skip link parked 999px to the left made the
    Arabic (right-to-left) inbox 1389px wide and blank where it opened; "Einarbeitungsakademie"
    ran past the German academy page's edge."""
    agent = make_agent(name="Tess Agent", role="admin")
    agent.locale = locale
    db.session.commit()
    ctx, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        if path != "/inbox/":
            page.goto(live_server + path)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        title = page.locator("h1").first
        box = title.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        assert title.evaluate("h => h.scrollWidth <= h.clientWidth")
        # The skip link still shows on focus, on the screen.
        if path == "/inbox/":
            page.locator(".skip-link").focus()
            box = page.locator(".skip-link").bounding_box()
            assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
        assert page.js_errors == []
    finally:
        ctx.close()


TOO_SMALL = """() => [...document.querySelectorAll(
        'a[href], button, select, input:not([type=hidden]), textarea, summary')].filter(el => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('.sr-only, p, li, td, dd') && el.tagName === 'A') return false;
    if (el.classList.contains('skip-link') || getComputedStyle(el).visibility === 'hidden') return false;
    if (el.type === 'checkbox' || el.type === 'radio') return r.width < 20 || r.height < 20;
    if (el.type === 'file') return false;
    return r.height < 40 || (el.matches('.icon-btn, .tab-close, .tool') && r.width < 40);
  }).map(el => `${el.tagName} ${el.className} "${(el.textContent || el.value || '').trim().slice(0, 20)}"`
           + ` ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`)"""


def test_every_control_is_big_enough_to_tap_on_a_phone(live_server, chromium):
    """On a phone the queue, an open conversation (header, tabs, composer) and the report
    pages' controls are at least 40px tall (they were 26-36px; the pages' links 18px), the
    icon buttons as wide, check boxes at least 20px; the header keeps the timeline its room."""
    ctx, page, conv = _open_a_shoppers_chat_on_a_phone(live_server, chromium, "Tess Agent", "Do you ship to Kyiv?")
    try:
        conv.locator(".tl-msg.in").wait_for(timeout=TIMEOUT)
        assert page.evaluate(TOO_SMALL) == []
        assert conv.locator(".timeline").bounding_box()["height"] >= 0.5 * PHONE["height"]
        conv.locator('[data-act="back"]').click()
        page.locator("#ticket-list .ticket-row").first.wait_for(timeout=TIMEOUT)
        assert page.evaluate(TOO_SMALL) == []
        page.locator(".topbar .menu > summary").click()
        assert page.evaluate(TOO_SMALL) == []
        for path in ("/inbox/reports/", "/inbox/profile"):
            page.goto(live_server + path)
            assert page.evaluate(TOO_SMALL) == [], path
        assert page.js_errors == []
    finally:
        ctx.close()


def test_a_right_to_left_message_keeps_its_start_in_view(live_server, chromium):
    """An Arabic message in an English inbox: the queue's preview and the timeline's bubble
    read right to left, so a cut preview shows the message's start (it showed its end, the
    ellipsis before it) and the bubble's punctuation sits where Arabic puts it."""
    body = "مرحبا، هل يمكنني إرجاع الحذاء إذا كان المقاس غير مناسب؟ لقد طلبته الأسبوع الماضي"
    ctx, page, conv = _open_a_shoppers_chat_on_a_phone(live_server, chromium, "Tess Agent", body)
    try:
        bubble = conv.locator(".tl-msg.in .msg-body")
        bubble.wait_for(timeout=TIMEOUT)
        assert bubble.evaluate("b => getComputedStyle(b).direction") == "rtl"
        conv.locator('[data-act="back"]').click()
        preview = page.locator(".ticket-row .row-preview", has_text="مرحبا")
        preview.wait_for(timeout=TIMEOUT)
        assert preview.evaluate("p => getComputedStyle(p).direction") == "rtl"
        assert preview.evaluate("p => p.scrollWidth > p.clientWidth")  # long enough to be cut
        # Left-aligned with the rest of the (English) row all the same.
        assert preview.evaluate("p => getComputedStyle(p).textAlign") in ("left", "match-parent")
        # A Latin preview keeps the page's direction.
        assert page.locator(".ticket-row .row-name").first.evaluate("n => getComputedStyle(n).direction") == "ltr"
        assert page.js_errors == []
    finally:
        ctx.close()
