"""Email signatures: the agent's own (``Agent.signature``) and the store's
(``settings["signature"]``, with placeholders), as they end the mail a shopper receives.

Both are plain text. The text part carries them as written; the HTML part escapes them and
links their URLs and email addresses (``helpdesk.text.text_to_html``), so markup typed in a
signature is shown as text, never run.

Which one a mail carries: an agent's reply, the agent's signature, else the store's;
automatic mail (acknowledgements), the store's; a note is never mailed.
"""
import re
from dataclasses import dataclass

from markupsafe import Markup

from helpdesk.text import clean_text, text_to_html

#: Longest signature, agent's or store's, in characters (a line break counts as one).
MAX_SIGNATURE_LENGTH = 1000
#: What a store signature may name, and what each becomes.
PLACEHOLDERS = ("{agent_name}", "{store_name}")
# Anything in braces is read as a placeholder, so a typo ({agent}, {Store_Name}) is refused
# instead of reaching shoppers as it was typed.
_PLACEHOLDER = re.compile(r"\{[^{}\n]{0,60}\}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def clean_signature(text):
    """Untrusted signature text as stored: control characters dropped, line breaks as
    ``\\n``, trailing spaces and surrounding blank lines gone, at most MAX_SIGNATURE_LENGTH
    characters. Empty stays empty."""
    text = clean_text(str(text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return _TRAILING_SPACE.sub("\n", text)[:MAX_SIGNATURE_LENGTH].strip()


def unknown_placeholders(text):
    """The ``{...}`` in ``text`` that are not PLACEHOLDERS, in order, each once."""
    found = []
    for token in _PLACEHOLDER.findall(text or ""):
        if token not in PLACEHOLDERS and token not in found:
            found.append(token)
    return found


def fill_placeholders(text, *, agent_name, store_name):
    """The store signature for one mail. One pass of explicit replacement (never
    ``str.format``, which would read attributes and indexes out of what an admin typed), so
    a name that itself contains ``{store_name}`` stays as it is. Without an agent (automatic
    mail) ``{agent_name}`` is left out, and so is a line it leaves empty."""
    values = {"{agent_name}": agent_name or "", "{store_name}": store_name or ""}
    lines = []
    for line in text.split("\n"):
        filled = _PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), line).rstrip()
        if filled.strip() or not line.strip():
            lines.append(filled)
    return "\n".join(lines).strip()


@dataclass(frozen=True)
class Signature:
    """A signature ready for both parts of a mail."""

    text: str

    @property
    def html(self):
        return Markup(text_to_html(self.text, emails=True))


def store_signature(store, agent=None):
    """The store's signature with its placeholders filled (``agent``: who the mail is from,
    if anyone), or None when the store has none."""
    template = clean_signature(store.setting("signature"))
    text = fill_placeholders(template, agent_name=agent.name if agent is not None else "",
                             store_name=store.name) if template else ""
    return Signature(text) if text else None


def reply_signature(store, agent):
    """What ends ``agent``'s reply: their own signature, else the store's, else None."""
    own = clean_signature(agent.signature) if agent is not None else ""
    return Signature(own) if own else store_signature(store, agent)


def reply_signature_text(store, agent):
    """``reply_signature`` as plain text, "" for none: what the reply box says will be added."""
    signature = reply_signature(store, agent)
    return signature.text if signature is not None else ""
