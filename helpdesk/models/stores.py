"""Stores (the shops one helpdesk serves) and their product catalog."""
import secrets

from helpdesk.extensions import db
from helpdesk.models.base import UTCDateTime, utcnow

DEFAULT_STORE_SETTINGS = {
    # Pre-chat form: which fields the widget asks for, and which are required.
    "prechat": {
        "enabled": True,
        "fields": {
            "name": "optional",
            "email": "required",
            "order_number": "off",
            "topic": "off",
        },
        "topics": [],
    },
    # Business hours in the store's time zone; empty list = always open.
    "timezone": "UTC",
    "business_hours": [],
    "greeting": "",
    "offline_message": "",
    "attribution_window_days": 30,
    "widget_position": "right",
    "languages": ["en"],
    # Live chats whose shopper went quiet after the agent's message: the agent is prompted to
    # check in after this many minutes, and the chat ends by itself after the second (0 = off).
    "inactivity_checkin_minutes": 5,
    "inactivity_close_minutes": 15,
    # Plain text ending the store's email (helpdesk.signatures); "" = none.
    "signature": "",
    # Email and contact-form customers get one "How did we do?" email when an agent resolves
    # their ticket (helpdesk.actions.ratings).
    "rating_email": True,
    # Reply targets (helpdesk.actions.service_levels), in minutes; 0 = none. The first answer
    # to a conversation and every next one, separately for live chat and for email and the
    # contact form; "business hours only" counts the store's business hours alone.
    "reply_target_chat_first_minutes": 0,
    "reply_target_chat_next_minutes": 0,
    "reply_target_email_first_minutes": 0,
    "reply_target_email_next_minutes": 0,
    "reply_target_business_hours_only": False,
}


class Store(db.Model):
    __tablename__ = "stores"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False)
    slug = db.Column(db.String(64), nullable=False, unique=True)
    domain = db.Column(db.String(255))
    # Public: goes into the storefront's <script> tag.
    widget_key = db.Column(db.String(40), nullable=False, unique=True,
                           default=lambda: "wk_" + secrets.token_urlsafe(18))
    # Private: the shop signs logged-in shopper ids with it (identify HMAC).
    identity_secret = db.Column(db.String(64), nullable=False,
                                default=lambda: secrets.token_hex(32))
    settings = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def setting(self, key):
        value = (self.settings or {}).get(key)
        return DEFAULT_STORE_SETTINGS.get(key) if value is None else value

    def __repr__(self):
        return f"<Store {self.slug}>"


class Product(db.Model):
    """A catalog entry of a store, fed by connectors (and the demo seed); used for product cards."""

    __tablename__ = "products"
    __table_args__ = (db.UniqueConstraint("store_id", "platform", "platform_id"),)

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    platform = db.Column(db.String(32), nullable=False, default="manual")
    platform_id = db.Column(db.String(64), nullable=False)
    title = db.Column(db.String(255), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    price = db.Column(db.Numeric(12, 2))
    currency = db.Column(db.String(3), nullable=False, default="USD")
    image_url = db.Column(db.String(1024))
    url = db.Column(db.String(1024))
    active = db.Column(db.Boolean, nullable=False, default=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    store = db.relationship("Store")
