"""Widget HTTP endpoints: loader script, chat frame, visitor session, uploads; the demo storefront."""
import json

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from helpdesk.actions import ActionError
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.visitors import start_session
from helpdesk.extensions import csrf, db, limiter
from helpdesk.models import Product, Store
from helpdesk.schemas import StrictSchema
from inbox.presence import store_is_online
from widgets import history
from widgets.tokens import issue, visitor_from_token

bp = Blueprint("widgets", __name__)
csrf.exempt(bp)  # visitors authenticate with their token, never a cookie


class PageArgs(StrictSchema):
    url = fields.Str(validate=validate.Length(max=2048), load_default="")
    title = fields.Str(validate=validate.Length(max=512), load_default="")
    referrer = fields.Str(validate=validate.Length(max=2048), allow_none=True, load_default=None)


class SessionArgs(StrictSchema):
    key = fields.Str(required=True, validate=validate.Length(min=3, max=64))
    token = fields.Str(allow_none=True, validate=validate.Length(max=500))
    page = fields.Nested(PageArgs, load_default=None, allow_none=True)
    locale = fields.Str(allow_none=True, validate=validate.Length(max=16))
    timezone = fields.Str(allow_none=True, validate=validate.Length(max=64))


def store_by_key(key):
    store = db.session.scalar(select(Store).where(Store.widget_key == key)) if key else None
    if store is None:
        abort(404, description=_("Unknown widget key."))
    return store


def widget_config(store):
    """What the open widget needs to know about the store."""
    return {
        "name": store.name,
        "prechat": store.setting("prechat"),
        "greeting": store.setting("greeting") or _("Hi! How can we help you today?"),
        "offline_message": store.setting("offline_message")
        or _("We're away right now. Leave a message and we'll reply by email."),
        "position": store.setting("widget_position"),
        "online": store_is_online(store),
    }


def _json_body(schema):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return None, (jsonify({"message": _("Send a JSON object."), "errors": {"_body": [_("Malformed JSON.")]}}), 400)
    try:
        return schema.load(data), None
    except ValidationError as exc:
        return None, (jsonify({"message": _("Some fields are not valid."), "errors": exc.messages}), 422)


@bp.route("/widget/api/session", methods=["POST"])
@limiter.limit("60/minute")
def session():
    """Start or resume a visitor session: returns the visitor token, the store's widget
    configuration and the visitor's history."""
    args, error = _json_body(SessionArgs())
    if error:
        return error
    store = store_by_key(args["key"])
    visitor = visitor_from_token(args.get("token"), store)
    visitor = start_session(store, visitor, user_agent=request.headers.get("User-Agent"),
                            locale=args.get("locale"), timezone=args.get("timezone"), page=args.get("page"))
    contact = visitor.contact
    ticket = history.current_chat(visitor)
    return jsonify({
        "token": issue(visitor),
        "visitor": visitor.uid,
        "store": widget_config(store),
        "contact": {"name": contact.name, "has_email": bool(contact.email)} if contact else None,
        "ticket": {"id": ticket.id, "status": str(ticket.status)} if ticket else None,
        "messages": history.messages_after(visitor, 0),
    })


@bp.route("/widget/api/uploads", methods=["POST"])
@limiter.limit("20/minute")
def upload():
    visitor = visitor_from_token(request.headers.get("X-Visitor-Token"))
    if visitor is None:
        return jsonify({"message": _("Your session has ended; reload the page."), "status": 401}), 401
    file = request.files.get("file")
    if file is None:
        return jsonify({"message": _("Choose a file."), "errors": {"file": [_("Choose a file.")]}}), 400
    try:
        att = store_upload(visitor.store_id, f"visitor:{visitor.uid}", file.filename, file.read(),
                           claimed_type=file.mimetype)
    except ActionError as exc:
        return jsonify(exc.as_dict()), exc.status
    from helpdesk.schemas import AttachmentSchema

    return jsonify(AttachmentSchema().dump(att)), 201


@bp.route("/widget/loader.js")
def loader():
    response = current_app.send_static_file("widget/loader.js")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/widget/frame")
def frame():
    store = store_by_key(request.args.get("key"))
    return render_template("widgets/frame.html", store=store, config_json=json.dumps(widget_config(store)))


@bp.route("/demo")
@bp.route("/demo/products/<sku>")
def demo(sku=None):
    store = db.session.scalar(select(Store).where(Store.slug == "demo"))
    if store is None:
        abort(404, description=_("Run `helpdesk seed-demo` first."))
    products = db.session.scalars(select(Product).where(Product.store_id == store.id).order_by(Product.id)).all()
    product = next((p for p in products if p.platform_id == sku), None)
    if sku and product is None:
        abort(404)
    return render_template("demo/store.html", store=store, products=products, product=product)
