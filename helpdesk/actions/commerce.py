"""Commerce: shop connectors, inbound webhook deliveries, and the customers, orders, refunds
and products they carry; outgoing webhook subscriptions.

Connectors authenticate and normalise (``connectors.base`` records); everything they learn
is written here, one delivery per transaction, and attribution follows in the same one.
"""
import secrets
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from helpdesk.actions import ActionError, NotFound, action
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.contacts import find_or_create_contact
from helpdesk.extensions import db
from helpdesk.models import (
    CommerceCustomer,
    Contact,
    Order,
    OrderLine,
    OrderRefund,
    Product,
    Store,
    StoreConnector,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from helpdesk.text import clean_text
from workers.queue import enqueue

PLATFORMS = ("shopify", "woocommerce", "bigcommerce", "generic")
ZERO = Decimal("0")
CENT = Decimal("0.01")


# ---- connectors ----------------------------------------------------------------------------

def _new_secret(platform):
    if platform == "generic":
        from connectors.base import new_whsec

        return new_whsec()
    return secrets.token_hex(32)


@action
def connect_store(store, platform, *, secret=None, api_url=None, api_token=None, currency=None, active=None,
                  rotate=False):
    """Create or update ``store``'s connector for ``platform`` (one per platform). A new
    connector without a secret gets a generated one, and so does one whose secret a shop
    redaction cleared (``helpdesk.actions.privacy``). ``rotate``: an existing connector's
    secret is rotated to ``secret`` (or a generated one) by ``rotate_connector_secret``, the
    current one still accepted until the rotation is finished. Emits nothing."""
    if platform not in PLATFORMS:
        raise ActionError("Unknown platform.", "platform")
    if platform == "generic" and secret:
        from connectors.base import whsec_key

        try:
            whsec_key(secret)
        except ValueError:
            raise ActionError("A generic connector's secret is whsec_ followed by base64.", "secret") from None
    connector = db.session.scalar(select(StoreConnector).where(StoreConnector.store_id == store.id,
                                                               StoreConnector.platform == platform))
    if connector is None:
        connector = StoreConnector(store_id=store.id, platform=platform, secret=secret or _new_secret(platform))
        db.session.add(connector)
    elif rotate:
        rotate_connector_secret(connector, secret)
    elif secret:
        connector.secret = secret
    elif not connector.secret:
        connector.secret = _new_secret(platform)
    if api_url is not None:
        connector.api_url = clean_text(api_url, 512) or None
    if api_token is not None:
        connector.api_token = clean_text(api_token, 255) or None
    if currency:
        connector.currency = clean_text(currency, 3).upper()
    if active is not None:
        connector.active = bool(active)
    db.session.flush()
    return connector


@action
def rotate_connector_secret(connector, new_secret=None):
    """Start a secret rotation: the new secret signs from now on, the current one is still
    accepted until ``finish_secret_rotation``. Emits nothing."""
    connector.previous_secret = connector.secret
    connector.secret = new_secret or _new_secret(connector.platform)
    db.session.flush()
    return connector


@action
def finish_secret_rotation(connector):
    """Stop accepting the previous secret."""
    connector.previous_secret = None
    db.session.flush()
    return connector


@action
def update_attribution_settings(store, *, window_days=None, rule=None):
    """Set the store's attribution window (1-90 days) and rule. Emits nothing; orders
    processed from now on use them (already credited orders keep their agent)."""
    from helpdesk.actions.attribution import RULES

    settings = dict(store.settings or {})
    if window_days is not None:
        if isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= 90:
            raise ActionError("The attribution window is 1 to 90 days.", "attribution_window_days")
        settings["attribution_window_days"] = window_days
    if rule is not None:
        if rule not in RULES:
            raise ActionError("Unknown attribution rule.", "attribution_rule")
        settings["attribution_rule"] = rule
    store.settings = settings
    db.session.flush()
    return store


# ---- inbound deliveries ----------------------------------------------------------------------

@action(retry_on_conflict=True)
def record_delivery(connector, delivery_id, topic, raw_body, *, known=True):
    """Record an inbound webhook once per (connector, delivery id). A new delivery of a
    known topic is processed by the ``process_delivery`` job after commit; an unknown
    topic is kept as a log entry without its body. Returns ``(delivery, created)``."""
    existing = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.connector_id == connector.id,
                                                               WebhookDelivery.delivery_id == delivery_id))
    if existing is not None:
        return existing, False
    body = raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body
    delivery = WebhookDelivery(
        connector_id=connector.id, store_id=connector.store_id, platform=connector.platform,
        delivery_id=delivery_id, topic=topic, body=body if known else None,
        status=WebhookDelivery.RECEIVED if known else WebhookDelivery.IGNORED,
    )
    db.session.add(delivery)
    db.session.flush()
    if known:
        enqueue("workers.commerce_jobs.process_delivery", delivery.id)
    return delivery, True


@action
def apply_delivery(delivery, records):
    """Write what one delivery says (customers, products, orders, refunds), credit the
    orders it touched (``attribute_order``), answer the privacy requests it carries
    (``helpdesk.actions.privacy.apply_privacy_request``) and mark it processed, all in one
    transaction. Processing the same delivery twice changes nothing. Emits what attribution
    and the privacy requests emit."""
    from helpdesk.actions.privacy import apply_privacy_request

    # Two jobs for one delivery (a retry and the first try): the second waits, then sees it done.
    db.session.refresh(delivery, with_for_update=True)
    if delivery.status == WebhookDelivery.PROCESSED:
        return []
    store = db.session.get(Store, delivery.store_id)
    platform = delivery.platform
    touched = {}
    for record in records.customers:
        upsert_customer(store, platform, record)
    for record in records.products:
        upsert_product(store, platform, record)
    for record in records.orders:
        order = upsert_order(store, platform, record)
        touched[order.id] = order
    for record in records.refunds:
        order = record_refund(store, platform, record)
        if order is not None:
            touched[order.id] = order
    for order in touched.values():
        attribute_order(order)
    for request in records.privacy:
        apply_privacy_request(store, delivery, request)
    delivery.status = WebhookDelivery.PROCESSED
    delivery.processed_at = utcnow()
    delivery.error = None
    db.session.flush()
    return list(touched.values())


@action
def mark_delivery_failed(delivery, error, *, final=False):
    """Note why processing failed (ids and reasons only, never the payload)."""
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.error = clean_text(error, 1000)
    if final:
        delivery.status = WebhookDelivery.FAILED
    db.session.flush()
    return delivery


# ---- records -----------------------------------------------------------------------------------

def _stale(row, updated_at):
    """An event older than what we stored arrived late (platforms do not keep order)."""
    return row is not None and row.platform_updated_at is not None and updated_at is not None \
        and updated_at < row.platform_updated_at


def _contact_for(store, platform, *, platform_id=None, email=None, phone=None, name=None):
    if not (platform_id or email or phone):
        return None  # a guest with nothing to recognise them by
    return find_or_create_contact(store, email=email, name=name or None, phone=phone,
                                  platform=platform if platform_id else None, platform_id=platform_id)


def upsert_customer(store, platform, record):
    """The platform's customer, linked to a contact by platform id, email or phone."""
    if record is None:
        return None
    email = clean_text(record.email, 255).lower() or None
    contact = _contact_for(store, platform, platform_id=record.platform_id, email=email, phone=record.phone,
                           name=record.name)
    if not record.platform_id:
        return None
    customer = db.session.scalar(select(CommerceCustomer).where(
        CommerceCustomer.store_id == store.id, CommerceCustomer.platform == platform,
        CommerceCustomer.platform_id == record.platform_id))
    if customer is None:
        customer = CommerceCustomer(store_id=store.id, platform=platform, platform_id=record.platform_id)
        db.session.add(customer)
    elif _stale(customer, record.updated_at):
        return customer
    customer.contact_id = contact.id if contact is not None else customer.contact_id
    customer.email = email or customer.email
    customer.phone = record.phone or customer.phone
    customer.name = clean_text(record.name, 255) or customer.name or ""
    customer.platform_created_at = record.created_at or customer.platform_created_at
    customer.platform_updated_at = record.updated_at or customer.platform_updated_at
    db.session.flush()
    return customer


def upsert_product(store, platform, record):
    """Insert or update the store's catalog entry (product cards read it); a deleted
    product is kept inactive so old cards still resolve."""
    product = db.session.scalar(select(Product).where(Product.store_id == store.id, Product.platform == platform,
                                                      Product.platform_id == record.platform_id))
    if record.deleted:
        if product is not None and product.active:
            product.active = False
            db.session.flush()
        return product
    if product is None:
        product = Product(store_id=store.id, platform=platform, platform_id=record.platform_id)
        db.session.add(product)
    product.title = clean_text(record.title, 255) or product.title or record.platform_id
    product.description = clean_text(record.description, 5000)
    product.price = record.price.quantize(CENT, rounding=ROUND_HALF_UP) if record.price is not None else None
    product.currency = record.currency or product.currency or "USD"
    product.image_url = clean_text(record.image_url, 1024) or None
    product.url = clean_text(record.url, 1024) or None
    product.active = record.active
    db.session.flush()
    return product


def _refund_rows(store, platform, order_platform_id):
    return db.session.scalar(select(func.coalesce(func.sum(OrderRefund.amount), 0)).where(
        OrderRefund.store_id == store.id, OrderRefund.platform == platform,
        OrderRefund.order_platform_id == order_platform_id))


def _store_refund(store, platform, record):
    refund = db.session.scalar(select(OrderRefund).where(
        OrderRefund.store_id == store.id, OrderRefund.platform == platform,
        OrderRefund.platform_id == record.platform_id))
    if refund is None:
        db.session.add(OrderRefund(store_id=store.id, platform=platform, platform_id=record.platform_id,
                                   order_platform_id=record.order_platform_id, amount=record.amount,
                                   currency=record.currency, refunded_at=record.refunded_at or utcnow()))
        db.session.flush()


def record_refund(store, platform, record):
    """Store a refund once (by its platform id) and lower the order's net value. Returns the
    order, or None while the order itself has not arrived (its arrival counts the refund)."""
    _store_refund(store, platform, record)
    order = db.session.scalar(select(Order).where(Order.store_id == store.id, Order.platform == platform,
                                                  Order.platform_id == record.order_platform_id))
    if order is None:
        return None
    order.refunded = max(order.refunded or ZERO, Decimal(_refund_rows(store, platform, order.platform_id)))
    db.session.flush()
    return order


def _product_ids(store, platform, lines):
    wanted = {line.product_platform_id for line in lines if line.product_platform_id}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Product.platform_id, Product.id).where(
        Product.store_id == store.id, Product.platform == platform, Product.platform_id.in_(wanted))).all())


def _line_key(line):
    return (line.platform_id, line.product_platform_id, line.sku, line.title, int(line.quantity),
            Decimal(line.unit_price), Decimal(line.total))


def upsert_order(store, platform, record):
    """Insert or update an order with its lines and refunds, linked to the shopper's contact
    (platform customer id, else email, else phone). An update older than the stored one only
    adds what is additive (refunds)."""
    order = db.session.scalar(select(Order).where(Order.store_id == store.id, Order.platform == platform,
                                                  Order.platform_id == record.platform_id))
    for refund in record.refunds:
        _store_refund(store, platform, refund)
    refunded_rows = Decimal(_refund_rows(store, platform, record.platform_id))
    if _stale(order, record.updated_at):
        order.refunded = max(order.refunded or ZERO, refunded_rows)
        db.session.flush()
        return order
    customer = upsert_customer(store, platform, record.customer) if record.customer else None
    email = clean_text(record.email, 255).lower() or None
    contact_id = customer.contact_id if customer is not None else None
    if contact_id is None:
        contact = _contact_for(store, platform, email=email or (record.customer.email if record.customer else None),
                               phone=record.phone, name=record.customer.name if record.customer else None)
        contact_id = contact.id if contact is not None else None
    if order is None:
        order = Order(store_id=store.id, platform=platform, platform_id=record.platform_id, placed_at=record.placed_at)
        db.session.add(order)
    order.number = clean_text(record.number, 64)
    order.contact_id = contact_id or order.contact_id
    order.customer_id = customer.id if customer is not None else order.customer_id
    order.email = email or order.email
    order.currency = record.currency
    order.subtotal, order.tax, order.shipping = record.subtotal, record.tax, record.shipping
    order.discount, order.total = record.discount, record.total
    order.refunded = max(record.refunded or ZERO, refunded_rows, order.refunded or ZERO)
    if record.cancelled:
        order.status = Order.CANCELLED
        order.cancelled_at = order.cancelled_at or record.cancelled_at or utcnow()
    else:
        order.status = Order.OPEN
        order.cancelled_at = None
    order.financial_status = clean_text(record.financial_status, 32) or None
    order.fulfillment_status = clean_text(record.fulfillment_status, 32) or None
    order.url = clean_text(record.url, 1024) or order.url
    order.placed_at = record.placed_at or order.placed_at
    order.platform_updated_at = record.updated_at or order.platform_updated_at
    db.session.flush()
    if [_line_key(x) for x in order.lines] != [_line_key(x) for x in record.lines]:
        product_ids = _product_ids(store, platform, record.lines)
        order.lines = [
            OrderLine(position=i, platform_id=line.platform_id, product_platform_id=line.product_platform_id,
                      product_id=product_ids.get(line.product_platform_id), sku=clean_text(line.sku, 128) or None,
                      title=clean_text(line.title, 255), quantity=int(line.quantity), unit_price=line.unit_price,
                      total=line.total)
            for i, line in enumerate(record.lines)
        ]
        db.session.flush()
    return order


def orders_of_contact(contact, limit=20):
    """The contact's orders (and those of contacts merged into it), newest first."""
    ids = select(Contact.id).where((Contact.id == contact.id) | (Contact.merged_into_id == contact.id))
    return db.session.scalars(select(Order).where(Order.contact_id.in_(ids))
                              .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)).all()


# ---- outgoing webhook subscriptions ------------------------------------------------------------

def _topics(topics):
    topics = sorted(set(topics or ()))
    unknown = [t for t in topics if t not in WebhookSubscription.TOPICS]
    if unknown or not topics:
        raise ActionError(_("Choose topics among: %(topics)s.", topics=", ".join(WebhookSubscription.TOPICS)), "topics")
    return topics


def _url(url):
    url = clean_text(url, 2048)
    if not url.startswith(("https://", "http://")):
        raise ActionError("The URL must start with https:// (or http://).", "url")
    return url


@action
def create_webhook_subscription(store, url, topics, *, by_agent=None, description="", secret=None):
    """Subscribe ``url`` to the store's events of ``topics``; the secret (whsec_) signs them.
    Emits nothing."""
    from connectors.base import new_whsec

    subscription = WebhookSubscription(store_id=store.id, url=_url(url), topics=_topics(topics),
                                       description=clean_text(description, 255), secret=secret or new_whsec(),
                                       created_by_id=by_agent.id if by_agent else None)
    db.session.add(subscription)
    db.session.flush()
    return subscription


@action
def update_webhook_subscription(subscription, **changes):
    """Change URL, topics, description, or re-enable (``active=True`` clears the reason)."""
    if changes.get("url") is not None:
        subscription.url = _url(changes["url"])
    if changes.get("topics") is not None:
        subscription.topics = _topics(changes["topics"])
    if changes.get("description") is not None:
        subscription.description = clean_text(changes["description"], 255)
    if changes.get("active") is not None:
        subscription.active = bool(changes["active"])
        if subscription.active:
            subscription.disabled_reason = None
            subscription.disabled_at = None
        else:
            subscription.disabled_reason = subscription.disabled_reason or "disabled by an admin"
            subscription.disabled_at = subscription.disabled_at or utcnow()
    db.session.flush()
    return subscription


@action
def delete_webhook_subscription(subscription):
    db.session.delete(subscription)
    db.session.flush()


@action
def disable_webhook_subscription(subscription, reason):
    """The receiver said it is gone (410): stop sending. Emits nothing."""
    subscription.active = False
    subscription.disabled_reason = clean_text(reason, 255)
    subscription.disabled_at = utcnow()
    db.session.flush()
    return subscription


@action
def log_webhook_attempt(subscription_id, outbox_id, event_id, event_type, *, status_code=None, ok=False,
                        error=None, duration_ms=0):
    """One line of the delivery log admins read."""
    attempt = WebhookAttempt(subscription_id=subscription_id, outbox_id=outbox_id, event_id=event_id,
                             event_type=event_type, status_code=status_code, ok=ok,
                             error=clean_text(error, 500) or None, duration_ms=int(duration_ms))
    db.session.add(attempt)
    db.session.flush()
    return attempt


def subscription_or_404(subscription_id, store_ids=None):
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None or (store_ids is not None and subscription.store_id not in store_ids):
        raise NotFound("No such webhook subscription.")
    return subscription
