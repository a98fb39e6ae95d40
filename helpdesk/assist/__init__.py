"""Writing assist for the agent's reply box: draft, fix, change tone, translate.

The text comes from any OpenAI-compatible chat-completions API (``ASSIST_BASE_URL``,
``ASSIST_MODEL``, ``ASSIST_API_KEY``): a hosted one or a local Ollama / llama.cpp server.
Without one, only spelling correction works, offline, with the dictionaries pyspellchecker
ships. Whatever comes back is a suggestion the agent reviews in the inbox; nothing here
sends anything to the shopper.
"""
from flask import current_app

#: Every action the reply box offers. ``fix`` works offline (spelling only); the others
#: need a provider.
DRAFT, FIX, FORMAL, FRIENDLY, CONCISE, TRANSLATE = "draft", "fix", "formal", "friendly", "concise", "translate"
ACTIONS = (DRAFT, FIX, FORMAL, FRIENDLY, CONCISE, TRANSLATE)
TONES = (FORMAL, FRIENDLY, CONCISE)

#: Actions that transform the agent's draft (so need one); ``draft`` writes from the conversation.
NEEDS_DRAFT = (FIX, FORMAL, FRIENDLY, CONCISE, TRANSLATE)


def provider_configured(config=None):
    config = config if config is not None else current_app.config
    return bool(config.get("ASSIST_BASE_URL"))


def capabilities(config=None):
    """What the reply box may offer (the inbox bootstrap): never the key or the URL."""
    from helpdesk.assist.spelling import LANGUAGES

    return {"provider": provider_configured(config), "offline_languages": sorted(LANGUAGES)}
