"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from helpdesk.config import database_url as normalise_url
from helpdesk.extensions import db, migrate
from helpdesk.logs import preserved
from tests.conftest import need

PG_DATABASE = "helpdesk_migrations_test"


def _migration_app(app, url):
    """A bare app on ``url`` with the real app's migration setup (directory and options).

    Not ``create_app``: that would rebind the shared Socket.IO and limiter objects."""
    config = app.extensions["migrate"]
    bare = Flask("helpdesk_migrations")
    bare.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(bare)
    migrate.init_app(bare, db, directory=config.directory, **config.configure_args)
    return bare


def _upgrade_and_compare(app, url):
    from flask_migrate import downgrade, upgrade

    bare = _migration_app(app, url)
    with bare.app_context():
        with preserved():  # env.py calls logging.config.fileConfig
            upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=dict(app.extensions["migrate"].configure_args))
            diff = compare_metadata(context, db.metadata)
            head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            tables = set(inspect(connection).get_table_names())
        assert not diff, "models and migrations disagree (add a migration: flask --app wsgi db migrate):\n" + \
            "\n".join(_describe(change) for change in diff)
        assert head is not None
        assert set(db.metadata.tables) <= tables
        if db.engine.dialect.name == "sqlite":
            # Search's index and its triggers (0018): a later migration that rebuilds
            # ``messages`` (batch "move and copy") drops the triggers and must recreate them.
            from helpdesk.models.search import SEARCH_TABLES, SEARCH_TRIGGERS

            assert set(SEARCH_TABLES) <= tables
            assert _sqlite_triggers() == SEARCH_TRIGGERS

        # And back down: every migration can be undone.
        with preserved():
            downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def _sqlite_triggers():
    with db.engine.connect() as connection:
        return set(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))


def _describe(change):
    """One readable line per autogenerate difference."""
    if isinstance(change, list):  # column modifications come grouped
        return "; ".join(_describe(c) for c in change)
    op, *rest = change
    names = []
    for item in rest:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if name:
            names.append(f"{table}.{name}" if table and op.endswith("column") else name)
        elif isinstance(item, str) and not op.endswith("column"):
            names.append(item)
    return f"{op} {' '.join(names)}".strip()


def test_migrations_match_the_models_on_sqlite(app, tmp_path):
    _upgrade_and_compare(app, "sqlite:///" + str(tmp_path / "migrated.db"))


def test_sqlite_search_indexes_migration_indexes_existing_rows_and_comes_off(app, tmp_path):
    from flask_migrate import downgrade, upgrade

    bare = _migration_app(app, "sqlite:///" + str(tmp_path / "search.db"))
    with bare.app_context():
        with preserved():
            upgrade(revision="0017_visitors_store_seen")
        with db.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a message without its ticket
            connection.execute(text(
                "INSERT INTO messages (id, ticket_id, author_type, kind, body_text, body_html, meta, hidden, created_at)"
                " VALUES (7, 1, 'contact', 'message', 'Where is order ZX-4411?', '', '{}', 0, '2024-01-01')"))
        with preserved():
            upgrade()
        match = text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :p")
        with db.engine.connect() as connection:
            assert list(connection.scalars(match, {"p": '"zx-44"'})) == [7]  # backfilled
            for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
                connection.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))
        with preserved():
            downgrade(revision="0017_visitors_store_seen")
        with db.engine.connect() as connection:
            assert not any(name.endswith(("_fts", "_fts_data")) for name in inspect(connection).get_table_names())
        assert not _sqlite_triggers()
        db.engine.dispose()


def test_ticket_merge_migration_keeps_every_ticket_and_message_both_ways(app, tmp_path):
    """0019 adds ``tickets.merged_into_id`` (a foreign key: SQLite rebuilds the table). The
    rebuild runs with foreign keys off: with them on, dropping the old ``tickets`` would have
    deleted its messages (ON DELETE CASCADE). Up, down and up again keep every row, the
    search triggers and the foreign key's ON DELETE SET NULL."""
    from flask_migrate import downgrade, upgrade

    from helpdesk.models.search import SEARCH_TRIGGERS

    bare = _migration_app(app, "sqlite:///" + str(tmp_path / "merge.db"))
    rows = text("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM messages), "
                "(SELECT count(*) FROM handoffs)")
    columns = lambda connection: {c["name"] for c in inspect(connection).get_columns("tickets")}  # noqa: E731
    with bare.app_context():
        with preserved():
            upgrade(revision="0018_search_fts")
        with db.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # tickets without their store and contact
            for ticket_id in (1, 2):
                connection.execute(text(
                    "INSERT INTO tickets (id, store_id, contact_id, channel, status, subject, offline,"
                    " last_message_preview, created_at, last_activity_at, is_practice)"
                    " VALUES (:id, 1, 1, 'email', 'open', :subject, 0, '', '2024-01-01', '2024-01-01', 0)"),
                    {"id": ticket_id, "subject": f"Order ZX-44{ticket_id} never came"})
                connection.execute(text(
                    "INSERT INTO messages (ticket_id, author_type, kind, body_text, body_html, meta, hidden,"
                    " created_at) VALUES (:id, 'contact', 'message', 'Where is it?', '', '{}', 0, '2024-01-01')"),
                    {"id": ticket_id})
            connection.execute(text("INSERT INTO handoffs (ticket_id, note, created_at)"
                                    " VALUES (1, '', '2024-01-01')"))
        with db.engine.connect() as connection:
            assert tuple(connection.execute(rows).one()) == (2, 2, 1)
        with preserved():
            upgrade(revision="0019_ticket_merge")
        with db.engine.connect() as connection:
            assert tuple(connection.execute(rows).one()) == (2, 2, 1)
            assert "merged_into_id" in columns(connection)
            assert any(fk["constrained_columns"] == ["merged_into_id"] and fk["options"] == {"ondelete": "SET NULL"}
                       for fk in inspect(connection).get_foreign_keys("tickets"))
            # The subjects are searchable again (the triggers and the index came back).
            match = text("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH :p")
            assert list(connection.scalars(match, {"p": '"zx-442"'})) == [2]
        assert _sqlite_triggers() == SEARCH_TRIGGERS
        with preserved():
            downgrade(revision="0018_search_fts")
        with db.engine.connect() as connection:
            assert tuple(connection.execute(rows).one()) == (2, 2, 1)
            assert "merged_into_id" not in columns(connection)
            assert "ix_tickets_merged_into" not in {i["name"] for i in inspect(connection).get_indexes("tickets")}
        assert _sqlite_triggers() == SEARCH_TRIGGERS
        with preserved():
            upgrade()
        with db.engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            connection.execute(text("UPDATE tickets SET merged_into_id = 1 WHERE id = 2"))
            connection.execute(text("DELETE FROM tickets WHERE id = 1"))
            assert connection.execute(text("SELECT merged_into_id FROM tickets WHERE id = 2")).scalar() is None
        db.engine.dispose()


def test_agent_signature_migration_adds_the_column_in_place_both_ways(app, tmp_path):
    """0020 adds ``agents.signature`` with ALTER TABLE on SQLite, no batch rebuild: dropping
    the old ``agents`` would take every agent's API tokens, teams and more with it (ON DELETE
    CASCADE, foreign keys on). Up and down keep the agents and what hangs off them."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import event

    bare = _migration_app(app, "sqlite:///" + str(tmp_path / "signature.db"))
    columns = lambda connection: {c["name"] for c in inspect(connection).get_columns("agents")}  # noqa: E731
    rows = text("SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM api_tokens)")
    with bare.app_context():
        with preserved():
            upgrade(revision="0019_ticket_merge")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO agents (id, email, name, title, password_hash, role, availability, max_chats,"
                " all_stores, locale, active, created_at) VALUES (1, 'sam@example.test', 'Sam', '', 'x', 'agent',"
                " 'offline', 5, 1, 'en', 1, '2024-01-01')"))
            connection.execute(text(
                "INSERT INTO api_tokens (agent_id, name, prefix, token_hash, created_at)"
                " VALUES (1, 'zapier', 'hd_abc', :hash, '2024-01-01')"), {"hash": "0" * 64})
        statements = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: statements.append(" ".join(statement.split())))
        with preserved():
            upgrade(revision="0020_agent_signature")
        with db.engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert tuple(connection.execute(rows).one()) == (1, 1)
            assert "signature" in columns(connection)
            connection.execute(text("UPDATE agents SET signature = 'Sam' || char(10) || 'Linen' WHERE id = 1"))
        with preserved():
            downgrade(revision="0019_ticket_merge")
        with db.engine.connect() as connection:
            assert tuple(connection.execute(rows).one()) == (1, 1)
            assert "signature" not in columns(connection)
        schema_changes = [s for s in statements if s.startswith(("ALTER", "CREATE TABLE", "DROP TABLE"))]
        assert schema_changes == ["ALTER TABLE agents ADD COLUMN signature TEXT",
                                  "ALTER TABLE agents DROP COLUMN signature"], schema_changes
        db.engine.dispose()


@pytest.fixture
def fresh_pg_database():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("the PostgreSQL leg runs when TEST_DATABASE_URL is set (the CI PostgreSQL pass)")
    need(url.startswith(("postgres://", "postgresql")), "TEST_DATABASE_URL must be a PostgreSQL URL")
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    except Exception as exc:  # noqa: BLE001
        need(False, f"PostgreSQL at TEST_DATABASE_URL (could not create a database: {exc})")
    try:
        yield make_url(normalise_url(url)).set(database=PG_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_match_the_models_on_postgresql(app, fresh_pg_database):
    _upgrade_and_compare(app, fresh_pg_database)


# ---- 0023: reply targets ----------------------------------------------------------------------

def _reply_target_tables():
    import sqlalchemy as sa

    when = sa.DateTime(timezone=True)
    stores = sa.table("stores", sa.column("id"), sa.column("name"), sa.column("slug"), sa.column("widget_key"),
                      sa.column("identity_secret"), sa.column("settings", sa.JSON), sa.column("created_at", when))
    contacts = sa.table("contacts", sa.column("id"), sa.column("store_id"), sa.column("name"),
                        sa.column("platform_ids", sa.JSON), sa.column("notes"), sa.column("blocked", sa.Boolean),
                        sa.column("email_failing", sa.Boolean), sa.column("created_at", when),
                        sa.column("updated_at", when))
    tickets = sa.table("tickets", *(sa.column(c) for c in ("id", "store_id", "contact_id", "channel", "status",
                                                          "subject", "last_message_preview")),
                       sa.column("offline", sa.Boolean), sa.column("is_practice", sa.Boolean),
                       *(sa.column(c, when) for c in ("created_at", "last_activity_at", "first_response_at",
                                                      "last_customer_message_at", "reply_due_at")))
    messages = sa.table("messages", *(sa.column(c) for c in ("ticket_id", "author_type", "kind", "body_text",
                                                            "body_html")),
                        sa.column("meta", sa.JSON), sa.column("hidden", sa.Boolean), sa.column("created_at", when))
    return stores, contacts, tickets, messages


def _reply_targets_migrate_and_backfill(app, url):
    """0023 adds the due-time columns and gives the open and pending tickets already waiting
    in a store with targets their due time (on the clock, from the latest customer message);
    and comes off again."""
    from datetime import datetime, timedelta, timezone

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    stores, contacts, tickets, messages = _reply_target_tables()
    t = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
    targets = {"reply_target_chat_first_minutes": 2, "reply_target_chat_next_minutes": 5,
               "reply_target_email_first_minutes": 240, "reply_target_email_next_minutes": 480}
    # id: (store, channel, status, offline, practice, first response, an agent's reply at, expected due)
    cases = {
        1: (1, "chat", "open", False, False, None, None, t + timedelta(minutes=2)),
        2: (1, "email", "pending", False, False, t - timedelta(hours=1), t - timedelta(hours=1),
            t + timedelta(minutes=480)),
        3: (1, "chat", "open", False, False, t + timedelta(minutes=1), t + timedelta(minutes=1), None),  # answered
        4: (1, "email", "resolved", False, False, None, None, None),
        5: (1, "chat", "open", False, True, None, None, None),  # an academy practice chat
        6: (1, "api", "open", False, False, None, None, None),  # no target for the API
        7: (1, "chat", "open", True, False, None, None, t + timedelta(minutes=240)),  # left offline: email's
        8: (2, "chat", "open", False, False, None, None, None),  # a store without targets
    }
    columns = lambda connection, table: {c["name"] for c in inspect(connection).get_columns(table)}  # noqa: E731
    bare = _migration_app(app, url)
    with bare.app_context():
        with preserved():
            upgrade(revision="0022_appointments_unassign")
        with db.engine.begin() as connection:
            for store_id, settings in ((1, targets), (2, {})):
                connection.execute(stores.insert().values(
                    id=store_id, name=f"Store {store_id}", slug=f"store-{store_id}", widget_key=f"wk_{store_id}",
                    identity_secret="x", settings=settings, created_at=t))
                connection.execute(contacts.insert().values(
                    id=store_id, store_id=store_id, name="Dana", platform_ids={}, notes="", blocked=False,
                    email_failing=False, created_at=t, updated_at=t))
            for ticket_id, (store_id, channel, status, offline, practice, first, answered, _due) in cases.items():
                connection.execute(tickets.insert().values(
                    id=ticket_id, store_id=store_id, contact_id=store_id, channel=channel, status=status,
                    subject="", last_message_preview="", offline=offline, is_practice=practice,
                    created_at=t - timedelta(hours=2), last_activity_at=t, first_response_at=first,
                    last_customer_message_at=t))
                if answered is not None:
                    connection.execute(messages.insert().values(
                        ticket_id=ticket_id, author_type="agent", kind="message", body_text="On it.", body_html="",
                        meta={}, hidden=False, created_at=answered))
        with preserved():
            upgrade(revision="0023_reply_targets")
        with db.engine.connect() as connection:
            assert "reply_due_at" in columns(connection, "messages")
            found = dict(connection.execute(select(tickets.c.id, tickets.c.reply_due_at)).all())
        naive = lambda moment: moment.replace(tzinfo=None) if moment is not None else None  # noqa: E731
        assert {i: naive(found[i]) for i in cases} == {i: naive(case[-1]) for i, case in cases.items()}
        with preserved():
            downgrade(revision="0022_appointments_unassign")
        with db.engine.connect() as connection:
            assert "reply_due_at" not in columns(connection, "tickets")
            assert "reply_due_at" not in columns(connection, "messages")
            assert "ix_tickets_reply_due" not in {i["name"] for i in inspect(connection).get_indexes("tickets")}
            assert connection.execute(text("SELECT count(*) FROM tickets")).scalar() == len(cases)
        db.engine.dispose()


def test_reply_targets_migration_backfills_waiting_tickets_on_sqlite(app, tmp_path):
    _reply_targets_migrate_and_backfill(app, "sqlite:///" + str(tmp_path / "targets.db"))


def test_reply_targets_migration_backfills_waiting_tickets_on_postgresql(app, fresh_pg_database):
    _reply_targets_migrate_and_backfill(app, fresh_pg_database)
