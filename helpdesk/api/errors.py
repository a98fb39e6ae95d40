"""Reading input and turning every refusal into JSON.

Bad input is never a 500: malformed JSON is 400, a missing body or one that is not an
object is 422, fields with wrong types or names are 422 with marshmallow's per-field
messages, a refused action carries its own status, and the database's own refusals (a
value out of range, a row that vanished) are caught last.
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

    The body must be a JSON object; it may only be left out when the schema has no fields
    (:func:`body_required`, which the OpenAPI document follows too). Reading the body is
    what raises 413 when it is larger than MAX_CONTENT_LENGTH.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if not body_required(schema):
            return check_values(schema.load({}))
        # Named with the fields it lacks, as an empty object would be.
        raise ValidationError({"_schema": [_("Send a JSON object.")], **{
            field.data_key or name: [field.error_messages["required"]]
            for name, field in schema.load_fields.items() if field.required}})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ValidationError({"_schema": [_("Send a JSON object.")]})
    loose = _loose_booleans(schema, data)
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise ValidationError({**exc.normalized_messages(), **loose}) from None
    if loose:
        raise ValidationError(loose)
    return check_values(loaded)


def body_required(schema):
    """Whether an operation reading ``schema`` (a class or an instance) needs a request
    body: always, unless the schema has no fields to read (marking a post read)."""
    schema = schema() if isinstance(schema, type) else schema
    return bool(schema.load_fields)


def _loose_booleans(schema, data):
    """marshmallow's Boolean also reads 1, 0, "yes", "on", "t"...: right for a query string
    or a form, whose values are all text, but in a JSON body a boolean is true or false.
    Checked here, where the input is known to be JSON, so the query strings and forms
    loaded with the same fields keep reading words. null is left to the field."""
    loose = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        value = data.get(key)
        if isinstance(field, fields.Boolean) and value is not None and not isinstance(value, bool):
            loose[key] = [fields.Boolean.default_error_messages["invalid"]]
    return loose


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
