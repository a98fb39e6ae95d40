"""Proactive invitations: per-store rules that open the widget with a greeting.

Rules live in the store's settings (``proactive_rules``)::

    {"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 20,
     "min_pages_viewed": 2, "message": "Need help choosing a size?"}

The loader evaluates them in the page (it knows the URL, the time spent and the pages
seen) so nothing is polled; the server enforces the per-visitor frequency cap when the
invitation is shown, so a shopper is not greeted on every page.
"""
from datetime import timedelta

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from helpdesk.actions.visitors import record_invitation
from helpdesk.extensions import csrf, limiter
from helpdesk.models import utcnow
from widgets.tokens import visitor_from_token

bp = Blueprint("proactive", __name__)
csrf.exempt(bp)

#: Default hours between two invitations to the same visitor.
DEFAULT_CAP_HOURS = 24
RULE_KEYS = ("id", "url_contains", "min_seconds_on_page", "min_pages_viewed", "min_seconds_on_product", "message")


def public_rules(store):
    """The rules as the loader needs them (only known keys, text as text)."""
    rules = []
    for raw in store.setting("proactive_rules") or []:
        if isinstance(raw, dict) and raw.get("id") and raw.get("message"):
            rules.append({k: raw[k] for k in RULE_KEYS if k in raw})
    return rules


def invitation_allowed(store, visitor, now=None):
    cap = store.setting("proactive_cap_hours")
    cap = DEFAULT_CAP_HOURS if cap is None else cap
    last = visitor.last_invited_at
    return last is None or (now or utcnow()) - last >= timedelta(hours=cap)


@bp.route("/widget/api/rules")
@limiter.limit("120/minute")
def rules():
    from widgets.views import store_by_key

    store = store_by_key(request.args.get("key"))
    response = jsonify({"rules": public_rules(store), "cap_hours": store.setting("proactive_cap_hours")
                        if store.setting("proactive_cap_hours") is not None else DEFAULT_CAP_HOURS})
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.route("/widget/api/invitations", methods=["POST"])
@limiter.limit("30/minute")
def invitation():
    """The loader asks to show rule ``rule_id``; answers whether it may (frequency cap)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"message": _("Malformed JSON."), "errors": {"_body": [_("Malformed JSON.")]}}), 400
    visitor = visitor_from_token(data.get("token"))
    if visitor is None:
        return jsonify({"message": _("Unknown visitor."), "status": 401}), 401
    rule = next((r for r in public_rules(visitor.store) if r["id"] == data.get("rule_id")), None)
    if rule is None:
        return jsonify({"message": _("Unknown rule."), "errors": {"rule_id": [_("Unknown rule.")]}}), 422
    if not invitation_allowed(visitor.store, visitor):
        return jsonify({"show": False})
    record_invitation(visitor, rule["id"])
    return jsonify({"show": True, "message": rule["message"]})
