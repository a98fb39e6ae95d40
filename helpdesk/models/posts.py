"""What admins tell agents: announcements (posts) with read marks, and the agents' FAQ."""
from helpdesk.extensions import db
from helpdesk.models.base import StrEnum, UTCDateTime, enum_column, utcnow


class PostAudience(StrEnum):
    ALL = "all"
    TEAM = "team"
    STORE = "store"


class Post(db.Model):
    """An announcement to every agent, one team's agents or one store's agents. The body is
    plain text (rendered through helpdesk.text like chat)."""

    __tablename__ = "posts"
    __table_args__ = (
        # Agents' list: newest first (pinned ones float up in Python; there are few of them).
        db.Index("ix_posts_published", "published_at", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    audience = enum_column(PostAudience, nullable=False, default=PostAudience.ALL)
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    author_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    pinned = db.Column(db.Boolean, nullable=False, default=False)
    published_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    author = db.relationship("Agent", lazy="joined")
    team = db.relationship("Team")
    store = db.relationship("Store")


class PostRead(db.Model):
    """One agent has read one post (a row exists only once read)."""

    __tablename__ = "post_reads"

    post_id = db.Column(db.Integer, db.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    # Unread counts look up an agent's reads: the agent leads this index.
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)
    read_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class FaqEntry(db.Model):
    """A question agents are asked, with the answer to give; for one store or (NULL) all."""

    __tablename__ = "faq_entries"

    id = db.Column(db.Integer, primary_key=True)
    question = db.Column(db.String(300), nullable=False)
    answer = db.Column(db.Text, nullable=False)
    tags = db.Column(db.JSON, nullable=False, default=list)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    updated_by = db.relationship("Agent", lazy="joined")
    store = db.relationship("Store")



class RecurringQuestionsReport(db.Model):
    """A recurring-questions report computed by a job (ranges too large to group while the
    admin waits). ``result`` holds what helpdesk.topics returns once ``status`` is done."""

    __tablename__ = "recurring_question_reports"

    QUEUED, DONE, FAILED = "queued", "done", "failed"

    id = db.Column(db.Integer, primary_key=True)
    requested_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False,
                                index=True)
    params = db.Column(db.JSON, nullable=False, default=dict)
    status = db.Column(db.String(16), nullable=False, default=QUEUED)
    result = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = db.Column(UTCDateTime)
