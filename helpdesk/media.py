"""Serving stored files: attachment URLs are capabilities (signed per attachment), so an
image can sit in an <img> in the widget without a cookie, and ids cannot be guessed."""
import os

from flask import Blueprint, abort, current_app, request, send_file
from itsdangerous import BadSignature, URLSafeSerializer

from helpdesk.extensions import db
from helpdesk.models import Agent, Attachment

bp = Blueprint("media", __name__, url_prefix="/media")


def _signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="helpdesk.attachment")


def attachment_url(att, thumbnail=False):
    sig = _signer().dumps(att.id)
    return f"/media/attachments/{att.id}{'/thumbnail' if thumbnail else ''}?s={sig}"


def _checked(att_id):
    try:
        if _signer().loads(request.args.get("s", "")) != att_id:
            abort(404)
    except BadSignature:
        abort(404)
    att = db.session.get(Attachment, att_id)
    if att is None:
        abort(404)
    return att


def _send(rel, mimetype, filename=None):
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], rel)
    if not os.path.isfile(path):
        abort(404)
    as_attachment = not mimetype.startswith(("image/", "video/"))
    response = send_file(path, mimetype=mimetype, as_attachment=as_attachment, download_name=filename,
                         max_age=7 * 24 * 3600)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/attachments/<int:att_id>")
def attachment(att_id):
    att = _checked(att_id)
    return _send(att.storage_path, att.content_type, att.filename)


@bp.route("/attachments/<int:att_id>/thumbnail")
def thumbnail(att_id):
    att = _checked(att_id)
    if not att.thumbnail_path:
        abort(404)
    return _send(att.thumbnail_path, "image/jpeg")


@bp.route("/avatars/<int:agent_id>")
def avatar(agent_id):
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.avatar_path:
        abort(404)
    return _send(agent.avatar_path, "image/jpeg")


def init_app(app):
    app.register_blueprint(bp)
