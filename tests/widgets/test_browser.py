"""The storefront widget in real Chromium: the demo store, the loader, the panel iframe, the
live chat against a real agent Socket.IO client, rating, history after a reload, phone layout.

Screenshots of the widget (phone and desktop) are kept in test-artifacts/."""
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpdesk.actions.agents import set_availability
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from helpdesk.seed import seed_demo
from tests.browser import DESKTOP, PHONE, screenshot, serious_violations
from tests.factories import PASSWORD
from tests.realtime import agent_client

pytestmark = pytest.mark.browser

TIMEOUT = 10_000


@pytest.fixture
def demo(live_server):
    store, admin, _password = seed_demo(password=PASSWORD)
    set_availability(admin, "available")
    return store, admin


@pytest.fixture
def shopper(chromium, live_server, demo):
    """A fresh browser context (own localStorage) on the demo store, with JS errors collected."""
    contexts = []

    def open_page(size=DESKTOP, path="/demo", **kw):
        context = chromium.new_context(viewport=size, **kw)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.errors = []
        page.dialogs = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(live_server + path)
        page.wait_for_selector("#hd-launcher")
        return page

    yield open_page
    for context in contexts:
        context.close()


def cid():
    return uuid.uuid4().hex


def panel(page):
    return page.frame_locator("#hd-frame")


def open_widget(page):
    page.click("#hd-launcher")
    frame = panel(page)
    frame.locator("#hd-text:enabled").wait_for()  # enabled once the visitor session is loaded
    return frame


def send(frame, text):
    frame.locator("#hd-text").fill(text)
    frame.locator("#hd-send").click()


def test_chat_with_an_agent_rate_and_find_the_history_after_reload(shopper, live_server, demo):
    store, admin = demo
    page = shopper(DESKTOP)
    # Lazy: nothing but the launcher until the shopper opens the widget.
    assert page.locator("#hd-frame").count() == 0
    assert page.get_attribute("#hd-launcher", "aria-expanded") == "false"
    page.evaluate("window.seen = []; ['ready', 'opened', 'message'].forEach("
                  "function (n) { Helpdesk.on(n, function (d) { window.seen.push(n); }); })")

    agent = agent_client(live_server, admin)
    try:
        frame = open_widget(page)
        assert page.get_attribute("#hd-launcher", "aria-expanded") == "true"
        # The store's pre-chat form: name optional, email required.
        form = frame.locator("#hd-prechat")
        form.wait_for()
        send(frame, "Do you have the linen shirt in M?")
        assert frame.locator(".hd-me").count() == 0, "sent without the required email"
        assert frame.locator("#hd-text").input_value() == "Do you have the linen shirt in M?"
        frame.locator("input[name=name]").fill("Ira Shopper")
        frame.locator("input[name=email]").fill("ira@example.test")
        frame.locator("#hd-send").click()
        frame.locator(".hd-me:not(.hd-pending)", has_text="linen shirt in M").wait_for()
        expect(form).to_be_hidden()

        got = agent.wait_for("message.created", lambda d: d["message"]["author_type"] == "contact")
        ticket_id = got["message"]["ticket_id"]
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.contact.email == "ira@example.test" and ticket.contact.name == "Ira Shopper"

        # Typing, then the reply: pushed over Socket.IO, no reload, no polling.
        agent.call("typing", {"ticket_id": ticket_id, "typing": True})
        frame.locator("#hd-typing", has_text="typing").wait_for()
        assert agent.call("send", {"ticket_id": ticket_id, "client_id": cid(),
                                   "body": "Yes! See https://example.test/size-guide"})["ok"]
        reply = frame.locator(".hd-them", has_text="Yes! See")
        reply.wait_for()
        # Text checks wait for the text (textContent): a message just added may not be laid
        # out yet (content-visibility: auto), and innerText reads "" until it is.
        expect(reply.locator(".hd-author > span:not(.hd-avatar)")).to_have_text("Demo Admin")
        expect(reply.locator(".hd-author .hd-avatar")).to_have_text("DA")  # no photo: initials
        assert reply.locator("a").get_attribute("href") == "https://example.test/size-guide"
        assert reply.locator("a").get_attribute("rel") == "noopener noreferrer nofollow"
        # The open panel reports the reply read; the agent's read receipt shows as "Read".
        agent.wait_for("message.read", lambda d: d["reader"] == "contact")
        mine = db.session.scalar(select(Message.id).where(Message.ticket_id == ticket_id,
                                                          Message.author_type == "contact"))
        agent.call("read", {"ticket_id": ticket_id, "up_to_id": mine})
        frame.locator(".hd-me .hd-read").wait_for()
        # Typing goes the other way too.
        frame.locator("#hd-text").press_sequentially("Gre")
        assert agent.wait_for("typing", lambda d: d["who"] == "contact")["typing"] is True
        frame.locator("#hd-text").fill("")

        # A product card from the agent.
        agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "This one:",
                            "product_card": {"title": "Linen shirt", "price": "49.00", "currency": "USD",
                                             "image_url": "/static/demo/shirt.svg",
                                             "url": "/demo/products/linen-shirt"}})
        card = frame.locator(".hd-product", has_text="Linen shirt")
        card.wait_for()
        expect(card).to_contain_text("49")
        assert page.evaluate("window.seen").count("message") >= 3
        assert {"ready", "opened"} <= set(page.evaluate("window.seen"))
        screenshot(page, "widget-desktop-chat.png")

        # End and rate: 4 stars needs a reason.
        frame.locator("#hd-end").click()
        rating = frame.locator("#hd-rate")
        rating.wait_for()
        frame.locator("label[for=hd-r4]").click()
        frame.locator("#hd-neg").wait_for()
        expect(frame.locator("#hd-pos")).to_be_hidden()
        rating.locator("button[type=submit]").click()
        frame.locator("#hd-rate-error", has_text="reason").wait_for()
        frame.locator("#hd-neg input[value=slow_answer]").check()
        frame.locator("#hd-rate textarea[name=comment]").fill("Took a while")
        screenshot(page, "widget-desktop-rating.png")
        rating.locator("button[type=submit]").click()
        frame.locator(".hd-system", has_text="Thanks").wait_for()
        db.session.expire_all()
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.rating, ticket.rating_reasons) == ("resolved", 4, ["slow_answer"])

        # Reload: the history is still there (token kept in the browser).
        page.reload()
        page.wait_for_selector("#hd-launcher")
        frame = open_widget(page)
        frame.locator(".hd-them", has_text="Yes! See").wait_for()
        assert frame.locator(".hd-me", has_text="linen shirt in M").count() == 1
        assert frame.locator(".hd-product").count() == 1
        expect(frame.locator("#hd-prechat")).to_be_hidden()
        expect(frame.locator("#hd-end")).to_be_hidden()
        expect(frame.locator("#hd-rate")).to_be_hidden()  # rated already: not asked again
        assert not page.errors, page.errors
    finally:
        agent.disconnect()


def test_a_chat_an_agent_resolved_while_the_shopper_was_away_asks_for_stars_once(shopper, live_server, demo):
    from helpdesk.actions.tickets import change_status

    store, admin = demo
    page = shopper(DESKTOP)
    frame = open_widget(page)
    frame.locator("#hd-prechat").wait_for()
    frame.locator("input[name=email]").fill("away@example.test")
    send(frame, "Is the linen shirt back in stock?")
    frame.locator(".hd-me:not(.hd-pending)", has_text="linen shirt").wait_for()
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    page.goto("about:blank")  # the shopper leaves; the agent resolves the chat meanwhile
    change_status(ticket, "resolved", admin)

    page.goto(live_server + "/demo")
    page.wait_for_selector("#hd-launcher")
    frame = open_widget(page)
    frame.locator(".hd-system", has_text="This chat has ended").wait_for()
    expect(frame.locator("#hd-rate")).to_be_visible()
    # Asked once: the next page does not ask again, rated or not.
    page.reload()
    page.wait_for_selector("#hd-launcher")
    frame = open_widget(page)
    frame.locator(".hd-me", has_text="linen shirt").wait_for()
    expect(frame.locator("#hd-rate")).to_be_hidden()
    assert not page.errors, page.errors


def test_keyboard_opens_and_closes_the_widget(shopper, live_server, demo):
    page = shopper(DESKTOP)
    page.focus("#hd-launcher")
    # The launcher's translated name arrives with the ping.
    expect(page.locator("#hd-launcher")).to_have_attribute("aria-label", "Open chat")
    page.keyboard.press("Enter")
    frame = panel(page)
    frame.locator("input[name=name]:focus").wait_for()  # focus moved into the panel's first field
    page.keyboard.press("Tab")
    assert frame.locator("input[name=email]:focus").count() == 1
    assert page.get_attribute("#hd-launcher", "aria-label") == "Close chat"  # translated labels arrived
    page.keyboard.press("Escape")
    page.wait_for_selector("#hd-frame", state="hidden")
    assert page.evaluate("document.activeElement.id") == "hd-launcher"


def test_script_in_a_message_is_shown_as_text(shopper, live_server, demo):
    page = shopper(DESKTOP)
    frame = open_widget(page)
    frame.locator("input[name=email]").fill("x@example.test")
    frame.locator("input[name=name]").fill("<img src=x onerror=alert(2)>")
    send(frame, "<script>alert(1)</script> <b>bold?</b>")
    bubble = frame.locator(".hd-me:not(.hd-pending) .hd-bubble")
    bubble.wait_for()
    expect(bubble).to_have_text("<script>alert(1)</script> <b>bold?</b>")
    assert bubble.locator("script, b").count() == 0
    # Reloaded from the server, still text.
    page.reload()
    page.wait_for_selector("#hd-launcher")
    frame = open_widget(page)
    frame.locator(".hd-me .hd-bubble", has_text="<script>").wait_for()
    assert frame.locator(".hd-bubble script").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == [] and not page.errors


def test_phone_layout_lazy_frame_and_unread_reply_on_the_next_page(shopper, live_server, demo):
    store, admin = demo
    page = shopper(PHONE, is_mobile=True, has_touch=True)
    launcher = page.locator("#hd-launcher").bounding_box()
    # Small, in the bottom corner, inside the viewport.
    assert launcher["width"] <= 48 and launcher["x"] + launcher["width"] <= PHONE["width"]
    assert launcher["y"] + launcher["height"] <= PHONE["height"]
    screenshot(page, "widget-phone-launcher.png")
    frame = open_widget(page)
    box = page.locator("#hd-frame").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, PHONE["width"], PHONE["height"])
    expect(page.locator("#hd-launcher")).not_to_be_visible()
    screenshot(page, "widget-phone-prechat.png")
    frame.locator("input[name=email]").fill("phone@example.test")
    send(frame, "Hello from my phone")
    frame.locator(".hd-me:not(.hd-pending)", has_text="Hello from my phone").wait_for()
    # The panel in the iframe: one main region, no serious or critical axe-core finding.
    panel_frame = page.query_selector("#hd-frame").content_frame()
    assert panel_frame.locator("main").count() == 1
    assert serious_violations(panel_frame) == []
    ticket_id = db.session.scalar(select(Ticket.id))
    agent = agent_client(live_server, admin)
    try:
        agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "Hi! How can I help?"})
        frame.locator(".hd-them", has_text="How can I help").wait_for()
        screenshot(page, "widget-phone-chat.png")
        frame.locator("#hd-close").click()
        expect(page.locator("#hd-frame")).to_be_hidden()
        expect(page.locator("#hd-launcher")).to_be_visible()

        # The shopper goes to another page; the agent answers meanwhile.
        page.goto(live_server + "/demo/products/merino-sweater")
        page.wait_for_selector("#hd-launcher")
        assert page.locator("#hd-frame").count() == 0, "no unread reply yet: no iframe"
        agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "Still there?"})
        page.goto(live_server + "/demo/products/leather-belt")
        # The loader learns about the unread reply and loads the panel (hidden) to fetch it.
        page.wait_for_selector("#hd-badge", state="visible")
        assert page.locator("#hd-badge").inner_text() == "1"
        expect(page.locator("#hd-frame")).to_have_count(1)
        expect(page.locator("#hd-frame")).to_be_hidden()
        screenshot(page, "widget-phone-unread.png")
        frame = open_widget(page)
        frame.locator(".hd-them", has_text="Still there?").wait_for()
        page.wait_for_selector("#hd-badge", state="detached")
        assert not page.errors, page.errors
    finally:
        agent.disconnect()
    # Pages the shopper viewed were recorded for the agents.
    from helpdesk.models import PageView

    urls = [u for (u,) in db.session.execute(select(PageView.url))]
    assert any(u.endswith("/demo/products/merino-sweater") for u in urls)


def _drop_visitor_connections():
    """Cut the shoppers' Socket.IO transports from the server side (like a network drop):
    the client sees "transport close" and reconnects on its own."""
    from helpdesk.extensions import socketio
    from widgets import sockets

    server = socketio.server
    for sid in list(sockets._connections):
        eio_sid = server.manager.eio_sid_from_sid(sid, "/widget")
        transport = server.eio.sockets.pop(eio_sid, None) if eio_sid else None
        if transport is not None:
            # wait=False: engineio's disconnect() waits for the send queue to drain, which
            # never happens while a polling -> websocket upgrade is in progress.
            transport.close(wait=False)


def test_reconnect_gets_missed_replies_once(shopper, live_server, demo):
    store, admin = demo
    page = shopper(DESKTOP)
    frame = open_widget(page)
    frame.locator("input[name=email]").fill("re@example.test")
    send(frame, "first")
    frame.locator(".hd-me:not(.hd-pending)", has_text="first").wait_for()
    ticket_id = db.session.scalar(select(Ticket.id))
    agent = agent_client(live_server, admin)
    try:
        _drop_visitor_connections()
        frame.locator("#hd-conn").wait_for()  # "Connection lost. Reconnecting…"
        for body in ("missed one", "missed two"):
            agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": body})
        frame.locator(".hd-them", has_text="missed two").wait_for()
        frame.locator("#hd-conn").wait_for(state="hidden")
        send(frame, "after")
        frame.locator(".hd-me:not(.hd-pending)", has_text="after").wait_for()
        bodies = frame.locator(".hd-bubble").all_inner_texts()
        assert bodies == ["first", "missed one", "missed two", "after"]
        assert db.session.query(Message).count() == 4
        assert not page.errors, page.errors
    finally:
        agent.disconnect()


def test_too_long_and_flooding_messages_show_an_error_and_keep_the_text(shopper, live_server, demo, app,
                                                                        monkeypatch):
    from widgets import sockets

    monkeypatch.setattr(sockets, "FLOOD_MAX_MESSAGES", 2)
    page = shopper(DESKTOP)
    frame = open_widget(page)
    frame.locator("input[name=email]").fill("fast@example.test")
    too_long = "x" * (app.config["MAX_MESSAGE_LENGTH"] + 1)
    send(frame, too_long)
    frame.locator("#hd-error", has_text="too long").wait_for()
    assert frame.locator("#hd-text").input_value() == too_long
    send(frame, "one")
    frame.locator(".hd-me:not(.hd-pending)", has_text="one").wait_for()
    send(frame, "two")
    frame.locator(".hd-me:not(.hd-pending)", has_text="two").wait_for()
    send(frame, "three is too fast")
    frame.locator("#hd-error", has_text="very fast").wait_for()
    assert frame.locator("#hd-text").input_value() == "three is too fast"
    assert frame.locator(".hd-bubble", has_text="three").count() == 0
    assert [m for (m,) in db.session.execute(select(Message.body_text).order_by(Message.id))] == ["one", "two"]


def test_offline_store_says_so_and_asks_for_an_email(shopper, live_server, demo):
    store, admin = demo
    set_availability(admin, "offline")
    store.settings = {"prechat": {"enabled": True, "fields": {"name": "optional", "email": "off"}},
                      "offline_message": "Back tomorrow at 9. Leave a message!"}
    db.session.commit()
    page = shopper(PHONE, is_mobile=True, has_touch=True)
    frame = open_widget(page)
    frame.locator("#hd-offline", has_text="Back tomorrow at 9").wait_for()
    assert frame.locator("input[name=email]").get_attribute("required") is not None
    screenshot(page, "widget-phone-offline.png")
    send(frame, "Do you ship to Norway?")
    assert frame.locator(".hd-me").count() == 0
    frame.locator("input[name=email]").fill("nordic@example.test")
    frame.locator("#hd-send").click()
    frame.locator(".hd-me:not(.hd-pending)", has_text="Norway").wait_for()
    ticket = db.session.scalar(select(Ticket))
    assert ticket.offline and ticket.contact.email == "nordic@example.test"


def test_photo_upload_shows_a_thumbnail_and_identify_links_the_customer(shopper, live_server, demo):
    import io

    from PIL import Image

    page = shopper(DESKTOP, path="/demo/products/linen-shirt")
    # Identify before the iframe exists: queued by the loader, sent when the panel connects.
    page.click("#sign-in")
    page.click("#add-to-cart")
    frame = open_widget(page)
    frame.locator("#hd-prechat").wait_for(state="hidden")  # a known customer skips the form
    photo = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(photo, "PNG")
    frame.locator("#hd-text").fill("Is this stain covered by the warranty?")
    frame.locator("#hd-file").set_input_files(files=[{"name": "stain.png", "mimeType": "image/png",
                                                      "buffer": photo.getvalue()}])
    thumb = frame.locator(".hd-me:not(.hd-pending) .hd-file img")
    thumb.wait_for()
    page.wait_for_function("() => document.querySelector('#hd-frame').contentDocument"
                           ".querySelector('.hd-file img').naturalWidth > 0")
    assert thumb.get_attribute("alt") == "stain.png"
    assert frame.locator(".hd-me .hd-bubble", has_text="stain covered").count() == 1
    message = db.session.scalar(select(Message))
    assert [a.filename for a in message.attachments] == ["stain.png"]
    contact = message.ticket.contact
    assert contact.email == "customer@demo.store" and contact.platform_ids.get("identify") == "demo-customer-1"
    assert message.ticket.visitor.attributes.get("cart_value") == 49
    assert not page.errors, page.errors


# A one-page PDF as a shop's invoice or a carrier's label arrives: the file picker offers
# PDFs (the upload endpoint accepts them by their sniffed bytes).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_a_shopper_attaches_a_pdf_and_it_shows_as_a_download_link(shopper, live_server, demo):
    page = shopper(DESKTOP, path="/demo/products/linen-shirt")
    page.click("#sign-in")  # a known customer: no pre-chat form
    frame = open_widget(page)
    frame.locator("#hd-prechat").wait_for(state="hidden")
    picker = frame.locator("#hd-file")
    assert "application/pdf" in picker.get_attribute("accept").split(",")
    frame.locator("#hd-text").fill("Here is the invoice <b>#1042</b>")
    picker.set_input_files(files=[{"name": "invoice-1042.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    link = frame.locator(".hd-me:not(.hd-pending) a.hd-file", has_text="invoice-1042.pdf")
    link.wait_for()
    message = db.session.scalar(select(Message))
    assert [(a.filename, a.content_type) for a in message.attachments] == [("invoice-1042.pdf", "application/pdf")]
    assert message.body_text == "Here is the invoice <b>#1042</b>"
    # Served as a download, never rendered inside the helpdesk's origin.
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.body() == PDF
    assert response.headers["content-disposition"].startswith("attachment")
    assert not page.errors, page.errors


def test_a_proactive_rule_opens_the_widget_with_its_invitation_once(shopper, live_server, demo):
    store, _admin = demo
    store.settings = {"proactive_rules": [{"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 1,
                                           "message": "Need help choosing a <size>?"}]}
    db.session.commit()
    page = shopper(DESKTOP, path="/demo")
    page.wait_for_timeout(1500)
    assert page.locator("#hd-frame").count() == 0, "the rule does not match the home page"
    page.evaluate("window.opened = []; Helpdesk.on('opened', function (d) { window.opened.push(d.reason); })")
    page.goto(live_server + "/demo/products/linen-shirt")
    page.evaluate("window.opened = []; Helpdesk.on('opened', function (d) { window.opened.push(d.reason); })")
    page.wait_for_selector("#hd-frame", state="visible")
    panel(page).locator(".hd-greeting", has_text="Need help choosing a <size>?").wait_for()
    assert page.evaluate("window.opened") == ["invitation"]
    screenshot(page, "widget-desktop-invitation.png")
    # The frequency cap: the next product page loads the panel for the rule, but it stays closed.
    page.goto(live_server + "/demo/products/leather-belt")
    page.wait_for_selector("#hd-frame", state="attached")
    page.wait_for_timeout(1500)
    expect(page.locator("#hd-frame")).to_be_hidden()


LONG_STORE = "Kuckucksuhren-Manufaktur Schwarzwald"
LONG_NAME, LONG_TITLE = "Maximiliane Schwarzenberger-Oberholzer", "Senior Customer Happiness Specialist"
SMALL_PHONE = {"width": 360, "height": 740}

# Each line of the header's text: its text, how many lines it takes, whether anything is cut
# (scrolled away, clamped, or one line with an ellipsis).
_HEADER_TEXT = """els => els.filter(e => !e.hidden).map(e => {
    const s = getComputedStyle(e), box = e.getBoundingClientRect();
    return {text: e.textContent, lines: Math.round(box.height / parseFloat(s.lineHeight)),
            cut: e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight + 1
                 || (s.textOverflow === 'ellipsis' && s.whiteSpace === 'nowrap')};
  })"""


def _assert_header_fits(frame, size, texts):
    """The header shows ``texts`` in full, at most two lines each; its buttons keep their
    tap size, inside the viewport, and no text runs under them; the avatar keeps its size."""
    shown = frame.locator(".hd-who > *").evaluate_all(_HEADER_TEXT)
    assert [t["text"] for t in shown] == texts
    for t in shown:
        assert not t["cut"] and 1 <= t["lines"] <= 2, t
    who = frame.locator(".hd-who").bounding_box()
    for button, least in (("#hd-close", 40), ("#hd-end", 28)):
        if not frame.locator(button).is_visible():
            continue
        box = frame.locator(button).bounding_box()
        assert box["height"] >= least and box["width"] >= least, (button, box)
        assert 0 <= box["x"] and box["x"] + box["width"] <= size["width"], (button, box)
        assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], (button, box)
        overlap_x = min(who["x"] + who["width"], box["x"] + box["width"]) - max(who["x"], box["x"])
        overlap_y = min(who["y"] + who["height"], box["y"] + box["height"]) - max(who["y"], box["y"])
        assert overlap_x <= 0 or overlap_y <= 0, ("text under", button, who, box)
    avatar = frame.locator("#hd-avatar").bounding_box()
    assert (round(avatar["width"]), round(avatar["height"])) == (36, 36), avatar


@pytest.mark.parametrize("size, locale", [(PHONE, "en-US"), (SMALL_PHONE, "de-DE"), (SMALL_PHONE, "uk-UA"),
                                          (SMALL_PHONE, "ar"), (DESKTOP, "en-US")],
                         ids=["390-en", "360-de", "360-uk", "360-ar-rtl", "desktop-en"])
def test_the_header_shows_a_long_store_and_agent_name_and_title_in_full(shopper, live_server, demo,
                                                                        size, locale):
    store, admin = demo
    store.name = LONG_STORE
    admin.name, admin.title = LONG_NAME, LONG_TITLE
    db.session.commit()
    phone = size is not DESKTOP
    page = shopper(size, is_mobile=phone, has_touch=phone, **({} if locale == "ar" else {"locale": locale}))
    if locale == "ar":
        page.evaluate("Helpdesk.setLanguage('ar')")
    frame = open_widget(page)
    # No agent yet: the store's name and the "we usually reply" line.
    status = frame.locator("#hd-status")
    expect(status).not_to_be_empty()
    _assert_header_fits(frame, size, [LONG_STORE, status.text_content()])
    screenshot(page, f"widget-header-{size['width']}-{locale}-store.png")

    frame.locator("input[name=email]").fill("long@example.test")
    send(frame, "Hello")
    frame.locator(".hd-me:not(.hd-pending)", has_text="Hello").wait_for()
    agent = agent_client(live_server, admin)
    try:
        ticket_id = db.session.scalar(select(Ticket.id))
        agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "Hi, how can I help?"})
        expect(frame.locator("#hd-title")).to_have_text(LONG_NAME)
    finally:
        agent.disconnect()
    expect(frame.locator("#hd-end")).to_be_visible()
    # The agent: name (bold) above the title, each in full; the status line gives way.
    assert int(frame.locator("#hd-title").evaluate("e => getComputedStyle(e).fontWeight")) >= 600
    _assert_header_fits(frame, size, [LONG_NAME, LONG_TITLE])
    if locale == "ar":  # mirrored: the avatar at the right, the close button at the left
        assert frame.locator("#hd-avatar").bounding_box()["x"] > frame.locator("#hd-close").bounding_box()["x"]
    screenshot(page, f"widget-header-{size['width']}-{locale}.png")
    assert not page.errors, page.errors


AT_BOTTOM = "s => s.scrollHeight - s.scrollTop - s.clientHeight < 2"


def test_the_chat_stays_at_its_newest_message_and_the_rating_keeps_the_panel_in_place(shopper, live_server, demo):
    """A photo that loads after it is shown, history laid out after it is inserted: the view
    still ends at the newest message, so the agent's reply is seen. Asking for stars focuses
    a visually hidden radio: the panel itself must not scroll away (it went blank on phones)."""
    import io

    from PIL import Image

    store, admin = demo
    page = shopper({"width": 360, "height": 740})
    agent = agent_client(live_server, admin)
    try:
        frame = open_widget(page)
        frame.locator("input[name=email]").fill("scroll@example.test")
        for n in range(6):
            send(frame, f"Question {n}: " + "the sleeves of the linen shirt are too long " * 8)
        frame.locator(".hd-me:not(.hd-pending)", has_text="Question 5").wait_for()
        photo = io.BytesIO()
        Image.new("RGB", (800, 600), (30, 120, 200)).save(photo, "PNG")
        frame.locator("#hd-file").set_input_files(files=[{"name": "sleeve.png", "mimeType": "image/png",
                                                          "buffer": photo.getvalue()}])
        frame.locator(".hd-me:not(.hd-pending) .hd-file img").wait_for()
        page.wait_for_function("() => document.querySelector('#hd-frame').contentDocument"
                               ".querySelector('.hd-me:not(.hd-pending) .hd-file img').naturalWidth > 0")
        ticket_id = db.session.scalar(select(Ticket.id).order_by(Ticket.id.desc()))
        assert agent.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "We can shorten them."})["ok"]
        reply = frame.locator(".hd-them", has_text="shorten them")
        reply.wait_for()
        frame.locator("#hd-scroll").evaluate("s => new Promise(r => setTimeout(r, 300))")
        assert frame.locator("#hd-scroll").evaluate(AT_BOTTOM), "the reply came in out of view"
        expect(reply).to_be_in_viewport()

        page.reload()
        page.wait_for_selector("#hd-launcher")
        frame = open_widget(page)
        frame.locator(".hd-them", has_text="shorten them").wait_for()
        page.wait_for_timeout(300)
        assert frame.locator("#hd-scroll").evaluate(AT_BOTTOM), "history opened away from the newest message"

        frame.locator("#hd-end").click()
        frame.locator("#hd-rate").wait_for()
        frame.locator("#hd-r1:focus").wait_for()
        assert frame.locator("html").evaluate("html => html.scrollTop + document.body.scrollTop") == 0
        expect(frame.locator("#hd-close")).to_be_in_viewport()
        expect(frame.locator("#hd-text")).to_be_in_viewport()
        screenshot(page, "widget-phone-rating.png")
        assert not page.errors, page.errors
    finally:
        agent.disconnect()


def test_a_phone_in_landscape_gets_the_full_screen_panel(shopper):
    """844×390: a floating panel would leave about a hundred pixels for the conversation."""
    landscape = {"width": 844, "height": 390}
    page = shopper(landscape, is_mobile=True, has_touch=True)
    frame = open_widget(page)
    box = page.locator("#hd-frame").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, landscape["width"], landscape["height"])
    expect(page.locator("#hd-launcher")).not_to_be_visible()
    expect(frame.locator("#hd-text")).to_be_in_viewport()
    screenshot(page, "widget-phone-landscape.png")
    frame.locator("#hd-close").click()
    expect(page.locator("#hd-launcher")).to_be_focused()
    assert not page.errors, page.errors


def test_the_contact_form_script_tag_loads_the_form_from_the_helpdesk_it_came_from(chromium, live_server, demo):
    """On a shop's own page (another origin: a second server on loopback), the form's iframe
    comes from the address the script was served from, whatever PUBLIC_URL says."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    store, _admin = demo
    html = (f'<!doctype html><title>Contact us</title><h1>Contact us</h1>'
            f'<script src="{live_server}/form/{store.widget_key}/embed.js"></script>').encode()

    class ShopPage(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 -- http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    shop = ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
    threading.Thread(target=shop.serve_forever, daemon=True).start()
    store.domain = f"127.0.0.1:{shop.server_address[1]}"  # the form may be framed there
    db.session.commit()
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(f"http://127.0.0.1:{shop.server_address[1]}/contact")
        assert page.locator("iframe").get_attribute("src") == f"{live_server}/form/{store.widget_key}"
        expect(page.frame_locator("iframe").locator("#f-email")).to_be_visible()
    finally:
        context.close()
        shop.shutdown()


def test_an_erased_customers_widget_forgets_the_conversation_and_starts_afresh(shopper, live_server, demo):
    from helpdesk.actions.contacts import erase_contact
    from helpdesk.models import Agent, Contact

    store, admin = demo
    page = shopper(PHONE)
    frame = open_widget(page)
    frame.locator("input[name=email]").fill("mira@example.test")
    send(frame, "Please deliver to Kwiatowa 5, flat 12")
    frame.locator(".hd-me:not(.hd-pending)", has_text="Kwiatowa 5").wait_for()
    old_token = page.evaluate("() => Object.values(localStorage).join(' ')")
    contact = db.session.scalar(select(Contact).where(Contact.email == "mira@example.test"))
    erase_contact(contact, by=db.session.get(Agent, admin.id))

    # The server ends the widget's socket: what she wrote leaves the screen and its storage,
    # and a new, empty session begins (the pre-chat form asks again).
    expect(frame.locator("#hd-log")).not_to_contain_text("Kwiatowa", timeout=TIMEOUT)
    frame.locator("#hd-prechat").wait_for()
    expect(frame.locator("#hd-conn")).to_be_hidden(timeout=TIMEOUT)
    stored = page.evaluate("() => Object.values(localStorage).join(' ')")
    assert "Kwiatowa" not in stored and stored != old_token
    frame.locator("input[name=email]").fill("mira@example.test")
    send(frame, "Hello again")
    frame.locator(".hd-me:not(.hd-pending)", has_text="Hello again").wait_for()
    db.session.expire_all()
    fresh = db.session.scalar(select(Message).where(Message.body_text == "Hello again"))
    assert fresh.ticket.contact_id != contact.id  # a fresh customer, nothing of the erased one
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.body_text.contains("Kwiatowa"))) == 0
    assert not page.errors
