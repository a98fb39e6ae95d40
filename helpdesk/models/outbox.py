"""Work that must not be lost (outgoing mail, outgoing webhooks) is a row first, a job second."""
from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow


class OutboxItem(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (db.Index("ix_outbox_due", "status", "next_attempt_at"),)

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"

    id = db.Column(db.Integer, primary_key=True)
    # Handler name in workers.outbox.HANDLERS ("email", "webhook", ...).
    kind = db.Column(db.String(32), nullable=False)
    payload = db.Column(db.JSON, nullable=False)
    status = db.Column(db.String(16), nullable=False, default=PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # A claimed row is owned by one job until this time; the sweep takes it back after.
    claimed_until = db.Column(UTCDateTime)
    last_error = db.Column(db.String(1000))
    # What it belongs to, for showing delivery state (e.g. "message:42").
    subject_ref = db.Column(db.String(64), index=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = db.Column(UTCDateTime)
