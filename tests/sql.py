"""What SQL a block of test code sends (tests assert query counts, not only results)."""
from contextlib import contextmanager

from sqlalchemy import event

from helpdesk.extensions import db


@contextmanager
def statements_run():
    """The SQL statements sent inside the block, lower-cased on one line."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def query_plans():
    """SQLite's EXPLAIN QUERY PLAN of each SELECT sent inside the block, as ``[(sql, [step,
    ...]), ...]`` filled in when the block ends (empty on other databases). Plans are how a
    test says "this looks rows up by index" without a big table: ``SCAN messages`` means
    every row, whatever the test's own few rows cost."""
    sent, plans = [], []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield plans
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    if db.engine.dialect.name == "sqlite":
        raw = db.session.connection().connection.driver_connection
        for statement, parameters in sent:
            steps = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            plans.append((" ".join(statement.split()), steps))


#: SQLite's statistics (sqlite_stat1: rows, then rows per distinct key prefix) of a store
#: with 100,000 tickets, 500,000 messages, 33,000 contacts, 94,000 tag links, after ANALYZE.
#: SQLite plans by them: a test's own few rows, without them, say little about how a big
#: database would be read (a GROUP BY over every message looks as cheap as an index search).
BIG_TABLE_STATS = [
    ("contacts", "ix_contacts_store_email", "33333 6667 1"),
    ("messages", "ix_messages_ticket_id_id", "500000 5 1"),
    ("messages", "sqlite_autoindex_messages_1", "500000 5 5"),
    ("messages", "ix_messages_unread", "155 1"),
    ("orders", "ix_orders_contact_placed", "33332 2 1"),
    ("tags", "sqlite_autoindex_tags_1", "30 1"),
    ("ticket_tags", "ix_ticket_tags_tag_id", "93970 3133"),
    ("ticket_tags", "sqlite_autoindex_ticket_tags_1", "93970 2 1"),
    ("tickets", "ix_tickets_activity", "100000 1 1"),
    ("tickets", "ix_tickets_contact_channel", "100000 4 2 2"),
    ("tickets", "ix_tickets_counts", "100000 20000 4000 1334 36 36"),
    ("tickets", "ix_tickets_queue_assignee", "100000 2440 498 1 1"),
    ("tickets", "ix_tickets_queue_status", "100000 20000 1 1"),
    ("tickets", "ix_tickets_queue_store", "100000 20000 4000 1 1"),
    ("tickets", "ix_tickets_queue_team", "100000 9091 1819 1 1"),
    ("tickets", "ix_tickets_visitor_id", "100000 4"),
]


@contextmanager
def big_table_stats(*extra):
    """Inside the block, SQLite plans as on a big database (BIG_TABLE_STATS, plus ``extra``
    ``(table, index or None, stat)`` rows); nothing on other databases. The statistics are
    removed afterwards, so other tests plan as before."""
    if db.engine.dialect.name != "sqlite":
        yield
        return
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    raw.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing
    raw.execute("DELETE FROM sqlite_stat1")
    raw.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", BIG_TABLE_STATS + list(extra))
    raw.commit()  # an open write would hold SQLite's one write lock: other connections wait
    raw.execute("ANALYZE sqlite_schema")  # loads them into this connection's planner
    try:
        yield
    finally:
        # The connection may be back in the pool by now (the block committed or rolled
        # back): its DELETE must not stay an open write transaction, which would lock
        # every other connection out until the pool closed it.
        raw.execute("DELETE FROM sqlite_stat1")
        raw.commit()
        raw.execute("ANALYZE sqlite_schema")


def scans(plans, *tables):
    """The plan steps of ``plans`` (query_plans) that read the whole of one of ``tables``."""
    return [(sql, step) for sql, steps in plans for step in steps
            if step.startswith(tuple(f"SCAN {table}" for table in tables))
            and not step.startswith(tuple(f"SCAN {table}_" for table in tables))]
