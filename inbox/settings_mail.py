"""Admins' mailbox pages: /inbox/settings/mailboxes (the team's: ``inbox.settings_team``).

Plain forms (POST, CSRF token in each form; no JavaScript needed). Mailbox input is
validated with the mailbox API's own schemas (``connectors.email.admin``) and changed through
``helpdesk.actions.email``.

Secrets are write-only: the page says whether each one is set, an empty field keeps it and
its "Remove" box deletes it. The value an admin must see once -- a mailbox's inbound secret (on creation or rotation) --
is rendered in the POST's own answer, never put in
the session (a flash message lives in the cookie) or in a URL.

Removing a mailbox takes a second step: the edit page's form with a box to tick, which says
what goes and what stays (``helpdesk.actions.email.delete_mailbox``). Quarantined mail can
be downloaded (.eml, as an attachment only), imported again or discarded, row by row.
"""
from collections import defaultdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from connectors.email.admin import QUARANTINE_COLUMNS, MailboxArgs, MailboxSchema, MailboxUpdateArgs, eml_response
from helpdesk.actions import ActionError, NotFound
from helpdesk.actions.email import (
    MAILBOX_SECRETS,
    QUARANTINE_STATUSES,
    create_mailbox,
    delete_mailbox,
    discard_quarantined,
    import_quarantined,
    quarantined_email,
    update_mailbox,
)
from helpdesk.auth import admin_required
from helpdesk.extensions import db, limiter
from helpdesk.i18n import N_
from helpdesk.models import InboundEmail, Mailbox, Store
from helpdesk.schemas import field_messages
from inbox.views import _http_error

bp = Blueprint("settings_mail", __name__, url_prefix="/inbox/settings")
bp.register_error_handler(HTTPException, _http_error)

#: Write-only mailbox settings: never rendered back, empty keeps the stored value, the
#: "remove_<name>" box deletes it.
SECRETS = MAILBOX_SECRETS
CHECKS = ("active", "imap_ssl", "auto_reply")
#: Quarantined mail listed per mailbox (the count covers all of it).
QUARANTINE_SHOWN = 20


def _me():
    return current_user._get_current_object()


def _by_input(messages):
    """``field_messages`` as ``{input name: [text]}`` (``imap_folders.0`` -> imap_folders)."""
    out = {}
    for field, texts in messages.items():
        out.setdefault(field.split(".")[0], []).extend(texts)
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
    conflicts = {}
    for key in SECRETS:
        value = form.get(key, "").strip()
        if not creating and form.get(f"remove_{key}") == "1":
            if value:
                # Which one was meant? Asked rather than guessed: either loses a secret.
                conflicts[key] = [N_("Type a new value or tick Remove, not both.")]
            data[key] = None  # update_mailbox: None removes, "" (left out here) keeps
        elif value:
            data[key] = value
    if conflicts:
        raise ValidationError(conflicts)
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
    """``(counts by mailbox id, the latest rows by mailbox id)`` of mail that did not become a
    ticket. The rows are ``QUARANTINE_COLUMNS``: not the messages' bytes, whether they are kept."""
    counts = dict(db.session.execute(
        select(InboundEmail.mailbox_id, func.count()).where(InboundEmail.status.in_(QUARANTINE_STATUSES))
        .group_by(InboundEmail.mailbox_id)).all())
    latest = defaultdict(list)
    ranked = (select(InboundEmail.id, func.row_number().over(partition_by=InboundEmail.mailbox_id,
                                                             order_by=InboundEmail.id.desc()).label("n"))
              .where(InboundEmail.status.in_(QUARANTINE_STATUSES)).subquery())
    rows = db.session.execute(select(*QUARANTINE_COLUMNS).join(ranked, ranked.c.id == InboundEmail.id)
                              .where(ranked.c.n <= QUARANTINE_SHOWN).order_by(InboundEmail.id.desc()))
    for row in rows:
        latest[row.mailbox_id].append(row)
    return counts, latest


def _pending(mailbox):
    """Deliveries of ``mailbox`` accepted but not imported yet (lost if it is removed now)."""
    return db.session.scalar(select(func.count()).select_from(InboundEmail).where(
        InboundEmail.mailbox_id == mailbox.id, InboundEmail.status == InboundEmail.PENDING))


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
        quarantine_shown=QUARANTINE_SHOWN, pending=_pending(editing) if editing else 0,
    ), status


def _refusals(run):
    """``(result, None)`` of ``run()``, or ``(None, {field: [message]})`` when the form's
    input (schema) or the action refused it."""
    try:
        return run(), None
    except ValidationError as exc:
        return None, _by_input(field_messages(exc.messages))
    except ActionError as exc:
        db.session.rollback()
        return None, {exc.field or "_schema": [exc.message]}


def _mailbox(mailbox_id):
    return db.get_or_404(Mailbox, mailbox_id)


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


@bp.post("/mailboxes/<int(max=2147483647):mailbox_id>/remove")
@admin_required
@limiter.limit("10/minute")
def remove_mailbox(mailbox_id):
    """The second step of removing a mailbox: the box "Yes, remove ..." must be ticked."""
    mailbox = _mailbox(mailbox_id)
    if request.form.get("confirm") != "1":
        errors = {"confirm": [_("Tick the box to confirm that %(address)s is to be removed.",
                                address=mailbox.address)]}
        return _mailboxes_page(editing=mailbox, errors=errors, status=422)
    address = mailbox.address  # the row is gone after the commit
    removed = delete_mailbox(mailbox)
    message = _("Mailbox %(address)s removed. Its tickets stay.", address=address)
    if removed["discarded"]:
        message += " " + ngettext("%(num)d quarantined message was deleted.",
                                  "%(num)d quarantined messages were deleted.", removed["discarded"])
    if removed["pending"]:
        message += " " + ngettext("%(num)d message not imported yet was deleted.",
                                  "%(num)d messages not imported yet were deleted.", removed["pending"])
    flash(message)
    return redirect(url_for("settings_mail.mailboxes"))


# ---- quarantine ------------------------------------------------------------------------------

def _quarantined(mailbox_id, inbound_id):
    try:
        return quarantined_email(mailbox_id, inbound_id)
    except NotFound:
        abort(404)


def _back_to(mailbox_id):
    return redirect(url_for("settings_mail.mailboxes") + f"#mailbox-{mailbox_id}")


@bp.get("/mailboxes/<int(max=2147483647):mailbox_id>/quarantine/<int(max=2147483647):inbound_id>/download")
@admin_required
@limiter.limit("60/minute")
def download_quarantined(mailbox_id, inbound_id):
    """The message as it arrived, as an .eml attachment: never shown in the page (its HTML
    and headers are the sender's)."""
    row = _quarantined(mailbox_id, inbound_id)
    if row.raw is None:
        abort(404)
    return eml_response(row)


@bp.post("/mailboxes/<int(max=2147483647):mailbox_id>/quarantine/<int(max=2147483647):inbound_id>/import")
@admin_required
@limiter.limit("30/minute")
def import_again(mailbox_id, inbound_id):
    row = _quarantined(mailbox_id, inbound_id)
    try:
        intake = import_quarantined(row)
    except ActionError as exc:  # not kept: the page shows no button for it
        flash(exc.message)
        return _back_to(mailbox_id)
    if intake.outcome == "quarantined":
        flash(_("Still quarantined after importing it again: %(reason)s", reason=intake.reason))
    elif intake.ticket_id:
        link = Markup('<a href="{}">{}</a>').format(url_for("inbox.index") + f"#ticket-{intake.ticket_id}",
                                                    _("ticket #%(id)s", id=intake.ticket_id))
        # escape() first: the sentence is ours, the link is the only markup in it.
        flash(escape(_("Imported: the message is on %(ticket)s.")) % {"ticket": link}
              if intake.outcome != "duplicate" else
              escape(_("That message was imported before: it is on %(ticket)s.")) % {"ticket": link})
    else:
        flash(_("Imported: the message left the quarantine."))
    return _back_to(mailbox_id)


@bp.post("/mailboxes/<int(max=2147483647):mailbox_id>/quarantine/<int(max=2147483647):inbound_id>/discard")
@admin_required
@limiter.limit("30/minute")
def discard(mailbox_id, inbound_id):
    discard_quarantined(_quarantined(mailbox_id, inbound_id))
    flash(_("The quarantined message was deleted."))
    return _back_to(mailbox_id)
