"""Every state change of the helpdesk goes through a function in this package.

An action validates and authorises, changes rows, queues its realtime events
(``helpdesk.events``) and jobs (``workers.enqueue``), and commits once. Events and jobs
leave only after COMMIT. Actions compose: an action called from inside another joins
the outer transaction instead of committing on its own.
"""
import functools

from sqlalchemy import event as sa_event
from sqlalchemy import insert, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from helpdesk.extensions import db
from helpdesk.prepared import prepare

_IN_ACTION = "helpdesk_in_action"


class ActionError(Exception):
    """A request the domain refuses; carries an HTTP-ish status and the field at fault."""

    status = 400

    def __init__(self, message, field=None, status=None):
        super().__init__(message)
        # The English text is the msgid (extracted: babel.cfg keywords); it is translated
        # when read, in the language of whoever the error is shown to.
        self.msgid = message
        self.field = field
        if status is not None:
            self.status = status

    @property
    def message(self):
        from flask_babel import gettext

        return gettext(self.msgid) if self.msgid else self.msgid

    def as_dict(self):
        return {"message": self.message, "errors": {self.field or "_schema": [self.message]}}


class NotFound(ActionError):
    status = 404


class Forbidden(ActionError):
    status = 403


class Conflict(ActionError):
    """Stale state: someone else changed it first (claimed, closed, ...)."""

    status = 409


def action(fn=None, *, retry_on_conflict=False, keep_loaded=False):
    """Run ``fn`` in one transaction (or inside the caller's, when nested).

    ``retry_on_conflict``: an IntegrityError at commit (two requests inserting the same
    unique row) rolls back and runs ``fn`` once more, which then finds the winner's row.
    ``keep_loaded``: the objects stay loaded after COMMIT instead of being expired. For the
    chat hot path, whose caller answers from the rows it has just written (the message
    acknowledgement) and ends: reloading them would cost three queries per message.
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            session = db.session
            if session.info.get(_IN_ACTION):
                return func(*args, **kwargs)
            attempts = 2 if retry_on_conflict else 1
            for attempt in range(attempts):
                session.info[_IN_ACTION] = True
                try:
                    result = func(*args, **kwargs)
                    current = session()  # the scoped session's Session itself
                    previous = current.expire_on_commit
                    if keep_loaded:
                        current.expire_on_commit = False
                    try:
                        session.commit()
                    finally:
                        current.expire_on_commit = previous
                    return result
                except IntegrityError:
                    session.rollback()
                    if attempt + 1 >= attempts:
                        raise
                except BaseException:
                    session.rollback()
                    raise
                finally:
                    session.info[_IN_ACTION] = False

        return wrapper

    return decorate(fn) if fn is not None else decorate


def insert_loaded(model, **values):
    """INSERT one ``model`` row now, with a single statement, and return it as a persistent
    object of the session with its columns loaded: reading one does not go back to the
    database. Columns not given get their column default, else NULL; a column with only a
    database-side default is left to the database (and loaded when first read). Relationship
    values given (an empty ``tags`` list, the ticket a message is on) are set on the object as
    its loaded state; objects among them must be in the session already (nothing cascades).

    Why not ``session.add`` and a flush: on the hot paths (each chat message, each email)
    the unit of work costs about three times the INSERT it sends. Later changes to the
    returned object flush as usual.
    """
    table = model.__table__
    row, related = {}, {}
    for key, value in values.items():
        (row if key in table.c else related)[key] = value
    for column in table.columns:
        if column.key in row or column.primary_key:
            continue
        default = column.default
        if default is None and column.server_default is not None:
            continue  # the database fills it in; the object loads it when first read
        if default is None:
            row[column.key] = None
        elif default.is_callable:
            row[column.key] = default.arg(None)
        else:
            row[column.key] = default.arg
    primary_key = db.session.execute(_insert_of(table), row).inserted_primary_key[0]
    obj = _new_persistent(sa_inspect(model), {**row, table.primary_key.columns[0].key: primary_key}, related)
    transaction_cache(_INSERTED)[id(obj)] = sa_inspect(obj)
    return obj


# The objects insert_loaded made in the current transaction (their states: no strong
# reference to the objects). A rollback removes the ORM's own new objects from the session,
# but not these: to the session they were persistent before the transaction began. Left
# there, they stand for rows that no longer exist until a garbage collection happens to
# free them, and a later INSERT that gets the same id (SQLite hands out the rolled-back
# ids again) fails with "another instance with key ... is already present".
_INSERTED = "helpdesk_inserted_loaded"


@sa_event.listens_for(db.session, "after_soft_rollback")
def _forget_rolled_back_inserts(session, previous_transaction):
    cached = session.info.get(_INSERTED)
    if cached is None or cached[0] is not previous_transaction:
        return  # a savepoint, or a transaction that inserted nothing
    del session.info[_INSERTED]
    for state in cached[1].values():
        obj = state.obj()
        if obj is not None and obj in session:
            session.expunge(obj)


def labelled_columns(table, prefix):
    """``(columns labelled prefix + key, [(label, key)])`` of ``table``: for a Core statement
    that reads several tables' rows at once, to be turned into objects with ``load_row``."""
    return [c.label(prefix + c.key) for c in table.c], [(prefix + c.key, c.key) for c in table.c]


def row_values(row, keys):
    """The column values of ``row`` under their attribute names (``keys``: ``[(label, key)]``)."""
    return {key: row[label] for label, key in keys}


def load_row(model, values, **related):
    """``model``'s object for the column ``values`` of a row read with Core (a hot path's
    lookup), as an ORM query would give it: the session's own object for that row when it
    has one (filling in only what it has not loaded, like a query without
    ``populate_existing``), else a new persistent object with those columns and ``related``
    (relationship values) loaded."""
    mapper = sa_inspect(model)
    identity = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    obj = db.session.identity_map.get(identity)
    if obj is None:
        return _new_persistent(mapper, values, related)
    values = {**values, **related}
    for key in sa_inspect(obj).unloaded & values.keys():
        set_committed_value(obj, key, values[key])
    return obj


def _new_persistent(mapper, values, related):
    # Column values go straight into the instance's dict, the way the ORM's loader fills a
    # row: through the constructor each one fires attribute events (change tracking that
    # make_transient_to_detached would only throw away again), twice the cost.
    obj = mapper.class_manager.new_instance()
    instance_dict(obj).update(values)
    make_transient_to_detached(obj)
    # Added before its relationships are set: adding walks the save-update cascade through
    # every related object already loaded (the ticket, its contact, store and tags...), and
    # the callers' related objects are in the session already.
    db.session.add(obj)
    for key, value in related.items():
        set_committed_value(obj, key, value)
    return obj


def transaction_cache(name):
    """A dict named ``name`` that lives as long as the session's current transaction. For
    an answer read once and reused by later steps of the same transaction (a hot path's
    combined lookup primes what an action would otherwise query again): it is never
    carried across a commit or rollback, so it cannot go stale."""
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None:
        return {}  # no transaction yet: nothing read now may be trusted inside the next one
    cached = session.info.get(name)
    if cached is None or cached[0] is not transaction:
        cached = session.info[name] = (transaction, {})
    return cached[1]


_INSERTS = {}
_ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def replayable_transaction():
    """Declare that the current transaction's work can be done again from a durable copy of
    its input, so its COMMIT need not wait for the disk (PostgreSQL: the write-ahead log is
    flushed a moment later; elsewhere nothing changes). Only for an outermost transaction
    whose input stays unconsumed until this commit: the IMAP poller's read mark commits with
    the mail, a stored delivery stays pending until it is processed.

    A crash of the database server (not of the app) can lose the last such commits -- well
    under a second of them -- and their input is then read again. Nothing else is at risk:
    an ordinary commit flushes the log up to itself, so no durable change ever depends on a
    lost one. What was sent meanwhile (an event, an acknowledgement email) may go twice."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_ASYNCHRONOUS_COMMIT)


def _insert_of(table):
    """One INSERT construct per table, kept: building it again costs more than it should."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = prepare(insert(table))
    return statement
