"""Writing assist: one row per suggestion an agent asked for in the reply box."""
from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow


class AssistRequest(db.Model):
    """A draft / fix / tone / translate request and its outcome.

    The suggestion is only ever shown to the agent who asked (``agent:<id>`` room); nothing
    here is sent to the shopper. ``input_text`` is the agent's draft at the time of asking and
    is never changed: a failed request leaves the draft as it was.
    """

    __tablename__ = "assist_requests"
    __table_args__ = (db.Index("ix_assist_requests_agent_created", "agent_id", "created_at"),)

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)
    # draft, fix, formal, friendly, concise, translate (helpdesk.assist.ACTIONS)
    action = db.Column(db.String(16), nullable=False)
    # translate: the shopper's language; fix: the language the offline dictionary used.
    language = db.Column(db.String(16))
    input_text = db.Column(db.Text, nullable=False, default="")
    status = db.Column(db.String(16), nullable=False, default=QUEUED)
    result = db.Column(db.Text)
    # A code (timeout, http, garbage, unreachable, no_provider, no_dictionary, ...) the inbox
    # translates; provider responses are never stored, they may echo customer text.
    error = db.Column(db.String(32))
    # Which engine answered: the model name, or "offline" for the dictionary.
    engine = db.Column(db.String(120))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = db.Column(UTCDateTime)

    ticket = db.relationship("Ticket")
    agent = db.relationship("Agent")
