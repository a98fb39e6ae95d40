"""Widget HTTP endpoints: loader script, chat frame, visitor session, uploads; the demo storefront."""
import re
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from helpdesk import i18n
from helpdesk.actions import ActionError
from helpdesk.actions.attachments import MAX_UPLOAD_BYTES, store_upload
from helpdesk.actions.visitors import identity_signature, record_page_view, start_session
from helpdesk.extensions import csrf, db, limiter
from helpdesk.models import Product, Store
from helpdesk.schemas import AttachmentSchema, StrictSchema
from helpdesk.text import has_lone_surrogate
from inbox.presence import store_is_online
from widgets import history
from widgets.proactive import public_rules
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
    # Shoppers read the store's languages, chosen by their browser (or the shop's page).
    i18n.use_store_locale(store)
    return store


def widget_config(store):
    """What the open widget needs to know about the store, in the shopper's language: the
    store's own greeting and offline notice for it (plain text), else the default ones."""
    locale = i18n.current()
    return {
        "name": store.name,
        "prechat": store.setting("prechat"),
        "greeting": i18n.store_text(store, "greeting") or _("Hi! How can we help you today?"),
        "offline_message": i18n.store_text(store, "offline_message")
        or _("We're away right now. Leave a message and we'll reply by email."),
        "position": store.setting("widget_position"),
        "online": store_is_online(store),
        "locale": locale,
        "dir": "rtl" if i18n.is_rtl(locale) else "ltr",
    }


def json_object(data):
    """Whether a request's decoded JSON is the object the public endpoints take. Lone
    surrogates ("\ud800") are valid JSON but not storable text: malformed, not a 500."""
    return isinstance(data, dict) and not has_lone_surrogate(data)


def malformed_json():
    """The 400 body for a request whose JSON is not an object (see ``json_object``)."""
    return jsonify({"message": _("Send a JSON object."), "errors": {"_body": [_("Malformed JSON.")]}})


def _json_body(schema):
    data = request.get_json(silent=True)
    if not json_object(data):
        return None, (malformed_json(), 400)
    try:
        return schema.load(data), None
    except ValidationError as exc:
        return None, (jsonify({"message": _("Some fields are not valid."), "errors": i18n.translate_errors(exc.messages)}), 422)


@bp.route("/widget/api/session", methods=["POST"])
@limiter.limit("60/minute")
def session():
    """Start or resume a visitor session: returns the visitor token, the store's widget
    configuration and the visitor's history."""
    args, error = _json_body(SessionArgs())
    if error:
        return error
    store = store_by_key(args["key"])
    # The panel sends the language it was rendered in; recorded for the agents and emails.
    locale = i18n.use_store_locale(store, args.get("locale"))
    visitor = visitor_from_token(args.get("token"), store)
    visitor = start_session(store, visitor, user_agent=request.headers.get("User-Agent"),
                            locale=locale, timezone=args.get("timezone"), page=args.get("page"))
    contact = visitor.contact
    ticket = history.current_chat(visitor)
    return jsonify({
        "token": issue(visitor),
        "visitor": visitor.uid,
        "store": widget_config(store),
        "contact": {"name": contact.name, "has_email": bool(contact.email)} if contact else None,
        # ``rated``: a chat an agent resolved while the shopper was away still asks for stars.
        "ticket": {"id": ticket.id, "status": str(ticket.status), "rated": ticket.rating is not None}
        if ticket else None,
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
    return jsonify(AttachmentSchema().dump(att)), 201


@bp.route("/widget/loader.js")
def loader():
    response = current_app.send_static_file("widget/loader.js")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.\-]{1,253}$")


def parent_origin(store, origin):
    """The storefront origin the frame exchanges postMessages with ("" = none allowed).
    With a store domain configured only that domain (or a subdomain) and this app's own
    pages (the demo) may talk to the frame, so a foreign site cannot read the token."""
    if not origin or not _ORIGIN.match(origin):
        return ""
    host = (urlsplit(origin).hostname or "").lower()
    domain = (store.domain or "").lower().strip(".")
    if domain and _DOMAIN.match(domain):
        own = (urlsplit(request.host_url).hostname or "").lower()
        if not (host == domain or host.endswith("." + domain) or host == own):
            return ""
    return origin


def _frame_headers(response, store):
    ancestors = "*"
    domain = (store.domain or "").strip(".")
    if domain and _DOMAIN.match(domain):
        ancestors = f"'self' {domain}:* *.{domain}:*"
    host = request.host
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
        f"media-src 'self'; connect-src 'self' ws://{host} wss://{host}; frame-ancestors {ancestors}; "
        "base-uri 'none'; form-action 'none'"
    )
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Accept-Language")  # the frame is rendered in the shopper's language
    return response


@bp.route("/widget/frame")
def frame():
    """The chat panel the loader puts in an iframe (everything the open widget loads)."""
    store = store_by_key(request.args.get("key"))
    boot = {
        "key": store.widget_key,
        "parent": parent_origin(store, request.args.get("origin")),
        "max_length": current_app.config["MAX_MESSAGE_LENGTH"],
        "max_upload": MAX_UPLOAD_BYTES,
        "store": widget_config(store),
    }
    response = current_app.make_response(render_template("widgets/frame.html", store=store, boot=boot,
                                                          labels=i18n.prechat_labels(store)))
    return _frame_headers(response, store)


class PingArgs(StrictSchema):
    key = fields.Str(required=True, validate=validate.Length(min=3, max=64))
    token = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=500))
    page = fields.Nested(PageArgs, load_default=None, allow_none=True)
    lang = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=16))


def launcher_labels(store):
    """The launcher's accessible names, in the shopper's language (the loader holds no text)."""
    return {"open": _("Open chat"), "close": _("Close chat"), "title": _("Chat with %(store)s", store=store.name)}


@bp.route("/widget/api/ping", methods=["POST"])
@limiter.limit("120/minute")
def ping():
    """Sent by the loader on each page (before any iframe exists): answers the store's
    proactive rules and, for a returning shopper, records the page for the agents and says
    whether agent replies are waiting unread. A CORS "simple" request (text/plain JSON),
    so it needs no preflight."""
    data = request.get_json(force=True, silent=True)
    if not json_object(data):
        return _cors(malformed_json()), 400
    try:
        args = PingArgs().load(data)
    except ValidationError as exc:
        return _cors(jsonify({"message": _("Some fields are not valid."), "errors": i18n.translate_errors(exc.messages)})), 422
    store = store_by_key(args["key"])
    i18n.use_store_locale(store, args["lang"])
    rules = public_rules(store)
    labels = launcher_labels(store)
    visitor = visitor_from_token(args["token"], store)
    if visitor is None:
        return _cors(jsonify({"unread": 0, "known": False, "rules": rules, "labels": labels}))
    if args.get("page"):
        record_page_view(visitor, args["page"])
    return _cors(jsonify({"unread": history.unread_count(visitor), "known": True, "rules": rules, "labels": labels}))


def _cors(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


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
    customer = {"customer_id": "demo-customer-1", "name": "Demo Customer", "email": "customer@demo.store",
                "signature": identity_signature(store, "demo-customer-1")}  # as the shop's server would
    response = current_app.make_response(render_template("demo/store.html", store=store, products=products,
                                                          product=product, customer=customer))
    response.headers["Cache-Control"] = "no-store"
    return response
