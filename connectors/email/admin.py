"""Mailbox settings for admins: /api/v1/mailboxes. Secrets go in, never come back out:
the output shows only whether each one is set (``has_imap_password``...), the inbound
URLs and, once on creation or rotation, the inbound secret itself. A secret sent as null
is removed; left out (or empty) it is kept.

The quarantine (mail that did not become a ticket) can be read, downloaded as .eml,
imported again or discarded."""
import re
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify
from flask_babel import gettext as _

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from helpdesk.actions import Forbidden, NotFound
from helpdesk.actions.email import (
    QUARANTINE_STATUSES,
    create_mailbox,
    delete_mailbox,
    discard_quarantined,
    import_quarantined,
    quarantined_email,
    update_mailbox,
)
from helpdesk.api import errors
from helpdesk.api.access import ID, store_or_404
from helpdesk.api.auth import authenticate, current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.extensions import csrf, db
from helpdesk.i18n import N_
from helpdesk.models import InboundEmail, Mailbox
from helpdesk.schemas import StrictSchema

bp = Blueprint("email_admin", __name__, url_prefix="/api/v1/mailboxes")
csrf.exempt(bp)
bp.before_request(authenticate)
errors.register(bp)


class MailboxSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    address = fields.Str()
    active = fields.Bool()
    imap_host = fields.Str(allow_none=True)
    imap_port = fields.Int(allow_none=True)
    imap_ssl = fields.Bool()
    imap_username = fields.Str(allow_none=True)
    imap_folders = fields.List(fields.Str())
    auto_reply = fields.Bool()
    has_imap_password = fields.Function(lambda m: bool(m.imap_password))
    has_smtp_url = fields.Function(lambda m: bool(m.smtp_url))
    has_mailgun_signing_key = fields.Function(lambda m: bool(m.mailgun_signing_key))
    inbound_urls = fields.Method("get_urls")
    last_polled_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.Str(allow_none=True)

    def get_urls(self, mailbox):
        base = f"{current_app.config['PUBLIC_URL']}/inbound/email/{mailbox.inbound_token}"
        return {"raw": base, "postmark": base + "/postmark", "mailgun": base + "/mailgun",
                "sendgrid": base + "/sendgrid"}


def _smtp_server(url):
    """A server the outbox can connect to: a host, and a port that is a port. Without this
    check "smtp://[::1" or port 99999 was saved, and every reply failed later in the outbox."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises for a port that is not 1-65535
    except ValueError:
        parts = None
    if parts is None or not parts.hostname:
        raise ValidationError(N_("Give the SMTP server's host and, if needed, a port from 1 to 65535."))


class MailboxArgs(StrictSchema):
    store_id = fields.Int(required=True)
    address = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.Str(validate=validate.Length(max=120))
    active = fields.Bool()
    imap_host = fields.Str(allow_none=True, validate=validate.Length(max=255))
    imap_port = fields.Int(allow_none=True, validate=validate.Range(min=1, max=65535))
    imap_ssl = fields.Bool()
    imap_username = fields.Str(allow_none=True, validate=validate.Length(max=255))
    # Secrets: null removes the stored one; left out or "" keeps it (update_mailbox).
    imap_password = fields.Str(allow_none=True, load_only=True, validate=validate.Length(max=255),
                               metadata={"description": "Write-only. null removes it (polling stops); "
                                                        "left out or empty keeps it."})
    imap_folders = fields.List(fields.Str(validate=validate.Length(min=1, max=255)), validate=validate.Length(max=20))
    smtp_url = fields.Str(allow_none=True, load_only=True,
                          validate=[validate.Regexp(r"^(smtp|smtps|smtp\+starttls)://",
                                                    error=N_("Use smtp://, smtps:// or smtp+starttls://.")),
                                    _smtp_server],
                          metadata={"description": "Write-only. null removes it (replies leave through the "
                                                   "helpdesk's own SMTP server); left out keeps it."})
    mailgun_signing_key = fields.Str(allow_none=True, load_only=True, validate=validate.Length(max=128),
                                     metadata={"description": "Write-only. null removes it (Mailgun deliveries "
                                                              "are refused); left out or empty keeps it."})
    auto_reply = fields.Bool()


class MailboxUpdateArgs(MailboxArgs):
    store_id = fields.Int()
    address = fields.Email(validate=validate.Length(max=254))
    rotate_inbound_secret = fields.Bool()


class MailboxCreatedSchema(MailboxSchema):
    """The inbound secret appears once: on creation (and when rotated)."""

    inbound_secret = fields.Str()


class MailboxListSchema(Schema):
    items = fields.List(fields.Nested(MailboxSchema))


class QuarantineSchema(Schema):
    id = fields.Int()
    source = fields.Str()
    status = fields.Str()
    reason = fields.Str(allow_none=True)
    sender = fields.Str(allow_none=True)
    subject = fields.Str(allow_none=True)
    size = fields.Int()
    kept = fields.Bool(metadata={"description": "Whether the message itself is stored: only then can it be "
                                                "downloaded and imported again (a message refused as too large "
                                                "is not)."})
    created_at = fields.AwareDateTime()


class QuarantineListSchema(Schema):
    items = fields.List(fields.Nested(QuarantineSchema))


class QuarantineImportArgs(StrictSchema):
    """Importing a quarantined message again takes no fields."""


class QuarantineImportSchema(Schema):
    outcome = fields.Str(metadata={"description": "created, threaded, duplicate, auto_reply, bounce: it left the "
                                                  "quarantine; quarantined: refused again (see reason)."})
    reason = fields.Str()
    ticket_id = fields.Int(allow_none=True)
    message_id = fields.Int(allow_none=True)
    item = fields.Nested(QuarantineSchema, allow_none=True,
                         metadata={"description": "The row, when it is still in the quarantine."})


#: A quarantined delivery as listed: its columns but the message's bytes (up to 25 MB each,
#: read only to download or import one), and whether they are kept.
QUARANTINE_COLUMNS = (InboundEmail.id, InboundEmail.mailbox_id, InboundEmail.source, InboundEmail.status,
                      InboundEmail.reason, InboundEmail.sender, InboundEmail.subject, InboundEmail.size,
                      InboundEmail.created_at, InboundEmail.raw.is_not(None).label("kept"))


def _still_quarantined(inbound_id):
    return db.session.execute(select(*QUARANTINE_COLUMNS).where(
        InboundEmail.id == inbound_id, InboundEmail.status.in_(QUARANTINE_STATUSES))).first()


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9]+")


def eml_name(row):
    """A download name for a quarantined message: its number and what ASCII letters and
    digits its subject has. The subject is the sender's text; nothing else of it is kept."""
    subject = unicodedata.normalize("NFKD", row.subject or "").encode("ascii", "ignore").decode()
    words = _UNSAFE_NAME.sub("-", subject).strip("-")[:60].strip("-")
    return f"quarantined-{row.id}-{words}.eml" if words else f"quarantined-{row.id}.eml"


def eml_response(row):
    """The message's bytes as a download, never shown inline: everything in it is the sender's."""
    response = Response(row.raw, mimetype="message/rfc822")
    response.headers.set("Content-Disposition", "attachment", filename=eml_name(row))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "sandbox"  # should a browser still try to show it
    return response


def _admin():
    agent = current_agent()
    if not agent.is_admin:
        raise Forbidden(_("Only admins manage mailboxes."))
    return agent


def _mailbox_or_404(mailbox_id):
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise NotFound(_("No such mailbox."))
    return mailbox


@bp.get("")
@operation("Every mailbox (admins).", response=MailboxListSchema, errors=(403,), tag="mailboxes")
def list_mailboxes():
    _admin()
    rows = db.session.scalars(select(Mailbox).order_by(Mailbox.id)).all()
    return jsonify(MailboxListSchema().dump({"items": rows}))


@bp.post("")
@operation("Add a mailbox to a store (admins). The answer carries the inbound secret, once.",
           body=MailboxArgs, response=MailboxCreatedSchema, status=201, errors=(403, 404, 409), tag="mailboxes")
def create():
    agent = _admin()
    args = load_json(MailboxArgs())
    store = store_or_404(args.pop("store_id"), agent)
    mailbox = create_mailbox(store, args.pop("address"), **args)
    body = MailboxSchema().dump(mailbox)
    body["inbound_secret"] = mailbox.inbound_secret  # shown once; store it in the provider now
    return jsonify(body), 201


@bp.get(f"/<{ID}:mailbox_id>")
@operation("One mailbox (admins); secrets only as has_* flags.", response=MailboxSchema, errors=(403,),
           tag="mailboxes")
def show(mailbox_id):
    _admin()
    return jsonify(MailboxSchema().dump(_mailbox_or_404(mailbox_id)))


@bp.patch(f"/<{ID}:mailbox_id>")
@operation("Change a mailbox (admins); omitted or empty secrets stay as they are, null removes one.",
           body=MailboxUpdateArgs,
           response=MailboxCreatedSchema, errors=(403,), tag="mailboxes")
def update(mailbox_id):
    _admin()
    mailbox = _mailbox_or_404(mailbox_id)
    args = load_json(MailboxUpdateArgs())
    args.pop("store_id", None)
    args.pop("address", None)
    rotated = args.get("rotate_inbound_secret")
    mailbox = update_mailbox(mailbox, **args)
    body = MailboxSchema().dump(mailbox)
    if rotated:
        body["inbound_secret"] = mailbox.inbound_secret
    return jsonify(body)


@bp.delete(f"/<{ID}:mailbox_id>")
@operation("Remove a mailbox (admins). Its tickets and messages stay; its settings, secrets and "
           "quarantine are deleted, as is mail it accepted but has not imported yet. To stop mail "
           "without deleting anything, set active to false instead.", status=204, errors=(403,),
           tag="mailboxes")
def remove(mailbox_id):
    _admin()
    delete_mailbox(_mailbox_or_404(mailbox_id))
    return "", 204


@bp.get(f"/<{ID}:mailbox_id>/quarantine")
@operation("Mail of this mailbox that could not become a ticket, with the reason (admins).",
           response=QuarantineListSchema, errors=(403,), tag="mailboxes")
def quarantined(mailbox_id):
    _admin()
    _mailbox_or_404(mailbox_id)
    rows = db.session.execute(select(*QUARANTINE_COLUMNS).where(
        InboundEmail.mailbox_id == mailbox_id, InboundEmail.status.in_(QUARANTINE_STATUSES))
        .order_by(InboundEmail.id.desc()).limit(200)).all()
    return jsonify(QuarantineListSchema().dump({"items": rows}))


@bp.get(f"/<{ID}:mailbox_id>/quarantine/<{ID}:inbound_id>/raw")
@operation("A quarantined message as it arrived (admins): an .eml attachment, message/rfc822. "
           "404 when it was not kept (kept: false).", errors=(403,), tag="mailboxes",
           media_type="message/rfc822")
def quarantined_raw(mailbox_id, inbound_id):
    _admin()
    row = quarantined_email(_mailbox_or_404(mailbox_id).id, inbound_id)
    if row.raw is None:
        raise NotFound(_("This message was not kept."))
    return eml_response(row)


@bp.post(f"/<{ID}:mailbox_id>/quarantine/<{ID}:inbound_id>/import")
@operation("Import a quarantined message again (admins), after a fix or a changed setting. It leaves "
           "the quarantine when it becomes a ticket (outcome and ticket_id); refused again, it stays with "
           "the new reason (outcome quarantined). 409 when the message was not kept.",
           body=QuarantineImportArgs, response=QuarantineImportSchema, errors=(403, 409), tag="mailboxes")
def import_again(mailbox_id, inbound_id):
    _admin()
    row = quarantined_email(_mailbox_or_404(mailbox_id).id, inbound_id)
    load_json(QuarantineImportArgs())
    row_id = row.id
    intake = import_quarantined(row)
    return jsonify(QuarantineImportSchema().dump({
        "outcome": intake.outcome, "reason": intake.reason or "", "ticket_id": intake.ticket_id,
        "message_id": intake.message_id, "item": _still_quarantined(row_id)}))


@bp.delete(f"/<{ID}:mailbox_id>/quarantine/<{ID}:inbound_id>")
@operation("Discard a quarantined message and its stored bytes (admins).", status=204, errors=(403,),
           tag="mailboxes")
def discard(mailbox_id, inbound_id):
    _admin()
    discard_quarantined(quarantined_email(_mailbox_or_404(mailbox_id).id, inbound_id))
    return "", 204
