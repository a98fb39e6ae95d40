"""The agents' FAQ: admins write the questions and answers, agents search them.

Search is by words, case-insensitive substrings of the question or answer (so "refund"
finds "refunds" and an order-number fragment finds itself). Entries rank by how many words
the question holds (weighted above the answer), then the newest edit. On PostgreSQL the
``LIKE`` on ``lower(...)`` is served by trigram indexes (migration 0010).
"""
import re

from sqlalchemy import case, false, literal, or_, select

from helpdesk.actions import ActionError, Forbidden, NotFound, action
from helpdesk.extensions import db
from helpdesk.models import FaqEntry, Store, utcnow
from helpdesk.models.base import lower_for
from helpdesk.text import clean_text

MAX_QUESTION, MAX_ANSWER = 300, 20000
MAX_TAGS, MAX_TAG = 20, 40
#: Words of a search beyond this many are ignored (each adds two LIKEs).
MAX_WORDS = 8
QUESTION_WEIGHT, ANSWER_WEIGHT = 3, 1


def _require_admin(agent):
    if not agent.is_admin:
        raise Forbidden("Only admins edit the FAQ.")


def _tags(tags):
    cleaned = []
    for tag in tags or ():
        tag = clean_text(tag, MAX_TAG).lower()
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned[:MAX_TAGS]


def _store(store_id):
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise ActionError("No such store.", "store_id", status=404)
    return store_id


def _text(value, limit, field, message):
    value = clean_text(value, limit)
    if not value:
        raise ActionError(message, field)
    return value


@action
def create_faq_entry(agent, *, question, answer, tags=(), store_id=None):
    """Add an FAQ entry (admins); ``store_id`` None means every store. Emits nothing."""
    _require_admin(agent)
    entry = FaqEntry(question=_text(question, MAX_QUESTION, "question", "Write the question."),
                     answer=_text(answer, MAX_ANSWER, "answer", "Write the answer."),
                     tags=_tags(tags), store_id=_store(store_id), updated_by_id=agent.id)
    db.session.add(entry)
    db.session.flush()
    return entry


@action
def update_faq_entry(agent, entry, **changes):
    """Edit an FAQ entry (admins); records who edited it last. Emits nothing."""
    _require_admin(agent)
    if "question" in changes:
        entry.question = _text(changes["question"], MAX_QUESTION, "question", "Write the question.")
    if "answer" in changes:
        entry.answer = _text(changes["answer"], MAX_ANSWER, "answer", "Write the answer.")
    if "tags" in changes:
        entry.tags = _tags(changes["tags"])
    if "store_id" in changes:
        entry.store_id = _store(changes["store_id"])
    entry.updated_by_id = agent.id
    entry.updated_at = utcnow()
    db.session.flush()
    return entry


@action
def delete_faq_entry(agent, entry):
    """Delete an FAQ entry (admins). Emits nothing."""
    _require_admin(agent)
    db.session.delete(entry)


# ---- reading ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(q):
    """The distinct lower-cased words of a search, at most MAX_WORDS."""
    words = []
    for word in _WORD.findall(clean_text(q, 200).lower()):
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def _like(column, word):
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # lower(...) as the trigram indexes are built (migration 0010); see lower_for on SQLite.
    return lower_for(word)(column).like(f"%{escaped}%", escape="\\")


def visible_entries(agent, store_id=None):
    """Condition: entries for every store or for a store ``agent`` may see (one store when given)."""
    ids = agent.accessible_store_ids()
    if store_id is not None:
        if ids is not None and store_id not in ids:
            return false()
        return or_(FaqEntry.store_id.is_(None), FaqEntry.store_id == store_id)
    if ids is None:
        return literal(True)
    return or_(FaqEntry.store_id.is_(None), FaqEntry.store_id.in_(ids or [-1]))


def search_faq(agent, q=None, *, store_id=None, limit=20):
    """FAQ entries matching any word of ``q`` (all entries when empty), best first."""
    query = select(FaqEntry).where(visible_entries(agent, store_id))
    words = search_words(q)
    if not words:
        return db.session.scalars(query.order_by(FaqEntry.updated_at.desc(), FaqEntry.id.desc()).limit(limit)).all()
    in_question = [_like(FaqEntry.question, w) for w in words]
    in_answer = [_like(FaqEntry.answer, w) for w in words]
    score = sum((case((cond, QUESTION_WEIGHT), else_=0) for cond in in_question), literal(0)) + \
        sum((case((cond, ANSWER_WEIGHT), else_=0) for cond in in_answer), literal(0))
    query = query.where(or_(*in_question, *in_answer)).order_by(
        score.desc(), FaqEntry.updated_at.desc(), FaqEntry.id.desc())
    return db.session.scalars(query.limit(limit)).all()


def faq_entry_or_404(agent, entry_id):
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None or (entry.store_id is not None and not agent.can_access_store(entry.store_id)):
        raise NotFound("No such FAQ entry.")
    return entry
