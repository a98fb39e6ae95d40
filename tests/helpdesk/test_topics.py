"""Recurring questions: the normaliser, the clustering on a realistic day of opening messages
with known topics (tests/fixtures/recurring_questions.json), and the report over real tickets
with saved-reply coverage, on request and through the job."""
import json
import os
from collections import Counter
from datetime import date, timedelta

import pytest

from helpdesk import topics
from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.recurring_questions import request_report
from helpdesk.actions.saved_replies import create_saved_reply
from helpdesk.extensions import db
from helpdesk.models import RecurringQuestionsReport
from tests.factories import make_agent, make_contact, make_store, make_ticket
from tests.sql import big_table_stats, query_plans, scans

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "recurring_questions.json")


@pytest.fixture(scope="module")
def messages():
    with open(FIXTURE, encoding="utf-8") as fh:
        return json.load(fh)["messages"]


def test_normaliser_drops_numbers_punctuation_and_stopwords_in_three_languages():
    assert [w for _, w in topics.tokens("Hi! Where is my order #10234, AB-77x?")] == ["order"]
    assert [w for _, w in topics.tokens("Hallo, wo ist meine Bestellung 4432?")] == ["bestellung"]
    assert [w for _, w in topics.tokens("Доброго дня! Коли буде доставка?")] == ["доставка"]
    # Suffixes meet: returns / returned / return share a stem.
    assert {s for s, _ in topics.tokens("returns returned return")} == {"return"}


def test_fixture_topics_are_found_pure_and_nearly_complete(messages):
    texts = [m["text"] for m in messages]
    found = topics.cluster(texts)
    known = Counter(m["group"] for m in messages if m["group"])
    assert len(found) == len(known) == 7
    seen = set()
    for topic in found:
        groups = Counter(messages[i]["group"] for i in topic["members"])
        group, size = groups.most_common(1)[0]
        assert group is not None and size == len(topic["members"]), groups  # pure: one known topic each
        assert size >= 0.85 * known[group], (group, size, known[group])  # and nearly all of it
        assert group not in seen
        seen.add(group)
        assert messages[topic["example"]]["group"] == group
    labels = {messages[t["example"]]["group"]: t["labels"] for t in found}
    assert labels["returns"][:2] == ["return", "refund"]
    assert "discount" in labels["discount"] and "size" in labels["sizing"]
    assert "доставка" in labels["uk_dostavka"] and "rücksendung" in labels["de_ruecksendung"]
    # One-off questions stay out of every recurring topic.
    loners = {i for i, m in enumerate(messages) if m["group"] is None}
    assert not loners & {i for t in found for i in t["members"]}


def test_clustering_is_deterministic(messages):
    texts = [m["text"] for m in messages]
    assert topics.cluster(texts) == topics.cluster(list(texts))


def test_saved_reply_matching_needs_shared_keywords():
    class Reply:
        def __init__(self, title, body):
            self.title, self.body = title, body

    returns = Reply("Returns", "To return an item, send it back; the refund follows in 5 days.")
    sizes = Reply("Size guide", "Our sneakers run true to size.")
    assert topics.matching_replies(["return", "refund", "item"], [returns, sizes]) == [returns]
    assert topics.matching_replies(["discount", "code", "checkout"], [returns, sizes]) == []


def seed_tickets(store, messages):
    for n, message in enumerate(messages):
        contact = make_contact(store)
        msg, _ = receive_customer_message(store, contact, "chat", message["text"])
        # A later message on the same ticket is not an opening message and must not count.
        receive_customer_message(store, contact, "chat", f"any news about the discount code {n}?")
        assert msg.ticket_id


def test_report_on_tickets_flags_topics_without_a_saved_reply(messages):
    store, other = make_store("Main"), make_store("Other")
    admin = make_agent(role="admin")
    seed_tickets(store, messages)
    make_ticket(other, text="Where is my discount code? discount code discount code")
    create_saved_reply(admin, shortcut="returns", title="How returns work",
                       body="Send the item back within 30 days; your refund follows.", personal=False,
                       store_id=store.id)
    create_saved_reply(admin, shortcut="mine", title="Discount code", body="Use the discount code at checkout.")
    today = date.today()
    report = topics.recurring_questions([store.id], today - timedelta(days=1), today)
    assert report["messages"] == 60 and len(report["topics"]) == 7
    by_label = {t["terms"][0]: t for t in report["topics"]}
    assert by_label["return"]["saved_replies"][0]["shortcut"] == "returns"
    assert by_label["return"]["missing_saved_reply"] is False
    # A personal saved reply does not cover a topic for the team.
    discount = next(t for t in report["topics"] if "discount" in t["terms"])
    assert discount["missing_saved_reply"] is True and discount["count"] == 8
    assert sum(t["missing_saved_reply"] for t in report["topics"]) == 6
    assert all(t["example"] and t["example_ticket_id"] in t["ticket_ids"] for t in report["topics"])
    # A range with no tickets is an empty report, not an error.
    empty = topics.recurring_questions(None, today - timedelta(days=30), today - timedelta(days=20))
    assert empty == {"from": (today - timedelta(days=30)).isoformat(), "to": (today - timedelta(days=20)).isoformat(),
                     "messages": 0, "clustered": 0, "topics": []}


def test_opening_messages_are_found_per_ticket_not_by_reading_every_message():
    """Each ticket opened in range has its first customer message looked up by ticket: a
    GROUP BY over all customer messages made SQLite read every message for each report."""
    store = make_store("Main")
    make_ticket(store, text="Where is my parcel?")
    today = date.today()
    with big_table_stats(), query_plans() as plans:
        assert topics.count_opening_messages([store.id], today, today) == 1
        assert len(topics.opening_messages([store.id], today, today)) == 1
    assert not scans(plans, "messages"), plans


def test_large_ranges_are_built_by_the_job(messages):
    store = make_store()
    admin = make_agent(role="admin")
    seed_tickets(store, messages[:20])
    today = date.today()
    # JOBS_MODE=sync: the job runs right after the request's commit, as a worker would.
    report = request_report(admin, topics.report_params([store.id], today, today))
    db.session.expire_all()
    report = db.session.get(RecurringQuestionsReport, report.id)
    assert report.status == "done" and report.finished_at is not None
    assert report.result["messages"] == 20 and report.result["topics"]
    # A retried job finds the report finished and leaves it alone.
    topics.build_report(report.id)
    assert db.session.get(RecurringQuestionsReport, report.id).result["messages"] == 20
