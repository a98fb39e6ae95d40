"""Recurring questions: shoppers' opening messages grouped into topics, in pure Python.

Deterministic and dependency-light, so it runs the same in a request, a job and a test:

1. normalise: lower-case, drop anything with a digit (order numbers, dates, amounts),
   punctuation and the stopwords of English, German and Ukrainian (the inbox's languages),
   then strip a few common suffixes so "returns"/"returned"/"return" meet;
2. weigh terms by TF-IDF (sublinear tf, smoothed idf) and L2-normalise each message;
3. cluster by cosine similarity: each message (oldest first) joins the most similar topic
   centroid at or above ``threshold`` or starts a new topic; then every message is
   reassigned once to its best centroid, which undoes order effects of the first pass;
4. label each topic by its top terms (shown as the word shoppers wrote most) with the
   message nearest its centroid as the example, and check the store's saved replies:
   a topic is covered when a reply's title or body holds enough of its top terms.
"""
import math
import re
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select

from helpdesk.extensions import db
from helpdesk.models import AuthorType, Message, MessageKind, SavedReply, Ticket
from helpdesk.models.people import ERASED
from helpdesk.text import preview

#: Cosine similarity a message needs to a topic's centroid to join it.
DEFAULT_THRESHOLD = 0.12
#: Cosine similarity of two topics' centroids above which they are merged.
MERGE_THRESHOLD = 0.4
#: Topics with fewer messages are not "recurring" (left out of the report).
DEFAULT_MIN_SIZE = 3
#: Terms that label a topic, and how many of them a saved reply must hold to cover it.
LABEL_TERMS = 3
MATCH_TERMS = 5
MATCH_NEEDED = 2
#: Ranges with more opening messages than this are grouped by a job, not in the request.
SYNC_LIMIT = 2000
#: The most opening messages one report reads (newest kept).
MAX_MESSAGES = 20000
MAX_DAYS = 366

STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both
but by can could did do does doing don down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just let me more most my myself no nor not now of off on once
only or other our ours out over own same she should so some such than that the their them then there these
they this those through to too under until up very was we were what when where which while who whom why will
with would you your yours yourself hi hello hey dear please thanks thank thx regards best good morning evening
afternoon ok okay yes yeah sure get got want wanted need needs like know question help hallo still yet
haven hasn isn aren don doesn didn won wasn weren can cannot couldn shouldn wouldn i'm i've i'd it's
aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein deine dem den der des dich
die dir doch du durch ein eine einem einen einer eines er es euch euer für hab habe haben hat hatte ich ihr
ihre im in ist ja jetzt kann kein keine können man mein meine meinem meinen meiner mich mir mit muss nach
nicht noch nur ob oder ohne sehr sich sie sind so um und uns unser vom von vor war warum was weil wenn wer
wie wieso wir wird wo zu zum zur guten tag bitte danke dank grüße gruß liebe lieber moin servus frage
möchte möchten würde würden bekomme bekommen habt gibt geht schon mal
а або але без би був була були було бути в вам вас ви від вона вони воно все всі вже від для до де його
її з за зі и й коли котра котрий ми мене мені мій моя моє мої на над не немає ні но о оце по при про
та так також те ти тим то тому тут у уже хто це цей ця ці чи що щоб як яка яке який які я є
привіт вітаю добрий доброго день дня буде дякую будь ласка скажіть підкажіть можна мого мою моєї моїх
""".split())

_SUFFIXES = ("ings", "ing", "edly", "ed", "ies", "es", "s",  # English
             "ungen", "ung", "en", "er", "e",  # German
             "ами", "ями", "ого", "ому", "ах", "ях", "ом", "ем", "ою", "ею", "ів", "ий", "ій", "а", "я", "у",
             "ю", "і", "и", "о", "е")  # Ukrainian noun/adjective endings
_MIN_STEM = 4
_TOKEN = re.compile(r"[^\W\d_]+|\S*\d\S*", re.UNICODE)


def stem(word):
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def tokens(text):
    """[(stem, surface word)] of ``text`` after normalising (see the module docstring)."""
    out = []
    for raw in _TOKEN.findall((text or "").lower()):
        if any(ch.isdigit() for ch in raw):
            continue  # order numbers, tracking codes, dates, prices
        if len(raw) < 3 or raw in STOPWORDS:
            continue
        out.append((stem(raw), raw))
    return out


def _vectors(docs):
    """TF-IDF vectors (dicts), L2-normalised, for lists of stems."""
    df = Counter()
    for terms in docs:
        df.update(set(terms))
    n = len(docs)
    idf = {term: math.log((1 + n) / (1 + count)) + 1 for term, count in df.items()}
    vectors = []
    for terms in docs:
        counts = Counter(terms)
        vec = {t: (1 + math.log(c)) * idf[t] for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    return vectors, idf


def _cosine(vec, centroid, centroid_norm):
    if not centroid_norm:
        return 0.0
    if len(vec) > len(centroid):
        vec, centroid = centroid, vec
    return sum(v * centroid.get(t, 0.0) for t, v in vec.items()) / centroid_norm


class _Topic:
    __slots__ = ("members", "sums", "norm")

    def __init__(self):
        self.members = []
        self.sums = defaultdict(float)
        self.norm = 0.0

    def add(self, index, vec):
        self.members.append(index)
        for t, v in vec.items():
            self.sums[t] += v
        self.norm = math.sqrt(sum(v * v for v in self.sums.values()))


def _assign(vectors, threshold):
    topics = []
    for i, vec in enumerate(vectors):
        if not vec:
            continue
        best, best_sim = None, threshold
        for topic in topics:
            sim = _cosine(vec, topic.sums, topic.norm)
            if sim >= best_sim and (best is None or sim > best_sim):
                best, best_sim = topic, sim
        if best is None:
            best = _Topic()
            topics.append(best)
        best.add(i, vec)
    return topics


def _merge(topics, threshold):
    """Topics whose centroids are this similar are one topic split by the order of arrival."""
    topics = sorted(topics, key=lambda t: -len(t.members))
    merged = []
    for topic in topics:
        target = None
        for kept in merged:
            if topic.norm and kept.norm and _cosine(topic.sums, kept.sums, kept.norm) / topic.norm >= threshold:
                target = kept
                break
        if target is None:
            merged.append(topic)
            continue
        target.members.extend(topic.members)
        for t, v in topic.sums.items():
            target.sums[t] += v
        target.norm = math.sqrt(sum(v * v for v in target.sums.values()))
    return merged


def _refine(vectors, topics, threshold):
    """Every message once more to its most similar centroid of the first pass."""
    frozen = [(dict(t.sums), t.norm) for t in topics]
    refined = [_Topic() for _ in topics]
    for i, vec in enumerate(vectors):
        if not vec:
            continue
        scores = [_cosine(vec, sums, norm) for sums, norm in frozen]
        best = max(range(len(scores)), key=lambda k: (scores[k], -k)) if scores else None
        if best is None or scores[best] < threshold:
            extra = _Topic()
            refined.append(extra)
            extra.add(i, vec)
        else:
            refined[best].add(i, vec)
    return [t for t in refined if t.members]


def cluster(texts, *, threshold=DEFAULT_THRESHOLD, min_size=DEFAULT_MIN_SIZE):
    """Group ``texts`` into recurring topics. Returns a list (largest first) of dicts:
    ``members`` (indexes into texts), ``terms`` (stems, best first), ``labels`` (surface
    words), ``example`` (index of the most central message)."""
    tokenised = [tokens(t) for t in texts]
    docs = [[s for s, _ in toks] for toks in tokenised]
    surface = defaultdict(Counter)
    for toks in tokenised:
        for s, w in toks:
            surface[s][w] += 1
    vectors, _ = _vectors(docs)
    topics = _refine(vectors, _merge(_assign(vectors, threshold), MERGE_THRESHOLD), threshold)
    result = []
    for topic in topics:
        if len(topic.members) < min_size:
            continue
        # Terms shared across the topic lead; a term only one message uses can't label it.
        spread = Counter(t for i in topic.members for t in set(docs[i]))
        ranked = sorted(topic.sums, key=lambda t: (-spread[t] * topic.sums[t], t))
        ranked = [t for t in ranked if spread[t] > 1] or ranked
        example = max(topic.members, key=lambda i: (_cosine(vectors[i], topic.sums, topic.norm), -i))
        result.append({
            "members": sorted(topic.members),
            "terms": ranked[:MATCH_TERMS],
            "labels": [surface[t].most_common(1)[0][0] for t in ranked[:LABEL_TERMS]],
            "example": example,
        })
    result.sort(key=lambda r: (-len(r["members"]), r["members"][0]))
    return result


def matching_replies(terms, replies):
    """Saved replies (objects with title/body) whose text holds at least MATCH_NEEDED of
    ``terms`` (all of them when fewer)."""
    needed = min(MATCH_NEEDED, len(terms))
    matches = []
    for reply in replies:
        stems = {s for s, _ in tokens(f"{reply.title} {reply.body}")}
        if needed and len(stems & set(terms)) >= needed:
            matches.append(reply)
    return matches


# ---- the report ------------------------------------------------------------------------

def _bounds(date_from, date_to):
    start = datetime.combine(date_from, time.min, tzinfo=timezone.utc)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return start, end


def _opening_query(store_ids, date_from, date_to):
    """(ticket id, message id) of the first customer message of each ticket opened in range."""
    start, end = _bounds(date_from, date_to)
    # Per ticket opened in range (a correlated subquery), not one GROUP BY over every customer
    # message ever written, which SQLite answered by reading all messages (210 ms with 500,000).
    first = (select(func.min(Message.id))
             .where(Message.ticket_id == Ticket.id, Message.author_type == AuthorType.CONTACT,
                    Message.kind == MessageKind.MESSAGE, Message.hidden.is_(False))
             .correlate(Ticket).scalar_subquery())
    query = (select(Ticket.id, Message.id.label("message_id")).select_from(Ticket).join(Message, Message.id == first)
             .where(Ticket.created_at >= start, Ticket.created_at < end,
                    Ticket.is_practice.is_(False)))  # the academy's scripted shopper asks nothing real
    if store_ids is not None:
        query = query.where(Ticket.store_id.in_(store_ids or [-1]))
    return query


def count_opening_messages(store_ids, date_from, date_to):
    query = _opening_query(store_ids, date_from, date_to).subquery()
    return db.session.scalar(select(func.count()).select_from(query)) or 0


def opening_messages(store_ids, date_from, date_to, limit=MAX_MESSAGES):
    """[(ticket_id, text)] oldest first (at most ``limit``, the newest kept)."""
    ids = db.session.execute(_opening_query(store_ids, date_from, date_to)
                             .order_by(Ticket.id.desc()).limit(limit)).all()
    ids = sorted(ids)
    texts = {}
    message_ids = [m for _, m in ids]
    for chunk in range(0, len(message_ids), 1000):
        part = message_ids[chunk:chunk + 1000]
        texts.update(db.session.execute(select(Message.id, Message.body_text).where(Message.id.in_(part))).all())
    # An erased customer's words are gone; their placeholders are not a recurring question.
    return [(ticket_id, texts.get(message_id, "")) for ticket_id, message_id in ids
            if texts.get(message_id) != ERASED]


def shared_replies(store_ids):
    """Saved replies every agent of these stores can use (shared ones, approved)."""
    query = select(SavedReply).where(SavedReply.agent_id.is_(None), SavedReply.approved.is_(True))
    if store_ids is not None:
        query = query.where(or_(SavedReply.store_id.is_(None), SavedReply.store_id.in_(store_ids or [-1])))
    return db.session.scalars(query.order_by(SavedReply.id)).all()


def recurring_questions(store_ids, date_from, date_to, *, threshold=DEFAULT_THRESHOLD,
                        min_size=DEFAULT_MIN_SIZE):
    """The report: recurring topics of the opening messages in range, each with its size,
    label, example, some ticket ids and the saved replies that cover it (or none)."""
    messages = opening_messages(store_ids, date_from, date_to)
    texts = [text for _, text in messages]
    topics = cluster(texts, threshold=threshold, min_size=min_size)
    replies = shared_replies(store_ids)
    out = []
    for topic in topics:
        matched = matching_replies(topic["terms"], replies)
        out.append({
            "label": ", ".join(topic["labels"]),
            "terms": topic["labels"],
            "count": len(topic["members"]),
            "share": round(len(topic["members"]) / len(texts), 4) if texts else 0.0,
            "example": preview(texts[topic["example"]], 200),
            "example_ticket_id": messages[topic["example"]][0],
            "ticket_ids": [messages[i][0] for i in topic["members"]][-20:],
            "saved_replies": [{"id": r.id, "shortcut": r.shortcut, "title": r.title} for r in matched],
            "missing_saved_reply": not matched,
        })
    return {
        "from": date_from.isoformat(), "to": date_to.isoformat(), "messages": len(texts),
        "clustered": sum(t["count"] for t in out), "topics": out,
    }


def report_params(store_ids, date_from, date_to, threshold=DEFAULT_THRESHOLD):
    """What a queued report stores to be rebuilt by the job (JSON-safe)."""
    return {"store_ids": store_ids, "from": date_from.isoformat(), "to": date_to.isoformat(),
            "threshold": threshold}


def _build(report_id):
    from datetime import date

    from helpdesk.actions.recurring_questions import finish_report
    from helpdesk.models import RecurringQuestionsReport

    report = db.session.get(RecurringQuestionsReport, report_id)
    if report is None or report.status != RecurringQuestionsReport.QUEUED:
        return  # gone, or a retry of a job that already finished
    params = report.params or {}
    try:
        result = recurring_questions(params.get("store_ids"), date.fromisoformat(params["from"]),
                                     date.fromisoformat(params["to"]),
                                     threshold=params.get("threshold", DEFAULT_THRESHOLD))
    except Exception:
        db.session.rollback()
        finish_report(db.session.get(RecurringQuestionsReport, report_id), failed=True)
        raise
    finish_report(report, result)


def build_report(report_id):
    """Job: group the opening messages of a queued report and store the result."""
    from workers.jobs import job

    return job(_build)(report_id)
