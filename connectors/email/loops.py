"""Mail that must never get an automatic answer: auto-replies, list mail, bounces.

``loop_reason`` names why a message is automatic (or returns None for a person's mail);
``parse_bounce`` reads a delivery-status report (RFC 3464) or a non-standard bounce into
the failed recipients and the Message-ID of the message that bounced.
"""
import re
from dataclasses import dataclass, field

_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer_daemon|bounces?)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|returned mail|failure notice|mail delivery (?:failed|failure|system)"
    r"|delivery (?:has )?failed|non[- ]?delivery|unzustellbar|could not be delivered",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_COPY_MARKER = re.compile(r"^-+ ?(?:Below this line is a copy of the message|This is a copy of the message|"
                          r"Original message|Original Message Headers).*$", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Bounce:
    """``permanent``: at least one recipient failed for good (5.x.x), not only delayed."""

    recipients: list = field(default_factory=list)  # [{"address", "action", "status", "diagnostic"}]
    original_message_id: str = ""
    permanent: bool = True


def _value(msg, name):
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 -- a header the parser cannot read is treated as absent
        return ""
    return str(value or "").strip()


def is_bounce(msg, from_address):
    if msg.get_content_type() == "multipart/report":
        report = (msg.get_param("report-type") or "").lower()
        if report in ("delivery-status", ""):
            return True
    return bool(_DAEMON.match(from_address or "") and _BOUNCE_SUBJECT.search(_value(msg, "Subject")))


def loop_reason(msg, from_address=""):
    """Why this message is automatic, or None. Checked in the order of RFC 3834 first."""
    if is_bounce(msg, from_address):
        return "bounce"
    if msg.get_content_type() == "multipart/report":
        return "report"
    auto = _value(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto-submitted: {auto.split(';')[0].strip()}"
    if _value(msg, "Precedence").lower() in _PRECEDENCE:
        return f"precedence: {_value(msg, 'Precedence').lower()}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-AutoReply-From"):
        if msg.get(name) is not None:
            return f"{name.lower()}"
    if (_value(msg, "X-Auto-Response-Suppress") or "").lower() in ("all", "oof", "autoreply"):
        # Outlook sets this on its own automatic mail (OOF replies, read receipts).
        if _value(msg, "Auto-Submitted") or _value(msg, "X-MS-Exchange-Generated-Message-Source"):
            return "outlook automatic"
    if msg.get("List-Id") is not None:
        return "list-id"
    if msg.get("List-Unsubscribe") is not None:
        return "list-unsubscribe"
    if msg.get("Return-Path") is not None and _value(msg, "Return-Path") in ("<>", ""):
        return "null return-path"
    if _DAEMON.match(from_address or ""):
        return "mailer-daemon"
    return None


def parse_bounce(msg):
    """The failed recipients and the bounced message's Message-ID, or None if not a bounce."""
    bounce = Bounce()
    statuses = []
    original_headers = ""
    text_parts = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            for block in _status_blocks(part):
                recipient = block.get("final-recipient") or block.get("original-recipient") or ""
                address = recipient.split(";", 1)[-1].strip().strip("<>")
                if not address:
                    continue
                action = block.get("action", "").lower()
                status = block.get("status", "")
                bounce.recipients.append({"address": address.lower(), "action": action, "status": status,
                                          "diagnostic": block.get("diagnostic-code", "")[:300]})
                statuses.append((action, status))
        elif ctype in ("message/rfc822", "message/global") and not original_headers:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            try:
                original_headers = "\n".join(f"{k}: {v}" for k, v in inner.items())
            except Exception:  # noqa: BLE001
                original_headers = ""
        elif ctype in ("text/rfc822-headers", "text/plain") and not part.is_multipart():
            try:
                payload = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001
                payload = b""
            decoded = payload.decode("utf-8", "replace")
            if ctype == "text/rfc822-headers" and not original_headers:
                original_headers = decoded
            else:
                text_parts.append(decoded)
    if original_headers:
        m = re.search(r"^Message-ID:\s*(<[^>]+>)", original_headers, re.IGNORECASE | re.MULTILINE)
        if m:
            found = _MSGID.search(m.group(1))
            bounce.original_message_id = found.group(1) if found else ""
    if not bounce.original_message_id:
        for text in text_parts:
            m = re.search(r"Message-ID:\s*(<[^>]+>)", text, re.IGNORECASE)
            if m and _MSGID.search(m.group(1)):
                bounce.original_message_id = _MSGID.search(m.group(1)).group(1)
                break
    if not bounce.original_message_id:
        for name in ("In-Reply-To", "References"):
            ids = _MSGID.findall(_value(msg, name))
            if ids:
                bounce.original_message_id = ids[-1]
                break
    if not bounce.recipients:
        # Non-standard bounce (qmail, some gateways): addresses named in the explanation.
        to = re.search(r"^To:\s*(.+)$", original_headers, re.IGNORECASE | re.MULTILINE)
        candidates = _ADDRESS.findall(to.group(1)) if to else []
        if not candidates:
            for text in text_parts:
                text = _COPY_MARKER.split(text, 1)[0]  # the returned copy names senders, not failures
                candidates = [a for a in _ADDRESS.findall(text) if not _DAEMON.match(a)]
                if candidates:
                    break
        for address in dict.fromkeys(a.lower() for a in candidates[:3]):
            bounce.recipients.append({"address": address, "action": "failed", "status": "5.0.0",
                                      "diagnostic": ""})
            statuses.append(("failed", "5.0.0"))
    bounce.permanent = any(a == "failed" or s.startswith("5") for a, s in statuses) if statuses else False
    return bounce


def _status_blocks(part):
    """The per-recipient field blocks of a delivery-status part, as lower-cased dicts."""
    payload = part.get_payload()
    blocks = []
    if isinstance(payload, list):
        for sub in payload:
            try:
                blocks.append({k.lower(): str(v) for k, v in sub.items()})
            except Exception:  # noqa: BLE001
                continue
    else:
        try:
            raw = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            raw = b""
        text = raw.decode("utf-8", "replace") if raw else str(payload or "")
        for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
            block = {}
            for line in chunk.split("\n"):
                if ":" in line and not line.startswith((" ", "\t")):
                    key, _, value = line.partition(":")
                    block[key.strip().lower()] = value.strip()
            if block:
                blocks.append(block)
    return [b for b in blocks if "final-recipient" in b or "original-recipient" in b]
