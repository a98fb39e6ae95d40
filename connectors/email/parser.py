"""Raw MIME -> ``InboundEmail``: the one parser every inbound path (IMAP, raw endpoint,
Postmark, Mailgun, SendGrid) goes through.

Standard library ``email`` with ``policy.default``; nothing here touches the database.
Broken input never raises out of ``parse`` except as ``MalformedEmail`` with a reason
(no usable sender, not a message at all): charsets that Python does not know fall back
to close relatives, unreadable headers to their raw text, broken parts to their bytes.
"""
import hashlib
import re
from dataclasses import dataclass, field
from datetime import timezone
from email import headerregistry, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from connectors.email import loops, quotes
from helpdesk.text import clean_text, sanitize_email_html

#: Larger messages are refused with a logged reason (IMAP poller, endpoints).
MAX_EMAIL_BYTES = 25 * 1024 * 1024

_MSGID = re.compile(r"<([^<>\s]+)>")
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874", "x-sjis": "shift_jis", "shift-jis": "shift_jis",
    "iso-2022-jp": "iso2022_jp_ext", "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
    "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "ansi_x3.4-1968": "ascii", "latin1": "iso-8859-1",
    "iso-8859-1": "cp1252", "us-ascii": "ascii", "default": "ascii", "x-user-defined": "cp1252",
    "unknown-8bit": "", "x-unknown": "", "unknown": "", "charset": "",
}


class _HeaderClasses(headerregistry.HeaderRegistry):
    """policy.default's header registry, remembering the class it builds per header name
    (the stock one builds a new class on every header access: most of the parse time)."""

    def __init__(self):
        super().__init__()
        self._built = {}

    def __getitem__(self, name):
        name = name.lower()
        cls = self._built.get(name)
        if cls is None:
            cls = self._built[name] = super().__getitem__(name)
        return cls


_LINESEP = re.compile(r"\n|\r")  # what policy.header_fetch_parse removes from a folded value
_MIME_TOKEN = r"[!#$%&+\-.0-9A-Z^_`a-z{|}~]+"  # RFC 2045 token, without ' and * (RFC 2231)
# ``type/subtype; name=value; name="value"``: well-formed, ASCII, no comments, escapes,
# encoded words or RFC 2231 parameters.
_SIMPLE_CONTENT_TYPE = re.compile(
    rf'[ \t]*{_MIME_TOKEN}/{_MIME_TOKEN}((?:[ \t]*;[ \t]*{_MIME_TOKEN}=(?:{_MIME_TOKEN}|"[ !#-\[\]-~]*"))*)[ \t]*')
# ``disposition; name=value; name="value"``, as well-formed as above.
_SIMPLE_DISPOSITION = re.compile(
    rf'[ \t]*({_MIME_TOKEN})((?:[ \t]*;[ \t]*{_MIME_TOKEN}=(?:{_MIME_TOKEN}|"[ !#-\[\]-~]*"))*)[ \t]*')
_PARAMETER_NAME = re.compile(rf";[ \t]*({_MIME_TOKEN})=")
_SIMPLE_FORMS = {"content-type": _SIMPLE_CONTENT_TYPE, "content-disposition": _SIMPLE_DISPOSITION}


def _simple_parameter_header(name, value):
    """A well-formed Content-Type or Content-Disposition as plain text, else None.

    Every reader of Content-Type (``get_content_type``, ``get_param``, ``get_boundary``, the
    feed parser itself) and of Content-Disposition (``get_filename``, ``is_attachment``
    below) reads it as a string; for a well-formed value the plain text reads exactly as the
    header registry's object does, which costs a full parse per MIME part."""
    if not isinstance(value, str):
        return None
    value = "".join(_LINESEP.split(value))
    match = _SIMPLE_FORMS[name].fullmatch(value)
    if match is None or "=?" in value:
        return None
    names = [n.lower() for n in _PARAMETER_NAME.findall(match.group(match.lastindex))]
    return value if len(names) == len(set(names)) else None


class _ParsedMessage(EmailMessage):
    """An EmailMessage that parses each header once: the stock class parses the header again
    on every access, and Content-Type is read a dozen times per part while walking a message."""

    def get(self, name, failobj=None):
        cache = self.__dict__.setdefault("_parsed_headers", {})
        key = name.lower()
        if key not in cache:
            cache[key] = self._parameter_header(key) if key in _SIMPLE_FORMS else super().get(name, None)
        value = cache[key]
        return failobj if value is None else value

    def _parameter_header(self, key):
        for name, value in self._headers:
            if name.lower() == key:
                simple = _simple_parameter_header(key, value)
                return simple if simple is not None else self.policy.header_fetch_parse(name, value)
        return None

    def is_attachment(self):
        # The stock method reads the parsed header's ``content_disposition``; a well-formed
        # value is kept as text (above), whose first token is the same thing.
        value = self.get("content-disposition")
        if value is None:
            return False
        if isinstance(value, headerregistry.BaseHeader):  # (a str too)
            return value.content_disposition == "attachment"
        return value.split(";", 1)[0].strip().lower() == "attachment"

    def _changed(self):
        self.__dict__.pop("_parsed_headers", None)

    def __setitem__(self, name, val):
        self._changed()
        super().__setitem__(name, val)

    def __delitem__(self, name):
        self._changed()
        super().__delitem__(name)

    def set_raw(self, name, value):
        self._changed()
        super().set_raw(name, value)

    def replace_header(self, _name, _value):
        self._changed()
        super().replace_header(_name, _value)

    def set_param(self, *args, **kwargs):
        self._changed()
        super().set_param(*args, **kwargs)

    def del_param(self, *args, **kwargs):
        self._changed()
        super().del_param(*args, **kwargs)


#: ``policy.default`` with the caching registry: same parsing, same header objects.
POLICY = policy.default.clone(header_factory=_HeaderClasses(), message_factory=_ParsedMessage)


class MalformedEmail(Exception):
    """The bytes are not a message we can turn into a ticket; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class InboundEmail:
    from_name: str = ""
    from_address: str = ""
    to: list = field(default_factory=list)
    cc: list = field(default_factory=list)
    reply_to: str = ""
    # Addresses the message was delivered to (To, Cc, Delivered-To, X-Original-To...):
    # where a reply-token address shows up.
    recipients: list = field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    in_reply_to: list = field(default_factory=list)
    references: list = field(default_factory=list)
    date: object = None
    date_header: str = ""
    text: str = ""
    html: str = ""  # sanitised
    quoted_text: str = ""
    quoted_html: str = ""  # sanitised
    attachments: list = field(default_factory=list)
    loop_reason: str = None
    bounce: object = None
    defects: list = field(default_factory=list)
    size: int = 0
    # The parsed MIME tree until ``read_bodies`` has run (not a field: never compared or copied).
    _message = None

    def read_bodies(self):
        """Text, HTML, quoted parts and attachments, for ``parse(raw, bodies=False)``."""
        msg, self._message = self._message, None
        if msg is not None:
            _bodies(msg, self)
            _drop_controls(self)
        return self

    @property
    def is_automatic(self):
        return self.loop_reason is not None

    def dedupe_key(self, raw=b""):
        """Message-ID + sender + date; without a Message-ID, the bytes themselves."""
        basis = f"{self.message_id}\n{self.from_address}\n{self.date.isoformat() if self.date else self.date_header}"
        if not self.message_id:
            basis += "\n" + hashlib.sha256(raw).hexdigest()
        return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def decode_bytes(data, charset):
    """Bytes in a declared (possibly wrong or unknown) charset -> str, never raising."""
    if not data:
        return ""
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name in ("", "ascii"):
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            name = ""  # 8-bit text under an ASCII label: the sender's client lied; guess below
    if name:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            return data.decode(name, errors="replace")
        except (LookupError, ValueError):
            pass  # unknown (or garbled) charset name
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_SURROGATES = re.compile(r"[\udc80-\udcff]")


def _unsurrogate(value):
    """Raw 8-bit bytes in a header (no encoded words) arrive as surrogate escapes: decode
    them as UTF-8 (what such clients send), else Windows-1252."""
    if not value or not _SURROGATES.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _raw_header(msg, name):
    """A header as text, decoding encoded words; tolerant of what policy.default rejects."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        return _unsurrogate(str(value))
    except Exception:  # noqa: BLE001
        pass
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(value)))
            except Exception:  # noqa: BLE001
                return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return ""


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unparsed(msg, name):
    """A header's raw text, unfolded: for tokens that need no decoding (Message-IDs, dates),
    cheaper than the header registry's full parse."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _unsurrogate(_FOLD.sub("", value if isinstance(value, str) else str(value))).strip()
    return ""


# A sender header as almost every client writes it: ``Name <a@b>``, ``"Name" <a@b>``, ``<a@b>``
# or ``a@b``, ASCII, no comments, escapes or encoded words. The header registry reads these
# to the same name and address, at ten times the cost.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_ADDR = rf"({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
_SIMPLE_SENDER = re.compile(
    rf'[ \t]*(?:"([ !#-\[\]-~]*)"|({_ATEXT}(?: {_ATEXT})*))?[ \t]*<{_SIMPLE_ADDR}>[ \t]*|[ \t]*{_SIMPLE_ADDR}[ \t]*',
    re.ASCII)


def _simple_sender(text):
    """``[(display name, lower-cased address)]`` of a simple one-address header, else None."""
    match = _SIMPLE_SENDER.fullmatch(text) if "=?" not in text else None
    if match is None:
        return None
    if match.group(4):
        address, display = match.group(4), ""
    else:
        address, display = match.group(3), match.group(1) if match.group(1) is not None else match.group(2) or ""
    return [(display, address.lower())] if len(address) <= 254 else None


def _addresses(msg, name):
    """[(display name, lower-cased address)] of an address header."""
    simple = _simple_sender(_unparsed(msg, name))
    if simple is not None:
        return simple
    try:
        header = msg.get(name)
        if header is None:
            return []
        found = [(_unsurrogate(a.display_name or ""), _unsurrogate(a.addr_spec or "").lower())
                 for a in header.addresses]
        return [(n, a) for n, a in found if "@" in a and len(a) <= 254]
    except Exception:  # noqa: BLE001
        text = _raw_header(msg, name)
        return [(n, a.lower()) for n, a in getaddresses([text]) if "@" in a and len(a) <= 254]


def _address_list(msg, name):
    """The lower-cased addresses of a header whose display names nobody reads (To, Cc,
    Delivered-To...): read from the raw text, about ten times cheaper than the header
    registry's full parse, which matters with a dozen recipients per message."""
    text = _unparsed(msg, name)
    if not text:
        return []
    return [a.lower() for _n, a in getaddresses([text]) if "@" in a and len(a) <= 254]


def _ids(value):
    found = _MSGID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip()]  # a client that forgot the angle brackets
    return [f for f in found if f][:50]


def _part_text(part):
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            payload = raw.encode("utf-8", "surrogateescape")
        else:
            return ""
    return decode_bytes(payload, part.get_content_charset())


def _filename(part):
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if name:
        return clean_text(str(make_header(decode_header(name))) if "=?" in name else name, 255)
    return ""


def _leaves(part, depth=0):
    """Leaf parts in order; an attached message (forward as attachment) is one leaf."""
    if depth > 20:
        return
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global", "message/delivery-status", "text/rfc822-headers",
                 "message/global-delivery-status", "message/disposition-notification"):
        yield part
        return
    if part.is_multipart():
        try:
            children = list(part.iter_parts())
        except Exception:  # noqa: BLE001
            children = []
        for child in children:
            yield from _leaves(child, depth + 1)
        return
    yield part


def _disposition(part):
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001
        return ""


def parse(raw, *, bodies=True):
    """Parse raw RFC 5322 bytes into an ``InboundEmail``. Raises ``MalformedEmail``.

    ``bodies=False`` stops after the headers, automatic-mail detection and bounce report;
    ``email.read_bodies()`` reads the rest (the intake skips it for mail it drops)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not raw or not raw.strip():
        raise MalformedEmail("empty message")
    if len(raw) > MAX_EMAIL_BYTES:
        raise MalformedEmail(f"message of {len(raw)} bytes is over the {MAX_EMAIL_BYTES} byte limit")
    try:
        msg = BytesParser(_ParsedMessage, policy=POLICY).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        raise MalformedEmail(f"unparseable MIME: {type(exc).__name__}") from exc
    if not any(True for _ in msg.raw_items()):
        raise MalformedEmail("no headers")

    email = InboundEmail(size=len(raw))
    email.defects = sorted({type(d).__name__ for d in msg.defects})[:10]

    senders = _addresses(msg, "From") or _addresses(msg, "Sender") or _addresses(msg, "Reply-To")
    if not senders:
        name, addr = parseaddr(_raw_header(msg, "From"))
        if "@" in addr and len(addr) <= 254:
            senders = [(name, addr.lower())]
    if not senders:
        # A bounce without From is still a bounce; everything else needs a sender.
        if msg.get_content_type() != "multipart/report":
            raise MalformedEmail("no sender address (From)")
        senders = [("", "mailer-daemon@unknown.invalid")]
    email.from_name, email.from_address = clean_text(senders[0][0], 255), senders[0][1][:255]
    email.to = _address_list(msg, "To")
    email.cc = _address_list(msg, "Cc")
    reply_to = _address_list(msg, "Reply-To")
    email.reply_to = reply_to[0] if reply_to else ""
    recipients = list(email.to) + list(email.cc)
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"):
        recipients += _address_list(msg, name)
    email.recipients = list(dict.fromkeys(recipients))

    email.subject = clean_text(" ".join(_raw_header(msg, "Subject").split()), 255)
    ids = _ids(_unparsed(msg, "Message-ID"))
    email.message_id = ids[0] if ids else ""
    email.in_reply_to = _ids(_unparsed(msg, "In-Reply-To"))
    email.references = _ids(_unparsed(msg, "References"))
    email.date_header = _unparsed(msg, "Date")[:100]
    try:
        date = parsedate_to_datetime(email.date_header) if email.date_header else None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=timezone.utc)
        email.date = date.astimezone(timezone.utc) if date is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):
        email.date = None

    email.loop_reason = loops.loop_reason(msg, email.from_address)
    if email.loop_reason == "bounce":
        email.bounce = loops.parse_bounce(msg)

    email._message = msg
    if bodies:
        return email.read_bodies()
    _drop_controls(email)
    return email


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _drop_controls(email):
    """No control characters (NUL above all: PostgreSQL refuses it) in anything we store."""
    def clean(value):
        return _CONTROLS.sub("", value) if value and _CONTROLS.search(value) else value

    for name in ("from_address", "reply_to", "message_id", "date_header", "text", "html", "quoted_text",
                 "quoted_html", "subject", "from_name"):
        setattr(email, name, clean(getattr(email, name)))
    for name in ("to", "cc", "recipients", "in_reply_to", "references"):
        setattr(email, name, [v for v in (clean(x) for x in getattr(email, name)) if v])
    for part in email.attachments:
        part.filename, part.content_id = clean(part.filename), clean(part.content_id)
    if email.bounce is not None:
        email.bounce.original_message_id = clean(email.bounce.original_message_id)
        email.bounce.recipients = [{k: clean(v) for k, v in r.items()} for r in email.bounce.recipients
                                   if clean(r.get("address")) and len(r["address"]) <= 254]


def _bodies(msg, email):
    plain = html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001
        plain = html = None
    leaves = list(_leaves(msg))
    if plain is None and html is None:
        for leaf in leaves:
            ctype = leaf.get_content_type()
            if _disposition(leaf) != "attachment" and not _filename(leaf):
                if ctype == "text/plain" and plain is None:
                    plain = leaf
                elif ctype == "text/html" and html is None:
                    html = leaf
    text = _part_text(plain) if plain is not None else ""
    raw_html = _part_text(html) if html is not None else ""
    if not text and raw_html:
        text = quotes.html_to_text(raw_html)
    if not text and not raw_html and not msg.is_multipart() and msg.get_content_maintype() in ("text", "multipart"):
        text = _part_text(msg)  # a text body, or a "multipart" whose boundary is missing
    text = text.replace("\r\n", "\n").replace("\r", "\n")

    email.text, email.quoted_text = quotes.split_text(text)
    if raw_html:
        head, tail = quotes.split_html(raw_html)
        email.html = sanitize_email_html(head)
        email.quoted_html = sanitize_email_html(tail) if tail else ""

    cids = set(re.findall(r"cid:([^\"'\s>)]+)", raw_html or "", re.IGNORECASE))
    for leaf in leaves:
        if leaf is plain or leaf is html:
            continue
        ctype = leaf.get_content_type()
        disposition = _disposition(leaf)
        filename = _filename(leaf)
        if ctype in ("message/delivery-status", "message/global-delivery-status", "text/rfc822-headers",
                     "message/disposition-notification"):
            continue
        if ctype in ("message/rfc822", "message/global"):
            inner = leaf.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            try:
                data = inner.as_bytes(policy=policy.default.clone(linesep="\r\n"))
            except Exception:  # noqa: BLE001
                try:
                    data = leaf.as_bytes()
                except Exception:  # noqa: BLE001
                    continue
            subject = clean_text(_raw_header(inner, "Subject"), 80) if hasattr(inner, "get") else ""
            email.attachments.append(Part(filename or (subject or "message") + ".eml", "message/rfc822", data))
            continue
        if ctype.startswith("text/") and not filename and disposition != "attachment":
            continue  # another rendering of the body (or a signature stub): not a file
        if ctype.startswith("multipart/"):
            continue
        try:
            data = leaf.get_payload(decode=True)
        except Exception:  # noqa: BLE001
            data = None
        if not data:
            continue
        content_id = _ids(_unparsed(leaf, "Content-ID"))
        cid = content_id[0] if content_id else ""
        if not cid and leaf.get("Content-ID"):
            cid = _unparsed(leaf, "Content-ID").strip("<>")
        email.attachments.append(Part(
            filename or (f"image.{ctype.split('/')[-1]}" if ctype.startswith("image/") else "attachment"),
            ctype, data, content_id=cid, inline=bool(cid and cid in cids),
        ))
