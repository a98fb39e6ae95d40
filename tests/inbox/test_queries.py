"""Read-side queries of the inbox: search in both of its phases (and SQLite's trigram index),
replay after reconnect."""
import pytest
from sqlalchemy import select, text

from helpdesk.actions.messages import add_note
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from inbox import queries
from tests.factories import make_agent, make_contact, make_store, make_ticket
from tests.sql import big_table_stats, query_plans


@pytest.fixture
def queue():
    store = make_store()
    agent = make_agent(name="Nora Notes")
    ira = make_contact(store, name="Ira Shopper", email="ira@example.test")
    tickets = {
        "parcel": make_ticket(store, ira, channel="email", text="Where is my parcel?"),
        "refund": make_ticket(store, make_contact(store, name="Max Buyer"), text="I want a refund"),
        "sizes": make_ticket(store, make_contact(store, name="Olga"), text="Which sizes fit?"),
        "100%": make_ticket(store, make_contact(store, name="Ted"), text="Is it 100% cotton?"),
    }
    add_note(tickets["sizes"], agent, "Offer the parcel upgrade")
    return store, agent, tickets


def search(agent, q, limit=25):
    base = select(Ticket)
    ids = agent.accessible_store_ids()
    if ids is not None:
        base = base.where(Ticket.store_id.in_(ids))
    return [t.id for t in queries.search_tickets(base, q, limit)]


@pytest.mark.parametrize("window", [queries.SEARCH_RECENT_WINDOW, 1])
def test_search_finds_text_notes_names_emails_and_numbers_in_both_phases(queue, monkeypatch, window):
    # window=1: the recent window is too small for any answer, so the index phase runs.
    monkeypatch.setattr(queries, "SEARCH_RECENT_WINDOW", window)
    _store, agent, t = queue
    newest_first = lambda *keys: sorted((t[k].id for k in keys), reverse=True)  # noqa: E731
    assert search(agent, "parcel") == newest_first("parcel", "sizes")  # message text and a note
    assert search(agent, "IRA@example") == newest_first("parcel")
    assert search(agent, "max buy") == newest_first("refund")
    assert search(agent, f"#{t['sizes'].id}") == [t["sizes"].id]
    assert search(agent, "100%") == [t["100%"].id]  # % is text, not a wildcard
    assert search(agent, "nothing like this") == []


def test_search_stops_at_the_limit_with_the_newest_matches(queue):
    _store, agent, t = queue
    by_activity = sorted(t.values(), key=lambda x: (x.last_activity_at, x.id), reverse=True)
    assert search(agent, "e", limit=2) == [x.id for x in by_activity[:2]]
    assert by_activity[0].id == t["sizes"].id  # the note made it the newest activity


def test_search_never_crosses_into_other_stores(queue):
    store, _agent, t = queue
    other = make_store()
    make_ticket(other, make_contact(other, name="Ira Elsewhere"), text="parcel elsewhere")
    restricted = make_agent(stores=[store])
    assert search(restricted, "parcel") == sorted((t["parcel"].id, t["sizes"].id), reverse=True)


def test_replay_after_reconnect_is_in_id_order_and_store_scoped(queue):
    store, agent, t = queue
    other = make_store()
    make_ticket(other, text="not yours")
    restricted = make_agent(stores=[store])
    first = min(m["id"] for m in queries.messages_after(restricted, 0))
    replay = queries.messages_after(restricted, first)
    assert [m["id"] for m in replay] == sorted(m["id"] for m in replay)
    assert "not yours" not in str(replay) and all(m["id"] > first for m in replay)


@pytest.mark.parametrize("status", [None, "open"])
def test_sidebar_counts_read_only_the_counts_index(status):
    """The grouped count reads ix_tickets_counts alone, for any status filter: without one,
    "status != closed" made SQLite read every ticket row through another index."""
    store = make_store()
    make_ticket(store)
    with big_table_stats(), query_plans() as plans:
        queries.view_counts(make_agent(), status)
    grouped = [steps for sql, steps in plans if "count(*)" in sql and "GROUP BY" in sql and "tickets.id IN" not in sql]
    assert len(grouped) == 1 or not plans, plans
    for steps in grouped:
        assert any("COVERING INDEX ix_tickets_counts" in step for step in steps), steps


# ---- SQLite's trigram index (helpdesk.models.search) --------------------------------------

@pytest.fixture
def sqlite_index(monkeypatch):
    """Phase two only (a window of one ticket), on SQLite's search tables."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the *_fts tables are SQLite's indexes; PostgreSQL's are pg_trgm")
    monkeypatch.setattr(queries, "SEARCH_RECENT_WINDOW", 1)


def indexed(term, fts="messages_fts"):
    """Ids of the rows the search table itself finds for ``term`` (a literal phrase)."""
    phrase = '"' + term.replace('"', '""') + '"'
    return sorted(db.session.scalars(text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :p"), {"p": phrase}))


def assert_index_consistent():
    # FTS5 compares each index with its table (external content): raises if any insert,
    # update or delete was missed.
    for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
        db.session.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


def search_with_plans(agent, q):
    with big_table_stats(), query_plans() as plans:
        found = search(agent, q)
    steps = [step for _sql, plan in plans for step in plan]
    return found, steps


def test_rare_terms_are_read_from_the_trigram_index_not_a_scan_of_messages(queue, sqlite_index):
    _store, agent, t = queue
    found, steps = search_with_plans(agent, "parcel upgrade")
    assert found == [t["sizes"].id]  # the note
    for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
        assert any(f"{fts} VIRTUAL TABLE INDEX 0:M" in step for step in steps), steps
    assert not {"SCAN messages", "SCAN tickets", "SCAN contacts"} & set(steps), steps
    note = db.session.scalar(select(Message.id).where(Message.body_text == "Offer the parcel upgrade"))
    assert indexed("PARCEL upgrade") == [note]
    assert_index_consistent()


def test_edited_and_deleted_messages_are_reindexed(queue, sqlite_index):
    _store, agent, t = queue
    message = db.session.scalar(select(Message).where(Message.body_text == "I want a refund"))
    message.body_text = "I want a quokka instead"
    db.session.commit()
    assert search(agent, "quokka") == [t["refund"].id]
    assert indexed("quokka") == [message.id] and indexed("a refund") == []
    assert search(agent, "a refund") == []

    db.session.delete(message)
    db.session.commit()
    assert indexed("quokka") == [] and search(agent, "quokka") == []
    # Subjects and contacts: the other two search tables.
    t["sizes"].subject = "Zebra print sizes"
    t["sizes"].contact.name = "Olga Quince"
    t["sizes"].contact.email = "olga@quince.test"
    db.session.commit()
    assert search(agent, "zebra print") == search(agent, "quince") == [t["sizes"].id]
    assert indexed("zebra", "tickets_fts") == [t["sizes"].id]
    assert indexed("olga@quin", "contacts_fts") == indexed("olga quin", "contacts_fts") == [t["sizes"].contact.id]
    # A ticket deleted with its messages (ON DELETE CASCADE) leaves the index too.
    db.session.execute(Ticket.__table__.delete().where(Ticket.id == t["parcel"].id))
    db.session.commit()
    assert indexed("my parcel") == [] and search(agent, "my parcel") == []
    assert_index_consistent()


@pytest.mark.parametrize("term", ["größe", "GRÖSSE", "GRÖßE", "Größe", "änderung", "ÄNDERUNG", "Änderung",
                                  "Замовлення", "замовлення", "ЗАМОВЛЕННЯ", "ADRESSE", "ße 4"])
def test_non_ascii_terms_find_what_the_scan_finds(queue, sqlite_index, monkeypatch, term):
    """The index narrows, the scan's own test decides, so the answer is the scan's (phase
    one); both fold the case of every letter, as PostgreSQL's ILIKE does."""
    store, agent, _t = queue
    ids = [make_ticket(store, text=body).id for body in ("Größe 42 bitte", "ÄNDERUNG der Adresse",
                                                           "Замовлення номер 77")]
    found, steps = search_with_plans(agent, term)
    assert any("messages_fts VIRTUAL TABLE INDEX 0:M" in step for step in steps), steps
    monkeypatch.setattr(queries, "SEARCH_RECENT_WINDOW", 1000)
    assert found == search(agent, term)  # phase one: every ticket, one by one
    assert set(found) <= set(ids)
    # Every term but "GRÖSSE": "ss" is not "ß" to lower() (nor to PostgreSQL's ILIKE).
    assert bool(found) == (term != "GRÖSSE"), term


@pytest.mark.parametrize("term", ["ЗАМОВЛЕННЯ", "änderung", "OLENA KOVAL", "олена"])
def test_search_folds_the_case_of_every_letter(queue, term):
    """On either database: Cyrillic and accented capitals match their small letters."""
    store, agent, _t = queue
    ticket = make_ticket(store, text="Замовлення 77: ÄNDERUNG der Adresse")
    ticket.contact.name = "Олена Коваль"
    named = make_ticket(store, text="Hello")
    named.contact.name = "Olena Koval"
    db.session.commit()
    expected = {"ЗАМОВЛЕННЯ": [ticket.id], "änderung": [ticket.id], "OLENA KOVAL": [named.id],
                "олена": [ticket.id]}[term]
    assert search(agent, term) == expected


def test_short_terms_and_wildcard_characters_match_literally(queue, sqlite_index):
    store, agent, t = queue
    underscore = make_ticket(store, text="see file_name.pdf").id
    make_ticket(store, text="see filexname.pdf")
    found, steps = search_with_plans(agent, "e_n")
    assert found == [underscore]  # _ is a character, not "any one"
    assert any("messages_fts VIRTUAL TABLE INDEX 0:M" in step for step in steps), steps
    assert search(agent, "0% c") == [t["100%"].id]
    assert search(agent, '"1') == []  # a quote is text in the FTS phrase, not syntax

    found, steps = search_with_plans(agent, "ze")  # too short for trigrams: the scan
    assert found == [t["sizes"].id]
    assert not any("_fts" in step for step in steps), steps
