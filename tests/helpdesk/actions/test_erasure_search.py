"""Search after an erasure. The erased words cannot be found from the erasure's commit on (the
inbox's search, the API's, SQLite's FTS5 tables), though the erasure does only its customer's
work -- no rewrite of the whole index in its transaction. On SQLite a background purge
(outbox work, in short steps) then takes their remains out of the index's pages: one purge for
the erasures before it, handed on in slices, its remains checked in the shadow tables."""
import pytest
from sqlalchemy import select, text

from helpdesk.actions.contacts import SEARCH_PURGE, erase_contact
from helpdesk.extensions import db
from helpdesk.models import OutboxItem, Ticket
from inbox import queries
from tests.api.conftest import Api
from tests.factories import make_agent, make_contact, make_store, make_ticket, make_token
from tests.sql import statements_run
from workers import outbox, privacy_jobs

#: Written by Dana alone (and her address and name): trigrams nobody else's text has.
WORD, NAME, EMAIL = "xqjzvy", "Wyxqaz Dana", "jzvqx@example.test"
#: Their trigrams, as the index stores them (the trigram tokenizer folds case).
TRIGRAMS = ("xqj", "qjz", "jzv", "zvy", "wyx", "yxq", "xqa", "vqx")


@pytest.fixture
def held_jobs(monkeypatch):
    """Outbox rows are written as usual, their jobs kept here instead of run at the commit."""
    held = []
    monkeypatch.setattr(outbox, "enqueue", lambda path, item_id, *args, **kwargs: held.append(item_id))
    return held


@pytest.fixture
def people():
    store = make_store("Quiet Quokka")
    admin = make_agent(name="Ada Admin", role="admin")
    dana = make_contact(store, email=EMAIL, name=NAME)
    chat = make_ticket(store, dana, "chat", f"The {WORD} lid cracked")
    make_ticket(store, dana, "email", f"Still about my {WORD}")
    eve = make_contact(store, email="eve@example.test", name="Eve Else")
    make_ticket(store, eve, "chat", "Where is my parcel, yzzkpw?")
    olek = make_contact(store, email="olek@example.test", name="Olek Other")
    olek_ticket = make_ticket(store, olek, "chat", "Do you sell the gloomfizz lid alone?")
    return store, admin, dana, eve, chat, olek_ticket


def search(q, window=queries.SEARCH_RECENT_WINDOW, monkeypatch=None):
    if monkeypatch is not None:
        monkeypatch.setattr(queries, "SEARCH_RECENT_WINDOW", window)
    return [t.id for t in queries.search_tickets(select(Ticket), q, 25)]


def sqlite():
    return db.engine.dialect.name == "sqlite"


def matches(fts, phrase):
    return db.session.scalars(text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :p"), {"p": f'"{phrase}"'}).all()


def in_index_pages(*trigrams):
    """Whether any of these trigrams is still written in a search table's own pages."""
    blobs = [b for fts in ("messages_fts", "tickets_fts", "contacts_fts")
             for b in db.session.scalars(text(f"SELECT block FROM {fts}_data"))]
    return any(t.encode() in (b or b"") for b in blobs for t in trigrams)


def purges():
    db.session.expire_all()
    return db.session.scalars(select(OutboxItem).where(OutboxItem.kind == SEARCH_PURGE).order_by(OutboxItem.id)).all()


def run(held):
    while held:
        outbox.deliver(held.pop(0))


@pytest.mark.parametrize("window", [queries.SEARCH_RECENT_WINDOW, 1])  # 1: the index phase of search
def test_erased_words_cannot_be_found_from_the_commit_on(app, people, held_jobs, monkeypatch, window):
    store, admin, dana, _eve, _chat, olek_ticket = people
    api = Api(app.test_client(), make_token(admin))
    assert len(search(WORD, window, monkeypatch)) == 2
    assert len(api.get("/tickets", query={"q": WORD}).get_json()["items"]) == 2

    with statements_run() as sent:
        erase_contact(dana, by=admin)

    # The erasure rewrote no index: its cost is Dana's rows (the triggers' delete per row).
    assert not [s for s in sent if "'merge'" in s or "'optimize'" in s or "'rebuild'" in s]
    for term in (WORD, "Wyxqaz", "jzvqx@example"):
        assert search(term, window, monkeypatch) == [], term
        assert api.get("/tickets", query={"q": term}).get_json()["items"] == [], term
    assert search("gloomfizz", window, monkeypatch) == [olek_ticket.id]  # others' words still are
    if sqlite():
        assert matches("messages_fts", WORD) == matches("tickets_fts", WORD) == []
        assert matches("contacts_fts", "wyxqaz") == matches("contacts_fts", "jzvqx") == []


def test_a_purge_takes_the_remains_out_of_the_index_pages(people, held_jobs):
    store, admin, dana, eve, _chat, olek_ticket = people
    if not sqlite():
        erase_contact(dana, by=admin)
        assert purges() == []  # PostgreSQL's indexes follow the rows; VACUUM does the rest
        return
    assert in_index_pages(*TRIGRAMS)

    erase_contact(dana, by=admin)
    erase_contact(eve, by=admin)
    # Unfindable already, but FTS5 only marked the old entries deleted: still in the pages.
    assert search(WORD) == [] and in_index_pages(*TRIGRAMS)

    # One purge for both erasures: neither began before the other committed.
    item, = purges()
    assert (item.status, item.payload) == ("pending", {"begun": False})
    run(held_jobs)
    item, = purges()
    assert item.status == "sent"
    assert not in_index_pages(*TRIGRAMS) and not in_index_pages("yzz", "zkp", "kpw")
    for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
        db.session.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))
    assert search("gloomfizz") == [olek_ticket.id] and search(WORD) == []

    # An erasure after that purge began (here: ended) gets a purge of its own.
    other = make_contact(store, email="fay@example.test", name="Fay Fourth")
    make_ticket(store, other, "chat", "Hello")
    erase_contact(other, by=admin)
    assert [p.status for p in purges()] == ["sent", "pending"]


def test_a_long_purge_is_handed_on_in_slices(people, held_jobs, monkeypatch):
    store, admin, dana, _eve, _chat, _olek_ticket = people
    if not sqlite():
        pytest.skip("the search purge is SQLite's")
    monkeypatch.setattr(privacy_jobs, "SLICE_SECONDS", -1)  # every slice ends after one step

    erase_contact(dana, by=admin)
    run(held_jobs)

    items = purges()
    assert [i.status for i in items] == ["sent"] * len(items) and len(items) >= 2
    # Each slice after the first goes on with the merge the first began.
    assert items[0].payload == {"begun": False} and all(i.payload == {"begun": True} for i in items[1:])
    assert not in_index_pages(*TRIGRAMS)
