"""Who is involved: agents (and their teams and API tokens), contacts, anonymous visitors."""
import functools
import hashlib
import secrets

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import offload
from helpdesk.extensions import db
from helpdesk.models.base import Availability, Role, UTCDateTime, enum_column, utcnow


@functools.cache
def _decoy_hash():
    """A hash no password matches, made once per process with the current method."""
    return offload.run(generate_password_hash, secrets.token_urlsafe(32))


def decoy_password_check(password):
    """The work of checking ``password`` against an account, for an address with none: a
    refused sign-in takes as long whether or not the address has an account."""
    offload.run(check_password_hash, _decoy_hash(), password)
    return False


agent_teams = db.Table(
    "agent_teams",
    db.Column("agent_id", db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    db.Column("team_id", db.Integer, db.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)

agent_stores = db.Table(
    "agent_stores",
    db.Column("agent_id", db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    db.Column("store_id", db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
)


class Team(db.Model):
    __tablename__ = "teams"
    __table_args__ = (db.UniqueConstraint("store_id", "name"),)

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False)
    # A team may belong to one store or (NULL) serve every store.
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Agent(UserMixin, db.Model):
    __tablename__ = "agents"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True)
    name = db.Column(db.String(120), nullable=False)
    title = db.Column(db.String(120), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    role = enum_column(Role, nullable=False, default=Role.AGENT)
    availability = enum_column(Availability, nullable=False, default=Availability.OFFLINE)
    avatar_path = db.Column(db.String(255))
    # Plain text ending the agent's email replies (helpdesk.signatures); None: the store's.
    signature = db.Column(db.Text)
    max_chats = db.Column(db.Integer, nullable=False, default=5)
    # False restricts the agent to the stores in ``stores``.
    all_stores = db.Column(db.Boolean, nullable=False, default=True)
    locale = db.Column(db.String(16), nullable=False, default="en")
    active = db.Column(db.Boolean, nullable=False, default=True)
    last_seen_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    teams = db.relationship("Team", secondary=agent_teams, backref="agents")
    stores = db.relationship("Store", secondary=agent_stores)

    def set_password(self, password):
        self.password_hash = offload.run(generate_password_hash, password)

    def check_password(self, password):
        # An account without a password is checked against the decoy: the same work either way.
        matched = offload.run(check_password_hash, self.password_hash or _decoy_hash(), password)
        return matched and bool(self.password_hash)

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def is_active(self):  # flask-login: deactivated agents cannot sign in
        return bool(self.active)

    def can_access_store(self, store_id):
        if self.is_admin or self.all_stores:
            return True
        return any(s.id == store_id for s in self.stores)

    def accessible_store_ids(self):
        """None means every store."""
        if self.is_admin or self.all_stores:
            return None
        return [s.id for s in self.stores]

    def __repr__(self):
        return f"<Agent {self.email}>"


class ApiToken(db.Model):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id = db.Column(db.Integer, primary_key=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(80), nullable=False)
    prefix = db.Column(db.String(12), nullable=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(UTCDateTime)
    revoked_at = db.Column(UTCDateTime)

    agent = db.relationship("Agent")

    PREFIX = "hd_"

    @staticmethod
    def hash(raw):
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @classmethod
    def generate(cls):
        return cls.PREFIX + secrets.token_urlsafe(32)


#: What replaces every text an erased customer's conversations held (helpdesk.actions.contacts.
#: erase_contact): the row stays for counts and reports, the words are gone. Not translated:
#: it is stored, and every reader of any language sees the same marker.
ERASED = "[erased]"
#: The key of ``Contact.platform_ids`` that records an erasure: ``{"at": iso time,
#: "by_agent_id": id}``. Kept on the anonymous placeholder row itself (who and when, never
#: what), so the record lives exactly as long as the row it is about.
ERASED_KEY = "erased"


class Contact(db.Model):
    """A customer of a store, known by email, phone or platform ids."""

    __tablename__ = "contacts"
    __table_args__ = (
        db.Index("ix_contacts_store_email", "store_id", "email"),
        # A contact's orders and the credit for an order take in the contacts merged into
        # it (``id = :id OR merged_into_id = :id``): without this, a scan of every contact.
        # Partial: few contacts are merged, and on a whole column of NULLs SQLite's statistics
        # make a full index look no better than the scan.
        db.Index("ix_contacts_merged_into", "merged_into_id",
                 postgresql_where=db.text("merged_into_id IS NOT NULL"),
                 sqlite_where=db.text("merged_into_id IS NOT NULL")),
    )

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(255), nullable=False, default="")
    email = db.Column(db.String(255))  # stored lower-cased
    phone = db.Column(db.String(40))
    # {"shopify": "7781...", "identify": "<shop customer id>"}
    platform_ids = db.Column(db.JSON, nullable=False, default=dict)
    notes = db.Column(db.Text, nullable=False, default="")
    locale = db.Column(db.String(16))
    blocked = db.Column(db.Boolean, nullable=False, default=False)
    blocked_at = db.Column(UTCDateTime)
    blocked_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    email_failing = db.Column(db.Boolean, nullable=False, default=False)
    merged_into_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    store = db.relationship("Store")

    @property
    def display_name(self):
        return self.name or self.email or f"Visitor #{self.id}"

    @property
    def erasure(self):
        """``{"at", "by_agent_id"}`` once this customer's data was erased on request, else None."""
        record = (self.platform_ids or {}).get(ERASED_KEY)
        return record if isinstance(record, dict) else None


class Visitor(db.Model):
    """An anonymous widget identity (one browser), linked to a contact once known."""

    __tablename__ = "visitors"
    # The home panel's "shoppers online" per store (inbox.home.shoppers_online) counts those
    # seen in the last minutes out of every browser the store ever had: by range, not by
    # reading each of the store's visitors. It also serves lookups by store alone.
    __table_args__ = (db.Index("ix_visitors_store_seen", "store_id", "last_seen_at"),)

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    # The public id inside the signed token the browser keeps.
    uid = db.Column(db.String(40), nullable=False, unique=True, default=lambda: secrets.token_urlsafe(18))
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    user_agent = db.Column(db.String(512))
    browser = db.Column(db.String(80))
    os = db.Column(db.String(80))
    device = db.Column(db.String(80))
    locale = db.Column(db.String(16))
    timezone = db.Column(db.String(64))
    current_url = db.Column(db.String(2048))
    current_title = db.Column(db.String(512))
    referrer = db.Column(db.String(2048))
    attributes = db.Column(db.JSON, nullable=False, default=dict)
    # Proactive invitations are capped per visitor (see widgets/proactive.py).
    last_invited_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    contact = db.relationship("Contact")
    store = db.relationship("Store")
    # Whether an agent of the visitor's store is available, read with the visitor in the same
    # statement by the queries that ask for it (widgets.sockets: every chat message needs
    # both); None when a query did not.
    agents_available = db.query_expression()


class ContactIdentity(db.Model):
    """A contact's id on an outside platform ("shopify", "woocommerce", "identify"...);
    one row per id so lookups are indexed on every database. ``Contact.platform_ids``
    mirrors these for display."""

    __tablename__ = "contact_identities"
    __table_args__ = (db.UniqueConstraint("store_id", "platform", "platform_id", name="uq_contact_identity"),)

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    platform_id = db.Column(db.String(128), nullable=False)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)


class PageView(db.Model):
    """A page a visitor looked at on the storefront (the agent's context panel shows them)."""

    __tablename__ = "page_views"
    __table_args__ = (db.Index("ix_page_views_visitor_viewed", "visitor_id", "viewed_at"),)

    id = db.Column(db.Integer, primary_key=True)
    visitor_id = db.Column(db.Integer, db.ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False)
    url = db.Column(db.String(2048), nullable=False)
    title = db.Column(db.String(512), nullable=False, default="")
    viewed_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
