"""Reading input and turning every refusal into JSON.

Bad input is never a 500: malformed JSON is 400, fields with wrong types or names are
422 with marshmallow's per-field messages, a refused action carries its own status, and
the database's own refusals (a value out of range, a row that vanished) are caught last.
Oversized bodies (413), unknown routes (404/405) and rate limits (429) are HTTP errors that
the app-level handler already answers in JSON for /api/ paths.
"""
import json
import logging

from flask import jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import BadRequest

from helpdesk.actions import ActionError
from helpdesk.extensions import db
from helpdesk.i18n import translate_errors
from helpdesk.text import has_lone_surrogate

log = logging.getLogger(__name__)

#: Every id and count in this API fits a 32-bit INTEGER column; PostgreSQL refuses bigger
#: values with an error, SQLite silently finds nothing. Refusing them here is the same on both.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class ErrorSchema(Schema):
    """The shape of every error answer (documented in the OpenAPI document)."""

    message = fields.Str(required=True)
    status = fields.Int(required=True)
    # A field's messages, or for a list's items and a mapping's entries an object of the
    # same shape keyed by index or key (marshmallow nests them: {"tags": {"0": [...]}}).
    errors = fields.Dict(keys=fields.Str(), values=fields.Raw(metadata={"anyOf": [
        {"type": "array", "items": {"type": "string"}}, {"type": "object"}]}))


def error_response(message, status, errors=None):
    body = {"message": message, "status": status}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


def load_json(schema):
    """The request body parsed as JSON and loaded with ``schema`` (an instance).

    An empty body counts as ``{}`` so the schema names the required fields. Reading the
    body is what raises 413 when it is larger than MAX_CONTENT_LENGTH.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest(_("The request body is not valid JSON.")) from None
    return check_values(schema.load(data))


def load_query(schema):
    """The query string loaded with ``schema`` (first value of each parameter)."""
    return check_values(schema.load(request.args.to_dict(flat=True)))


def check_values(data):
    """Refuse values no column can store the same way on every database: NUL characters
    (PostgreSQL rejects them in text), lone surrogates ("\ud800", valid in JSON but not
    encodable as UTF-8) and integers outside 32 bits. Every loader of request input calls
    it after its schema, the inbox's pages as well as the API."""
    errors = {}
    for key, value in data.items():
        problem = _problem(value)
        if problem:
            errors[key] = [problem]
    if errors:
        raise ValidationError(errors)
    return data


def _problem(value):
    if isinstance(value, str):
        if "\x00" in value:
            return _("Contains a NUL character.")
        return _("Contains a character that is not valid text.") if has_lone_surrogate(value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else _("Number out of range.")
    if isinstance(value, (list, tuple)):
        return next((p for p in map(_problem, value) if p), None)
    if isinstance(value, dict):
        return next((p for p in map(_problem, [*value, *value.values()]) if p), None)
    return None


def _validation_error(exc):
    messages = translate_errors(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
    return error_response(_("Some fields are not valid."), 422, messages)


def _action_error(exc):
    body = exc.as_dict()
    return error_response(body["message"], exc.status, body.get("errors"))


def _integrity_error(exc):
    # Actions roll back before re-raising; this is the last line for a race the action
    # did not foresee (e.g. a referenced row deleted meanwhile).
    db.session.rollback()
    log.warning("integrity error in API request", extra={"path": request.path})
    return error_response(_("The request conflicts with the current data; reload and try again."), 409)


def _data_error(exc):
    db.session.rollback()
    log.info("database refused a value", extra={"path": request.path})
    return error_response(_("A value is too long or out of range."), 422)


def register(bp):
    bp.register_error_handler(ValidationError, _validation_error)
    bp.register_error_handler(ActionError, _action_error)
    bp.register_error_handler(IntegrityError, _integrity_error)
    bp.register_error_handler(DataError, _data_error)
