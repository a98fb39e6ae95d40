"""Outgoing mail, delivered from the outbox over SMTP."""
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app

from workers.outbox import PermanentFailure, handler


def build_message(payload):
    msg = EmailMessage()
    msg["From"] = payload.get("from") or current_app.config["MAIL_FROM"]
    msg["To"] = formataddr((payload.get("to_name") or "", payload["to"]))
    msg["Subject"] = payload.get("subject", "")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = payload.get("message_id") or make_msgid(domain="helpdesk.local")
    if payload.get("in_reply_to"):
        msg["In-Reply-To"] = payload["in_reply_to"]
    if payload.get("references"):
        msg["References"] = " ".join(payload["references"])
    if payload.get("reply_to"):
        msg["Reply-To"] = payload["reply_to"]
    if payload.get("automatic"):
        # Our automatic mail must never start an auto-reply loop.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(payload.get("text", ""))
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html")
    calendar = payload.get("calendar")
    if calendar:
        # iTIP (RFC 6047): the invitation is an alternative of the body that calendar clients
        # act on, and an .ics attachment for the ones that only import files.
        method = calendar.get("method", "REQUEST")
        msg.add_alternative(calendar["ics"], subtype="calendar", params={"method": method})
        msg.add_attachment(calendar["ics"].encode("utf-8"), maintype="application", subtype="ics",
                           filename=calendar.get("filename") or "invite.ics")
    for filename, content_type, data in _attachments(payload.get("attachment_ids")):
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def _attachments(ids):
    """(filename, content type, bytes) of stored attachments; a file gone from disk is
    an error worth retrying (a mount coming back), not a silent omission."""
    if not ids:
        return []
    import os

    from helpdesk.extensions import db
    from helpdesk.models import Attachment

    out = []
    for att in db.session.query(Attachment).filter(Attachment.id.in_(ids)).order_by(Attachment.id):
        with open(os.path.join(current_app.config["UPLOAD_FOLDER"], att.storage_path), "rb") as fh:
            out.append((att.filename, att.content_type, fh.read()))
    return out


def smtp_connection(url, timeout=20):
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "smtps":
        conn = smtplib.SMTP_SSL(host, port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(host, port or 25, timeout=timeout)
        if parts.scheme == "smtp+starttls":
            conn.starttls(context=ssl.create_default_context())
    if parts.username:
        conn.login(unquote(parts.username), unquote(parts.password or ""))
    return conn


@handler("email")
def send(item):
    """Send one outbox email; the message it copies (``message_ref``) shows the outcome.

    From, Reply-To and the SMTP server are those of its mailbox as it is now, not as it was
    when the mail was queued (``outbox_mailbox``: a mailbox removed, made inactive or given
    another address since reroutes the row first)."""
    from helpdesk.actions.email import outbox_mailbox

    try:
        mailbox = outbox_mailbox(item)
        url = (mailbox.smtp_url if mailbox is not None else None) or current_app.config.get("SMTP_URL")
        if not url:
            raise RuntimeError("SMTP_URL is not configured; mail stays queued")
        msg = build_message(item.payload)
        with smtp_connection(url) as conn:
            try:
                conn.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
    except Exception as exc:
        _record(item, exc)
        raise
    _record(item, None)


def _record(item, exc):
    message_id = (item.payload or {}).get("message_ref")
    if not message_id:
        return
    from helpdesk.actions.email import record_delivery
    from workers.outbox import MAX_ATTEMPTS

    if exc is None:
        status = "sent"
    elif isinstance(exc, PermanentFailure) or (item.attempts or 0) >= MAX_ATTEMPTS:
        status = "failed"
    else:
        status = "retrying"
    try:
        record_delivery(message_id, status, error=None if exc is None else f"{type(exc).__name__}: {exc}",
                        attempts=item.attempts)
    except Exception:  # noqa: BLE001 -- the mail went (or not) either way; never send twice
        import logging

        logging.getLogger(__name__).exception("recording the delivery state failed",
                                              extra={"outbox_id": item.id})
