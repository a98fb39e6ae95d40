"""The one place untrusted text is made safe.

Chat text is plain text: escaped, then URLs linkified (with rel="nofollow noopener" and
target="_blank"). Email HTML goes through an allowlist. Both use bleach, which is in
security-fix-only mode upstream; keeping every call here means swapping it (for nh3 or
justhtml) touches one module.
"""
import re
import threading

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bleach.linkifier import Linker
from markupsafe import escape

# Lone UTF-16 surrogates ("\ud800", valid in JSON) cannot be encoded as UTF-8, so a database
# refuses them: they are dropped like control characters instead of failing the request.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value):
    """Whether decoded JSON (str, list, dict, nested) holds a lone surrogate anywhere: such
    text can never be stored or sent on as UTF-8, so an entry point refuses it as malformed."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


EMAIL_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "div", "em", "font", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
EMAIL_ATTRIBUTES = {
    "*": ["style", "title", "dir", "lang", "align"],
    "a": ["href", "name"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan", "valign", "width"],
    "th": ["colspan", "rowspan", "valign", "width"],
    "table": ["width", "cellpadding", "cellspacing", "border"],
    "font": ["color", "size", "face"],
}
EMAIL_PROTOCOLS = frozenset({"http", "https", "mailto", "cid", "tel"})
_css = CSSSanitizer(allowed_css_properties=[
    "color", "background-color", "font-weight", "font-style", "font-size", "text-align",
    "text-decoration", "margin", "padding", "border", "width", "height",
])


def clean_text(value, max_length=None):
    """Normalise untrusted plain text: strip control characters and surrounding whitespace."""
    if value is None:
        return ""
    value = _CONTROL.sub("", str(value)).replace("\r\n", "\n").strip()
    if max_length is not None:
        value = value[:max_length]
    return value


def _link_attrs(attrs, new=False):
    href_key = (None, "href")
    href = attrs.get(href_key, "")
    if not href.startswith(("http:", "https:", "mailto:")):
        return attrs
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    attrs[(None, "target")] = "_blank"
    return attrs


#: What any link bleach would make contains: a dot between a domain label and a letter.
_MAY_LINK = re.compile(r"[\w-]\.[^\W\d_]", re.UNICODE)


# One Linker and one Cleaner, reused: building them (an html5lib parser, walker and
# serializer each) costs more than most texts take to process. They keep state while
# working, so one caller at a time.
_linker = Linker(callbacks=[_link_attrs], parse_email=False)
# Signatures (helpdesk.signatures) also link email addresses: a support address at the foot
# of a mail is meant to be written to. Chat text does not: its addresses stay text.
_email_linker = Linker(callbacks=[_link_attrs], parse_email=True)
_linker_lock = threading.Lock()
_email_cleaner = bleach.Cleaner(tags=EMAIL_TAGS, attributes=EMAIL_ATTRIBUTES, protocols=EMAIL_PROTOCOLS,
                                css_sanitizer=_css, strip=True, strip_comments=True)
_email_cleaner_lock = threading.Lock()


def text_to_html(text, *, emails=False):
    """Plain chat text -> safe HTML: everything escaped, links made clickable, newlines kept.
    ``emails``: email addresses become mailto: links too."""
    escaped = str(escape(text))
    # Most chat lines hold no link; linkify parses the whole text as HTML, which costs more
    # than the rest of storing a message, so it only runs where a link may be.
    if _MAY_LINK.search(escaped):
        with _linker_lock:
            escaped = (_email_linker if emails else _linker).linkify(escaped)
    return escaped.replace("\n", "<br>")


# Elements whose content is never shown as text by a browser: a script, a style sheet (every
# Outlook mail starts with one), the title. Stripping only their tags, as the cleaner does
# for anything not allowed, would put their code on the screen. Their content runs to the
# first matching end tag, or to the end when there is none, as the HTML parser reads them.
_HIDDEN_ELEMENTS = re.compile(r"<(script|style|title|template|noembed|noframes|iframe)\b[^>]*>"
                              r".*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)


def sanitize_email_html(html):
    """Allowlisted email HTML. Remote images stay in the markup; the viewer blocks them
    until the agent allows them (the frame is sandboxed)."""
    html = _HIDDEN_ELEMENTS.sub("", html or "")
    with _email_cleaner_lock:
        return _email_cleaner.clean(html)


def preview(text, length=140):
    """A one-line preview for queue rows and notifications."""
    one_line = " ".join(clean_text(text).split())
    return one_line if len(one_line) <= length else one_line[: length - 1] + "…"


def html_to_text(html):
    """Product descriptions and similar shop HTML as one line of plain text (tags dropped,
    entities decoded); shown later with autoescape like any other text."""
    import html as html_mod

    stripped = bleach.clean(html or "", tags=set(), strip=True, strip_comments=True)
    return " ".join(html_mod.unescape(stripped).split())
