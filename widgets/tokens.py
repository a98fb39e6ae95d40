"""Visitor tokens: the widget's only credential.

A token is the visitor's public uid and store id, signed with the app's secret. It is
kept in the shopper's browser (localStorage of the widget frame), proves nothing but
"this browser is visitor X of store Y", and reaches only that visitor's conversations.
"""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk.extensions import db
from helpdesk.models import Visitor

#: A returning shopper within this many seconds keeps their history in the widget.
TOKEN_MAX_AGE = 400 * 24 * 3600


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="helpdesk.visitor")


def issue(visitor):
    return _serializer().dumps({"v": visitor.uid, "s": visitor.store_id})


def visitor_from_token(token, store=None):
    """The visitor a token names, or None when forged, expired, foreign or unknown."""
    if not token or not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or (store is not None and data.get("s") != store.id):
        return None
    visitor = db.session.query(Visitor).filter_by(uid=str(data.get("v"))).one_or_none()
    if visitor is None or visitor.store_id != data.get("s"):
        return None
    return visitor
