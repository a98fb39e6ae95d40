"""The email channel: mailboxes, IMAP folder state, the Message-ID map used for threading
and deduplication, inbound deliveries (with quarantine) and the automatic-answer log."""
import secrets

from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow


class Mailbox(db.Model):
    """One support address of a store, with how mail reaches it (IMAP polling, the raw MIME
    endpoint or a provider webhook) and how answers leave it (SMTP).

    Secrets (``inbound_secret``, ``mailgun_signing_key``, ``imap_password``, ``smtp_url``)
    are never dumped: ``connectors.email.schemas.MailboxSchema`` shows only whether they are set.
    """

    __tablename__ = "mailboxes"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(120), nullable=False, default="")
    # The support address customers write to, lower-cased ("support@shop.example").
    address = db.Column(db.String(255), nullable=False, unique=True)
    active = db.Column(db.Boolean, nullable=False, default=True)
    # Public id in the inbound URLs (/inbound/email/<token>...).
    inbound_token = db.Column(db.String(40), nullable=False, unique=True,
                              default=lambda: "mb_" + secrets.token_urlsafe(18))
    # Authenticates the raw MIME endpoint, Postmark (basic auth) and SendGrid (basic auth or ?secret=).
    inbound_secret = db.Column(db.String(64), nullable=False, default=lambda: secrets.token_hex(32))
    # Mailgun signs its webhooks with the account's HTTP webhook signing key.
    mailgun_signing_key = db.Column(db.String(128))
    imap_host = db.Column(db.String(255))
    imap_port = db.Column(db.Integer)
    imap_ssl = db.Column(db.Boolean, nullable=False, default=True)
    imap_username = db.Column(db.String(255))
    imap_password = db.Column(db.String(255))
    imap_folders = db.Column(db.JSON, nullable=False, default=lambda: ["INBOX"])
    # Outgoing mail of this mailbox; empty: the helpdesk's SMTP_URL.
    smtp_url = db.Column(db.String(512))
    # Acknowledge new email tickets with an automatic answer (rate-limited per sender).
    auto_reply = db.Column(db.Boolean, nullable=False, default=False)
    last_polled_at = db.Column(UTCDateTime)
    last_error = db.Column(db.String(1000))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    store = db.relationship("Store")

    @property
    def polls_imap(self):
        # Without a password the login can only fail: removing it is how an admin stops the
        # polling (mail now forwarded by a provider) and keeps the server's settings.
        return bool(self.active and self.imap_host and self.imap_username and self.imap_password)

    def __repr__(self):
        return f"<Mailbox {self.address}>"


class MailboxFolder(db.Model):
    """Where the IMAP poller is in one folder: a UIDVALIDITY change means the UIDs were
    renumbered and the folder is read again (deduplication keeps it from importing twice)."""

    __tablename__ = "mailbox_folders"
    __table_args__ = (db.UniqueConstraint("mailbox_id", "name", name="uq_mailbox_folders_mailbox_name"),)

    id = db.Column(db.Integer, primary_key=True)
    mailbox_id = db.Column(db.Integer, db.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(255), nullable=False)
    uidvalidity = db.Column(db.BigInteger)
    last_uid = db.Column(db.BigInteger, nullable=False, default=0)
    last_synced_at = db.Column(UTCDateTime)


class EmailHeader(db.Model):
    """One email on a ticket, in or out: its Message-ID (what replies name in In-Reply-To
    and References) and the deduplication key (Message-ID + sender + date).

    Every threading lookup is ``(store_id, rfc_message_id)``; every duplicate check is the
    unique ``(store_id, dedupe_key)``.
    """

    __tablename__ = "email_headers"
    __table_args__ = (
        db.UniqueConstraint("store_id", "dedupe_key", name="uq_email_headers_dedupe"),
        db.Index("ix_email_headers_lookup", "store_id", "rfc_message_id"),
        db.Index("ix_email_headers_ticket", "ticket_id", "id"),
    )

    IN = "in"
    OUT = "out"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    mailbox_id = db.Column(db.Integer, db.ForeignKey("mailboxes.id", ondelete="SET NULL"))
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    message_id = db.Column(db.Integer, db.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"))
    direction = db.Column(db.String(3), nullable=False)
    # Without angle brackets; ids longer than the column are stored as "sha256:<hex>".
    rfc_message_id = db.Column(db.String(255), nullable=False)
    sender = db.Column(db.String(255), nullable=False, default="")
    sent_at = db.Column(UTCDateTime)
    dedupe_key = db.Column(db.String(64), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class InboundEmail(db.Model):
    """A delivery that reached us (IMAP, raw endpoint, provider webhook).

    Webhook deliveries are written here first (raw MIME) and parsed by a job, so nothing
    accepted is lost. Mail that cannot become a ticket stays here with status
    ``quarantined`` and a reason an admin can read; ``refused`` rows (oversized) keep no body.
    """

    __tablename__ = "inbound_emails"
    __table_args__ = (
        db.UniqueConstraint("mailbox_id", "delivery_key", name="uq_inbound_emails_delivery"),
        db.Index("ix_inbound_emails_status", "status", "created_at"),
    )

    PENDING = "pending"
    DONE = "done"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    REFUSED = "refused"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    mailbox_id = db.Column(db.Integer, db.ForeignKey("mailboxes.id", ondelete="CASCADE"))
    # "imap", "raw", "postmark", "mailgun", "sendgrid"
    source = db.Column(db.String(16), nullable=False)
    # The provider's delivery id (or IMAP folder/uidvalidity/uid): a replay is stored once.
    delivery_key = db.Column(db.String(200))
    status = db.Column(db.String(16), nullable=False, default=PENDING)
    reason = db.Column(db.String(500))
    raw = db.Column(db.LargeBinary)
    size = db.Column(db.Integer, nullable=False, default=0)
    sender = db.Column(db.String(255))
    subject = db.Column(db.String(255))
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="SET NULL"))
    message_id = db.Column(db.Integer, db.ForeignKey("messages.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    processed_at = db.Column(UTCDateTime)


class EmailAutoReply(db.Model):
    """Each automatic answer we sent, so they are rate-limited per sender."""

    __tablename__ = "email_auto_replies"
    __table_args__ = (db.Index("ix_email_auto_replies_sender", "store_id", "address", "sent_at"),)

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    address = db.Column(db.String(255), nullable=False)
    sent_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
