"""Server-side prepared statements for the hot paths (helpdesk.prepared)."""
import pytest
from sqlalchemy import bindparam, func, select, text

from helpdesk.extensions import db
from helpdesk.models import Tag
from helpdesk.prepared import padded, prepare, rewrite
from tests.factories import make_store


def on_postgresql():
    return db.engine.dialect.name == "postgresql"


def prepared_statements():
    """The statements this session's connection holds prepared on the server."""
    return set(db.session.scalars(text("SELECT statement FROM pg_prepared_statements")))


def test_the_app_prepares_on_postgresql_unless_told_not_to(app):
    from sqlalchemy import event

    from helpdesk.prepared import _do_execute

    assert app.config["DATABASE_PREPARE"] is True
    assert event.contains(db.engine, "do_execute", _do_execute) is on_postgresql()


def test_parameters_are_numbered_in_order_of_first_use_and_percent_signs_unescaped():
    body, args = rewrite("SELECT a FROM t WHERE b = %(x)s AND c LIKE 'a%%' AND (d = %(y)s OR e = %(x)s)")
    assert body == "SELECT a FROM t WHERE b = $1 AND c LIKE 'a%' AND (d = $2 OR e = $1)"
    assert args == "%(x)s, %(y)s"
    assert rewrite("SELECT 1") == ("SELECT 1", "")


def test_a_marked_statement_is_prepared_once_and_answers_like_the_plain_one():
    db.session.add_all([Tag(name=name) for name in ("returns", "refund%", "sizes")])
    db.session.commit()
    plain = select(Tag.name).where(Tag.name.like(bindparam("pattern")), Tag.id > bindparam("above")) \
        .order_by(Tag.name)
    marked = prepare(plain)
    for pattern in ("re%", "s%", "refund\\%"):
        expected = db.session.scalars(plain, {"pattern": pattern, "above": 0}).all()
        assert db.session.scalars(marked, {"pattern": pattern, "above": 0}).all() == expected
    assert db.session.scalars(marked, {"pattern": "re%", "above": 0}).all() == ["refund%", "returns"]
    if on_postgresql():
        held = [s for s in prepared_statements() if "FROM tags" in s and "LIKE $1" in s]
        assert len(held) == 1, held  # three executions, one PREPARE


def test_a_statement_postgresql_cannot_prepare_runs_as_text_and_the_transaction_goes_on():
    db.session.add(Tag(name="kept"))
    db.session.flush()
    # SELECT $1: PREPARE cannot tell the parameter's type.
    untyped = prepare(select(bindparam("value").label("value")))
    for _ in range(2):
        assert db.session.execute(untyped, {"value": "as text"}).scalar() == "as text"
    assert db.session.scalar(select(func.count()).select_from(Tag)) == 1
    db.session.commit()
    assert db.session.scalar(select(Tag.name)) == "kept"
    if on_postgresql():
        assert not [s for s in prepared_statements() if s.startswith("SELECT $1")]


def test_a_hot_lookup_runs_prepared_on_postgresql():
    if not on_postgresql():
        pytest.skip("prepared statements are a PostgreSQL matter")
    from helpdesk.actions.contacts import _BY_EMAIL
    from helpdesk.models import Contact

    store = make_store("Linen & Co")
    db.session.add(Contact(store_id=store.id, email="dana@example.com", name="Dana"))
    db.session.commit()
    for _ in range(2):
        found = db.session.scalars(_BY_EMAIL, {"store_id": store.id, "email": "dana@example.com"}).first()
        assert found.name == "Dana"
    assert [s for s in prepared_statements() if "FROM contacts" in s and "contacts.email = $2" in s]


def test_a_statement_prepared_before_a_column_changed_type_heals_on_a_new_connection():
    if not on_postgresql():
        pytest.skip("prepared statements are a PostgreSQL matter")
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy.exc import DBAPIError

    scratch = Table("prepared_scratch", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer))
    scratch.create(db.engine)
    # A connection of its own, held throughout: the one that prepared the statement.
    conn = db.engine.connect()
    try:
        conn.execute(scratch.insert().values(id=1, v=7))
        read = prepare(select(scratch.c.v).where(scratch.c.id == bindparam("id")))
        assert conn.scalar(read, {"id": 1}) == 7
        conn.commit()
        with db.engine.begin() as other:  # a migration, from another process
            other.execute(text("ALTER TABLE prepared_scratch ALTER COLUMN v TYPE bigint"))
        with pytest.raises(DBAPIError) as failed:
            conn.scalar(read, {"id": 1})
        assert failed.value.connection_invalidated
        conn.rollback()
        assert conn.scalar(read, {"id": 1}) == 7  # a new connection, prepared afresh
        conn.commit()
    finally:
        conn.close()
        scratch.drop(db.engine)


def test_an_expanding_list_is_padded_to_a_power_of_two_with_its_last_value():
    assert padded([5]) == [5]
    assert padded([1, 2, 3]) == [1, 2, 3, 3]
    assert padded(list(range(5))) == [0, 1, 2, 3, 4, 4, 4, 4]
    assert padded([1, 2]) == [1, 2]


def test_past_the_limit_the_least_recently_used_statement_is_deallocated(monkeypatch):
    from helpdesk import prepared as module

    monkeypatch.setattr(module, "MAX_PREPARED", 3)
    db.session.add_all([Tag(name=f"t{i}") for i in range(6)])
    db.session.commit()
    # Five different statements (each its own label): more than the connection keeps.
    statements = [prepare(select(Tag.name.label(f"name_{n}")).where(Tag.name >= bindparam("start"))
                          .order_by(Tag.name).limit(n)) for n in range(1, 6)]
    for _ in range(2):
        for n, statement in enumerate(statements, start=1):
            assert db.session.scalars(statement, {"start": "t1"}).all() == [f"t{i}" for i in range(1, 6)][:n]
        assert db.session.scalars(statements[0], {"start": "t4"}).all() == ["t4"]
    if on_postgresql():
        held = [s for s in prepared_statements() if "FROM tags" in s and "AS name_" in s]
        assert len(held) == 3, held
