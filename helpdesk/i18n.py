"""Localization in one place: which catalogs exist, which language a request, a shopper or a
contact gets, locale-aware formatting (Babel) in a store's time zone, the language a message
was written in, and the ``helpdesk i18n extract|update|compile`` commands around pybabel.

Languages are Babel locale identifiers (``en``, ``de``, ``uk``, ``ar``, ``pt_BR``). English is
the source language: its catalog holds no translations, the msgids are the English text.
"""
import logging
import os
import re
import threading
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import has_request_context, request
from flask_babel import get_locale, refresh

log = logging.getLogger(__name__)

SOURCE = "en"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "helpdesk", "translations")
BABEL_CFG = os.path.join(ROOT, "babel.cfg")
POT = os.path.join(TRANSLATIONS, "messages.pot")
#: Line width of the catalogs: wide enough that most sentences stay on one line, so an
#: update does not reflow every translation.
WIDTH = "100"
#: Besides ``_``/``gettext``/``ngettext``: the actions' refusals are shown to people, so their
#: first argument is a msgid too (translated when the error is rendered, ActionError.as_dict).
#: ``N_`` marks a msgid that is translated later, where it is shown (validator messages).
KEYWORDS = ("lazy_gettext", "_l", "N_", "ActionError", "NotFound", "Forbidden", "Conflict",
            "plural_forms:1,2")
#: Languages written right to left (the widget mirrors for them).
RTL = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ckb"})
_CODE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


# ---- which languages exist --------------------------------------------------------------

@lru_cache(maxsize=1)
def available():
    """The languages with a catalog (English always: it is the source)."""
    found = {SOURCE}
    if os.path.isdir(TRANSLATIONS):
        for name in os.listdir(TRANSLATIONS):
            if os.path.isfile(os.path.join(TRANSLATIONS, name, "LC_MESSAGES", "messages.mo")):
                found.add(name)
    return tuple(sorted(found))


def normalize(code):
    """``de-DE`` / ``de_de`` / ``DE`` → the available catalog that serves it (``de``), or None."""
    if not code or not isinstance(code, str) or not _CODE.match(code.strip()):
        return None
    parts = code.strip().replace("-", "_").split("_")
    full = "_".join([parts[0].lower()] + [p.upper() if len(p) == 2 else p.title() for p in parts[1:]])
    have = available()
    if full in have:
        return full
    return parts[0].lower() if parts[0].lower() in have else None


def is_rtl(code):
    return bool(code) and code.replace("-", "_").split("_")[0].lower() in RTL


def language_name(code, in_locale=None):
    """``de`` → "Deutsch" (or the name in ``in_locale``), for language pickers and badges."""
    try:
        name = Locale.parse(code).get_display_name(in_locale or code)
    except (ValueError, UnknownLocaleError):
        return code
    return (name[:1].upper() + name[1:]) if name else code


# ---- which language a store, a shopper, a contact, a request gets ------------------------

def store_languages(store):
    """The store's configured languages that have a catalog, in the store's order. A listed
    language without a catalog is skipped with a warning (so English serves those shoppers);
    none left → English."""
    configured = store.setting("languages") or []
    out = []
    for code in configured if isinstance(configured, list) else []:
        found = normalize(code)
        if found is None:
            log.warning("store language has no catalog; falling back",
                        extra={"store_id": store.id, "language": str(code)[:16], "fallback": SOURCE})
        elif found not in out:
            out.append(found)
    return out or [SOURCE]


def negotiate(store, requested=None, accept=None):
    """The shopper's language: ``requested`` (the shop's ``Helpdesk.setLanguage`` or the
    page's ``language`` option) if the store offers it, else the browser's preference
    (an Accept-Language header value, or navigator.languages as a list), else the store's
    first language."""
    offered = store_languages(store)
    wanted = [requested] if requested else []
    if isinstance(accept, (list, tuple)):
        wanted += list(accept)
    elif accept:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header

        parsed = parse_accept_header(accept, LanguageAccept)
        best = parsed.best_match([o.replace("_", "-") for o in offered])
        wanted += [best] if best else []
    for code in wanted:
        found = normalize(code)
        if found in offered:
            return found
        # ``pt_BR`` asked, ``pt`` offered (and the reverse): same language.
        primary = (str(code) if code else "").replace("-", "_").split("_")[0].lower()
        for o in offered:
            if o.split("_")[0] == primary:
                return o
    return offered[0]


def contact_locale(contact, store):
    """The language of automatic mail to ``contact``: the one recorded on the contact if the
    store offers it, else the store's first language."""
    offered = store_languages(store)
    found = normalize(contact.locale) if contact is not None else None
    return found if found in offered else offered[0]


def use_locale(code):
    """Pin this request's language (the widget frame, the contact form): a shopper is not
    an agent, and the store decides which languages it speaks."""
    # On the request, not on ``g``: ``g`` belongs to the app context, which tests share.
    request.environ["helpdesk.locale"] = normalize(code) or SOURCE
    refresh()


def use_store_locale(store, requested=None):
    """Pin the shopper's language for this request (widget, contact form): ``requested``
    (else the ``lang`` query argument) or the browser's preference, among the store's
    languages. Returns the language."""
    requested = requested or request.args.get("lang")
    code = negotiate(store, requested if isinstance(requested, str) else None,
                     request.headers.get("Accept-Language"))
    use_locale(code)
    return code


#: The texts a store may override per language (``settings["texts"][lang]``).
OVERRIDABLE = ("greeting", "offline_message")
PRECHAT_LABELS = ("name", "email", "order_number", "topic")


def store_text(store, key, language=None):
    """The store's own text for ``key`` in ``language`` (``settings["texts"]``), or "".
    The store's single-language ``greeting``/``offline_message`` settings (from before
    per-language texts) count for its first language. Plain text: rendered escaped."""
    language = language or current()
    texts = store.setting("texts") or {}
    own = texts.get(language) if isinstance(texts, dict) else None
    value = own.get(key) if isinstance(own, dict) else None
    if not value and key in OVERRIDABLE and language == store_languages(store)[0]:
        value = store.setting(key)
    return value if isinstance(value, str) else ""


def prechat_labels(store, language=None):
    """The store's own pre-chat field labels in ``language`` ({field: label}, only those set)."""
    language = language or current()
    texts = store.setting("texts") or {}
    own = texts.get(language) if isinstance(texts, dict) else None
    labels = own.get("prechat") if isinstance(own, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {k: v for k, v in labels.items() if k in PRECHAT_LABELS and isinstance(v, str) and v.strip()}


def select_locale():
    """Flask-Babel's selector: a pinned shopper language, else the agent's profile setting
    (signed in, or by API token), else the browser's preference among the catalogs."""
    pinned = request.environ.get("helpdesk.locale") if has_request_context() else None
    if pinned:
        return pinned
    from flask import g
    from flask_login import current_user

    # An API client signed in with a token is no session user: the token's agent (set by
    # helpdesk.api.auth) speaks the language of their profile too.
    # (Only with a token header: ``g`` can outlive the request where the app context is shared.)
    agent = g.get("api_agent") if has_request_context() and request.headers.get("Authorization") else None
    if agent is None and getattr(current_user, "is_authenticated", False):
        agent = current_user
    found = normalize(getattr(agent, "locale", None))
    if found:
        return found
    if has_request_context():
        return request.accept_languages.best_match([c.replace("_", "-") for c in available()],
                                                   default=SOURCE).replace("-", "_")
    return SOURCE


def current():
    return str(get_locale() or SOURCE)


def plural_forms(singular, plural):
    """A counted string for the browser: ``{CLDR plural category: translated text}`` for the
    current locale (Ukrainian has one, few, many and other), each the gettext plural form
    of a number in that category. The script picks one with ``Intl.PluralRules``; the
    number stays a ``%(num)s`` placeholder."""
    from flask_babel import get_translations

    translations = get_translations()  # unformatted: the placeholder stays for the script
    rule = Locale.parse(current()).plural_form
    forms = {}
    for n in range(0, 200):
        category = rule(n)
        if category not in forms:
            forms[category] = translations.ngettext(singular, plural, n)
        if len(forms) == len(rule.tags | {"other"}):
            break
    # Whole numbers never fall in some languages' "other" (Ukrainian keeps it for fractions,
    # which take the form of 2 there, as "other" does in English).
    forms.setdefault("other", translations.ngettext(singular, plural, 2))
    return forms


# ---- marshmallow's field messages ---------------------------------------------------------

def N_(text):
    """Mark ``text`` as a msgid (extracted by ``helpdesk i18n extract``) without translating
    it yet: a schema's validator messages are built at import time, and translated when a
    422 shows them (:func:`translate_errors`)."""
    return text


#: marshmallow's own messages (fields, validators, unknown fields), as it formats them. Its
#: ``{placeholders}`` are filled by marshmallow; the translation keeps them and is filled again.
MARSHMALLOW_MESSAGES = (
    N_("Missing data for required field."), N_("Field may not be null."), N_("Invalid value."),
    N_("Unknown field."), N_("Invalid input type."), N_("Invalid input."), N_("Invalid type."),
    N_("Not a valid boolean."), N_("Not a valid integer."), N_("Not a valid number."),
    N_("Number too large."), N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid string."), N_("Not a valid utf-8 string."), N_("Not a valid list."),
    N_("Not a valid tuple."), N_("Not a valid mapping type."), N_("Not a valid email address."),
    N_("Not a valid URL."), N_("Not a valid UUID."), N_("Not a valid date."), N_("Not a valid time."),
    N_("Not a valid datetime."), N_("Not a valid naive datetime."), N_("Not a valid aware datetime."),
    N_("Not a valid period of time."), N_("Not a valid IP address."),
    N_("String does not match expected pattern."),
    N_("Must be one of: {choices}."), N_("Must be equal to {other}."),
    N_("One or more of the choices you made was in: {values}."),
    N_("One or more of the choices you made was not in: {choices}."),
    N_("Shorter than minimum length {min}."), N_("Longer than maximum length {max}."),
    N_("Length must be between {min} and {max}."), N_("Length must be {equal}."),
    N_("Must be greater than or equal to {min}."), N_("Must be greater than {min}."),
    N_("Must be less than or equal to {max}."), N_("Must be less than {max}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min} and less than {max}."),
    N_("Must be greater than {min} and less than or equal to {max}."),
    N_("Must be greater than {min} and less than {max}."),
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=1)
def _message_patterns():
    """(regex, msgid) for the messages with placeholders, longest first: "Must be greater
    than {min} and less than {max}." must win over "Must be greater than {min}."."""
    out = []
    for msgid in sorted(MARSHMALLOW_MESSAGES, key=len, reverse=True):
        parts = _PLACEHOLDER.split(msgid)
        if len(parts) == 1:
            continue
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(pattern, re.S), msgid))
    return out


def translate_message(message):
    """One field message in the current language: marshmallow's own (also the formatted
    ones, "Longer than maximum length 16.") through their msgids, any other string through
    the catalog (the schemas' N_() messages; an already translated one stays as it is)."""
    from flask_babel import gettext

    if not isinstance(message, str) or not message:
        return message
    for pattern, msgid in _message_patterns():
        found = pattern.fullmatch(message)
        if found:
            try:
                return gettext(msgid).format(**found.groupdict())
            except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder
                return message
    return gettext(message)


def translate_errors(messages):
    """marshmallow's ``ValidationError.messages`` (a dict of lists, nested for nested
    fields, or a list or string) with every message in the current language. Every place a
    ValidationError becomes a 400/422 for a person answers with this."""
    if isinstance(messages, dict):
        return {key: translate_errors(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate_errors(value) for value in messages]
    return translate_message(messages)


# ---- formatting (Babel) in the store's time zone ------------------------------------------

def store_zone(store):
    """The store's time zone (``settings["timezone"]``); UTC when unset or unknown."""
    name = store.setting("timezone") if store is not None else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown store time zone; using UTC", extra={"timezone": str(name)[:64]})
        return ZoneInfo("UTC")


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def format_datetime(value, store=None, fmt=None, locale=None):
    """A date and time in the store's time zone, for the locale: a Babel format name
    (short, medium, long, full), or by default a medium date with a short time, joined the
    locale's way ("Nov 3, 2026, 9:05 AM", "03.11.2026, 09:05")."""
    if value is None:
        return ""
    zone, locale = store_zone(store), locale or current()
    value = _aware(value)
    if fmt:
        return babel_dates.format_datetime(value, fmt, tzinfo=zone, locale=locale)
    return babel_dates.get_datetime_format("medium", locale=locale).replace("'", "").format(
        babel_dates.format_time(value, "short", tzinfo=zone, locale=locale),
        babel_dates.format_date(value.astimezone(zone).date(), "medium", locale=locale))


def format_date(value, store=None, fmt="medium", locale=None):
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(store_zone(store)).date()
    return babel_dates.format_date(value, fmt, locale=locale or current())


def format_time(value, store=None, fmt="short", locale=None):
    if value is None:
        return ""
    return babel_dates.format_time(_aware(value), fmt, tzinfo=store_zone(store), locale=locale or current())


def format_number(value, locale=None):
    return "" if value is None else babel_numbers.format_decimal(value, locale=locale or current())


def format_money(value, currency="USD", locale=None):
    if value is None:
        return ""
    return babel_numbers.format_currency(value, currency or "USD", locale=locale or current())


# ---- which language a message is written in ----------------------------------------------

_identifier = None
_identifier_lock = threading.Lock()
_WORD = re.compile(r"[^\W\d_]{2,}")
#: Fewer words than this and the guess is noise ("ok", "thanks!"): stored as unknown.
MIN_WORDS = 3
#: Below this normalised probability the text is too mixed to say.
MIN_CONFIDENCE = 0.6
#: Only the start of a text is classified: a hundred words tell the language as well as a
#: thousand, and the cost grows with the length (0.14 ms for 600 characters, 0.41 ms for
#: 2,000: an email reply, quoted history and all, is often the longer).
SAMPLE_LENGTH = 600


def _model():
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text):
    """The ISO 639-1 code of the language ``text`` is written in, or None when it is too short
    or too uncertain to say. Offline (py3langid's bundled model), from the text's first
    ``SAMPLE_LENGTH`` characters."""
    if not text or len(_WORD.findall(text[:SAMPLE_LENGTH])) < MIN_WORDS:
        return None
    # Links and addresses are no language; they pull short texts towards English.
    sample = re.sub(r"\S+@\S+|\bhttps?://\S+", " ", text[:SAMPLE_LENGTH])
    code, prob = _model().classify(sample)
    return code if prob >= MIN_CONFIDENCE else None


# ---- the app and the commands -------------------------------------------------------------

def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    app.jinja_env.filters.update({
        "datetime": format_datetime, "date": format_date, "time": format_time,
        "number": format_number, "money": format_money,
    })
    app.jinja_env.globals.update(text_direction=lambda code=None: "rtl" if is_rtl(code or current()) else "ltr",
                                 language_name=language_name, current_locale=current, plural_forms=plural_forms,
                                 available_languages=available)
    # Flask-Babel caches the locale on ``g`` (the app context), which outlives one request
    # when a context is shared (tests, socket handlers): every request chooses afresh.
    app.before_request(refresh)
    app.cli.add_command(i18n_command)


def _pybabel(*args):
    from babel.messages.frontend import CommandLineInterface

    # In-process, from the checkout's root (babel.cfg's paths are relative to it).
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(here)


def extract():
    """Write ``messages.pot`` from the code and templates (babel.cfg)."""
    keywords = [a for k in KEYWORDS for a in ("-k", k)]
    _pybabel("extract", "-F", BABEL_CFG, *keywords, "--no-location", "--sort-output", "-w", WIDTH,
             "--project", "helpdesk", "-o", POT, ".")


@click.group("i18n")
def i18n_command():
    """Translation catalogs: extract strings, update the catalogs, compile them."""


@i18n_command.command("extract")
def extract_command():
    """Collect every translatable string into helpdesk/translations/messages.pot."""
    extract()


@i18n_command.command("update")
@click.option("--no-extract", is_flag=True, help="Use the existing messages.pot.")
def update_command(no_extract):
    """Merge new strings into every catalog (new ones arrive untranslated)."""
    if not no_extract:
        extract()
    _pybabel("update", "-i", POT, "-d", TRANSLATIONS, "--no-fuzzy-matching", "--ignore-obsolete", "-w", WIDTH)


@i18n_command.command("compile")
def compile_command():
    """Compile every catalog to the .mo files the app reads."""
    _pybabel("compile", "-d", TRANSLATIONS, "--statistics")
    available.cache_clear()


@i18n_command.command("init")
@click.argument("language")
def init_command(language):
    """Start a catalog for a new language."""
    _pybabel("init", "-i", POT, "-d", TRANSLATIONS, "-l", language)
