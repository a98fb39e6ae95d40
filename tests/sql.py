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
