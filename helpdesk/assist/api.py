"""The inbox's writing-assist endpoints' input and output (routes: inbox/views.py)."""
from flask_login import current_user
from marshmallow import fields, validate

from helpdesk.assist import ACTIONS
from helpdesk.schemas import StrictSchema

#: Requests per agent (not per address: agents of one office share an IP). Each one may
#: cost a provider call, so a stuck key or a script cannot run up a bill.
RATE = "20/minute;200/hour"


def agent_key():
    return f"assist-agent:{current_user.get_id()}"


class AssistArgs(StrictSchema):
    action = fields.Str(required=True, validate=validate.OneOf(ACTIONS))
    # Longer drafts are cut to MAX_MESSAGE_LENGTH by the action; this only bounds the body.
    draft = fields.Str(load_default="", validate=validate.Length(max=20000))


def request_json(row):
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "action": row.action,
        "status": row.status,
        "result": row.result,
        "error": row.error,
        "language": row.language,
        "engine": row.engine,
    }
