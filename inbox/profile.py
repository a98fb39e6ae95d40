"""The agent's own profile: name, title and photo, the way shoppers see them in the widget,
and the signature that ends the agent's email replies.

A plain page with a form (works without JavaScript: POST + redirect, CSRF token in the
form), and JSON endpoints for the same changes (``X-CSRFToken``). Input is loaded with a
marshmallow schema; every change goes through ``helpdesk.actions.profile``.
"""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from helpdesk.actions import ActionError
from helpdesk.actions.profile import MAX_PHOTO_BYTES, save_profile, set_photo, update_profile
from helpdesk.extensions import db, limiter
from helpdesk.i18n import translate_errors
from helpdesk.schemas import AgentSchema, ProfileArgs
from helpdesk.signatures import MAX_SIGNATURE_LENGTH
from inbox.appointments import json_body
from inbox.views import _action_error, _http_error, _json_error, _json_needs_sign_in

bp = Blueprint("profile", __name__, url_prefix="/inbox")
bp.register_error_handler(HTTPException, _http_error)
bp.before_request(_json_needs_sign_in)


def _agent():
    return current_user._get_current_object()


def _json():
    return request.path.startswith("/inbox/api/")


@bp.errorhandler(ActionError)
def _refused(exc):
    if _json():
        return _action_error(exc)
    db.session.rollback()
    return _page(errors={exc.field or "_schema": [exc.message]}, status=exc.status if exc.status < 500 else 400)


def _page(errors=None, values=None, status=200):
    agent = _agent()
    values = values or {"name": agent.name, "title": agent.title, "signature": agent.signature or ""}
    return render_template("inbox/profile.html", me=AgentSchema().dump(agent), values=values, errors=errors or {},
                           max_mb=MAX_PHOTO_BYTES // (1024 * 1024), max_signature=MAX_SIGNATURE_LENGTH), status


_FIELDS = ("name", "title", "signature")


def _load_profile(data):
    args = ProfileArgs().load(data)
    if "signature" in args and args["signature"] is None:
        args["signature"] = ""  # null removes it; left out, it stays as it is
    return args


# ---- the page ------------------------------------------------------------------------------

@bp.get("/profile")
@login_required
def page():
    return _page()


@bp.post("/profile")
@login_required
@limiter.limit("30/minute")
def save():
    """The form: name, title and signature, and a new photo or its removal, in one submit."""
    form = request.form
    try:
        args = _load_profile({k: form.get(k, "") for k in _FIELDS if k in form})
    except ValidationError as exc:
        return _page(errors=translate_errors(exc.messages), values={k: form.get(k, "") for k in _FIELDS},
                     status=422)
    photo = request.files.get("photo")
    has_photo = photo is not None and bool(photo.filename)
    save_profile(_agent(), name=args["name"], title=args["title"], signature=args.get("signature"),
                 photo=photo.read(MAX_PHOTO_BYTES + 1) if has_photo else None,
                 claimed_type=photo.mimetype if has_photo else None, remove_photo=bool(form.get("remove_photo")))
    flash(_("Your profile is saved."))
    return redirect(url_for("profile.page"))


# ---- JSON ----------------------------------------------------------------------------------

@bp.get("/api/profile")
@login_required
def get_json():
    return jsonify(AgentSchema().dump(_agent()))


@bp.post("/api/profile")
@login_required
@limiter.limit("30/minute")
def save_json():
    data = json_body()
    if not isinstance(data, dict):
        return _json_error(_("Send a JSON object."), 400)
    try:
        args = _load_profile(data)
    except ValidationError as exc:
        return jsonify({"message": _("Some fields are not valid."), "status": 422, "errors": translate_errors(exc.messages)}), 422
    return jsonify(AgentSchema().dump(update_profile(_agent(), **args)))


@bp.post("/api/profile/photo")
@login_required
@limiter.limit("30/minute")
def photo_json():
    """multipart ``photo``; an empty POST (no file) with ``remove=1`` removes the photo."""
    photo = request.files.get("photo")
    if photo is None or not photo.filename:
        if request.form.get("remove"):
            return jsonify(AgentSchema().dump(set_photo(_agent(), None)))
        return _json_error(_("Choose a photo."), 400, "photo")
    agent = set_photo(_agent(), photo.read(MAX_PHOTO_BYTES + 1), claimed_type=photo.mimetype)
    return jsonify(AgentSchema().dump(agent))
