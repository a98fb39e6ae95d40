"""Agent onboarding: the stores' policies, who accepted which version, academy progress."""
from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow

#: The practice chat's steps, in the order the academy lists them.
PRACTICE_STEPS = ("claimed", "replied", "saved_reply", "product_card")


class StorePolicy(db.Model):
    """A text every agent serving the store must accept. Editing the text raises ``version``;
    acceptances of an older version no longer count."""

    __tablename__ = "store_policies"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    store = db.relationship("Store")


class PolicyAcceptance(db.Model):
    """One agent accepted one version of a policy (when, from which address)."""

    __tablename__ = "policy_acceptances"
    __table_args__ = (db.UniqueConstraint("agent_id", "policy_id", "version", name="uq_policy_acceptance"),)

    id = db.Column(db.Integer, primary_key=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)
    policy_id = db.Column(db.Integer, db.ForeignKey("store_policies.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    version = db.Column(db.Integer, nullable=False)
    accepted_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    ip = db.Column(db.String(64))


class AcademyProgress(db.Model):
    """Where one agent is in the onboarding academy. ``exempt`` (set by an admin, the seed or
    the migration for agents who existed before the academy) skips the training."""

    __tablename__ = "academy_progress"

    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    intro_done_at = db.Column(UTCDateTime)
    policies_done_at = db.Column(UTCDateTime)
    # No foreign key: the practice ticket is disposable and its removal must not touch progress.
    practice_ticket_id = db.Column(db.Integer)
    # {"claimed": iso time, "replied": ..., "saved_reply": ..., "product_card": ...}
    practice_steps = db.Column(db.JSON, nullable=False, default=dict)
    completed_at = db.Column(UTCDateTime)
    exempt = db.Column(db.Boolean, nullable=False, default=False)
    exempted_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    agent = db.relationship("Agent", foreign_keys=[agent_id])
