"""Read-side queries of the inbox: search in both of its phases, replay after reconnect."""
import pytest
from sqlalchemy import select

from helpdesk.actions.messages import add_note
from helpdesk.models import Ticket
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
