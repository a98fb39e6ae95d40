"""The inbox page's JSON endpoints: access rules (404 for another store), context panel,
agent uploads, product search, bulk actions, queue badges, product cards from sockets."""
import io
import re
import struct
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest

from helpdesk.actions.messages import mark_read, reply
from helpdesk.actions.tickets import change_status
from helpdesk.actions.visitors import record_page_view, set_attributes
from helpdesk.extensions import db
from helpdesk.models import Attachment, Product, Ticket, utcnow
from inbox import queries
from inbox.sockets import product_card
from tests.factories import PASSWORD, make_agent, make_contact, make_store, make_team, make_ticket, make_visitor


def png_bytes():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def sign_in(client, agent):
    """Sign in through the form; returns the CSRF token the inbox page carries."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    inbox = client.get("/inbox/").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', inbox).group(1)


@pytest.fixture
def shops():
    return make_store("Main shop"), make_store("Other shop")


@pytest.fixture
def restricted(shops):
    """An agent who may only see the main shop."""
    return make_agent(name="Rita Restricted", stores=[shops[0]])


# ---- the page -------------------------------------------------------------------------

def test_page_needs_sign_in_and_json_endpoints_answer_401(client, shops):
    assert client.get("/inbox/").status_code == 302
    response = client.get("/inbox/api/counts")
    assert response.status_code == 401 and response.json["status"] == 401


def test_pages_name_their_icon_so_no_browser_asks_for_a_missing_favicon(client, shops):
    """The sign-in page and the inbox link an icon that is served (every page asked for
    /favicon.ico instead: a 404 in the console and a blank tab icon)."""
    for path in ("/login", "/inbox/"):
        if path == "/inbox/":
            sign_in(client, make_agent())
        page = client.get(path).get_data(as_text=True)
        href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page).group(1)
        icon = client.get(href)
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml", path
        assert b"<svg" in icon.data


def test_page_renders_translated_strings_and_escapes_names(client, shops):
    agent = make_agent(name="</script><script>alert(1)</script>")
    sign_in(client, agent)
    html = client.get("/inbox/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    strings = re.search(r'<script type="application/json" id="inbox-strings">(.*?)</script>', html, re.S).group(1)
    import json

    data = json.loads(strings)
    assert data["internal_note"] == "Internal note"
    assert data["event_assigned"] == "%(agent)s assigned it to %(assignee)s"
    assert "socket.io.min.js" in html and "inbox/app.js" in html


# ---- context panel --------------------------------------------------------------------

def test_context_shows_contact_visitor_pages_attributes_and_previous_conversations(client, shops):
    store, _other = shops
    agent = make_agent()
    contact = make_contact(store, name="Ira Shopper", email="ira@example.test")
    visitor = make_visitor(store, contact)
    record_page_view(visitor, {"url": "https://shop.test/", "title": "Home"})
    record_page_view(visitor, {"url": "https://shop.test/p/red-set", "title": "Red set"})
    set_attributes(visitor, {"order_number": "1001", "cart_value": 120})
    older = make_ticket(store, contact, channel="email", text="Where is my parcel?")
    ticket = make_ticket(store, contact, channel="chat", text="Hi", visitor=visitor)
    sign_in(client, agent)

    response = client.get(f"/inbox/api/tickets/{ticket.id}/context")
    assert response.status_code == 200
    ctx = response.json
    assert ctx["contact"]["email"] == "ira@example.test"
    assert ctx["visitor"]["current_url"] == "https://shop.test/p/red-set"
    assert [p["title"] for p in ctx["visitor"]["pages"]] == ["Red set", "Home"]
    assert ctx["visitor"]["page_count"] == 2
    assert ctx["attributes"] == {"order_number": "1001", "cart_value": 120}
    assert [p["id"] for p in ctx["previous"]] == [older.id]
    assert ctx["previous"][0]["channel"] == "email"
    assert ctx["orders"] == []

    from helpdesk.models import Order

    db.session.add_all([
        Order(store_id=store.id, platform="shopify", platform_id="1", number="1001", contact_id=contact.id,
              currency="EUR", total=Decimal("59.90"), placed_at=utcnow() - timedelta(days=3)),
        Order(store_id=store.id, platform="shopify", platform_id="2", number="1002", contact_id=contact.id,
              currency="EUR", total=Decimal("12.00"), placed_at=utcnow() - timedelta(days=1)),
    ])
    db.session.commit()
    orders = client.get(f"/inbox/api/tickets/{ticket.id}/context").json["orders"]
    assert [(o["number"], o["total"]) for o in orders] == [("1002", "12.00"), ("1001", "59.90")]


def test_context_of_another_stores_ticket_is_not_found(client, shops, restricted):
    _store, other = shops
    foreign = make_ticket(other)
    sign_in(client, restricted)
    assert client.get(f"/inbox/api/tickets/{foreign.id}/context").status_code == 404
    assert client.get("/inbox/api/tickets/999999/context").status_code == 404


# ---- uploads --------------------------------------------------------------------------

def test_agent_upload_is_stored_for_the_tickets_store_and_attaches_to_a_reply(client, shops):
    store, _other = shops
    agent = make_agent()
    ticket = make_ticket(store)
    csrf = sign_in(client, agent)
    response = client.post("/inbox/uploads", headers={"X-CSRFToken": csrf}, content_type="multipart/form-data",
                           data={"ticket_id": str(ticket.id), "file": (io.BytesIO(png_bytes()), "dot.png", "image/png")})
    assert response.status_code == 201, response.json
    att = db.session.get(Attachment, response.json["id"])
    assert att.uploaded_by == f"agent:{agent.id}" and att.store_id == store.id and att.message_id is None
    assert response.json["url"].startswith("/media/attachments/")
    message = reply(db.session.get(Ticket, ticket.id), agent, "", attachment_ids=[att.id])
    assert [a.id for a in message.attachments] == [att.id]


def test_upload_refusals(client, shops, restricted):
    store, other = shops
    ticket = make_ticket(store)
    foreign = make_ticket(other)
    csrf = sign_in(client, restricted)

    def post(ticket_id, payload=None, headers=None):
        data = {"ticket_id": str(ticket_id)}
        if payload is not None:
            data["file"] = payload
        return client.post("/inbox/uploads", headers=headers if headers is not None else {"X-CSRFToken": csrf},
                           content_type="multipart/form-data", data=data)

    assert post(ticket.id, (io.BytesIO(png_bytes()), "a.png"), headers={}).status_code == 400  # no CSRF token
    assert post(foreign.id, (io.BytesIO(png_bytes()), "a.png")).status_code == 404
    assert post(ticket.id).status_code == 400
    refused = post(ticket.id, (io.BytesIO(b"#!/bin/sh\necho hi\n"), "run.sh", "text/x-sh"))
    assert refused.status_code == 415 and refused.json["errors"] == {"file": [refused.json["message"]]}
    assert db.session.query(Attachment).count() == 0


# ---- product cards --------------------------------------------------------------------

def test_product_search_covers_only_the_tickets_store(client, shops, restricted):
    store, other = shops
    db.session.add_all([
        Product(store_id=store.id, platform_id="red", title="Red lace set", price=Decimal("59.90"), currency="EUR",
                image_url="/static/demo/red.svg", url="https://shop.test/p/red"),
        Product(store_id=store.id, platform_id="blue", title="Blue robe", price=Decimal("40.00")),
        Product(store_id=store.id, platform_id="old", title="Red old stock", active=False),
        Product(store_id=other.id, platform_id="red2", title="Red elsewhere"),
    ])
    db.session.commit()
    ticket = make_ticket(store)
    foreign = make_ticket(other)
    sign_in(client, restricted)

    found = client.get(f"/inbox/api/tickets/{ticket.id}/products?q=red").json["items"]
    assert found == [{"id": found[0]["id"], "title": "Red lace set", "price": "59.90", "currency": "EUR",
                      "image_url": "/static/demo/red.svg", "url": "https://shop.test/p/red"}]
    everything = client.get(f"/inbox/api/tickets/{ticket.id}/products").json["items"]
    assert [p["title"] for p in everything] == ["Blue robe", "Red lace set"]
    assert client.get(f"/inbox/api/tickets/{foreign.id}/products?q=red").status_code == 404


def test_product_card_from_the_socket_keeps_known_fields_and_safe_links_only():
    card = product_card({"title": " Red set ", "price": 59.9, "currency": "eur", "url": "javascript:alert(1)",
                         "image_url": "//evil.test/x.png", "onclick": "x"})
    assert card == {"title": "Red set", "price": "59.9", "currency": "EUR", "image_url": None, "url": None}
    from helpdesk.actions import ActionError

    with pytest.raises(ActionError):
        product_card({"price": "1"})


# ---- bulk actions ---------------------------------------------------------------------

def test_bulk_status_changes_each_ticket_and_reports_the_rest(client, shops, restricted, sent_events):
    store, other = shops
    a, b, closed = make_ticket(store), make_ticket(store), make_ticket(store)
    change_status(closed, "closed")
    foreign = make_ticket(other)
    csrf = sign_in(client, restricted)
    sent_events.clear()

    response = client.post("/inbox/api/tickets/bulk", headers={"X-CSRFToken": csrf},
                           json={"ticket_ids": [a.id, b.id, closed.id, foreign.id], "status": "resolved"})
    assert response.status_code == 200, response.json
    assert sorted(t["id"] for t in response.json["updated"]) == sorted([a.id, b.id])
    errors = {e["id"]: e["status"] for e in response.json["errors"]}
    assert errors == {closed.id: 409, foreign.id: 404}
    db.session.expire_all()
    assert [db.session.get(Ticket, i).status for i in (a.id, b.id, closed.id, foreign.id)] == \
        ["resolved", "resolved", "closed", "open"]
    updated_rooms = {(e["payload"]["ticket"]["id"], e["room"]) for e in sent_events if e["event"] == "ticket.updated"}
    assert (a.id, f"store:{store.id}:agents") in updated_rooms and (b.id, f"store:{store.id}:agents") in updated_rooms


def test_bulk_assign_and_snooze(client, shops):
    store, _other = shops
    agent = make_agent()
    a, b = make_ticket(store), make_ticket(store)
    csrf = sign_in(client, agent)
    mine = client.post("/inbox/api/tickets/bulk", headers={"X-CSRFToken": csrf},
                       json={"ticket_ids": [a.id, b.id], "assignee_id": agent.id})
    assert [t["assignee"]["id"] for t in mine.json["updated"]] == [agent.id, agent.id]
    until = (utcnow() + timedelta(hours=2)).isoformat()
    snoozed = client.post("/inbox/api/tickets/bulk", headers={"X-CSRFToken": csrf},
                          json={"ticket_ids": [a.id], "status": "snoozed", "snoozed_until": until})
    assert snoozed.json["updated"][0]["status"] == "snoozed"


@pytest.mark.parametrize("body, field", [
    ({"ticket_ids": []}, "ticket_ids"),
    ({"ticket_ids": [1], "status": "gone"}, "status"),
    ({"ticket_ids": [1]}, "status"),
    ({"ticket_ids": [1], "status": "snoozed"}, "snoozed_until"),
    ({"ticket_ids": [1], "status": "snoozed", "snoozed_until": "9999-12-31T23:59:59-12:00"}, "snoozed_until"),
    ({"ticket_ids": ["1"], "status": "open"}, "ticket_ids"),
    ({"ticket_ids": [1], "status": "open", "drop": "tables"}, "drop"),
])
def test_bulk_refuses_bad_input_with_field_errors(client, shops, body, field):
    agent = make_agent()
    csrf = sign_in(client, agent)
    response = client.post("/inbox/api/tickets/bulk", headers={"X-CSRFToken": csrf}, json=body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_bulk_needs_the_csrf_token(client, shops):
    store, _other = shops
    ticket = make_ticket(store)
    sign_in(client, make_agent())
    response = client.post("/inbox/api/tickets/bulk", json={"ticket_ids": [ticket.id], "status": "resolved"})
    assert response.status_code == 400
    assert db.session.get(Ticket, ticket.id).status == "open"


# ---- queue badges ---------------------------------------------------------------------

@pytest.mark.parametrize("lookup_max", [5000, 0])  # 0: the semi-join used for a large backlog
def test_counts_and_unread_per_view_and_ticket(client, shops, restricted, monkeypatch, lookup_max):
    monkeypatch.setattr(queries, "UNREAD_LOOKUP_MAX", lookup_max)
    store, other = shops
    team = make_team("Sales", store)
    contact = make_contact(store)
    unread = make_ticket(store, contact, text="first")
    make_ticket(store, contact, channel="email", text="second")  # read below
    mine = make_ticket(store)
    make_ticket(other)  # invisible to the restricted agent
    from helpdesk.actions.tickets import assign, update_ticket

    assign(mine, restricted)
    update_ticket(unread, restricted, team_id=team.id)
    read = db.session.query(Ticket).filter_by(channel="email").one()
    mark_read(read, "agent", 10**6)
    sign_in(client, restricted)

    views = client.get("/inbox/api/counts").json["views"]
    assert views["all"] == {"total": 3, "unread": 2}
    assert views["mine"] == {"total": 1, "unread": 1}
    assert views["unassigned"] == {"total": 2, "unread": 1}
    assert views[f"team:{team.id}"] == {"total": 1, "unread": 1}
    assert views[f"store:{store.id}"] == {"total": 3, "unread": 2}
    assert f"store:{other.id}" not in views
    assert client.get("/inbox/api/counts?status=pending").json["views"]["all"] == {"total": 0, "unread": 0}
    assert client.get("/inbox/api/counts?status=nope").status_code == 422

    ids = ",".join(str(i) for i in (unread.id, read.id, mine.id))
    found = client.get(f"/inbox/api/unread?ids={ids}").json
    assert found["unread"] == {str(unread.id): 1, str(mine.id): 1}
    # The newest id each count holds, so a live message the count already has is not added twice.
    assert found["newest"] == {str(t.id): max(m.id for m in t.messages if m.author_type == "contact")
                               for t in (unread, mine)}


def test_oversized_ids_and_deeply_nested_json_are_client_errors_not_500s(client, shops):
    store, _other = shops
    ticket = make_ticket(store)
    csrf = sign_in(client, make_agent())
    assert client.get(f"/inbox/api/tickets/{2**63 + 5}/context").status_code == 404
    assert client.get(f"/inbox/api/tickets/{2**31}/context").status_code == 404
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/inbox/api/tickets/bulk", data=deep, content_type="application/json",
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 400 and "_body" in response.json["errors"]
    assert client.get(f"/inbox/api/tickets/{ticket.id}/context").status_code == 200
