"""Widget HTTP endpoints: the visitor session, uploads, the page ping, the frame and the demo
store — bad input gets clear JSON errors, untrusted text stays text."""
import io
import json
import re

import pytest
from PIL import Image

from helpdesk.actions import attachments
from helpdesk.actions.messages import reply
from helpdesk.extensions import db
from helpdesk.models import Attachment, PageView, Visitor
from helpdesk.seed import seed_demo
from tests.factories import make_agent, make_store
from widgets.tokens import visitor_from_token


def start(client, store, **extra):
    body = {"key": store.widget_key, "page": {"url": "https://shop.test/", "title": "Home"}, **extra}
    return client.post("/widget/api/session", json=body)


def png_bytes(size=(640, 480)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


# ---- session ------------------------------------------------------------------------------

def test_session_creates_a_visitor_and_returns_the_widget_config(client):
    store = make_store("Sock shop", greeting="Welcome!")
    resp = start(client, store, locale="de-DE", timezone="Europe/Berlin")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["store"]["greeting"] == "Welcome!" and data["store"]["online"] is False
    assert data["store"]["prechat"]["fields"]["email"] == "required"
    assert data["contact"] is None and data["ticket"] is None and data["messages"] == []
    visitor = visitor_from_token(data["token"], store)
    # The store speaks English only: the shopper is served, and recorded, in English.
    assert visitor.uid == data["visitor"] and visitor.locale == "en" and visitor.timezone == "Europe/Berlin"
    assert visitor.current_url == "https://shop.test/"


def test_session_bad_json_is_400(client):
    resp = client.post("/widget/api/session", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and "_body" in resp.get_json()["errors"]
    assert client.post("/widget/api/session", json=["a", "list"]).status_code == 400


def test_session_unknown_fields_are_422(client):
    store = make_store()
    resp = start(client, store, admin=True)
    assert resp.status_code == 422
    assert "admin" in resp.get_json()["errors"]
    resp = client.post("/widget/api/session", json={"key": store.widget_key, "page": {"url": "x", "evil": 1}})
    assert resp.status_code == 422 and "evil" in resp.get_json()["errors"]["page"]


@pytest.mark.parametrize("extra", [{"token": "\ud800"}, {"timezone": "Europe/\udc00"},
                                   {"page": {"url": "https://shop.test/\ud800", "title": "Home"}}])
def test_session_with_a_lone_surrogate_is_400_not_500(client, extra):
    # Valid JSON ("\ud800" escapes), but text no database can store as UTF-8.
    resp = start(client, make_store(), **extra)
    assert resp.status_code == 400 and "_body" in resp.get_json()["errors"]


def test_ping_with_a_lone_surrogate_is_400(client):
    store = make_store()
    token = _token(client, store)
    resp = client.post("/widget/api/ping", json={"key": store.widget_key, "token": token,
                                                 "page": {"url": "https://shop.test/", "title": "\ud800"}})
    assert resp.status_code == 400


def test_session_unknown_key_is_404(client):
    resp = client.post("/widget/api/session", json={"key": "wk_nope"})
    assert resp.status_code == 404 and resp.get_json()["message"]


def test_returning_token_keeps_the_visitor_and_history(client):
    store = make_store()
    agent = make_agent()
    first = start(client, store).get_json()
    visitor = visitor_from_token(first["token"], store)
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.visitors import ensure_contact

    contact = ensure_contact(store, visitor, email="back@example.test")
    msg, _ = receive_customer_message(store, contact, "chat", "first visit", client_id="c1", visitor=visitor)
    reply(msg.ticket, agent, "welcome back")
    again = start(client, store, token=first["token"]).get_json()
    assert again["visitor"] == first["visitor"]
    assert [m["body_text"] for m in again["messages"]] == ["first visit", "welcome back"]
    assert again["contact"]["has_email"] is True and again["ticket"]["status"] == "open"
    assert again["ticket"]["rated"] is False
    assert db.session.query(Visitor).count() == 1
    # A forged token starts a new, empty visitor instead of failing.
    forged = start(client, store, token=first["token"][:-2] + "xx").get_json()
    assert forged["visitor"] != first["visitor"] and forged["messages"] == []


def test_a_chat_resolved_while_the_shopper_was_away_is_returned_as_unrated_until_rated(client):
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.tickets import change_status
    from helpdesk.actions.visitors import ensure_contact, rate_ticket

    store = make_store()
    agent = make_agent()
    token = start(client, store).get_json()["token"]
    visitor = visitor_from_token(token, store)
    contact = ensure_contact(store, visitor, email="away@example.test")
    msg, _ = receive_customer_message(store, contact, "chat", "still there?", client_id="c1", visitor=visitor)
    change_status(msg.ticket, "resolved", agent)
    back = start(client, store, token=token).get_json()["ticket"]
    assert back == {"id": msg.ticket_id, "status": "resolved", "rated": False}
    rate_ticket(visitor, msg.ticket, 5)
    assert start(client, store, token=token).get_json()["ticket"]["rated"] is True


# ---- uploads ------------------------------------------------------------------------------

def _token(client, store):
    return start(client, store).get_json()["token"]


def test_image_upload_is_accepted_with_a_thumbnail(client):
    store = make_store()
    token = _token(client, store)
    resp = client.post("/widget/api/uploads", headers={"X-Visitor-Token": token},
                       data={"file": (io.BytesIO(png_bytes()), "photo.png", "image/png")})
    assert resp.status_code == 201, resp.get_json()
    att = resp.get_json()
    assert att["content_type"] == "image/png" and att["filename"] == "photo.png"
    assert att["thumbnail_url"] and att["url"]
    thumb = client.get(att["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    row = db.session.get(Attachment, att["id"])
    assert row.uploaded_by.startswith("visitor:") and row.message_id is None


def test_upload_whose_bytes_do_not_match_the_claimed_type_is_415(client):
    store = make_store()
    token = _token(client, store)
    fake = b"<html><script>alert(1)</script></html>"
    resp = client.post("/widget/api/uploads", headers={"X-Visitor-Token": token},
                       data={"file": (io.BytesIO(fake), "cat.png", "image/png")})
    assert resp.status_code == 415 and resp.get_json()["message"]
    # Real PNG bytes claimed to be a JPEG: also refused.
    resp = client.post("/widget/api/uploads", headers={"X-Visitor-Token": token},
                       data={"file": (io.BytesIO(png_bytes()), "cat.jpg", "image/jpeg")})
    assert resp.status_code == 415
    assert db.session.query(Attachment).count() == 0


def test_oversize_upload_is_413(client):
    store = make_store()
    token = _token(client, store)
    big = png_bytes((8, 8)) + b"\0" * attachments.MAX_UPLOAD_BYTES
    resp = client.post("/widget/api/uploads", headers={"X-Visitor-Token": token},
                       data={"file": (io.BytesIO(big), "big.png", "image/png")})
    assert resp.status_code == 413 and "MB" in resp.get_json()["message"]


@pytest.mark.parametrize("headers", [{}, {"X-Visitor-Token": "forged.token.value"}])
def test_upload_without_a_valid_token_is_401(client, headers):
    resp = client.post("/widget/api/uploads", headers=headers,
                       data={"file": (io.BytesIO(png_bytes()), "p.png", "image/png")})
    assert resp.status_code == 401 and resp.get_json()["message"]


# ---- ping (loader, before any iframe) --------------------------------------------------------

def test_ping_records_the_page_and_counts_unread_replies(client):
    store = make_store()
    agent = make_agent()
    token = _token(client, store)
    visitor = visitor_from_token(token, store)
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.visitors import ensure_contact

    contact = ensure_contact(store, visitor, email="p@example.test")
    msg, _ = receive_customer_message(store, contact, "chat", "hi", client_id="c1", visitor=visitor)
    reply(msg.ticket, agent, "answer one")
    reply(msg.ticket, agent, "answer two")
    body = json.dumps({"key": store.widget_key, "token": token,
                       "page": {"url": "https://shop.test/p/9", "title": "Boots", "referrer": None}})
    resp = client.post("/widget/api/ping", data=body, content_type="text/plain")
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"
    labels = {"open": "Open chat", "close": "Close chat", "title": f"Chat with {store.name}"}  # for the launcher
    assert resp.get_json() == {"unread": 2, "known": True, "rules": [], "labels": labels}
    assert db.session.query(PageView).filter_by(url="https://shop.test/p/9").count() == 1
    unknown = client.post("/widget/api/ping", data=json.dumps({"key": store.widget_key, "token": "x"}),
                          content_type="text/plain")
    assert unknown.get_json() == {"unread": 0, "known": False, "rules": [], "labels": labels}
    assert client.post("/widget/api/ping", data="nope", content_type="text/plain").status_code == 400
    assert client.post("/widget/api/ping", data=json.dumps({"key": "wk_nope"}),
                       content_type="text/plain").status_code == 404
    assert client.post("/widget/api/ping", data=json.dumps({"key": store.widget_key, "token": "x", "x": 1}),
                       content_type="text/plain").status_code == 422


def test_ping_of_a_new_shopper_answers_the_proactive_rules(client):
    rule = {"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 5, "message": "<b>Sizes?</b>"}
    store = make_store(proactive_rules=[rule, {"id": "broken"}])
    resp = client.post("/widget/api/ping", data=json.dumps({"key": store.widget_key, "token": None,
                                                            "page": {"url": "https://shop.test/products/1"}}),
                       content_type="text/plain")
    assert resp.get_json()["rules"] == [rule] and resp.get_json()["unread"] == 0
    assert db.session.query(Visitor).count() == 0  # nothing stored for a shopper who never chatted


# ---- frame, loader, demo -------------------------------------------------------------------

def _boot(html):
    return json.loads(re.search(r'<script id="hd-boot" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_frame_renders_config_strings_and_security_headers(client):
    store = make_store("Shop", greeting="Hello there")
    resp = client.get(f"/widget/frame?key={store.widget_key}&origin=https://shop.example")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    boot = _boot(html)
    assert boot["key"] == store.widget_key and boot["parent"] == "https://shop.example"
    assert boot["store"]["greeting"] == "Hello there" and boot["max_length"] > 0
    strings = json.loads(re.search(r'<script id="hd-strings" type="application/json">(.*?)</script>', html,
                                   re.S).group(1))
    assert strings["read"] == "Read" and "{name}" in strings["typing"]
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors *" in csp
    assert "X-Frame-Options" not in resp.headers
    assert "socket.io.min.js" in html and "panel.js" in html and "panel.css" in html
    assert client.get("/widget/frame?key=wk_unknown").status_code == 404


def test_frame_talks_only_to_the_store_domain(client):
    store = make_store()
    store.domain = "shop.example"
    db.session.commit()
    ok = _boot(client.get(f"/widget/frame?key={store.widget_key}&origin=https://www.shop.example").get_data(True))
    assert ok["parent"] == "https://www.shop.example"
    for origin in ("https://evil.example", "https://shop.example.evil.test", "javascript:alert(1)",
                   "https://shop.example/path"):
        resp = client.get("/widget/frame", query_string={"key": store.widget_key, "origin": origin})
        assert _boot(resp.get_data(True))["parent"] == "", origin
        assert "frame-ancestors 'self' shop.example:* *.shop.example:*" in resp.headers["Content-Security-Policy"]


def test_html_in_store_names_greeting_and_messages_stays_text(client):
    store = make_store('<script>alert("name")</script>', greeting="<img src=x onerror=alert(1)>")
    html = client.get(f"/widget/frame?key={store.widget_key}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html  # the title and header, escaped
    assert _boot(html)["store"]["greeting"] == "<img src=x onerror=alert(1)>"  # JSON, read with textContent
    token = _token(client, store)
    visitor = visitor_from_token(token, store)
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.visitors import ensure_contact

    contact = ensure_contact(store, visitor, name="<b>Bob</b>", email="b@example.test")
    receive_customer_message(store, contact, "chat", "<script>alert(1)</script>", client_id="x", visitor=visitor)
    message = start(client, store, token=token).get_json()["messages"][0]
    assert message["body_text"] == "<script>alert(1)</script>"
    assert "<script>" not in message["body_html"] and "&lt;script&gt;" in message["body_html"]
    assert message["author"]["name"] == "<b>Bob</b>"  # data; the panel renders it with textContent


def test_loader_is_served_cacheable_and_cross_origin(client):
    resp = client.get("/widget/loader.js")
    assert resp.status_code == 200 and resp.mimetype in ("text/javascript", "application/javascript")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in resp.headers["Cache-Control"]
    assert b"/widget/frame?key=" in resp.data


def test_demo_store_embeds_the_widget_and_lists_products(client):
    assert client.get("/demo").status_code == 404  # not seeded yet
    store, _admin, _pw = seed_demo()
    html = client.get("/demo").get_data(as_text=True)
    assert f'data-key="{store.widget_key}"' in html and "/widget/loader.js" in html
    for title in ("Linen shirt", "Merino sweater", "Canvas sneakers", "Leather belt"):
        assert title in html
    page = client.get("/demo/products/canvas-sneakers")
    assert page.status_code == 200 and b"Canvas sneakers" in page.data
    assert client.get("/demo/products/nope").status_code == 404
    for image in ("shirt", "sweater", "sneakers", "belt"):
        assert client.get(f"/static/demo/{image}.svg").status_code == 200


def test_live_message_event_carries_the_uploaded_attachment(client, sent_events):
    store = make_store()
    token = _token(client, store)
    att = client.post("/widget/api/uploads", headers={"X-Visitor-Token": token},
                      data={"file": (io.BytesIO(png_bytes()), "p.png", "image/png")}).get_json()
    visitor = visitor_from_token(token, store)
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.visitors import ensure_contact

    contact = ensure_contact(store, visitor, email="att@example.test")
    receive_customer_message(store, contact, "chat", "", client_id="a1", visitor=visitor, attachment_ids=[att["id"]])
    pushed = [e for e in sent_events if e["event"] == "message.created"]
    assert pushed and all([a["id"] for a in e["payload"]["message"]["attachments"]] == [att["id"]] for e in pushed)
    assert {e["room"] for e in pushed} >= {f"visitor:{visitor.uid}"}


@pytest.mark.parametrize("locale", ["de", "uk", "ar"])
def test_the_demo_store_reads_in_each_store_language(client, locale):
    """No English left on the storefront around the widget for a shopper in the store's languages."""
    import os

    from babel.messages.pofile import read_po

    import helpdesk

    seed_demo()
    po = os.path.join(os.path.dirname(helpdesk.__file__), "translations", locale, "LC_MESSAGES", "messages.po")
    with open(po, encoding="utf-8") as fh:
        catalog = read_po(fh)
    html = client.get("/demo", headers={"Accept-Language": locale}).get_data(as_text=True)
    for msgid in ("All products", "Sign in (demo customer)", "Products"):
        assert catalog[msgid].string and catalog[msgid].string in html, msgid
    assert "This is a demo storefront" not in html and "Free returns within" not in html
