"""The inbox page and the JSON endpoints the page needs beyond the REST API (/api/v1).

Every endpoint here works for the signed-in agent (session cookie; POSTs carry the CSRF
token in ``X-CSRFToken``), checks store access through ``inbox.queries.ticket_for_agent``
(404, never 403, for another store's ticket) and changes state only through actions.
"""
from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, or_, select
from werkzeug.exceptions import HTTPException

from helpdesk.actions import ActionError
from helpdesk.actions.agents import visible_store_ids
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.ratings import REASON_LABELS
from helpdesk.actions.service_levels import targets_by_channel
from helpdesk.actions.tickets import bulk_update
from helpdesk.assist import api as assist_api
from helpdesk.assist import capabilities as assist_capabilities
from helpdesk.extensions import db, limiter
from helpdesk.i18n import translate_errors
from helpdesk.signatures import reply_signature_text
from helpdesk.models import Channel, Message, Store, Team, TicketStatus
from helpdesk.actions.academy import progress_payload
from helpdesk.schemas import (AcademyProgressSchema, AgentSchema, AttachmentSchema, StorableAwareDateTime, StrictSchema,
                              TicketSchema)
from inbox import queries

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

#: Largest number of tickets one bulk action may change.
BULK_MAX = 100


def _json_error(message, status, field=None):
    body = {"message": message, "status": status}
    if field:
        body["errors"] = {field: [message]}
    return jsonify(body), status


@bp.errorhandler(ActionError)
def _action_error(exc):
    db.session.rollback()
    return _json_error(exc.message, exc.status, exc.field)


@bp.errorhandler(HTTPException)
def _http_error(exc):
    if request.path.startswith(("/inbox/api/", "/inbox/uploads")):
        return _json_error(exc.description or exc.name, exc.code)
    return exc


@bp.before_request
def _json_needs_sign_in():
    # The page redirects to the sign-in form; its JSON endpoints answer 401 instead.
    if not current_user.is_authenticated and request.path.startswith(("/inbox/api/", "/inbox/uploads")):
        return _json_error(_("Sign in again."), 401)
    return None


def _agent():
    return current_user._get_current_object()


def _ticket(ticket_id):
    return queries.ticket_for_agent(_agent(), ticket_id)


# ---- the page -------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    agent = _agent()
    store_ids = visible_store_ids(agent)
    stores = db.session.scalars(select(Store).where(Store.id.in_(store_ids)).order_by(Store.name)).all() \
        if store_ids else []
    teams = db.session.scalars(
        select(Team).where(or_(Team.store_id.is_(None), Team.store_id.in_(store_ids or [-1])))
        .order_by(Team.name)).all()
    bootstrap = {
        "me": AgentSchema().dump(agent),
        # ``signature``: what ends my email replies in that store (the composer shows it).
        # ``reply_targets``: minutes per channel, so the queue tells a reply due soon by itself.
        "stores": [{"id": s.id, "name": s.name, "signature": reply_signature_text(s, agent),
                    "reply_targets": targets_by_channel(s)} for s in stores],
        "teams": [{"id": t.id, "name": t.name, "store_id": t.store_id} for t in teams],
        "statuses": TicketStatus.values(),
        # Where live updates start: a reconnect resumes after this id, never from the start.
        "last_message_id": db.session.scalar(select(func.max(Message.id))) or 0,
        "replay_limit": queries.REPLAY_LIMIT,
        "channels": Channel.values(),
        # The onboarding academy's state: its panel ticks off the practice chat's steps.
        "academy": AcademyProgressSchema().dump(progress_payload(agent)),
        "assist": assist_capabilities(),
        # The reasons a customer can give with their stars, in my language (the rating on a ticket).
        "rating_reasons": {key: str(label) for key, label in REASON_LABELS.items()},
    }
    return render_template("inbox/index.html", bootstrap=bootstrap)


# ---- queue badges ---------------------------------------------------------------------

@bp.get("/api/counts")
@login_required
def counts():
    """Tickets and unread tickets per view, for the sidebar (``?status=`` as in the list)."""
    status = request.args.get("status") or None
    if status is not None and status not in TicketStatus.values():
        return _json_error(_("Unknown status."), 422, "status")
    return jsonify({"views": queries.view_counts(_agent(), status)})


@bp.get("/api/home")
@login_required
def home():
    """The home panel: shoppers online and chats waiting per store, the go-available nudge,
    my attributed sales (inbox.home)."""
    from inbox.home import home_panel

    return jsonify(home_panel(_agent()))


@bp.get("/api/unread")
@login_required
def unread():
    """Unread customer messages per ticket: ``?ids=1,2,3`` (at most 200); ``newest``: the
    id of the newest message each count holds."""
    ids = [int(i) for i in (request.args.get("ids") or "").split(",") if i.strip().isdigit() and len(i) < 10]
    found = queries.unread_by_ticket(_agent(), ids)
    return jsonify({"unread": {str(k): n for k, (n, _newest) in found.items()},
                    "newest": {str(k): newest for k, (_n, newest) in found.items()}})


# ---- context panel --------------------------------------------------------------------

@bp.get("/api/tickets/<int:ticket_id>/context")
@login_required
def ticket_context(ticket_id):
    return jsonify(queries.ticket_context(_ticket(ticket_id)))


# ---- uploads --------------------------------------------------------------------------

@bp.post("/uploads")
@login_required
@limiter.limit("60/minute")
def upload():
    """An agent's attachment for a later reply on ``ticket_id`` (multipart: ``file``, ``ticket_id``)."""
    raw_id = request.form.get("ticket_id", "")
    ticket = _ticket(int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None)
    file = request.files.get("file")
    if file is None:
        return _json_error(_("Choose a file."), 400, "file")
    att = store_upload(ticket.store_id, f"agent:{_agent().id}", file.filename, file.read(),
                       claimed_type=file.mimetype)
    return jsonify(AttachmentSchema().dump(att)), 201


# ---- product cards --------------------------------------------------------------------

@bp.get("/api/tickets/<int:ticket_id>/products")
@login_required
def products(ticket_id):
    """The ticket's store catalog, searched by ``q``, as product cards ready to send."""
    ticket = _ticket(ticket_id)
    rows = queries.search_products(ticket.store_id, request.args.get("q"))
    return jsonify({"items": [queries.product_card(p) for p in rows]})


# ---- writing assist -------------------------------------------------------------------

@bp.post("/api/tickets/<int:ticket_id>/assist")
@login_required
@limiter.limit(assist_api.RATE, key_func=assist_api.agent_key)
def assist(ticket_id):
    """Ask for a suggestion on the reply draft; it arrives as ``assist.result`` (202)."""
    from helpdesk.actions.assist import request_assist

    ticket = _ticket(ticket_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Send a JSON object."), 400)
    try:
        args = assist_api.AssistArgs().load(data)
    except ValidationError as exc:
        return jsonify({"message": _("Some fields are not valid."), "status": 422, "errors": translate_errors(exc.messages)}), 422
    row = request_assist(_agent(), ticket, args["action"], args["draft"])
    return jsonify(assist_api.request_json(row)), 202


@bp.get("/api/assist/<int:request_id>")
@login_required
def assist_status(request_id):
    """One of the agent's own assist requests (the page asks when the event is late)."""
    from helpdesk.models import AssistRequest

    row = db.session.get(AssistRequest, request_id)
    if row is None or row.agent_id != _agent().id:
        return _json_error(_("No such suggestion."), 404)
    return jsonify(assist_api.request_json(row))


# ---- bulk actions ---------------------------------------------------------------------

class BulkArgs(StrictSchema):
    ticket_ids = fields.List(fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                             required=True, validate=validate.Length(min=1, max=BULK_MAX))
    status = fields.Str(validate=validate.OneOf(TicketStatus.values()))
    snoozed_until = StorableAwareDateTime()
    assignee_id = fields.Int(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))


@bp.post("/api/tickets/bulk")
@login_required
def bulk():
    """Change status and/or assignee of many tickets at once. Tickets the agent cannot see are
    reported as not found; each ticket succeeds or fails on its own."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Send a JSON object."), 400)
    try:
        args = BulkArgs().load(data)
    except ValidationError as exc:
        return jsonify({"message": _("Some fields are not valid."), "status": 422, "errors": translate_errors(exc.messages)}), 422
    changes = {k: args[k] for k in ("status", "snoozed_until", "assignee_id") if k in args}
    if "status" not in changes and "assignee_id" not in changes:
        return _json_error(_("Choose a status or an assignee."), 422, "status")
    if changes.get("status") == TicketStatus.SNOOZED.value and not changes.get("snoozed_until"):
        return _json_error(_("Snooze until a time in the future."), 422, "snoozed_until")
    agent = _agent()
    tickets, errors = [], []
    for ticket_id in dict.fromkeys(args["ticket_ids"]):
        try:
            tickets.append(queries.ticket_for_agent(agent, ticket_id))
        except ActionError:
            errors.append({"id": ticket_id, "message": _("No such ticket."), "status": 404})
    updated, failed = bulk_update(tickets, agent, **changes)
    errors += [{"id": t.id, "message": exc.message, "status": exc.status} for t, exc in failed]
    return jsonify({"updated": TicketSchema(many=True).dump(updated), "errors": errors})

