"""Tickets and everything written on them: messages, notes, events, attachments, tags, handoffs."""
from helpdesk.extensions import db
from helpdesk.models.base import (
    AuthorType,
    Channel,
    MessageKind,
    TicketStatus,
    UTCDateTime,
    enum_column,
    utcnow,
)

ticket_tags = db.Table(
    "ticket_tags",
    db.Column("ticket_id", db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, unique=True)


class Ticket(db.Model):
    __tablename__ = "tickets"
    # The queue query: a view (store / assignee / team / all) filtered by status,
    # newest activity first, keyset-paginated on (last_activity_at, id).
    __table_args__ = (
        db.Index("ix_tickets_queue_store", "store_id", "status", "last_activity_at", "id"),
        db.Index("ix_tickets_queue_assignee", "assignee_id", "status", "last_activity_at", "id"),
        db.Index("ix_tickets_queue_team", "team_id", "status", "last_activity_at", "id"),
        db.Index("ix_tickets_queue_status", "status", "last_activity_at", "id"),
        db.Index("ix_tickets_contact_channel", "contact_id", "channel", "status"),
        # The queue with no status filter ("any status"), newest activity first.
        db.Index("ix_tickets_activity", "last_activity_at", "id"),
        # The sidebar's counts per view (inbox.queries.view_counts): an index-only scan,
        # practice chats left out by the last column.
        db.Index("ix_tickets_counts", "status", "store_id", "team_id", "assignee_id", "is_practice"),
        # The tickets merged into one (a merge into a third ticket repoints them; deleting
        # a ticket sets theirs to NULL). Partial, as contacts' ix_contacts_merged_into: few are.
        db.Index("ix_tickets_merged_into", "merged_into_id",
                 postgresql_where=db.text("merged_into_id IS NOT NULL"),
                 sqlite_where=db.text("merged_into_id IS NOT NULL")),
        # A store's tickets waiting for an answer, soonest due first: the queue's "Reply due
        # soonest" order, its Overdue view and the sidebar's overdue count. Partial: only
        # tickets with an unanswered customer message (and a reply target) have one.
        db.Index("ix_tickets_reply_due", "store_id", "reply_due_at",
                 postgresql_where=db.text("reply_due_at IS NOT NULL"),
                 sqlite_where=db.text("reply_due_at IS NOT NULL")),
    )

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    visitor_id = db.Column(db.Integer, db.ForeignKey("visitors.id", ondelete="SET NULL"), index=True)
    channel = enum_column(Channel, nullable=False)
    status = enum_column(TicketStatus, nullable=False, default=TicketStatus.OPEN)
    assignee_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id", ondelete="SET NULL"))
    subject = db.Column(db.String(255), nullable=False, default="")
    # Left while no agent was available: answered later by email or in the widget.
    offline = db.Column(db.Boolean, nullable=False, default=False)
    snoozed_until = db.Column(UTCDateTime)
    last_message_preview = db.Column(db.String(200), nullable=False, default="")
    # The last message a customer wrote; "waiting since" in the queue.
    last_customer_message_at = db.Column(UTCDateTime)
    # When the store's reply target (helpdesk.actions.service_levels) wants an agent's answer
    # to the oldest customer message still unanswered; NULL when none is waiting, the store
    # has no target for the channel, or the ticket is resolved or closed.
    reply_due_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_activity_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    first_response_at = db.Column(UTCDateTime)
    resolved_at = db.Column(UTCDateTime)
    # Live-chat routing (helpdesk.actions.routing): the agent this unassigned chat is offered
    # to until ``offer_expires_at``, and the agents who let it pass. No foreign key: an offer
    # is advisory and a removed agent's offer simply moves on.
    offered_agent_id = db.Column(db.Integer)
    offer_expires_at = db.Column(UTCDateTime)
    offer_passed_ids = db.Column(db.JSON)
    rating = db.Column(db.SmallInteger)
    rating_reasons = db.Column(db.JSON)
    rating_comment = db.Column(db.Text)
    language = db.Column(db.String(16))
    # An onboarding academy's practice chat (helpdesk.actions.academy): never routed, reported,
    # attributed or sent to webhooks.
    is_practice = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # A duplicate an agent merged into another ticket (helpdesk.actions.tickets.merge_tickets):
    # closed, its conversation moved there; what still names it (an old subject tag, the API)
    # is pointed there.
    merged_into_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="SET NULL"))

    store = db.relationship("Store")
    contact = db.relationship("Contact", lazy="joined", innerjoin=True)
    visitor = db.relationship("Visitor")
    assignee = db.relationship("Agent", lazy="joined")
    team = db.relationship("Team")
    tags = db.relationship("Tag", secondary=ticket_tags, lazy="selectin", order_by="Tag.name")

    @property
    def is_open(self):
        return self.status != TicketStatus.CLOSED


class Message(db.Model):
    """Anything on a ticket's timeline. ``id`` only grows, so clients resume from the last id seen.

    On SQLite ``body_text`` is also indexed for search by ``messages_fts`` and triggers,
    created with this table (helpdesk.models.search)."""

    __tablename__ = "messages"
    __table_args__ = (
        db.UniqueConstraint("ticket_id", "client_id", name="uq_messages_ticket_client_id"),
        db.Index("ix_messages_ticket_id_id", "ticket_id", "id"),
        # Erasure finds a customer's messages on other contacts' tickets by it (0021); agents'
        # messages and events, with none, are left out.
        db.Index("ix_messages_author_contact_id", "author_contact_id",
                 postgresql_where=db.text("author_contact_id IS NOT NULL"),
                 sqlite_where=db.text("author_contact_id IS NOT NULL")),
        # Customer messages no agent has read yet: the queue's unread badges. Small, because
        # agents read what arrives; partial on both databases.
        db.Index("ix_messages_unread", "ticket_id",
                 postgresql_where=db.text("read_at IS NULL AND author_type = 'contact'"),
                 sqlite_where=db.text("read_at IS NULL AND author_type = 'contact'")),
        # Replies that answered a due time, by when they were written: the reply-time report
        # (inbox.reply_time_reports) reads a range of them. Partial: most messages have none.
        db.Index("ix_messages_reply_due", "created_at",
                 postgresql_where=db.text("reply_due_at IS NOT NULL"),
                 sqlite_where=db.text("reply_due_at IS NOT NULL")),
    )

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    author_type = enum_column(AuthorType, nullable=False)
    author_agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    author_contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"))
    kind = enum_column(MessageKind, nullable=False, default=MessageKind.MESSAGE)
    body_text = db.Column(db.Text, nullable=False, default="")
    body_html = db.Column(db.Text, nullable=False, default="")
    # Generated by the sender's client; a resend with the same id is the same message.
    client_id = db.Column(db.String(64))
    # Event details (assigned, transferred, status...), product cards, email headers.
    meta = db.Column(db.JSON, nullable=False, default=dict)
    # Kept for audit while the contact is blocked; never shown to agents' live feed.
    hidden = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    read_at = db.Column(UTCDateTime)
    # The language the text is written in (ISO 639-1, detected: helpdesk.i18n); NULL when
    # too short or mixed to say. Shown in the inbox; the source language for translation.
    language = db.Column(db.String(16))
    # An agent's reply: the ticket's ``reply_due_at`` it answered (NULL when no reply was
    # due). In time when ``created_at <= reply_due_at``: the reply-time report counts these.
    reply_due_at = db.Column(UTCDateTime)

    ticket = db.relationship("Ticket", backref=db.backref("messages", lazy="dynamic", passive_deletes=True))
    author_agent = db.relationship("Agent", lazy="joined")
    author_contact = db.relationship("Contact")
    attachments = db.relationship("Attachment", back_populates="message", lazy="selectin")


class Attachment(db.Model):
    __tablename__ = "attachments"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    message_id = db.Column(db.Integer, db.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(127), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    sha256 = db.Column(db.String(64), nullable=False, index=True)
    # Relative to UPLOAD_FOLDER.
    storage_path = db.Column(db.String(512), nullable=False)
    thumbnail_path = db.Column(db.String(512))
    # Who uploaded it (before it is attached to a message): "agent:<id>" or "visitor:<uid>".
    uploaded_by = db.Column(db.String(64), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    message = db.relationship("Message", back_populates="attachments")


class Handoff(db.Model):
    """A transfer of a ticket between agents/teams, with a note for the receiver."""

    __tablename__ = "handoffs"

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    from_agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    to_agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    to_team_id = db.Column(db.Integer, db.ForeignKey("teams.id", ondelete="SET NULL"))
    note = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class SavedReply(db.Model):
    """A canned answer: personal (agent_id), team-approved (team_id) or store-wide."""

    __tablename__ = "saved_replies"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"))
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id", ondelete="CASCADE"))
    shortcut = db.Column(db.String(40), nullable=False)
    title = db.Column(db.String(120), nullable=False)
    body = db.Column(db.Text, nullable=False)
    approved = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
