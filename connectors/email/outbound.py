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
    if payload.get("automatic"):
        # Our automatic mail must never start an auto-reply loop.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(payload.get("text", ""))
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html")
    return msg


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
    url = current_app.config.get("SMTP_URL")
    if not url:
        raise RuntimeError("SMTP_URL is not configured; mail stays queued")
    msg = build_message(item.payload)
    with smtp_connection(url) as conn:
        try:
            conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
