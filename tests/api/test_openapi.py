"""The OpenAPI document covers every /api/v1 route the app really has, with schemas and security."""
import re

import pytest

from helpdesk.api.openapi import build_spec, openapi_path

#: POST operations that take no body by design.
BODYLESS_POSTS = {"/api/v1/tickets/{ticket_id}/claim"}


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
        success = [code for code in op["responses"] if code.startswith("2")]
        if len(success) != 1:
            problems.append(f"{method} {path}: success responses {success}")
            continue
        if success[0] != "204" and "schema" not in op["responses"][success[0]].get("content", {}).get(
                "application/json", {}):
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
    assert query == {"status", "channel", "assignee", "store", "team", "tag", "q", "limit", "cursor"}


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
