"""Writing assist requests: an agent asks for a suggestion; a job answers it.

``request_assist`` stores the request and enqueues ``workers.assist_jobs.run_assist``;
the job calls the provider (or the offline dictionary) with no transaction open and hands
the outcome to ``record_assist_result``, which emits ``assist.result`` to the asking agent
only. The agent's draft is never changed here: the inbox shows the suggestion beside it.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from helpdesk import events
from helpdesk.actions import ActionError, NotFound, action
from helpdesk.assist import ACTIONS, FIX, NEEDS_DRAFT, TRANSLATE, provider_configured
from helpdesk.extensions import db
from helpdesk.models import AssistRequest, AuthorType, Message, MessageKind, utcnow
from helpdesk.text import clean_text

#: Requests of one agent still waiting for an answer; more are refused (429) until one ends.
#: With a provider that hangs, each waits ASSIST_TIMEOUT: a burst must not stack them up.
MAX_IN_FLIGHT = 3
#: A queued request older than this is not counted as in flight any more (its job was lost).
IN_FLIGHT_WINDOW = timedelta(minutes=2)


def shopper_language(ticket):
    """The shopper's language: detected on their latest messages when messages carry one
    (``Message.language``, being added with localization), else the ticket's, else the
    contact's or visitor's browser locale. None when nothing says."""
    column = getattr(Message, "language", None)
    if column is not None:
        detected = db.session.scalar(
            select(column).where(Message.ticket_id == ticket.id, Message.author_type == AuthorType.CONTACT,
                                 Message.kind == MessageKind.MESSAGE, column.is_not(None))
            .order_by(Message.id.desc()).limit(1))
        if detected:
            return detected
    for value in (getattr(ticket, "language", None),
                  ticket.contact.locale if ticket.contact else None,
                  ticket.visitor.locale if ticket.visitor_id and ticket.visitor else None):
        if value:
            return value
    return None


@action
def request_assist(agent, ticket, kind, draft):
    """Queue a ``kind`` suggestion (see ``helpdesk.assist.ACTIONS``) on ``draft`` for ``agent``.

    Creates an ``AssistRequest`` (queued) and enqueues the job after commit. Emits nothing
    now; the job's ``record_assist_result`` emits ``assist.result`` to ``agent:<id>``.
    Refuses (422) what cannot work: an empty draft to transform, an action other than
    spelling without a provider, a translation with no known shopper language.
    """
    if not agent.can_access_store(ticket.store_id):
        raise NotFound("No such ticket.")
    if kind not in ACTIONS:
        raise ActionError("Unknown assist action.", "action", status=422)
    draft = clean_text(draft, current_app.config["MAX_MESSAGE_LENGTH"])
    if kind in NEEDS_DRAFT and not draft:
        raise ActionError("Write a draft first.", "draft", status=422)
    if kind != FIX and not provider_configured():
        raise ActionError("This needs a configured AI provider.", "action", status=422)
    language = None
    if kind == TRANSLATE:
        language = shopper_language(ticket)
        if not language:
            raise ActionError("The shopper's language is not known.", "action", status=422)
    in_flight = db.session.scalar(select(func.count(AssistRequest.id)).where(
        AssistRequest.agent_id == agent.id, AssistRequest.status == AssistRequest.QUEUED,
        AssistRequest.created_at > utcnow() - IN_FLIGHT_WINDOW))
    if in_flight >= MAX_IN_FLIGHT:
        raise ActionError("Wait for your earlier suggestions first.", "action", status=429)
    row = AssistRequest(ticket_id=ticket.id, agent_id=agent.id, action=kind, language=language,
                        input_text=draft, status=AssistRequest.QUEUED)
    db.session.add(row)
    db.session.flush()
    from workers import enqueue

    enqueue("workers.assist_jobs.run_assist", row.id)
    return row


@action
def record_assist_result(request_id, *, result=None, error=None, engine=None, language=None):
    """Store the outcome of request ``request_id``: ``result`` (done) or an ``error`` code
    (failed). A request already answered is left as it is (a retried job). Emits
    ``assist.result`` to the asking agent's room only."""
    row = db.session.get(AssistRequest, request_id, with_for_update=True)
    if row is None or row.status != AssistRequest.QUEUED:
        return row
    if error is None and not (result or "").strip():
        error = "garbage"
    if error is None:
        row.status = AssistRequest.DONE
        row.result = result
    else:
        row.status = AssistRequest.FAILED
        row.error = str(error)[:32]
    row.engine = (engine or "")[:120] or None
    if language:
        row.language = language[:16]
    row.finished_at = utcnow()
    db.session.flush()
    events.assist_result(row)
    return row
