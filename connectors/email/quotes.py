"""Split quoted history off an email so the inbox can collapse it (the original is kept).

Text: Gmail/Apple "On … wrote:", Outlook "-----Original Message-----" and its
"From:/Sent:" block, localized variants, and a trailing block of "> " lines.
HTML: the markers mail clients wrap their quotes in (gmail_quote, blockquote type=cite,
divRplyFwdMsg, moz-cite-prefix, yahoo_quoted…), found before sanitising removes them.
Forwarded messages are content, never collapsed.
"""
import html as html_mod
import re

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{4,250}\bwrote\s*:"                      # Gmail, Apple Mail, Thunderbird (en)
    r"|Le\b.{4,250}\ba écrit\s*:"                    # fr
    r"|Am\b.{4,250}\bschrieb\b.{0,120}:"            # de
    r"|El\b.{4,250}\bescribió\s*:"                   # es
    r"|Il\b.{4,250}\bha scritto\s*:"                 # it
    r"|Op\b.{4,250}\bschreef\b.{0,120}:"            # nl
    r"|Em\b.{4,250}\bescreveu\s*:"                   # pt
    r"|W dniu\b.{4,250}\bpisze\s*:"                  # pl
    r"|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.{0,200}\b(?:wrote|пишет|написал\w*)\s*:"
    r"|.{4,250}\b(?:пишет|написав|написал\w*)\s*:"   # ru, uk
    r")\s*$",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Oorspronkelijk bericht|Messaggio originale|Исходное сообщение)\s*-{2,}"
    r"|_{20,})\s*$",
    re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(r"^\s*\*?(?:From|Von|De|Van|Od|От)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Wysłano|Отправлено|"
                          r"To|An|À|Para|Aan|Do|Кому)\s*:", re.IGNORECASE)
_FORWARD = re.compile(r"^\s*(?:-{5,}\s*Forwarded message\s*-{5,}|Begin forwarded message\s*:"
                      r"|-{5,}\s*Weitergeleitete Nachricht|-{3,}\s*Message transféré)", re.IGNORECASE)


def split_text(text):
    """``(reply, quoted)``; ``quoted`` is "" when nothing looks like history."""
    if not text:
        return "", ""
    lines = text.split("\n")
    cut = None
    for i, line in enumerate(lines):
        if _FORWARD.match(line):
            break  # everything after is the forwarded content: keep it visible
        if _SEPARATORS.match(line):
            cut = i
            break
        if _HEADER_BLOCK.match(line) and any(_HEADER_NEXT.match(nxt) for nxt in lines[i + 1:i + 4]):
            cut = i
            break
        if _ATTRIBUTION.match(line):
            cut = i
            break
        # Attribution lines wrapped by the sender's client: "On Tue, … Dana <\ndana@x> wrote:"
        if i + 1 < len(lines) and re.match(r"^\s*(?:On|Le|Am|El|Il|Op|Em)\b", line, re.IGNORECASE) \
                and _ATTRIBUTION.match(line + " " + lines[i + 1].strip()):
            cut = i
            break
        if line.startswith(">") and _only_quotes_after(lines, i):
            cut = i
            break
    if cut is None or cut == 0:
        return text.strip(), ""
    reply = "\n".join(lines[:cut]).strip()
    if not reply:
        return text.strip(), ""
    return reply, "\n".join(lines[cut:]).strip()


def _only_quotes_after(lines, start):
    """True when every remaining non-blank line is quoted (a bottom quote, not inline replies)."""
    for line in lines[start:]:
        if line.strip() and not line.startswith(">"):
            return False
    return True


_HTML_MARKERS = re.compile(
    r"<div[^>]+class=[\"']?[^\"'>]*\bgmail_quote\b"
    r"|<blockquote[^>]+type=[\"']?cite"
    r"|<div[^>]+id=[\"']?(?:divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)\b"
    r"|<div[^>]+class=[\"']?[^\"'>]*\b(?:moz-cite-prefix|yahoo_quoted|OutlookMessageHeader|protonmail_quote)\b"
    r"|<div[^>]+id=[\"']?yahoo_quoted"
    r"|<hr[^>]+id=[\"']?stopSpelling"
    r"|<div[^>]+style=[\"'][^\"']*border-top:\s*solid\s+#(?:E1E1E1|B5C4DF)"
    r"|-{2,}\s*Original Message\s*-{2,}",
    re.IGNORECASE,
)
_FORWARD_HTML = re.compile(r"-{5,}\s*Forwarded message|Begin forwarded message", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def split_html(html):
    """``(reply_html, quoted_html)`` split at the first quote marker (unsanitised input)."""
    if not html:
        return "", ""
    match = _HTML_MARKERS.search(html)
    if match is None:
        return html, ""
    forward = _FORWARD_HTML.search(html)
    if forward is not None and forward.start() < match.start():
        return html, ""
    head = html[:match.start()]
    if not html_to_text(head).strip():
        return html, ""
    return head, html[match.start():]


_BLOCK_END = re.compile(r"</(?:p|div|tr|li|h[1-6]|blockquote|table)\s*>|<br\s*/?>", re.IGNORECASE)
_DROP = re.compile(r"<(script|style|head|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(html):
    """A readable plain-text rendering of email HTML (for previews, search and text-only views)."""
    if not html:
        return ""
    text = _DROP.sub("", html)
    text = _BLOCK_END.sub("\n", text)
    text = _TAGS.sub("", text)
    text = html_mod.unescape(text).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    out, blank = [], 0
    for line in lines:
        blank = blank + 1 if not line.strip() else 0
        if blank <= 1:
            out.append(line.strip())
    return "\n".join(out).strip()
