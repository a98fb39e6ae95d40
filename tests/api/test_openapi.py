"""The OpenAPI document covers every /api/v1 route the app really has, with schemas and security."""
import re

import pytest

from helpdesk.api.openapi import build_spec, openapi_path
from tests.factories import make_ticket

#: POST operations that take no body by design.
BODYLESS_POSTS = {"/api/v1/tickets/{ticket_id}/claim"}
#: POST operations that answer 200 with the stored result when a `client_id` is sent again.
REPLAYED_POSTS = {"/api/v1/tickets", "/api/v1/tickets/{ticket_id}/messages"}
#: GET operations that answer a file, not JSON: {path: media type}.
DOWNLOADS = {"/api/v1/mailboxes/{mailbox_id}/quarantine/{inbound_id}/raw": "message/rfc822"}


@pytest.fixture
def spec(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def api_operations(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_api_route_and_method_is_documented(app, spec):
    missing = []
    for rule, method in api_operations(app):
        operations = spec["paths"].get(openapi_path(rule), {})
        if method.lower() not in operations:
            missing.append(f"{method} {rule.rule}")
    assert missing == [], "undocumented API operations: " + ", ".join(missing)
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    real = {(openapi_path(rule), method.lower()) for rule, method in api_operations(app)}
    assert documented == real  # nothing documented that does not exist


def test_operations_have_request_and_response_schemas(app, spec):
    problems = []
    for rule, method in api_operations(app):
        path = openapi_path(rule)
        op = spec["paths"][path][method.lower()]
        replayed = method == "POST" and path in REPLAYED_POSTS
        success = [code for code in op["responses"] if code.startswith("2") and not (replayed and code == "200")]
        if len(success) != 1:
            problems.append(f"{method} {path}: success responses {success}")
            continue
        media_type = DOWNLOADS.get(path, "application/json")
        if success[0] != "204" and "schema" not in op["responses"][success[0]].get("content", {}).get(
                media_type, {}):
            problems.append(f"{method} {path}: no response schema")
        wants_body = method in ("PUT", "PATCH") or (method == "POST" and path not in BODYLESS_POSTS)
        if wants_body and "$ref" not in op.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema", {}):
            problems.append(f"{method} {path}: no request schema")
        if "401" not in op["responses"]:
            problems.append(f"{method} {path}: 401 not documented")
        declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        if declared != set(rule.arguments):
            problems.append(f"{method} {path}: path parameters {declared} != {set(rule.arguments)}")
    assert problems == []


def test_security_scheme_and_named_components(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in spec["security"]
    schemas = spec["components"]["schemas"]
    for name in ("Ticket", "TicketCreateArgs", "TicketUpdateArgs", "Message", "MessageCreateArgs", "Contact",
                 "ContactUpdateArgs", "Agent", "SavedReply", "ApiToken", "NewApiToken", "Error", "TicketPage"):
        assert name in schemas, name
    assert set(schemas["TicketCreateArgs"]["required"]) == {"store_id", "contact_email", "body"}
    query = {p["name"] for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"] if p["in"] == "query"}
    assert query == {"status", "channel", "assignee", "store", "team", "tag", "q", "overdue", "sort", "limit",
                     "cursor"}


def test_a_request_body_is_required_unless_the_schema_has_no_fields(spec):
    paths = spec["paths"]
    assert paths["/api/v1/contacts/{contact_id}"]["patch"]["requestBody"]["required"] is True
    assert paths["/api/v1/tickets"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/posts/{post_id}/read"]["post"]["requestBody"]["required"] is False
    assert spec["components"]["schemas"]["ContactUpdateArgs"]["properties"]["blocked"] == {"type": "boolean"}


def test_every_reference_resolves(spec):
    text = repr(spec)
    refs = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert refs and refs <= set(spec["components"]["schemas"])


def test_document_is_valid_openapi(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


def test_document_is_built_without_warnings(app, recwarn):
    build_spec(app)
    assert [str(w.message) for w in recwarn.list] == []


def test_document_needs_authentication(client):
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_error_answers_match_the_documented_error_schema(api, spec, store):
    osv = pytest.importorskip("openapi_schema_validator")
    schema = spec["components"]["schemas"]["Error"]
    ticket = make_ticket(store)
    # A list item's messages nest under its index; the document said only lists of strings.
    nested = api.patch(f"/tickets/{ticket.id}", {"tags": ["ok", 5], "assignee_id": "x"})
    assert nested.status_code == 422
    assert nested.get_json()["errors"]["tags"] == {"1": ["Not a valid string."]}
    flat = api.post("/tickets", {})
    for response in (nested, flat, api.get("/nothing-here")):
        osv.validate(response.get_json(), schema, cls=osv.OAS30Validator)


def test_a_replayed_client_id_answers_200_as_documented(api, spec, store):
    created = {"store_id": store.id, "contact_email": "c@x.test", "body": "Hello", "client_id": "once"}
    assert api.post("/tickets", created).status_code == 201
    assert api.post("/tickets", created).status_code == 200
    responses = spec["paths"]["/api/v1/tickets"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]
    ticket = make_ticket(store)
    note = {"kind": "note", "body": "Checked", "client_id": "n1"}
    assert api.post(f"/tickets/{ticket.id}/messages", note).status_code == 201
    assert api.post(f"/tickets/{ticket.id}/messages", note).status_code == 200
    assert "200" in spec["paths"]["/api/v1/tickets/{ticket_id}/messages"]["post"]["responses"]


def test_a_missing_store_or_team_named_in_the_request_is_a_documented_404(admin_api, store):
    spec = admin_api.get("/openapi.json").get_json()
    missing = 424242
    cases = [
        ("post", "/tickets", {"store_id": missing, "contact_email": "c@x.test", "body": "Hi"}),
        ("post", "/saved-replies", {"shortcut": "hi", "title": "Hi", "body": "Hi", "team_id": missing}),
        ("post", "/posts", {"title": "News", "audience": "store", "store_id": missing}),
        ("post", "/faq", {"question": "Returns?", "answer": "30 days.", "store_id": missing}),
        ("post", "/webhook-subscriptions", {"store_id": missing, "url": "https://example.test/hook",
                                            "topics": ["rating"]}),
    ]
    for method, url, body in cases:
        response = admin_api.request(method.upper(), url, body)
        assert response.status_code == 404, (url, response.get_data(as_text=True))
        assert "404" in spec["paths"]["/api/v1" + url][method]["responses"], url
    assert admin_api.get("/webhook-subscriptions", query={"store": missing}).status_code == 404
    assert "404" in spec["paths"]["/api/v1/webhook-subscriptions"]["get"]["responses"]


def test_integers_are_documented_within_the_32_bits_the_api_accepts(api, spec, store):
    body = spec["components"]["schemas"]["TicketCreateArgs"]["properties"]["store_id"]
    assert (body["minimum"], body["maximum"]) == (-2**31, 2**31 - 1)
    limit = next(p for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1  # a validator's own bound wins
    (ticket_id,) = spec["paths"]["/api/v1/tickets/{ticket_id}"]["get"]["parameters"]
    assert ticket_id["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    # Just past the documented bound is refused, as documented.
    response = api.post("/tickets", {"store_id": 2**31, "contact_email": "c@x.test", "body": "Hi"})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["store_id"]
