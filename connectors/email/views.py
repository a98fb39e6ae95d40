"""Inbound email over HTTP: the raw MIME endpoint and the provider webhooks.

    POST /inbound/email/<mailbox token>             raw RFC 5322 body; Bearer or basic auth
    POST /inbound/email/<mailbox token>/postmark    Postmark inbound JSON; basic auth
    POST /inbound/email/<mailbox token>/mailgun     Mailgun route (form or raw MIME); HMAC
    POST /inbound/email/<mailbox token>/sendgrid    SendGrid Inbound Parse; basic auth or ?secret=

Each authenticates first (401 and nothing stored when forged), writes the delivery down
(a replay answers "duplicate" and is stored once) and leaves the parsing to a job.
"""
import hashlib
import logging

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from connectors.email import providers
from helpdesk.actions.email import accept_delivery
from helpdesk.extensions import csrf, db
from helpdesk.models import InboundEmail, Mailbox

log = logging.getLogger(__name__)

bp = Blueprint("email_inbound", __name__, url_prefix="/inbound/email")
csrf.exempt(bp)


def _mailbox(token):
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.inbound_token == token[:40],
                                                      Mailbox.active.is_(True)))
    if mailbox is None:
        abort(404)
    return mailbox


def _answer(status, code, **extra):
    return jsonify({"status": status, **extra}), code


def _accept(mailbox, source, reader):
    try:
        raw, key = reader()
    except providers.Refused as exc:
        log.info("inbound email refused", extra={"mailbox_id": mailbox.id, "source": source,
                                                  "status_code": exc.status, "reason": exc.message})
        return _answer("refused", exc.status, message=exc.message)
    except RequestEntityTooLarge:
        log.warning("inbound email refused: request too large",
                    extra={"mailbox_id": mailbox.id, "source": source, "size": request.content_length})
        return _answer("refused", 413, message="The message is too large.")
    if not raw or not raw.strip():
        return _answer("refused", 400, message="Empty message.")
    row, created = accept_delivery(mailbox, raw, source=source, delivery_key=key)
    if not created:
        return _answer("duplicate", 200, id=row.id)
    if row.status == InboundEmail.REFUSED:
        return _answer("refused", 413, message=row.reason)
    return _answer("accepted", 200, id=row.id)


@bp.post("/<token>")
def raw_mime(token):
    mailbox = _mailbox(token)

    def read():
        providers.check_secret(providers.bearer(request) or providers.basic_password(request)
                               or request.headers.get("X-Inbound-Secret"), mailbox.inbound_secret)
        raw = request.get_data()
        return raw, "raw:" + hashlib.sha256(raw).hexdigest()[:48]

    return _accept(mailbox, "raw", read)


@bp.post("/<token>/postmark")
def postmark(token):
    mailbox = _mailbox(token)
    return _accept(mailbox, "postmark", lambda: providers.postmark(request, mailbox))


@bp.post("/<token>/mailgun")
def mailgun(token):
    mailbox = _mailbox(token)
    return _accept(mailbox, "mailgun", lambda: providers.mailgun(request, mailbox))


@bp.post("/<token>/sendgrid")
def sendgrid(token):
    mailbox = _mailbox(token)
    return _accept(mailbox, "sendgrid", lambda: providers.sendgrid(request, mailbox))
