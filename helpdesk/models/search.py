"""Substring search on SQLite: FTS5 trigram indexes over message text, ticket subjects and
contact names and emails.

PostgreSQL serves inbox search (inbox.queries.search_tickets) from pg_trgm indexes
(migration 0007); without an index SQLite scanned every message with LIKE '%term%'
(180-250 ms a page at 500,000 messages). Each ``*_fts`` table is an external-content FTS5
table (it stores only the index; the text stays in the indexed table) kept in step by
triggers.

Created by migration 0018 and, for databases built from the models (tests, benchmarks),
with the tables they index (the DDL listeners below): :func:`create_search_tables` is the
one definition both use. Not models: schema comparisons skip them
(:func:`is_search_table`, used by ``include_in_migrations``).

A migration that rebuilds an indexed table on SQLite (batch "move and copy") drops its
triggers: call :func:`create_search_tables` after it (tests/helpdesk/test_migrations.py
checks they exist at head).
"""
import logging

from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from helpdesk.models.people import Contact
from helpdesk.models.tickets import Message, Ticket

log = logging.getLogger(__name__)

#: Search table -> (the table it indexes, the columns). Contacts' two columns are one table:
#: search asks "name or email".
SEARCH_TABLES = {
    "messages_fts": ("messages", ("body_text",)),
    "tickets_fts": ("tickets", ("subject",)),
    "contacts_fts": ("contacts", ("name", "email")),
}
MESSAGES_FTS, TICKETS_FTS, CONTACTS_FTS = SEARCH_TABLES
#: FTS5's shadow tables next to each: <name>_data, _idx, _docsize, _config.
_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")


def _statements(fts, source, columns):
    """The external-content pattern of the FTS5 documentation: the 'delete' command must be
    given the old values exactly as indexed, which AFTER triggers see as ``old``."""
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"{cols}, content='{source}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {source} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {source} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {cols} ON {source} BEGIN {delete} {insert} END",
        # Index the rows already there (a migrated database); rebuilding an empty one is free.
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    )


#: Trigger names, for checks (tests/helpdesk/test_migrations.py).
SEARCH_TRIGGERS = frozenset(f"{fts}_{op}" for fts in SEARCH_TABLES for op in ("insert", "delete", "update"))


def create_search_tables(connection, names=tuple(SEARCH_TABLES)):
    """Create (or repair) the search tables and their triggers; nothing on other databases.
    An SQLite built without FTS5 or its trigram tokenizer (before 3.34) gets a warning and
    search scans, as before: still correct, only slower."""
    if connection.dialect.name != "sqlite":
        return
    for name in names:
        first, *rest = _statements(name, *SEARCH_TABLES[name])
        try:
            connection.execute(text(first))
        except OperationalError as exc:  # "no such module: fts5" / "no such tokenizer: trigram"
            log.warning("search runs without an index on this SQLite: %s", exc.orig)
            return
        for statement in rest:
            connection.execute(text(statement))


def drop_search_tables(connection, names=tuple(SEARCH_TABLES)):
    if connection.dialect.name != "sqlite":
        return
    for name in names:
        for op in ("insert", "delete", "update"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}_{op}"))
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))


def has_search_tables(connection):
    """Whether this database has the search tables (one left at an older revision, or an
    SQLite without FTS5, has not): all come and go together."""
    return connection.dialect.name == "sqlite" and connection.scalar(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": MESSAGES_FTS}) is not None


#: Index pages (FTS5's ``pgsz``, 4 KB by default) one step of :func:`purge_deleted_terms`
#: writes per search table: about 50 ms of work (200,000 messages), so a purge never holds
#: SQLite's write lock long enough for a chat message to wait long on it.
PURGE_STEP_PAGES = 500


def purge_deleted_terms(connection, *, start, pages=PURGE_STEP_PAGES):
    """One step of rewriting each search table's index without the entries of deleted and
    changed rows; True while there is more to do. ``start``: the first step of a purge (the
    index as it is now, every segment included); every later step goes on with that work.

    FTS5 does not remove an entry when its row goes: the triggers add a "delete" marker, so
    search stops finding the row at once, but the old terms (here trigrams, with their
    positions: the text can be pieced together from them) stay in the ``*_data`` shadow table
    until the segment holding them is merged. Merging every segment into one drops them; for
    an old row that means rewriting the big segment, i.e. the whole index (seconds at 200,000
    messages: far too long to hold the write lock inside the transaction that deleted the
    row). So it is done in steps of about ``pages`` pages each, in transactions of their own:
    the 'merge' command with a negative count first puts every segment on one level and
    begins merging them, as 'optimize' would; positive counts go on with that merge (and
    leave segments added meanwhile for later), until a step finds nothing left to merge (it
    changes fewer than two rows, as the FTS5 documentation says to tell). Nothing on other
    databases: PostgreSQL's trigram indexes point at row versions and VACUUM removes the dead
    ones with them."""
    if not has_search_tables(connection):
        return False
    more = False
    for name in SEARCH_TABLES:
        before = connection.exec_driver_sql("SELECT total_changes()").scalar()
        connection.execute(text(f"INSERT INTO {name}({name}, rank) VALUES ('merge', :pages)"),
                           {"pages": -pages if start else pages})
        more = more or connection.exec_driver_sql("SELECT total_changes()").scalar() - before >= 2
    return more


def is_search_table(name):
    """A search table or one of its shadow tables."""
    return bool(name) and any(name == fts or name in (fts + suffix for suffix in _SHADOW_SUFFIXES)
                              for fts in SEARCH_TABLES)


# db.create_all() builds the tables without migrations (tests, benchmarks): each search
# table comes with the table it indexes, so every SQLite database the app creates has them.
# Migrations create tables on their own Table objects, which these listeners do not see;
# 0018 calls the functions itself.
def _listen(model, name):
    event.listen(model.__table__, "after_create", lambda target, connection, **kw: create_search_tables(connection, [name]))
    event.listen(model.__table__, "before_drop", lambda target, connection, **kw: drop_search_tables(connection, [name]))


for _model, _name in ((Message, MESSAGES_FTS), (Ticket, TICKETS_FTS), (Contact, CONTACTS_FTS)):
    _listen(_model, _name)
