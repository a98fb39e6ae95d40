"""Provider inbound webhooks (Postmark, Mailgun, SendGrid): authenticate, then turn the
payload into raw MIME so every path goes through the one parser.

* Postmark: HTTP basic auth in the webhook URL (password = the mailbox's inbound secret);
  JSON body, raw MIME in ``RawEmail`` when "include raw email" is on.
* Mailgun: ``signature`` = HMAC-SHA256(signing key, timestamp + token), timestamp fresh,
  token used once; ``body-mime`` (the "store and forward raw MIME" route) or parsed fields.
* SendGrid Inbound Parse: no signature, so basic auth or ``?secret=`` with the inbound
  secret; ``email`` holds raw MIME ("POST the raw, full MIME message") or parsed fields.
"""
import base64
import binascii
import hashlib
import hmac
import json
import time
from email import policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import formataddr

from helpdesk.text import has_lone_surrogate

#: Mailgun timestamps older (or newer) than this are refused as replays.
MAILGUN_MAX_SKEW = 15 * 60

_SKIP_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "content-disposition"}


class Refused(Exception):
    """Authentication failed (401) or the payload is unusable (400)."""

    def __init__(self, message, status=401):
        super().__init__(message)
        self.message = message
        self.status = status


def check_secret(given, expected):
    if not given or not expected or not hmac.compare_digest(str(given).encode(), str(expected).encode()):
        raise Refused("Wrong or missing secret.")


def basic_password(request):
    auth = request.authorization
    return auth.password if auth is not None and auth.type == "basic" else None


def bearer(request):
    value = request.headers.get("Authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def compose(headers, text="", html="", attachments=()):
    """Raw MIME from parsed provider fields. ``headers``: [(name, value)];
    ``attachments``: [(filename, content type, bytes, content id)]. A header that would
    inject a line break is dropped, not trusted."""
    msg = EmailMessage(policy=policy.default)
    for name, value in headers:
        if not name or name.lower() in _SKIP_HEADERS or value is None:
            continue
        try:
            msg[name] = str(value)
        except (ValueError, TypeError):
            continue
    msg.set_content(text or "")
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data, content_id in attachments:
        if not data:
            continue
        maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
        headers = {"Content-ID": f"<{content_id.strip('<>')}>"} if content_id else None
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=filename or "attachment", headers=_cid_header(headers))
    return msg.as_bytes()


def _cid_header(headers):
    if not headers:
        return None
    return [f"{k}: {v}" for k, v in headers.items()]


def _merge(first, rest):
    """Top-level fields first, then the provider's header list for everything else."""
    names = {n.lower() for n, _ in first}
    return list(first) + [(n, v) for n, v in rest if n.lower() not in names]


# ---- Postmark ----------------------------------------------------------------------------

def postmark(request, mailbox):
    check_secret(basic_password(request), mailbox.inbound_secret)
    try:
        data = json.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused("Malformed JSON.", 400) from exc
    # Lone surrogates ("\ud800") are valid JSON but can be neither stored nor encoded.
    if not isinstance(data, dict) or has_lone_surrogate(data):
        raise Refused("Malformed JSON.", 400)
    try:
        return _postmark_mime(data)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        # Valid JSON of another shape than Postmark's (a number for TextBody, Attachments
        # that are not objects...) is a bad request, not a server error. (KeyError: what
        # EmailMessage.set_content raises for a body that is not text.)
        raise Refused("Malformed Postmark payload.", 400) from exc


def _postmark_mime(data):
    key = f"postmark:{data.get('MessageID') or ''}" if data.get("MessageID") else None
    if data.get("RawEmail"):
        return str(data["RawEmail"]).encode("utf-8", "surrogateescape"), key
    full = data.get("FromFull") if isinstance(data.get("FromFull"), dict) else {}
    sender = formataddr((full.get("Name") or "", full["Email"])) if full.get("Email") else data.get("From")
    top = [("From", sender), ("To", data.get("To")), ("Cc", data.get("Cc")),
           ("Reply-To", data.get("ReplyTo")), ("Subject", data.get("Subject")), ("Date", data.get("Date"))]
    listed = [(h.get("Name"), h.get("Value")) for h in data.get("Headers") or [] if isinstance(h, dict)]
    files = []
    for att in data.get("Attachments") or []:
        try:
            content = base64.b64decode(att.get("Content") or "", validate=False)
        except (binascii.Error, ValueError):
            continue
        files.append((att.get("Name"), att.get("ContentType"), content, att.get("ContentID") or ""))
    return compose(_merge([h for h in top if h[1]], listed), data.get("TextBody") or "",
                   data.get("HtmlBody") or "", files), key


# ---- Mailgun -----------------------------------------------------------------------------

def mailgun_signature(signing_key, timestamp, token):
    return hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def mailgun(request, mailbox, now=None):
    form = request.form
    timestamp, token, signature = form.get("timestamp", ""), form.get("token", ""), form.get("signature", "")
    if not mailbox.mailgun_signing_key or not (timestamp and token and signature):
        raise Refused("Missing signature.")
    expected = mailgun_signature(mailbox.mailgun_signing_key, timestamp, token)
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise Refused("Wrong signature.")
    try:
        skew = abs((now or time.time()) - int(timestamp))
    except ValueError as exc:
        raise Refused("Bad timestamp.") from exc
    if skew > MAILGUN_MAX_SKEW:
        raise Refused("Stale timestamp.")
    key = f"mailgun:{token}"
    if form.get("body-mime"):
        return form["body-mime"].encode("utf-8", "surrogateescape"), key
    try:
        listed = [(n, v) for n, v in json.loads(form.get("message-headers") or "[]")]
    except (ValueError, TypeError) as exc:
        raise Refused("Malformed message-headers.", 400) from exc
    top = [("From", form.get("from")), ("Subject", form.get("subject"))]
    files, cid_map = [], {}
    try:
        cid_map = {v: k for k, v in json.loads(form.get("content-id-map") or "{}").items()}
    except (ValueError, AttributeError, TypeError):  # TypeError: a list value cannot be a key
        cid_map = {}
    for name, file in request.files.items(multi=True):
        files.append((file.filename, file.mimetype, file.read(), cid_map.get(name, "")))
    return compose(_merge([h for h in top if h[1]], listed), form.get("body-plain") or "",
                   form.get("body-html") or "", files), key


# ---- SendGrid ----------------------------------------------------------------------------

def sendgrid(request, mailbox):
    check_secret(basic_password(request) or request.args.get("secret"), mailbox.inbound_secret)
    form = request.form
    if form.get("email"):
        raw = form["email"].encode("utf-8", "surrogateescape")
    else:
        parsed = HeaderParser(policy=policy.compat32).parsestr(form.get("headers") or "")
        listed = list(parsed.items())
        top = [("From", form.get("from")), ("To", form.get("to")), ("Cc", form.get("cc")),
               ("Subject", form.get("subject"))]
        try:
            info = json.loads(form.get("attachment-info") or "{}")
        except ValueError:
            info = {}
        info = info if isinstance(info, dict) else {}  # valid JSON, but not the documented object
        files = []
        for name, file in request.files.items(multi=True):
            meta = info.get(name) if isinstance(info.get(name), dict) else {}
            meta = {k: v for k, v in meta.items() if isinstance(v, str)}
            files.append((meta.get("filename") or file.filename, meta.get("type") or file.mimetype, file.read(),
                          meta.get("content-id") or ""))
        raw = compose(_merge([h for h in top if h[1]], listed), form.get("text") or "", form.get("html") or "",
                      files)
    return raw, "sendgrid:" + hashlib.sha256(raw).hexdigest()[:48]
