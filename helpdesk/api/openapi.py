"""The OpenAPI 3 document, built from the routes the app really has.

Each view declares what it reads and answers with ``@operation(...)``; the document walks
``app.url_map``, so a route that exists is documented or visibly missing (a test fails),
and a documented route that was removed disappears with it.
"""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import current_app, jsonify
from marshmallow import fields
from werkzeug.routing import IntegerConverter

from helpdesk.api import bp
from helpdesk.api.errors import INT_MAX, INT_MIN, ErrorSchema, body_required

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_DOCUMENTED = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"<(?:[^<>:]+:)?(\w+)>")

_ERROR_TEXT = {
    400: "Malformed JSON, or a missing/invalid CSRF token on a session-authenticated request.",
    401: "Missing, wrong or revoked API token (and no session).",
    403: "The agent's role does not allow this.",
    404: "No such resource (in the path, or a store, team or agent the request names), or it belongs to a "
         "store the agent cannot access.",
    409: "Someone else changed it first (claimed, closed, merged...).",
    413: "The request body or the message text is too large.",
    422: "A missing body or one that is not a JSON object (under `_schema`), fields with wrong types (a boolean "
         "is JSON true or false), unknown fields or invalid values; `errors` maps field to messages.",
    429: "Too many requests for this token or agent.",
}


def operation(summary, *, query=None, body=None, response=None, status=200, errors=(), tag=None,
              description=None, replay_status=None, csv=False, media_type=None):
    """Describe the view for the OpenAPI document. ``query``/``body``/``response`` are
    marshmallow schema classes or instances; ``status`` is the success code, ``replay_status``
    the one a request repeated with the same ``client_id`` gets (the stored result); ``csv``:
    the success answer can be text/csv instead (``format=csv``); ``media_type``: the success
    answer is a file of that type, not JSON (a quarantined message/rfc822)."""

    def decorate(view):
        view.openapi = {
            "summary": summary,
            "description": description,
            "query": query,
            "body": body,
            "response": response,
            "status": status,
            "replay_status": replay_status,
            "csv": csv,
            "media_type": media_type,
            "errors": tuple(errors),
            "tag": tag,
        }
        return view

    return decorate


def _schema_name(schema):
    cls = resolve_schema_cls(schema)
    name = cls.__name__[:-6] if cls.__name__.endswith("Schema") and cls.__name__ != "Schema" else cls.__name__
    modifiers = getattr(schema, "only", None) or getattr(schema, "exclude", None)
    if not isinstance(schema, type) and modifiers:
        name += "Brief"  # a subset of the full schema, e.g. the contact inside a ticket
    return name


def openapi_path(rule):
    return _PARAM.sub(r"{\1}", rule.rule)


def _int32(converter, field, ret, **kwargs):
    """Every integer read from a request is refused outside 32 bits (errors.check_values):
    say so where no validator already set a bound."""
    if not isinstance(field, fields.Integer):
        return {}
    return {k: v for k, v in (("minimum", INT_MIN), ("maximum", INT_MAX)) if k not in ret}


def _path_parameters(rule):
    params = []
    for name in sorted(rule.arguments):
        converter = rule._converters.get(name)
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 0, "maximum": converter.max or INT_MAX}
        else:
            schema = {"type": "string"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return params


def _operation(rule, method, doc):
    responses = {}
    success = {"description": "Success."}
    if doc["response"] is not None:
        success["content"] = {"application/json": {"schema": doc["response"]}}
    if doc["csv"]:
        success.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}
    if doc["media_type"]:
        success.setdefault("content", {})[doc["media_type"]] = {"schema": {"type": "string", "format": "binary"}}
    responses[str(doc["status"])] = success
    if doc["replay_status"] is not None:
        responses[str(doc["replay_status"])] = {
            **success,
            "description": "Repeated with a `client_id` already used: the stored result, nothing stored twice.",
        }
    codes = {401, 429, *doc["errors"]}
    if method not in SAFE_METHODS:
        codes |= {400, 413, 422}
    if doc["query"] is not None:
        codes.add(422)
    if rule.arguments:
        codes.add(404)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error."),
            "content": {"application/json": {"schema": ErrorSchema}},
        }
    op = {
        "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
        "summary": doc["summary"],
        "tags": [doc["tag"] or rule.rule.split("/")[3]],
        "parameters": _path_parameters(rule),
        "responses": responses,
    }
    if doc["description"]:
        op["description"] = doc["description"]
    if doc["query"] is not None:
        op["parameters"].append({"in": "query", "schema": doc["query"]})
    if doc["body"] is not None:
        op["requestBody"] = {"required": body_required(doc["body"]),
                             "content": {"application/json": {"schema": doc["body"]}}}
    return op


def build_spec(app):
    """The OpenAPI document (a dict) for every documented /api/v1 route of ``app``."""
    marshmallow = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Helpdesk API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[marshmallow],
        info={"description": "Tickets, messages, contacts, agents and saved replies of the helpdesk. "
                             "Authenticate with `Authorization: Bearer <token>` (create one with "
                             "POST /api/v1/tokens) or, from the inbox, with the session cookie plus "
                             "an `X-CSRFToken` header on unsafe methods."},
    )
    marshmallow.converter.add_attribute_function(_int32)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"})
    spec.options["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
    prefix = bp.url_prefix + "/"
    paths = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(prefix):
            continue
        doc = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if doc is None:
            continue  # undocumented: left out, and the completeness test says so
        path = paths.setdefault(openapi_path(rule), {})
        for method in sorted(rule.methods & set(_DOCUMENTED)):
            path[method.lower()] = _operation(rule, method, doc)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
@operation("This OpenAPI document.", response={"type": "object"}, tag="meta")
def openapi_document():
    spec = current_app.extensions.get("helpdesk_openapi")
    if spec is None:
        spec = current_app.extensions["helpdesk_openapi"] = build_spec(current_app)
    return jsonify(spec)
