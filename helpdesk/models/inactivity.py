"""Chat inactivity: one row per silence of a shopper who stopped answering."""
from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow


class ChatSilence(db.Model):
    """The shopper has not answered the agent since ``since`` (the first agent message after
    the shopper's last one, ``message_id``). The sweep claims ``prompted_at`` and ``ended_at``
    with a conditional UPDATE, so concurrent sweeps prompt and end at most once."""

    __tablename__ = "chat_silences"
    __table_args__ = (db.UniqueConstraint("ticket_id", "message_id", name="uq_chat_silence"),)

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    message_id = db.Column(db.Integer, nullable=False)
    since = db.Column(UTCDateTime, nullable=False)
    prompted_at = db.Column(UTCDateTime)
    ended_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
