"""Pooled connections are pinged before use only after sitting idle (helpdesk.app)."""
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from helpdesk.extensions import db


@pytest.fixture
def engine_of(app):
    """An engine of its own on the test database, set up as the app sets up its engine.
    (Not a second app: create_app would take over the one Socket.IO server the other tests
    serve with.)"""
    from sqlalchemy import create_engine

    from helpdesk.app import _ping_when_idle
    from helpdesk.config import engine_options

    def build(ping_after):
        url = db.engine.url.render_as_string(hide_password=False)
        engine = create_engine(url, **engine_options(url))
        _ping_when_idle(engine, ping_after)
        engines.append(engine)
        return engine

    engines = []
    yield build
    for engine in engines:
        engine.dispose()


def test_the_app_pings_pooled_connections_only_when_idle(app):
    assert app.config["DATABASE_PING_AFTER"] > 0
    assert db.engine.pool._pre_ping is False
    assert len(db.engine.pool.dispatch.checkout) and len(db.engine.pool.dispatch.checkin)


def _backend(conn):
    if conn.dialect.name == "postgresql":
        return conn.scalar(text("SELECT pg_backend_pid()"))
    return id(conn.connection.dbapi_connection)


def _kill(engine, conn):
    """Drop the connection ``conn`` holds the way the outside world does, once it is back
    in the pool: PostgreSQL ends its backend; a SQLite handle is closed."""
    backend = _backend(conn)
    raw = conn.connection.dbapi_connection
    if engine.dialect.name == "postgresql":
        other = engine.connect()  # checked out first, so it is not the one being dropped
        conn.close()  # back to the pool
        other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        other.commit()
        other.close()
        time.sleep(0.1)
    else:
        conn.close()
        raw.close()
    return backend


def test_a_connection_idle_past_the_limit_is_replaced_before_use(engine_of):
    engine = engine_of(0.2)
    conn = engine.connect()
    conn.scalar(text("SELECT 1"))
    killed = _kill(engine, conn)
    time.sleep(0.3)
    with engine.connect() as conn:
        # The dead connection failed its ping and was replaced: the query just works.
        assert conn.scalar(text("SELECT 1")) == 1
        assert _backend(conn) != killed


def test_a_connection_used_moments_ago_is_not_pinged(engine_of):
    engine = engine_of(60)
    conn = engine.connect()
    conn.scalar(text("SELECT 1"))
    _kill(engine, conn)
    # Back in the pool for less than the limit: no round trip before use, so the first
    # statement meets the dead connection (and the pool then discards it).
    with engine.connect() as conn:
        with pytest.raises(DBAPIError):
            conn.scalar(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
