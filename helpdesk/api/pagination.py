"""Keyset (cursor) pagination and the list envelopes of the API.

A cursor is opaque to clients: base64url of the sort key of the last row of a page. The
next page starts strictly after it, so rows inserted meanwhile never shift a page into
duplicates or gaps the way OFFSET does.
"""
import base64
import binascii
import json
from datetime import datetime, timezone

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import and_, or_

from helpdesk.api.errors import INT_MAX
from helpdesk.schemas import (
    AgentSchema,
    ApiTokenSchema,
    AppointmentSchema,
    ContactSchema,
    MessageSchema,
    SavedReplySchema,
    TicketSchema,
)


def encode_cursor(payload):
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        payload = None
    if not isinstance(payload, dict):
        raise ValidationError({"cursor": [_("Invalid cursor.")]})
    return payload


def _cursor_id(payload):
    value = payload.get("i")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= INT_MAX:
        raise ValidationError({"cursor": [_("Invalid cursor.")]})
    return value


# ---- (last_activity_at desc, id desc): tickets ----------------------------------------

def activity_cursor(row):
    return encode_cursor({"t": row.last_activity_at.isoformat(), "i": row.id})


def _cursor_moment(payload):
    try:
        moment = datetime.fromisoformat(payload.get("t"))
        # The column keeps UTC: an offset that pushes the time past datetime's years
        # ("0001-01-01T00:00:00+14:00") overflowed in the database layer, a 500.
        moment = moment.astimezone(timezone.utc) if moment.tzinfo is not None else None
    except (TypeError, ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValidationError({"cursor": [_("Invalid cursor.")]})
    return moment


def after_activity_cursor(query, model, cursor):
    """Rows after ``cursor`` in (last_activity_at desc, id desc) order."""
    payload = _decode(cursor)
    moment = _cursor_moment(payload)
    row_id = _cursor_id(payload)
    return query.where(or_(
        model.last_activity_at < moment,
        and_(model.last_activity_at == moment, model.id < row_id),
    ))


# ---- (starts_at asc, id asc): appointments, soonest first ------------------------------

def start_cursor(row):
    return encode_cursor({"t": row.starts_at.isoformat(), "i": row.id})


def after_start_cursor(query, model, cursor):
    """Rows after ``cursor`` in (starts_at asc, id asc) order."""
    payload = _decode(cursor)
    moment = _cursor_moment(payload)
    row_id = _cursor_id(payload)
    return query.where(or_(model.starts_at > moment, and_(model.starts_at == moment, model.id > row_id)))


# ---- (reply_due_at asc, nulls last, id asc): tickets by reply due -------------------------

def due_order(model):
    """The reply due soonest first; tickets with nothing due after them, oldest first."""
    return model.reply_due_at.asc().nulls_last(), model.id.asc()


def due_cursor(row):
    return encode_cursor({"o": "due", "t": row.reply_due_at.isoformat() if row.reply_due_at else None,
                          "i": row.id})


def after_due_cursor(query, model, cursor):
    """Rows after ``cursor`` in ``due_order``."""
    payload = _decode(cursor)
    if payload.get("o") != "due":  # a cursor of another order
        raise ValidationError({"cursor": [_("Invalid cursor.")]})
    row_id = _cursor_id(payload)
    if payload.get("t") is None:
        return query.where(model.reply_due_at.is_(None), model.id > row_id)
    moment = _cursor_moment(payload)
    return query.where(or_(
        model.reply_due_at > moment,
        and_(model.reply_due_at == moment, model.id > row_id),
        model.reply_due_at.is_(None),
    ))


# ---- id desc: contacts -----------------------------------------------------------------

def id_cursor(row):
    return encode_cursor({"i": row.id})


def after_id_cursor(query, model, cursor):
    return query.where(model.id < _cursor_id(_decode(cursor)))


def page(rows, limit, make_cursor):
    """``rows`` were fetched with ``limit + 1``: the extra row only says there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (make_cursor(rows[-1]) if more and rows else None)


# ---- envelopes (what list endpoints answer; also documented in OpenAPI) -----------------

class TicketPageSchema(Schema):
    items = fields.List(fields.Nested(TicketSchema))
    next_cursor = fields.Str(allow_none=True,
                             metadata={"description": "Pass as `cursor` for the next page; null at the end."})


class ContactPageSchema(Schema):
    items = fields.List(fields.Nested(ContactSchema))
    next_cursor = fields.Str(allow_none=True)


class AppointmentPageSchema(Schema):
    items = fields.List(fields.Nested(AppointmentSchema))
    next_cursor = fields.Str(allow_none=True)


class MessagePageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema))
    has_more = fields.Bool(metadata={"description": "More messages follow; ask again with after_id = the last id."})


class AgentListSchema(Schema):
    items = fields.List(fields.Nested(AgentSchema(only=("id", "name", "title", "avatar_url", "availability"))))


class SavedReplyListSchema(Schema):
    items = fields.List(fields.Nested(SavedReplySchema))


class ApiTokenListSchema(Schema):
    items = fields.List(fields.Nested(ApiTokenSchema))
