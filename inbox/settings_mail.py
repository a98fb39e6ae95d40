"""Admins' mailbox pages: /inbox/settings/mailboxes (the team's: ``inbox.settings_team``).

Plain forms (POST, CSRF token in each form; no JavaScript needed). Mailbox input is
validated with the mailbox API's own schemas (``connectors.email.admin``) and changed through
``helpdesk.actions.email``.

Secrets are write-only: the page says whether each one is set and an empty field keeps it.
The value an admin must see once -- a mailbox's inbound secret (on creation or rotation) --
is rendered in the POST's own answer, never put in
the session (a flash message lives in the cookie) or in a URL.
"""
from collections import defaultdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from connectors.email.admin import MailboxArgs, MailboxSchema, MailboxUpdateArgs
from helpdesk.actions import ActionError
from helpdesk.actions.email import create_mailbox, update_mailbox
from helpdesk.auth import admin_required
from helpdesk.extensions import db, limiter
from helpdesk.i18n import translate_errors
from helpdesk.models import InboundEmail, Mailbox, Store
from inbox.views import _http_error

bp = Blueprint("settings_mail", __name__, url_prefix="/inbox/settings")
bp.register_error_handler(HTTPException, _http_error)

#: Write-only mailbox settings: never rendered back, empty keeps the stored value.
SECRETS = ("imap_password", "smtp_url", "mailgun_signing_key")
CHECKS = ("active", "imap_ssl", "auto_reply")
#: Quarantined mail listed per mailbox (the count covers all of it).
QUARANTINE_SHOWN = 20
QUARANTINE_STATUSES = (InboundEmail.QUARANTINED, InboundEmail.REFUSED)


def _me():
    return current_user._get_current_object()


def _first_messages(messages):
    """marshmallow's (translated) messages as ``{input name: [text]}`` (``imap_folders.0`` -> imap_folders)."""
    out = {}
    for key, value in messages.items():
        texts = []
        stack = [value]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
            else:
                texts.append(str(item))
        out[str(key)] = texts
    return out


# ---- mailboxes -------------------------------------------------------------------------------

def _mailbox_input(form, creating):
    """The mailbox schema's input from the form. Secrets left empty are left out (kept)."""
    data = {"name": form.get("name", "").strip()}
    if creating:
        if form.get("store_id", "").strip():
            data["store_id"] = form["store_id"].strip()
        data["address"] = form.get("address", "").strip()
    for key in ("imap_host", "imap_username"):
        data[key] = form.get(key, "").strip() or None
    data["imap_port"] = form.get("imap_port", "").strip() or None
    data["imap_folders"] = [line.strip() for line in form.get("imap_folders", "").splitlines() if line.strip()] or ["INBOX"]
    for key in CHECKS:
        data[key] = form.get(key) == "1"
    for key in SECRETS:
        value = form.get(key, "").strip()
        if value:
            data[key] = value
    return data


def _mailbox_values(mailbox=None):
    """The form's fields filled from ``mailbox`` (a new one: active, IMAP over TLS)."""
    if mailbox is None:
        return {"active": "1", "imap_ssl": "1", "imap_folders": "INBOX"}
    values = {"store_id": str(mailbox.store_id), "address": mailbox.address, "name": mailbox.name or "",
              "imap_host": mailbox.imap_host or "", "imap_port": str(mailbox.imap_port or ""),
              "imap_username": mailbox.imap_username or "", "imap_folders": "\n".join(mailbox.imap_folders or [])}
    for key in CHECKS:
        values[key] = "1" if getattr(mailbox, key) else ""
    return values


def _typed(form):
    """What was typed, to show again after a refusal: every field but the secrets."""
    return {key: value for key, value in form.items() if key not in SECRETS and key != "csrf_token"}


def _quarantine():
    """``(counts by mailbox id, the latest rows by mailbox id)`` of mail that did not become a ticket."""
    counts = dict(db.session.execute(
        select(InboundEmail.mailbox_id, func.count()).where(InboundEmail.status.in_(QUARANTINE_STATUSES))
        .group_by(InboundEmail.mailbox_id)).all())
    latest = defaultdict(list)
    ranked = (select(InboundEmail.id, func.row_number().over(partition_by=InboundEmail.mailbox_id,
                                                             order_by=InboundEmail.id.desc()).label("n"))
              .where(InboundEmail.status.in_(QUARANTINE_STATUSES)).subquery())
    rows = db.session.scalars(select(InboundEmail).join(ranked, ranked.c.id == InboundEmail.id)
                              .where(ranked.c.n <= QUARANTINE_SHOWN).order_by(InboundEmail.id.desc()))
    for row in rows:
        latest[row.mailbox_id].append(row)
    return counts, latest


def _secret_urls(mailbox):
    """The provider URLs with the inbound secret in them, the way each provider takes it:
    Postmark as the basic-auth password in the URL, SendGrid as ``?secret=``."""
    urls = MailboxSchema().get_urls(mailbox)
    scheme, _sep, rest = urls["postmark"].partition("://")
    return {"postmark": f"{scheme}://inbound:{mailbox.inbound_secret}@{rest}",
            "sendgrid": f"{urls['sendgrid']}?secret={mailbox.inbound_secret}", "raw": urls["raw"]}


def _mailboxes_page(*, editing=None, values=None, errors=None, revealed=None, status=200):
    """The list and one form: adding a mailbox, or changing ``editing``. ``revealed``: a
    mailbox whose inbound secret this answer shows (just created, or rotated)."""
    mailboxes = db.session.scalars(select(Mailbox).join(Mailbox.store).order_by(Store.name, Mailbox.address)).all()
    stores = db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
    counts, latest = _quarantine()
    schema = MailboxSchema()
    return render_template(
        "inbox/settings_mailboxes.html", mailboxes=mailboxes, stores=stores, urls={m.id: schema.get_urls(m) for m in mailboxes},
        counts=counts, latest=latest, editing=editing, v=values or _mailbox_values(editing), errors=errors or {},
        revealed=revealed, revealed_urls=_secret_urls(revealed) if revealed else None,
        quarantine_shown=QUARANTINE_SHOWN,
    ), status


def _refusals(run):
    """``(result, None)`` of ``run()``, or ``(None, {field: [message]})`` when the form's
    input (schema) or the action refused it."""
    try:
        return run(), None
    except ValidationError as exc:
        return None, _first_messages(translate_errors(exc.messages))
    except ActionError as exc:
        db.session.rollback()
        return None, {exc.field or "_schema": [exc.message]}


def _mailbox(mailbox_id):
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        abort(404)
    return mailbox


@bp.get("/mailboxes")
@admin_required
def mailboxes():
    return _mailboxes_page()


@bp.get("/mailboxes/<int(max=2147483647):mailbox_id>")
@admin_required
def edit_mailbox(mailbox_id):
    return _mailboxes_page(editing=_mailbox(mailbox_id))


@bp.post("/mailboxes")
@admin_required
@limiter.limit("30/minute")
def add_mailbox():
    def create():
        args = MailboxArgs().load(_mailbox_input(request.form, creating=True))
        store = db.session.get(Store, args.pop("store_id"))
        if store is None:
            raise ActionError("Choose a store.", "store_id")
        return create_mailbox(store, args.pop("address"), **args)

    mailbox, errors = _refusals(create)
    if errors:
        return _mailboxes_page(values=_typed(request.form), errors=errors, status=422)
    # Not a redirect: the inbound secret is shown in this answer, once.
    return _mailboxes_page(revealed=mailbox, status=201)


@bp.post("/mailboxes/<int(max=2147483647):mailbox_id>")
@admin_required
@limiter.limit("30/minute")
def save_mailbox(mailbox_id):
    mailbox = _mailbox(mailbox_id)
    _saved, errors = _refusals(lambda: update_mailbox(
        mailbox, **MailboxUpdateArgs().load(_mailbox_input(request.form, creating=False))))
    if errors:
        values = {**_typed(request.form), "address": mailbox.address, "store_id": str(mailbox.store_id)}
        return _mailboxes_page(editing=mailbox, values=values, errors=errors, status=422)
    flash(_("Mailbox %(address)s saved.", address=mailbox.address))
    return redirect(url_for("settings_mail.mailboxes") + f"#mailbox-{mailbox.id}")


@bp.post("/mailboxes/<int(max=2147483647):mailbox_id>/inbound-secret")
@admin_required
@limiter.limit("10/minute")
def rotate_secret(mailbox_id):
    """A new inbound secret (the old one stops working at once), shown in this answer only."""
    mailbox = update_mailbox(_mailbox(mailbox_id), rotate_inbound_secret=True)
    return _mailboxes_page(revealed=mailbox)
