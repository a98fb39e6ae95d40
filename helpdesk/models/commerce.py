"""What the shops tell us: their connectors, the webhook deliveries they send, the customers,
orders and refunds normalised per store, the sales credited to agents, and the webhooks we
send back out.

Money is ``Numeric`` with its currency beside it, never a float: amounts arrive as strings
(or JSON numbers parsed as ``Decimal``) and are stored exactly.
"""
import secrets
from decimal import Decimal

from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow

#: Precision of every stored amount: 14 digits before the point, 4 after (covers
#: three-decimal currencies and the four decimals BigCommerce answers with).
MONEY = db.Numeric(18, 4)
ZERO = Decimal("0")


class StoreConnector(db.Model):
    """One shop platform connected to a store: where its webhooks arrive and how they are
    authenticated. During a Shopify secret rotation ``previous_secret`` is accepted too."""

    __tablename__ = "store_connectors"
    __table_args__ = (db.UniqueConstraint("store_id", "platform", name="uq_store_connectors_store_platform"),)

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    # The path segment of the webhook URL (/webhooks/<platform>/<key>); the store's slug works too.
    key = db.Column(db.String(48), nullable=False, unique=True, default=lambda: "wh_" + secrets.token_urlsafe(18))
    # HMAC secret (Shopify, WooCommerce), whsec_ secret (generic) or shared header value (BigCommerce).
    secret = db.Column(db.String(255), nullable=False)
    previous_secret = db.Column(db.String(255))
    # BigCommerce: the API base (https://api.bigcommerce.com/stores/<hash>) and its access token.
    api_url = db.Column(db.String(512))
    api_token = db.Column(db.String(255))
    # Currency of amounts that arrive without one (product prices on Shopify).
    currency = db.Column(db.String(3), nullable=False, default="USD")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    store = db.relationship("Store")

    def secrets(self):
        return [s for s in (self.secret, self.previous_secret) if s]


class WebhookDelivery(db.Model):
    """One inbound webhook, recorded before anything else happens. The delivery id is
    unique per connector, so a replay is stored once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        db.UniqueConstraint("connector_id", "delivery_id", name="uq_webhook_deliveries_connector_delivery"),
        # The sweep's lost jobs (workers.commerce_jobs.sweep_deliveries, every beat): the few
        # still "received", found without reading every delivery ever processed.
        db.Index("ix_webhook_deliveries_status", "status", "received_at"),
    )

    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # a topic no connector handles: kept as a log entry, body not stored
    FAILED = "failed"

    id = db.Column(db.Integer, primary_key=True)
    connector_id = db.Column(db.Integer, db.ForeignKey("store_connectors.id", ondelete="CASCADE"), nullable=False)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    platform = db.Column(db.String(32), nullable=False)
    delivery_id = db.Column(db.String(128), nullable=False)
    topic = db.Column(db.String(128), nullable=False)
    # The raw body, parsed again (amounts as Decimal) by the job.
    body = db.Column(db.Text)
    status = db.Column(db.String(16), nullable=False, default=RECEIVED)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    error = db.Column(db.String(1000))
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    processed_at = db.Column(UTCDateTime)

    connector = db.relationship("StoreConnector")


class CommerceCustomer(db.Model):
    """A store's customer as the platform knows them, linked to the helpdesk contact."""

    __tablename__ = "commerce_customers"
    __table_args__ = (
        db.UniqueConstraint("store_id", "platform", "platform_id", name="uq_commerce_customers_platform_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    platform_id = db.Column(db.String(64), nullable=False)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    email = db.Column(db.String(255))
    phone = db.Column(db.String(40))
    name = db.Column(db.String(255), nullable=False, default="")
    platform_created_at = db.Column(UTCDateTime)
    platform_updated_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Order(db.Model):
    """An order of a store, normalised across platforms."""

    __tablename__ = "orders"
    __table_args__ = (
        db.UniqueConstraint("store_id", "platform", "platform_id", name="uq_orders_platform_id"),
        db.Index("ix_orders_contact_placed", "contact_id", "placed_at"),
    )

    OPEN = "open"
    CANCELLED = "cancelled"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    platform_id = db.Column(db.String(64), nullable=False)
    number = db.Column(db.String(64), nullable=False, default="")
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"))
    customer_id = db.Column(db.Integer, db.ForeignKey("commerce_customers.id", ondelete="SET NULL"))
    email = db.Column(db.String(255))
    currency = db.Column(db.String(3), nullable=False)
    subtotal = db.Column(MONEY, nullable=False, default=ZERO)
    tax = db.Column(MONEY, nullable=False, default=ZERO)
    shipping = db.Column(MONEY, nullable=False, default=ZERO)
    discount = db.Column(MONEY, nullable=False, default=ZERO)
    total = db.Column(MONEY, nullable=False, default=ZERO)
    refunded = db.Column(MONEY, nullable=False, default=ZERO)
    status = db.Column(db.String(16), nullable=False, default=OPEN)
    financial_status = db.Column(db.String(32))
    fulfillment_status = db.Column(db.String(32))
    url = db.Column(db.String(1024))
    placed_at = db.Column(UTCDateTime, nullable=False)
    cancelled_at = db.Column(UTCDateTime)
    # The platform's own "updated at": an older event arriving late never undoes a newer one.
    platform_updated_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    store = db.relationship("Store")
    lines = db.relationship("OrderLine", back_populates="order", cascade="all, delete-orphan",
                            order_by="OrderLine.position", passive_deletes=True)

    @property
    def net_total(self):
        """What the shop keeps: nothing when cancelled, else the total less refunds."""
        if self.status == self.CANCELLED:
            return ZERO
        return max(ZERO, (self.total or ZERO) - (self.refunded or ZERO))


class OrderLine(db.Model):
    __tablename__ = "order_lines"

    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    platform_id = db.Column(db.String(64))
    product_id = db.Column(db.Integer, db.ForeignKey("products.id", ondelete="SET NULL"))
    product_platform_id = db.Column(db.String(64))
    sku = db.Column(db.String(128))
    title = db.Column(db.String(255), nullable=False, default="")
    quantity = db.Column(db.Integer, nullable=False, default=1)
    unit_price = db.Column(MONEY, nullable=False, default=ZERO)
    total = db.Column(MONEY, nullable=False, default=ZERO)

    order = db.relationship("Order", back_populates="lines")


class OrderRefund(db.Model):
    """A refund, keyed by the platform's id so it counts once however often it arrives.
    Keyed by the order's platform id (not a foreign key): a refund may arrive first."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        db.UniqueConstraint("store_id", "platform", "platform_id", name="uq_order_refunds_platform_id"),
        db.Index("ix_order_refunds_order", "store_id", "platform", "order_platform_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    platform_id = db.Column(db.String(64), nullable=False)
    order_platform_id = db.Column(db.String(64), nullable=False)
    amount = db.Column(MONEY, nullable=False)
    currency = db.Column(db.String(3), nullable=False)
    refunded_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Attribution(db.Model):
    """An order credited to the agent who last chatted with the shopper before it was placed.
    One per order; refunds, cancellations and edits change ``amount``."""

    __tablename__ = "attributions"
    __table_args__ = (db.Index("ix_attributions_agent_placed", "agent_id", "placed_at"),)

    CREDITED = "credited"
    REDUCED = "reduced"
    REVERSED = "reversed"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="SET NULL"))
    rule = db.Column(db.String(32), nullable=False)
    # The agent's message the credit rests on, and when the order was placed.
    interaction_at = db.Column(UTCDateTime, nullable=False)
    placed_at = db.Column(UTCDateTime, nullable=False)
    currency = db.Column(db.String(3), nullable=False)
    # The order's total as it stands (edits change it) and the credit: the total less
    # refunds, nothing once cancelled.
    order_total = db.Column(MONEY, nullable=False)
    amount = db.Column(MONEY, nullable=False)
    status = db.Column(db.String(16), nullable=False, default=CREDITED)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    order = db.relationship("Order")
    agent = db.relationship("Agent")


class WebhookSubscription(db.Model):
    """An outside system that wants our events (ticket, message, rating, attribution, contact
    erasures), signed per Standard Webhooks with ``secret``. A 410 answer disables it."""

    __tablename__ = "webhook_subscriptions"

    TOPICS = ("ticket", "message", "rating", "attribution", "contact")

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    url = db.Column(db.String(2048), nullable=False)
    secret = db.Column(db.String(128), nullable=False)
    topics = db.Column(db.JSON, nullable=False, default=list)
    description = db.Column(db.String(255), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    disabled_reason = db.Column(db.String(255))
    disabled_at = db.Column(UTCDateTime)
    created_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class WebhookAttempt(db.Model):
    """The delivery log admins read: one row per attempt to send one event."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (db.Index("ix_webhook_attempts_subscription", "subscription_id", "id"),)

    id = db.Column(db.Integer, primary_key=True)
    subscription_id = db.Column(db.Integer, db.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
                                nullable=False)
    outbox_id = db.Column(db.Integer, db.ForeignKey("outbox.id", ondelete="SET NULL"))
    event_id = db.Column(db.String(64), nullable=False)
    event_type = db.Column(db.String(64), nullable=False)
    status_code = db.Column(db.Integer)
    ok = db.Column(db.Boolean, nullable=False, default=False)
    error = db.Column(db.String(500))
    duration_ms = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
