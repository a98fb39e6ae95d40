"""Server-side prepared statements for the hot paths on PostgreSQL (psycopg2).

psycopg2 sends every statement as text, so PostgreSQL plans it again on every execution.
For the joined lookups of the email intake and of the chat path, planning costs several
times what running them does (the email threading lookup: 1.1 ms to plan, 0.16 ms to run,
on a database of a million tickets). A statement marked ``prepare()`` is sent once per
connection as ``PREPARE`` and from then on as ``EXECUTE name(...)``; after five executions
PostgreSQL keeps a generic plan when it is no worse than the custom ones, and stops
planning it. (psycopg 3 would do this by itself, but it does not run under eventlet.)

Only marked statements, on the hot paths, each an indexed lookup or a write by key, whose
generic plan is the custom one. ``PREPARE`` infers each parameter's type from where it is
used; one it cannot infer fails inside a savepoint, and that statement is then sent as
text on this connection, without harm to the transaction.
"""
import hashlib
import logging
import re
from collections import OrderedDict

from sqlalchemy import event

log = logging.getLogger(__name__)

#: Per connection, at most this many statements are kept prepared; past that the least
#: recently used one is deallocated. (A statement with an expanding IN list is one statement
#: per length of the list: ``padded`` keeps those few.)
MAX_PREPARED = 100
_OPTION = "helpdesk_prepare"
_KEY = "helpdesk_prepared"
_PARAM = re.compile(r"%\((\w+)\)s|%%")


def prepare(statement):
    """``statement``, marked to be prepared on PostgreSQL (elsewhere nothing changes)."""
    return statement.execution_options(**{_OPTION: True})


def padded(values):
    """``values`` (a non-empty list for an expanding IN) padded to the next power of two by
    repeating its last value: the same answer, and a statement prepared for a few lengths
    instead of one for every length a sender's References header happens to have."""
    size = 1
    while size < len(values):
        size *= 2
    return list(values) + [values[-1]] * (size - len(values))


def rewrite(statement):
    """``(PREPARE body, EXECUTE arguments)`` of a psycopg2 (pyformat) ``statement``: each
    named parameter becomes ``$n``, numbered in the order of first use, and ``%%`` (an
    escaped percent sign) becomes ``%``: the body is sent without parameters."""
    order = {}

    def number(match):
        name = match.group(1)
        if name is None:
            return "%"
        if name not in order:
            order[name] = len(order) + 1
        return f"${order[name]}"

    body = _PARAM.sub(number, statement)
    return body, ", ".join(f"%({name})s" for name in order)


def _prepare(cursor, autocommit, name, body):
    """PREPARE ``body`` as ``name``; False when PostgreSQL refuses it (and the transaction
    is as it was: inside one, the attempt runs in a savepoint)."""
    import psycopg2

    savepoint = not autocommit
    if savepoint:
        cursor.execute("SAVEPOINT helpdesk_prepare")
    try:
        cursor.execute(f"PREPARE {name} AS {body}")
    except psycopg2.Error as exc:
        if savepoint:
            cursor.execute("ROLLBACK TO SAVEPOINT helpdesk_prepare")
        log.warning("statement not prepared", extra={"statement": name, "error": str(exc).strip()})
        return False
    finally:
        if savepoint:
            cursor.execute("RELEASE SAVEPOINT helpdesk_prepare")
    return True


def _do_execute(cursor, statement, parameters, context):
    """DialectEvents.do_execute: runs a marked statement as ``EXECUTE`` (True: done here).
    Below the cursor events, so whatever listens there sees the statement as written."""
    if context is None or not context.execution_options.get(_OPTION) or not isinstance(parameters, dict):
        return None
    # Per DBAPI connection: a prepared statement lives as long as its server session.
    fairy = context.root_connection.connection
    prepared = fairy.info.get(_KEY)
    if prepared is None:
        prepared = fairy.info[_KEY] = OrderedDict()
    entry = prepared.get(statement)
    if entry is None:
        body, args = rewrite(statement)
        name = "helpdesk_" + hashlib.blake2b(statement.encode(), digest_size=12).hexdigest()
        if _prepare(cursor, fairy.dbapi_connection.autocommit, name, body):
            entry = (f"EXECUTE {name}({args})" if args else f"EXECUTE {name}", name)
        else:
            entry = (False, None)
        prepared[statement] = entry
        while len(prepared) > MAX_PREPARED:
            _statement, (_execute, oldest) = prepared.popitem(last=False)
            if oldest is not None:
                cursor.execute(f"DEALLOCATE {oldest}")
    else:
        prepared.move_to_end(statement)
    if entry[0] is False:
        return None
    cursor.execute(entry[0], parameters)
    return True


def _handle_error(context):
    """A prepared statement whose result columns changed type since it was prepared (a
    migration ran while this process kept its connections) fails on every execution: the
    connections are dropped as if disconnected, so the next ones prepare it afresh. The
    statement that hit it fails once, like any statement on a lost connection."""
    original = context.original_exception
    if getattr(original, "pgcode", None) == "0A000" and "cached plan must not change result type" in str(original):
        context.is_disconnect = True


def init_engine(engine):
    """Prepare marked statements on ``engine`` if it is PostgreSQL through psycopg2."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg2":
        if not event.contains(engine, "do_execute", _do_execute):
            event.listen(engine, "do_execute", _do_execute)
            event.listen(engine, "handle_error", _handle_error)
