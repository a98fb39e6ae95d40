"""The contact form: an embeddable page (iframe, or a script tag that inserts the iframe)
and a JSON endpoint, per store (by its public widget key).

    GET  /form/<widget key>              the form page (no script; works inside an iframe)
    POST /form/<widget key>              its plain HTML submission
    GET  /form/<widget key>/embed.js     <script src=…> inserts the iframe where it stands
    GET  /api/forms/<widget key>         the store's form fields (for a form of your own)
    POST /api/forms/<widget key>         JSON submission

Fields are configured per store (``settings["contact_form"]["fields"]``: required,
optional or off). A hidden honeypot field and a per-address rate limit keep bots out;
a bot that fills the honeypot is told "received" and nothing is stored. Each submission
becomes a ticket (channel ``form``) through ``helpdesk.actions.email.receive_form_submission``.
"""
import json
import logging
import secrets

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from helpdesk import i18n
from helpdesk.actions import ActionError
from helpdesk.actions.email import receive_form_submission
from helpdesk.extensions import csrf, limiter
from widgets.views import json_object, malformed_json, store_by_key

log = logging.getLogger(__name__)

bp = Blueprint("contact_form", __name__)
csrf.exempt(bp)  # embedded on other sites; nothing here rides on a cookie

#: Submissions per client address. Only accepted ones count: a shopper correcting a typo
#: the form pointed out is never locked out (nothing is stored for a refused one).
RATE = "5/minute;30/hour"
#: Every attempt, refused or not: a script posting invalid forms is still held back.
ATTEMPTS = "30/minute;200/hour"
HONEYPOT = "website"
FIELD_STATES = ("required", "optional", "off")
DEFAULTS = {
    "enabled": True,
    "title": "",
    "intro": "",
    "acknowledge": False,
    "fields": {"name": "required", "email": "required", "phone": "off", "order_number": "optional",
               "subject": "optional", "message": "required"},
}
LABELS = {
    "name": _l("Your name"), "email": _l("Email address"), "phone": _l("Phone"),
    "order_number": _l("Order number"), "subject": _l("Subject"), "message": _l("Message"),
}
_TYPES = {"email": "email", "phone": "tel"}


def form_settings(store):
    settings = dict(DEFAULTS)
    settings.update(store.setting("contact_form") or {})
    wanted = dict(DEFAULTS["fields"])
    wanted.update({k: v for k, v in (settings.get("fields") or {}).items() if k in wanted and v in FIELD_STATES})
    wanted["email"] = wanted["message"] = "required"  # a ticket needs an address and a question
    settings["fields"] = wanted
    return settings


class _FormSchema(Schema):
    @pre_load
    def _blank_is_missing(self, data, **kwargs):
        # An empty box is an answer not given: a required one gets one clear "This field is
        # required.", not each validator's complaint about an empty string as well.
        return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}


def _schema(settings):
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    spec = {
        "name": fields.Str(validate=validate.Length(max=255)),
        "email": fields.Email(validate=validate.Length(max=254)),
        "phone": fields.Str(validate=validate.Length(max=40)),
        "order_number": fields.Str(validate=validate.Length(max=64)),
        "subject": fields.Str(validate=validate.Length(max=255)),
        "message": fields.Str(validate=validate.Length(min=1, max=limit)),
    }
    declared = {}
    for name, state in settings["fields"].items():
        if state == "off":
            continue
        field = spec[name]
        field.required = state == "required"
        if field.required:
            field.error_messages = {**field.error_messages, "required": _("This field is required.")}
        declared[name] = field
    declared[HONEYPOT] = fields.Str(load_default="")
    declared["client_id"] = fields.Str(validate=validate.Length(max=64), load_default=None)
    return _FormSchema.from_dict(declared)(unknown=EXCLUDE)


def _submit(store, data):
    """Validate and store. Returns ``(ok, errors)``."""
    settings = form_settings(store)
    if not settings.get("enabled", True):
        return False, {"_schema": [_("This form is closed.")]}
    try:
        args = _schema(settings).load(data)
    except ValidationError as exc:
        return False, i18n.translate_errors(exc.messages)
    if args.pop(HONEYPOT, ""):
        log.info("contact form honeypot filled", extra={"store_id": store.id})
        return True, None
    # The labels go into the ticket (and from there into the shopper's mail) in the
    # shopper's language, the form's: this request's.
    extra = {}
    if args.get("order_number"):
        extra[str(LABELS["order_number"])] = args["order_number"]
    if args.get("phone"):
        extra[str(LABELS["phone"])] = args["phone"]
    try:
        receive_form_submission(store, email=args["email"], name=args.get("name", ""),
                                subject=args.get("subject", ""), body=args["message"], fields=extra,
                                client_id=args.get("client_id"), locale=i18n.current())
    except ActionError as exc:
        return False, exc.as_dict()["errors"]
    return True, None


def _frame_response(html, store):
    response = Response(html, mimetype="text/html")
    nonce = getattr(request, "_form_nonce", "")
    domain = (store.domain or "").strip(".")
    ancestors = f"'self' {domain} *.{domain}" if domain else "*"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; form-action 'self'; "
        f"frame-ancestors {ancestors}; base-uri 'none'"
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _render(store, values=None, errors=None, done=False):
    request._form_nonce = secrets.token_urlsafe(12)
    settings = form_settings(store)
    template = "widgets/contact_form_done.html" if done else "widgets/contact_form.html"
    html = render_template(template, store=store, settings=settings, labels=LABELS, types=_TYPES,
                           values=values or {}, errors=errors or {}, honeypot=HONEYPOT,
                           nonce=request._form_nonce, lang=i18n.current())
    return _frame_response(html, store)


def _accepted(response):
    return response.status_code < 400


@bp.get("/form/<key>")
def page(key):
    return _render(store_by_key(key))


@bp.post("/form/<key>")
@limiter.limit(ATTEMPTS)
@limiter.limit(RATE, deduct_when=_accepted)
def submit_page(key):
    store = store_by_key(key)
    ok, errors = _submit(store, request.form.to_dict(flat=True))
    if ok:
        return _render(store, done=True)
    response = _render(store, values=request.form.to_dict(flat=True), errors=errors)
    response.status_code = 422
    return response


@bp.get("/form/<key>/embed.js")
def embed(key):
    store = store_by_key(key)
    # The form comes from wherever this script came from (as the chat loader does), not from
    # PUBLIC_URL: a helpdesk reached under another address than configured still works.
    path = f"/form/{store.widget_key}"
    script = (
        "(function(){var s=document.currentScript,f=document.createElement('iframe');"
        f"f.src=new URL(s.src,location.href).origin+{json.dumps(path)};f.title={json.dumps(_('Contact form'))};"
        "f.style.cssText='width:100%;max-width:560px;height:'+(s.getAttribute('data-height')||'620')+'px;border:0';"
        "f.setAttribute('loading','lazy');s.parentNode.insertBefore(f,s.nextSibling);})();"
    )
    response = Response(script, mimetype="application/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/api/forms/<key>")
def config(key):
    store = store_by_key(key)
    settings = form_settings(store)
    response = jsonify({
        "store": store.name,
        "title": settings.get("title") or "",
        "fields": [{"name": n, "state": s, "label": str(LABELS[n]), "type": _TYPES.get(n, "text")}
                   for n, s in settings["fields"].items() if s != "off"],
        "honeypot": HONEYPOT,
    })
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.post("/api/forms/<key>")
@limiter.limit(ATTEMPTS)
@limiter.limit(RATE, deduct_when=_accepted)
def submit_json(key):
    store = store_by_key(key)
    data = request.get_json(silent=True)
    if not json_object(data):
        response = malformed_json()
        response.status_code = 400
    else:
        ok, errors = _submit(store, data)
        if ok:
            response = jsonify({"status": "received"})
            response.status_code = 201
        else:
            response = jsonify({"message": _("Some fields are not valid."), "errors": errors})
            response.status_code = 422
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
