"""Offline spelling correction with the word-frequency dictionaries pyspellchecker ships.

Used when no provider is configured. Only words are looked at: URLs, email addresses,
@mentions, #tags and anything with a digit (order numbers, SKUs, sizes) pass through as they
are, and so does every space and punctuation mark. A corrected word keeps the case pattern of
the original (``Teh`` -> ``The``, ``TEH`` -> ``THE``). There is no grammar here: that needs a
provider.

pyspellchecker has no Ukrainian dictionary (nor, e.g., Polish): for those the caller says
offline spelling is not available in that language.
"""
import functools
import os
import re
import threading

from spellchecker import SpellChecker

#: Languages with a dictionary in the installed pyspellchecker (its resources/<lang>.json.gz).
LANGUAGES = frozenset(
    name.split(".", 1)[0]
    for name in os.listdir(os.path.join(os.path.dirname(__import__("spellchecker").__file__), "resources"))
    if name.endswith(".json.gz")
)

#: Words longer than this are left alone: edit-distance candidates grow with length, and
#: long words are mostly compounds, names or codes the dictionary does not know.
MAX_WORD = 24
#: Below this share of known words, a text is taken to be in a language we have no
#: dictionary for (when one is among the candidates). Low, because a draft full of typos
#: is mostly unknown words in its own language too.
MIN_KNOWN_SHARE = 0.3

# Things never to touch, tried before words: URLs, emails, @mentions, #tags, and tokens
# with a digit (order numbers, SKUs, "42cm").
_PROTECTED = (
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[@#][\w.-]+"
    r"|\w*\d[\w./-]*"
)
_WORD = r"[^\W\d_]+(?:['’][^\W\d_]+)*"
_TOKEN = re.compile(f"(?P<keep>{_PROTECTED})|(?P<word>{_WORD})")

_lock = threading.Lock()


class NoDictionary(Exception):
    def __init__(self, language):
        super().__init__(f"no offline dictionary for {language!r}")
        self.language = language


def base_language(code):
    return (code or "").replace("_", "-").split("-", 1)[0].lower()


@functools.lru_cache(maxsize=4)
def _checker(language):
    # Loading a dictionary takes ~0.4 s and some MB; keep the few in use.
    return SpellChecker(language=language, distance=2)


def checker(language):
    language = base_language(language)
    if language not in LANGUAGES:
        raise NoDictionary(language)
    with _lock:
        return _checker(language)


def _words(text):
    return [m.group("word") for m in _TOKEN.finditer(text) if m.group("word")]


def known_share(text, language):
    """The share of ``text``'s words the ``language`` dictionary knows (0..1)."""
    words = [w.lower() for w in _words(text) if len(w) > 1]
    if not words:
        return 0.0
    known = checker(language).known(words)
    return sum(1 for w in words if w in known) / len(words)


def pick_language(text, candidates):
    """The candidate language whose dictionary knows most of ``text``'s words.

    ``candidates`` in order of preference (shopper's language, agent's, English). Raises
    NoDictionary naming a candidate without a dictionary (e.g. ``uk``) when none has one, or
    when the best dictionary knows so few of the words that the text is most likely in that
    other language: correcting Ukrainian with an English dictionary would mangle it."""
    codes = list(dict.fromkeys(base_language(c) for c in candidates if c))
    usable = [c for c in codes if c in LANGUAGES]
    missing = [c for c in codes if c not in LANGUAGES]
    if not usable:
        raise NoDictionary(codes[0] if codes else "")
    shares = {lang: known_share(text, lang) for lang in usable}
    best = max(usable, key=lambda lang: shares[lang])  # max keeps the first on ties
    if missing and shares[best] < MIN_KNOWN_SHARE:
        raise NoDictionary(missing[0])
    return best


def _match_case(original, word):
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[0].isupper():
        return word[:1].upper() + word[1:]
    return word


def correct(text, language):
    """``text`` with misspelt words replaced by the dictionary's best guess."""
    spell = checker(language)
    # A capitalised word inside a sentence is most likely a name ("Ira", "Zalando"): left
    # alone, except in German, where every noun is capitalised.
    names_capitalised = base_language(language) != "de"
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        word = match.group("word")
        if not word:
            continue
        before = text[:match.start()].rstrip(" \t\"'“„«(")
        out.append(text[last:match.start()])
        last = match.end()
        sentence_start = not before or before[-1] in ".!?:;\n"
        if names_capitalised and word[:1].isupper() and not sentence_start:
            out.append(word)
        else:
            out.append(_fix_word(spell, word))
    out.append(text[last:])
    return "".join(out)


def _fix_word(spell, word):
    lower = word.lower()
    # One letter, ALL-CAPS acronyms and very long words are left alone.
    if len(word) < 2 or len(word) > MAX_WORD or (word.isupper() and len(word) <= 5):
        return word
    if spell.known([lower]):
        return word
    with _lock:  # SpellChecker is not documented as thread-safe; corrections are quick
        guess = spell.correction(lower)
    if not guess or guess == lower:
        return word
    return _match_case(word, guess)
