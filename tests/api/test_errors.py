"""Bad input is answered in JSON with the right status, never a 500, and leaves nothing half-written."""
import base64
import json
import re

import pytest

from helpdesk.extensions import db
from helpdesk.models import Contact, Message, Ticket
from tests.api.conftest import count
from tests.factories import make_contact, make_ticket


def assert_json_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json, response.headers.get("Content-Type")
    body = response.get_json()
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    return body


def test_malformed_json_is_400(api, store):
    ticket = make_ticket(store)
    for raw in (b"{", b'{"body": "hi",}', b"\xff\xfe\x00", b"{'body': 'hi'}", b"[" * 100_000):
        body = assert_json_error(api.post(f"/tickets/{ticket.id}/messages", data=raw), 400)
        assert "JSON" in body["message"]
    assert count(Message) == 1


def test_wrong_types_are_422_with_field_messages(api, store):
    ticket = make_ticket(store)
    response = api.patch(f"/tickets/{ticket.id}", {"status": "gone", "assignee_id": "bob", "tags": "vip",
                                                     "snoozed_until": 5})
    body = assert_json_error(response, 422)
    assert body["errors"] == {
        "status": ["Must be one of: open, pending, snoozed, resolved, closed."],
        "assignee_id": ["Not a valid integer."],
        "tags": ["Not a valid list."],
        "snoozed_until": ["Not a valid datetime."],
    }


def test_unknown_fields_are_422(api, store):
    ticket = make_ticket(store)
    body = assert_json_error(api.post(f"/tickets/{ticket.id}/messages", {"body": "hi", "is_admin": True}), 422)
    assert body["errors"] == {"is_admin": ["Unknown field."]}
    body = assert_json_error(api.get("/tickets", query={"order_by": "id"}), 422)
    assert body["errors"] == {"order_by": ["Unknown field."]}
    assert count(Message) == 1


def test_body_that_is_not_an_object_is_422(api, store):
    ticket = make_ticket(store)
    for raw in (b"[]", b'"hi"', b"42", b"null"):
        body = assert_json_error(api.post(f"/tickets/{ticket.id}/messages", data=raw), 422)
        assert body["errors"]


def test_an_empty_body_is_422_where_the_body_is_required(api, store):
    """An update with no body at all is not an update with no fields: the body is required
    (the OpenAPI document says so) and must be a JSON object; ``{}`` stays what it was."""
    ticket = make_ticket(store)
    for url in (f"/contacts/{ticket.contact_id}", f"/tickets/{ticket.id}"):
        for raw in (b"", b"  \n"):
            body = assert_json_error(api.patch(url, data=raw), 422)
            assert body["errors"] == {"_schema": ["Send a JSON object."]}, url
    body = assert_json_error(api.put("/agents/me/availability", data=b""), 422)
    assert body["errors"] == {"_schema": ["Send a JSON object."], "availability": ["Missing data for required field."]}
    assert api.patch(f"/contacts/{ticket.contact_id}", {}).status_code == 200


def test_a_json_body_that_is_not_an_object_says_so(api, store):
    ticket = make_ticket(store)
    for url in (f"/contacts/{ticket.contact_id}", f"/tickets/{ticket.id}", f"/tickets/{ticket.id}/messages"):
        for raw in (b"[]", b'[{"name": "x"}]', b'"x"', b"3", b"true", b"null"):
            body = assert_json_error(api.request("POST" if url.endswith("messages") else "PATCH", url, data=raw), 422)
            assert body["errors"] == {"_schema": ["Send a JSON object."]}, (url, raw)
    assert count(Message) == 1


def test_empty_body_names_the_required_fields(api):
    body = assert_json_error(api.post("/tickets", data=b""), 422)
    assert set(body["errors"]) == {"_schema", "store_id", "contact_email", "body"}


def test_oversized_body_is_413_json_and_writes_nothing(app, api, store, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    ticket = make_ticket(store)
    payload = {"body": "x" * 5000}
    assert_json_error(api.post(f"/tickets/{ticket.id}/messages", payload), 413)
    big_ticket = {"store_id": store.id, "contact_email": "big@x.test", "body": "y" * 5000}
    assert_json_error(api.post("/tickets", big_ticket), 413)
    assert count(Message) == 1 and count(Contact) == 1


def test_nul_characters_and_huge_numbers_are_422_on_every_database(api, store):
    ticket = make_ticket(store)
    body = assert_json_error(api.patch(f"/tickets/{ticket.id}", {"subject": "a\u0000b"}), 422)
    assert list(body["errors"]) == ["subject"]
    body = assert_json_error(api.post(f"/tickets/{ticket.id}/messages", {"body": "x", "client_id": "\u0000"}), 422)
    assert list(body["errors"]) == ["client_id"]
    body = assert_json_error(api.patch(f"/tickets/{ticket.id}", {"tags": ["ok", "b\u0000d"]}), 422)
    assert list(body["errors"]) == ["tags"]
    body = assert_json_error(api.post("/tickets", {"store_id": 2**40, "contact_email": "a@b.test", "body": "x"}), 422)
    assert list(body["errors"]) == ["store_id"]
    assert_json_error(api.get("/tickets", query={"store": str(2**40)}), 422)
    assert_json_error(api.get("/tickets", query={"q": "\u0000"}), 422)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).subject == "" and count(Message) == 1


def test_lone_surrogates_are_422_with_the_field_named(api, store):
    ticket = make_ticket(store)
    for payload, field in (({"body": "hello", "client_id": "\ud800"}, "client_id"),
                           ({"body": "hello\udc00"}, "body")):
        response = api.post(f"/tickets/{ticket.id}/messages", data=json.dumps(payload))
        assert list(assert_json_error(response, 422)["errors"]) == [field]
    body = assert_json_error(api.patch(f"/tickets/{ticket.id}", {"tags": ["ok", "\ud800"]}), 422)
    assert list(body["errors"]) == ["tags"]
    assert count(Message) == 1


def test_too_long_email_is_422_before_reaching_the_database(api, store):
    email = "a" * 64 + "@" + ("b" * 63 + ".") * 4 + "com"
    body = assert_json_error(api.post("/tickets", {"store_id": store.id, "contact_email": email, "body": "x"}), 422)
    assert "contact_email" in body["errors"]
    assert count(Contact) == 0


@pytest.mark.parametrize("cursor", [
    "!!!", "e30", base64.urlsafe_b64encode(b'{"t": "yesterday", "i": 1}').decode(),
    base64.urlsafe_b64encode(b'{"t": "2026-01-01T00:00:00", "i": 1}').decode(),  # naive time
    base64.urlsafe_b64encode(b'{"t": "2026-01-01T00:00:00+00:00", "i": "1"}').decode(),
    base64.urlsafe_b64encode(b'{"t": "2026-01-01T00:00:00+00:00", "i": 99999999999}').decode(),
    base64.urlsafe_b64encode(b"[1, 2]").decode(), "x" * 201,
    # Aware, but past datetime's years once in UTC: a 500 from the database layer.
    base64.urlsafe_b64encode(b'{"t": "0001-01-01T00:00:00+14:00", "i": 1}').decode(),
    base64.urlsafe_b64encode(b'{"t": "9999-12-31T23:59:59-14:00", "i": 1}').decode(),
])
def test_bad_cursor_is_422(api, cursor):
    for url in ("/tickets", "/reports/archive"):  # both page by (last activity, id)
        body = assert_json_error(api.get(url, query={"cursor": cursor}), 422)
        assert list(body["errors"]) == ["cursor"]


def test_bad_contact_cursor_is_422(api):
    body = assert_json_error(api.get("/contacts", query={"cursor": "bm9wZQ"}), 422)
    assert list(body["errors"]) == ["cursor"]


def test_unknown_route_and_wrong_method_are_json(api, store):
    assert_json_error(api.get("/nothing-here"), 404)
    assert_json_error(api.delete("/tickets"), 405)


def test_a_wrong_method_names_the_allowed_ones(api):
    # RFC 9110: a 405 carries Allow; the JSON error handler used to drop it.
    response = api.delete("/tickets")
    assert_json_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert response.mimetype == "application/json"


def test_an_id_beyond_32_bits_is_404_for_every_method(app, api, store):
    # Werkzeug answered 405 when another view serves the same path with other methods
    # (PUT and DELETE /policies/<id>), as if the id were fine and the method wrong.
    checked = set()
    for rule in app.url_map.iter_rules():
        ids = [name for name, conv in rule._converters.items() if conv.__class__.__name__ == "_IdConverter"]
        if not rule.rule.startswith("/api/v1/") or not ids:
            continue
        for name in ids:
            values = {arg: store.id if arg in ids else "shopify" for arg in rule.arguments} | {name: 2**31}
            url = re.sub(r"<(?:[^<>:]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule[len("/api/v1"):])
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                assert_json_error(api.request(method, url, {}), 404)
                checked.add((method, rule.rule))
    assert ("DELETE", "/api/v1/policies/<int(max=2147483647):policy_id>") in checked


def test_validation_errors_write_nothing_when_a_contact_would_be_created(api, store):
    make_contact(store, email="known@x.test")
    response = api.post("/tickets", {"store_id": store.id, "contact_email": "new@x.test", "body": ""})
    assert_json_error(response, 422)
    assert count(Contact) == 1 and count(Ticket) == 0


GARBAGE_BODIES = [
    b"", b"{", b"null", b"[]", b'"text"', b"1e999", b'{"a": 1}', b"\xff\xfe",
    json.dumps({"body": {"$gt": ""}, "kind": ["note"], "client_id": 5}).encode(),
    json.dumps({"store_id": -1, "contact_email": "x@y.z", "body": "x" * 60000}).encode(),
    json.dumps({"status": None, "assignee_id": -5, "team_id": 0, "tags": [None]}).encode(),
    json.dumps({"source_id": "1", "availability": None, "name": {"x": 1}}).encode(),
    json.dumps({"to_agent_id": 2**31, "to_team_id": -2**31 - 1, "note": 1}).encode(),
    json.dumps({"shortcut": "x", "title": "t", "body": "b", "store_id": 0, "team_id": 0, "personal": False}).encode(),
    json.dumps({"snoozed_until": "2026-13-45T99:00:00+00:00", "status": "snoozed"}).encode(),
]
GARBAGE_QUERIES = [
    {"limit": "-1"}, {"limit": "1e3"}, {"cursor": "%%%"}, {"after_id": "9" * 40}, {"store": "0"},
    {"assignee": "9" * 40}, {"q": "%_\\"}, {"status": ["open", "closed"]}, {"tag": "x" * 65},
]


def test_no_input_makes_any_api_route_fail_with_500(app, api, store):
    """Every route and method of the API, fed garbage: always a JSON answer below 500."""
    ticket = make_ticket(store)
    values = {"ticket_id": ticket.id, "contact_id": ticket.contact_id, "reply_id": 1, "token_id": 424242,
              "store_id": store.id, "platform": "shopify", "subscription_id": 1, "mailbox_id": 1,
              "post_id": 1, "entry_id": 1, "report_id": 1,
              "agent_id": 1, "policy_id": 1, "location_id": 1, "inbound_id": 1, "rule_id": "no-such-rule",
              "appointment_id": 1}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<(?:[^<>:]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule[len("/api/v1"):])
        assert "<" not in url
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                for query in GARBAGE_QUERIES:
                    response = api.get(url, query=query)
                    assert response.status_code < 500 and response.is_json, (url, query)
            else:
                for raw in GARBAGE_BODIES:
                    response = api.request(method, url, data=raw)
                    assert response.status_code < 500, (method, url, raw, response.get_data(as_text=True)[:300])
                    assert response.status_code == 204 or response.is_json, (method, url, raw)
