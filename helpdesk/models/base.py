"""Shared column helpers and the vocabulary of the support domain."""
import enum
from datetime import datetime, timezone

from sqlalchemy import func, types

from helpdesk.extensions import db


def utcnow():
    return datetime.now(timezone.utc)


#: SQLite's lower() folds ASCII letters only (PostgreSQL's, every letter): a Unicode-aware
#: one is registered on each SQLite connection (helpdesk.app) under this name.
SQLITE_LOWER = "unicode_lower"


def _folds_on_sqlite(term):
    return not term.isascii() and db.session.get_bind().dialect.name == "sqlite"


def lower_for(term):
    """The SQL lower() that folds every letter of ``term``: lower(), or on SQLite, for a term
    with other letters than ASCII ones, ``SQLITE_LOWER`` (there "ЗАМОВЛЕННЯ" missed
    "Замовлення" and "änderung" "ÄNDERUNG"). Only then: it is a Python call per row (a scan of
    500,000 messages took 1.8 times as long with it)."""
    return getattr(func, SQLITE_LOWER) if _folds_on_sqlite(term) else func.lower


def contains_folded(column, term):
    """Condition: ``column`` contains ``term``, whatever the case of any letter in either
    (``icontains``: ILIKE on PostgreSQL, which pg_trgm serves; see ``lower_for``)."""
    if _folds_on_sqlite(term):
        return lower_for(term)(column).contains(term.lower(), autoescape=True)
    return column.icontains(term, autoescape=True)


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class StrEnum(str, enum.Enum):
    def __str__(self):
        return self.value

    @classmethod
    def values(cls):
        return [m.value for m in cls]


class Channel(StrEnum):
    CHAT = "chat"
    EMAIL = "email"
    FORM = "form"
    API = "api"


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: A customer writing to a ticket in one of these states continues it (and reopens it);
#: a closed ticket is history and a new message opens a new ticket.
CONTINUABLE_STATUSES = (
    TicketStatus.OPEN.value,
    TicketStatus.PENDING.value,
    TicketStatus.SNOOZED.value,
    TicketStatus.RESOLVED.value,
)


#: A ticket in one of these states is done with: a chat in them has ended.
ENDED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class AuthorType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    MESSAGE = "message"
    NOTE = "note"
    EVENT = "event"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Availability(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


def enum_column(enum_cls, **kw):
    """Enums are stored as short strings with a CHECK constraint (portable, migration-friendly)."""
    return db.Column(
        db.Enum(
            enum_cls,
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
            name=enum_cls.__name__.lower(),
        ),
        **kw,
    )


#: PostgreSQL-only trigram indexes for search (migration 0007): not in the models because
#: they need the pg_trgm extension, so schema comparisons must not report them.
SEARCH_INDEX_PREFIX = "ix_trgm_"


def include_in_migrations(obj, name, type_, reflected, compare_to):
    """Alembic ``include_object``: everything but the search indexes above and SQLite's
    search table with its shadow tables (helpdesk.models.search, migration 0018)."""
    from helpdesk.models.search import is_search_table

    if type_ == "table":
        return not is_search_table(name)
    return not (type_ == "index" and name and name.startswith(SEARCH_INDEX_PREFIX))
