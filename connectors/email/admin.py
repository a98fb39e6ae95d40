"""Mailbox settings for admins: /api/v1/mailboxes. Secrets go in, never come back out:
the output shows only whether each one is set (``has_imap_password``...), the inbound
URLs and, once on creation or rotation, the inbound secret itself."""
from flask import Blueprint, current_app, jsonify
from flask_babel import gettext as _
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from helpdesk.actions import Forbidden, NotFound
from helpdesk.actions.email import create_mailbox, update_mailbox
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
    imap_password = fields.Str(allow_none=True, load_only=True, validate=validate.Length(max=255))
    imap_folders = fields.List(fields.Str(validate=validate.Length(min=1, max=255)), validate=validate.Length(max=20))
    smtp_url = fields.Str(allow_none=True, load_only=True,
                          validate=[validate.Regexp(r"^(smtp|smtps|smtp\+starttls)://",
                                                    error=N_("Use smtp://, smtps:// or smtp+starttls://.")),
                                    _smtp_server])
    mailgun_signing_key = fields.Str(allow_none=True, load_only=True, validate=validate.Length(max=128))
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
    created_at = fields.AwareDateTime()


class QuarantineListSchema(Schema):
    items = fields.List(fields.Nested(QuarantineSchema))


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
@operation("Change a mailbox (admins); omitted or empty secrets stay as they are.", body=MailboxUpdateArgs,
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


@bp.get(f"/<{ID}:mailbox_id>/quarantine")
@operation("Mail of this mailbox that could not become a ticket, with the reason (admins).",
           response=QuarantineListSchema, errors=(403,), tag="mailboxes")
def quarantined(mailbox_id):
    _admin()
    _mailbox_or_404(mailbox_id)
    rows = db.session.scalars(select(InboundEmail).where(
        InboundEmail.mailbox_id == mailbox_id,
        InboundEmail.status.in_([InboundEmail.QUARANTINED, InboundEmail.REFUSED]))
        .order_by(InboundEmail.id.desc()).limit(200)).all()
    return jsonify(QuarantineListSchema().dump({"items": rows}))
