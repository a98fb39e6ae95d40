"""Languages: an agent's inbox language and a store's shopper languages and own texts."""
from helpdesk import i18n
from helpdesk.actions import ActionError, action
from helpdesk.extensions import db
from helpdesk.text import clean_text

#: Longest store text (greeting, offline notice) and pre-chat label, in characters.
MAX_TEXT = 500
MAX_LABEL = 80


@action
def set_agent_language(agent, language):
    """The language the inbox speaks to ``agent`` (``Agent.locale``; one with a catalog).
    Emits nothing: the agent's next page load uses it."""
    code = i18n.normalize(language)
    if code is None:
        raise ActionError("There is no translation for this language.", "language", status=422)
    agent.locale = code
    db.session.flush()
    return agent


def _clean_texts(texts, languages):
    out = {}
    for code, own in texts.items():
        lang = i18n.normalize(code)
        if lang is None or lang not in languages:
            raise ActionError("Add the language to the store's languages first.", f"texts.{code}", status=422)
        entry = {}
        for key in i18n.OVERRIDABLE:
            if own.get(key) is not None:
                # Stored as written: it is plain text everywhere it is shown (escaped).
                entry[key] = clean_text(own[key], MAX_TEXT)
        labels = {k: clean_text(v, MAX_LABEL) for k, v in (own.get("prechat") or {}).items() if v is not None}
        labels = {k: v for k, v in labels.items() if v}
        if labels:
            entry["prechat"] = labels
        entry = {k: v for k, v in entry.items() if v}
        if entry:
            out[lang] = entry
    return out


@action
def update_store_languages(store, *, languages=None, texts=None):
    """The languages the store's widget, contact form and emails speak (first = default),
    and its own greeting, offline notice and pre-chat labels per language
    (``settings["languages"]``, ``settings["texts"]``; ``texts`` replaces all of them).
    Emits nothing: widgets pick them up on their next session."""
    settings = dict(store.settings or {})
    if languages is not None:
        codes = []
        for code in languages:
            found = i18n.normalize(code)
            if found is None:
                raise ActionError("There is no translation for this language.", "languages", status=422)
            if found not in codes:
                codes.append(found)
        if not codes:
            raise ActionError("List at least one language.", "languages", status=422)
        settings["languages"] = codes
    offered = settings.get("languages") or store.setting("languages") or [i18n.SOURCE]
    if texts is not None:
        settings["texts"] = _clean_texts(texts, offered)
    elif languages is not None:
        # Texts of a language the store no longer offers go with it.
        settings["texts"] = {k: v for k, v in (settings.get("texts") or {}).items() if k in offered}
    store.settings = settings
    db.session.flush()
    return store
