"""Writing assist job: compute one suggestion and record it (helpdesk.actions.assist)."""
import logging

from workers.jobs import job

log = logging.getLogger(__name__)


@job
def run_assist(request_id):
    """Answer AssistRequest ``request_id`` with the provider, or offline spelling without one.

    The provider call happens with no transaction open: it may take ASSIST_TIMEOUT seconds
    and must not hold a database connection (or a row lock) meanwhile. Every failure is
    recorded as an error code on the request and pushed to the agent; nothing is retried,
    the agent is waiting and can simply ask again.
    """
    from flask import current_app

    from helpdesk.actions.assist import record_assist_result, shopper_language
    from helpdesk.assist import DRAFT, FIX, TRANSLATE, provider_configured
    from helpdesk.assist import spelling
    from helpdesk.assist.prompts import build_messages, conversation_for
    from helpdesk.assist.provider import Provider, ProviderError
    from helpdesk.extensions import db
    from helpdesk.i18n import detect_language
    from helpdesk.models import AssistRequest

    row = db.session.get(AssistRequest, request_id)
    if row is None or row.status != AssistRequest.QUEUED:
        return None
    kind, draft, language = row.action, row.input_text, row.language
    config = current_app.config
    try:
        if provider_configured(config):
            conversation = conversation_for(row.ticket) if kind == DRAFT else ()
            # A translation names the language it starts from: the draft's own, detected.
            source = detect_language(draft) if kind == TRANSLATE else None
            messages = build_messages(kind, draft, conversation, language, source)
            provider = Provider.from_config(config)
            db.session.rollback()  # end the read transaction before the network call
            try:
                text = provider.complete(messages)
            except ProviderError as exc:
                # The code and the request id only: the provider's answer may echo shopper text.
                log.warning("assist provider failed", extra={"assist_request_id": request_id, "error": exc.code})
                return record_assist_result(request_id, error=exc.code, engine=provider.model).status
            return record_assist_result(request_id, result=text, engine=provider.model).status
        if kind == FIX:
            # The draft's own detected language first, then the shopper's and the agent's:
            # the dictionary that knows most of the words is used (spelling.pick_language).
            candidates = [detect_language(draft), shopper_language(row.ticket),
                          row.agent.locale if row.agent else None, "en"]
            db.session.rollback()
            try:
                used = spelling.pick_language(draft, candidates)
                text = spelling.correct(draft, used)
            except spelling.NoDictionary as exc:
                return record_assist_result(request_id, error="no_dictionary", engine="offline",
                                            language=exc.language or None).status
            return record_assist_result(request_id, result=text, engine="offline", language=used).status
        db.session.rollback()
        return record_assist_result(request_id, error="no_provider").status
    except Exception:
        # A bug must still end the request, or the agent's suggestion spins forever.
        log.exception("assist job failed", extra={"assist_request_id": request_id})
        db.session.rollback()
        return record_assist_result(request_id, error="internal").status
