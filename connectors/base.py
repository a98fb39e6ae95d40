"""What every shop connector is: the base class the registry holds, the normalised records
it produces, and the signature helpers they share.

A connector never writes a model (what it must remember, like Shopify's shop domain, goes
through an action). Its view half (``verify``, ``route``, ``check_sender``, ``delivery_id``,
``topic``) runs in the webhook request; its job half (``expand``, ``parse``) runs in
``workers.commerce_jobs`` and hands normalised records to ``helpdesk.actions.commerce``.
"""
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime


class WebhookError(Exception):
    status = 400

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class Forged(WebhookError):
    """Missing or wrong signature: answered 401, nothing stored."""

    status = 401


class Malformed(WebhookError):
    """A body or header we cannot read: answered 400, nothing stored."""

    status = 400


# ---- normalised records ------------------------------------------------------------------

@dataclass
class CustomerRecord:
    platform_id: str | None
    email: str | None = None
    phone: str | None = None
    name: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class LineRecord:
    title: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    platform_id: str | None = None
    product_platform_id: str | None = None
    sku: str | None = None


@dataclass
class RefundRecord:
    platform_id: str
    order_platform_id: str
    amount: Decimal
    currency: str
    refunded_at: datetime | None = None


@dataclass
class OrderRecord:
    platform_id: str
    number: str
    currency: str
    total: Decimal
    placed_at: datetime
    subtotal: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    shipping: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    # None: the sum of the refunds we know (RefundRecords); a value: the platform's own total.
    refunded: Decimal | None = None
    cancelled: bool = False
    cancelled_at: datetime | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    email: str | None = None
    phone: str | None = None
    customer: CustomerRecord | None = None
    lines: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    updated_at: datetime | None = None
    url: str | None = None

    def __post_init__(self):
        if self.placed_at is None:
            raise Malformed("An order needs the time it was placed.")


@dataclass
class ProductRecord:
    platform_id: str
    title: str
    price: Decimal | None = None
    currency: str | None = None
    description: str = ""
    image_url: str | None = None
    url: str | None = None
    active: bool = True
    deleted: bool = False


@dataclass
class PrivacyRequest:
    """A shop platform asking, on a customer's or the shop's behalf, for personal data
    (Shopify's mandatory compliance webhooks). ``helpdesk.actions.privacy`` answers it.

    ``kind``: ``CUSTOMER_REDACT`` (erase the customer; ``order_platform_ids`` are the orders
    to strip of personal data), ``DATA_REQUEST`` (the shop owner must receive what we hold;
    ``order_platform_ids`` are the orders asked about, ``request_id`` the platform's id of the
    request) or ``SHOP_REDACT`` (the shop uninstalled the app: forget its customers)."""

    CUSTOMER_REDACT = "customer_redact"
    DATA_REQUEST = "data_request"
    SHOP_REDACT = "shop_redact"

    kind: str
    customer_platform_id: str | None = None
    email: str | None = None
    phone: str | None = None
    order_platform_ids: list = field(default_factory=list)
    request_id: str | None = None


@dataclass
class Records:
    """What one delivery says, normalised."""

    customers: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    products: list = field(default_factory=list)
    privacy: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.customers or self.orders or self.refunds or self.products or self.privacy)


# ---- the base class ----------------------------------------------------------------------

class Connector:
    """One shop platform. Subclasses set ``platform`` and ``topics`` and implement the hooks.

    ``topics`` lists the topics ``parse`` understands; any other topic is answered 202 and
    logged, not processed.
    """

    platform = None
    title = None
    topics = frozenset()

    # -- request half (in the view; fast, no database writes but a first-time check_sender) --
    def is_ping(self, request, raw_body):
        """A platform's unsigned "are you there" request, answered 200 and not stored."""
        return False

    def verify(self, request, raw_body, connector):
        """Raise ``Forged`` unless the request is signed by ``connector``'s secret(s)."""
        raise NotImplementedError

    #: Whether ``POST /webhooks/<platform>`` (no key) is served: ``route`` finds the connector.
    routes_without_key = False

    def route(self, request, raw_body):
        """The active connector a delivery to the keyless URL is for, its signature verified
        (``verify``). Raise ``Forged`` when there is none or the signature is wrong, with
        the same message for both: the answer must not tell an unsigned sender which
        senders are known."""
        raise NotImplementedError

    def check_sender(self, request, connector):
        """After ``verify`` on the connector's own URL: refuse (``WebhookError``) a delivery
        that says it comes from someone else than the connector's sender. May record who the
        sender is the first time (through an action). Default: nothing to check."""

    def delivery_id(self, request, payload):
        """The platform's id of this delivery (the same on every retry)."""
        raise NotImplementedError

    def topic(self, request, payload):
        raise NotImplementedError

    def validate(self, topic, payload):
        """Refuse (``Malformed``, 400) a body whose shape ``parse`` could never read."""

    # -- job half --
    def expand(self, topic, payload, connector):
        """Fetch what a thin notification only points at (BigCommerce). Default: as is."""
        return payload

    def parse(self, topic, payload, connector):
        """The delivery as ``Records``."""
        raise NotImplementedError


# ---- helpers -----------------------------------------------------------------------------

def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def loads(raw_body):
    """JSON with every non-integer number as ``Decimal``: amounts never pass through floats."""
    try:
        text = raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Malformed("The body is not valid JSON.") from None


def hmac_sha256_b64(secret, raw_body):
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, raw_body, hashlib.sha256).digest()).decode("ascii")


def check_hmac_b64(header_value, raw_body, secrets):
    """``header_value`` is the base64 HMAC-SHA256 of the body under one of ``secrets``."""
    if not header_value:
        raise Forged("Missing signature.")
    given = header_value.strip().encode("ascii", "replace")
    for secret in secrets:
        if hmac.compare_digest(hmac_sha256_b64(secret, raw_body).encode("ascii"), given):
            return
    raise Forged("Bad signature.")


# Standard Webhooks (https://www.standardwebhooks.com): used by the generic connector to
# verify and by the outgoing webhooks to sign.
STANDARD_WEBHOOKS_TOLERANCE = 5 * 60


def whsec_key(secret):
    raw = secret[6:] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (ValueError, TypeError):
        raise ValueError("not a whsec_ base64 secret") from None


def new_whsec():
    import secrets as _secrets

    return "whsec_" + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def standard_signature(secret, msg_id, timestamp, raw_body):
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + raw_body
    digest = hmac.new(whsec_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def standard_headers(secret, msg_id, raw_body, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, msg_id, timestamp, raw_body),
    }


def verify_standard(headers, raw_body, secrets, now=None):
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise Forged("Missing webhook-id, webhook-timestamp or webhook-signature.")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Forged("Bad webhook-timestamp.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > STANDARD_WEBHOOKS_TOLERANCE:
        raise Forged("webhook-timestamp is outside the tolerance.")
    given = [s.strip() for s in signatures.split(" ") if s.strip().startswith("v1,")]
    for secret in secrets:
        try:
            expected = standard_signature(secret, msg_id, timestamp, raw_body)
        except ValueError:
            continue
        if any(hmac.compare_digest(expected.encode(), g.encode()) for g in given):
            return
    raise Forged("Bad signature.")


# ---- parsing helpers shared by the platforms ----------------------------------------------

def money(value, default="0"):
    """An exact Decimal from a string or JSON number (already Decimal); never from a float."""
    if value is None or value == "":
        value = default
    if value is None:
        return None
    if isinstance(value, float):  # pragma: no cover - loads() never produces floats
        raise Malformed("Amounts must not be floats.")
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise Malformed(f"Not an amount: {value!r}") from None
    if not result.is_finite():
        raise Malformed(f"Not an amount: {value!r}")
    return result


def currency_code(value, default=None):
    value = (value or default or "").strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise Malformed(f"Not a currency code: {value!r}")
    return value


def timestamp(value):
    """ISO 8601 (with or without offset, "Z" allowed), RFC 2822 or a Unix time -> aware UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise Malformed(f"Not a date: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def text_id(value):
    return None if value in (None, "", 0) else str(value)


def full_name(*parts):
    return " ".join(p.strip() for p in parts if p and str(p).strip())


def phone_number(value):
    """Phone numbers are compared as ``+`` and digits, the way shops and widgets type them differently."""
    if not value:
        return None
    value = str(value).strip()
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 5:
        return None
    return ("+" if value.startswith(("+", "00")) else "") + digits.removeprefix("00" if value.startswith("00") else "")
