"""Shopify: webhooks signed with ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body
under the app's secret; during a rotation the previous secret is accepted too), deduplicated
on ``X-Shopify-Webhook-Id``, the topic in ``X-Shopify-Topic``. Payloads are the full resource.

Shopify's mandatory compliance webhooks arrive the same way (``PRIVACY_TOPICS``): a customer's
erasure (``customers/redact``), a customer's request for their data (``customers/data_request``)
and, 48 hours after the shop uninstalled the app, the shop's (``shop/redact``). They become
``PrivacyRequest`` records, answered by ``helpdesk.actions.privacy``. A forged one is 401 like
any other delivery, as Shopify's review requires.

Two URLs reach a connector (``connectors.shopify.shops``): its own, ``/webhooks/shopify/<key>``
(a custom app made in one shop's admin), and ``/webhooks/shopify`` for an app installed in
several shops, routed by ``X-Shopify-Shop-Domain`` to the store that connected that shop."""
import secrets

from connectors.base import (
    Connector,
    CustomerRecord,
    Forged,
    LineRecord,
    Malformed,
    OrderRecord,
    PrivacyRequest,
    ProductRecord,
    RefundRecord,
    Records,
    WebhookError,
    check_hmac_b64,
    currency_code,
    full_name,
    money,
    phone_number,
    text_id,
    timestamp,
)
from connectors.registry import register
from connectors.shopify.shops import (
    SHOP_DOMAIN_HEADER,
    connector_for_domain,
    learn_shop_domain,
    normalise_shop_domain,
    recorded_shop_domain,
)
from helpdesk.text import clean_text, html_to_text

ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/edited"}
CUSTOMER_TOPICS = {"customers/create", "customers/update"}
PRODUCT_TOPICS = {"products/create", "products/update"}
#: The mandatory compliance topics -> the kind of request each is.
PRIVACY_TOPICS = {
    "customers/redact": PrivacyRequest.CUSTOMER_REDACT,
    "customers/data_request": PrivacyRequest.DATA_REQUEST,
    "shop/redact": PrivacyRequest.SHOP_REDACT,
}
#: Where each customer topic lists its orders.
_PRIVACY_ORDERS = {"customers/redact": "orders_to_redact", "customers/data_request": "orders_requested"}
#: The one answer of the keyless URL to an unknown or inactive shop and to a bad signature.
UNKNOWN_OR_FORGED = "Unknown shop or bad signature."
# Checked against when the shop is unknown, so that answer costs the same HMAC as a known
# shop's: random per process, so no signature ever matches it.
_NO_SHOP_SECRET = secrets.token_hex(32)


def customer(data):
    if not data:
        return None
    address = data.get("default_address") or {}
    return CustomerRecord(
        platform_id=text_id(data.get("id")),
        email=data.get("email"),
        phone=phone_number(data.get("phone") or address.get("phone")),
        name=full_name(data.get("first_name"), data.get("last_name")),
        created_at=timestamp(data.get("created_at")),
        updated_at=timestamp(data.get("updated_at")),
    )


def _refund(data, currency):
    """A refund's amount is what its successful refund transactions moved."""
    moved = [t for t in data.get("transactions") or [] if t.get("kind") == "refund" and t.get("status") == "success"]
    amount = sum((money(t.get("amount")) for t in moved), money("0"))
    currency = currency_code(next((t["currency"] for t in moved if t.get("currency")), None), currency)
    return RefundRecord(platform_id=str(data["id"]), order_platform_id=str(data["order_id"]), amount=amount,
                        currency=currency, refunded_at=timestamp(data.get("processed_at") or data.get("created_at")))


def _shipping(data):
    shipping_set = (data.get("total_shipping_price_set") or {}).get("shop_money") or {}
    if shipping_set.get("amount") is not None:
        return money(shipping_set["amount"])
    return sum((money(line.get("price")) for line in data.get("shipping_lines") or []), money("0"))


def order(data):
    currency = currency_code(data.get("currency"))
    lines = [
        LineRecord(
            platform_id=text_id(item.get("id")),
            product_platform_id=text_id(item.get("product_id")),
            sku=item.get("sku") or None,
            title=clean_text(item.get("title") or item.get("name"), 255),
            quantity=int(item.get("quantity") or 0),
            unit_price=money(item.get("price")),
            total=money(item.get("price")) * int(item.get("quantity") or 0) - money(item.get("total_discount")),
        )
        for item in data.get("line_items") or []
    ]
    cust = customer(data.get("customer"))
    return OrderRecord(
        platform_id=str(data["id"]),
        number=clean_text(data.get("name") or f"#{data.get('order_number', data['id'])}", 64),
        currency=currency,
        subtotal=money(data.get("subtotal_price")),
        tax=money(data.get("total_tax")),
        shipping=_shipping(data),
        discount=money(data.get("total_discounts")),
        total=money(data.get("total_price")),
        refunded=None,
        refunds=[_refund(r, currency) for r in data.get("refunds") or []],
        cancelled=bool(data.get("cancelled_at")),
        cancelled_at=timestamp(data.get("cancelled_at")),
        financial_status=data.get("financial_status"),
        fulfillment_status=data.get("fulfillment_status"),
        email=data.get("email") or data.get("contact_email") or (cust.email if cust else None),
        phone=phone_number(data.get("phone")),
        customer=cust,
        lines=lines,
        placed_at=timestamp(data.get("processed_at") or data.get("created_at")),
        updated_at=timestamp(data.get("updated_at")),
        url=data.get("order_status_url"),
    )


def product(data, default_currency):
    variants = data.get("variants") or []
    prices = [money(v.get("price")) for v in variants if v.get("price") not in (None, "")]
    image = data.get("image") or (data.get("images") or [None])[0] or {}
    return ProductRecord(
        platform_id=str(data["id"]),
        title=clean_text(data.get("title"), 255),
        description=html_to_text(data.get("body_html")),
        price=min(prices) if prices else None,
        currency=default_currency,
        image_url=image.get("src"),
        url=f"/products/{data['handle']}" if data.get("handle") else None,
        active=(data.get("status") or "active") == "active",
    )


def _ids(values):
    return [str(v) for v in values or () if text_id(v)]


def privacy_request(topic, data):
    """A compliance webhook as a ``PrivacyRequest``. The customer may come with only an email
    (Shopify says a customer record sometimes holds nothing else)."""
    person = data.get("customer") or {}
    return PrivacyRequest(
        kind=PRIVACY_TOPICS[topic],
        customer_platform_id=text_id(person.get("id")),
        email=clean_text(person.get("email"), 255).lower() or None,
        phone=phone_number(person.get("phone")),
        order_platform_ids=_ids(data.get(_PRIVACY_ORDERS.get(topic, ""))),
        request_id=text_id((data.get("data_request") or {}).get("id")),
    )


@register
class Shopify(Connector):
    platform = "shopify"
    title = "Shopify"
    topics = frozenset(ORDER_TOPICS | CUSTOMER_TOPICS | PRODUCT_TOPICS | set(PRIVACY_TOPICS)
                       | {"refunds/create", "products/delete"})

    routes_without_key = True

    def verify(self, request, raw_body, connector):
        check_hmac_b64(request.headers.get("X-Shopify-Hmac-Sha256"), raw_body, connector.secrets())

    def route(self, request, raw_body):
        # Neither of these two refusals depends on what is stored: they may say what is wrong.
        domain = normalise_shop_domain(request.headers.get(SHOP_DOMAIN_HEADER))
        if domain is None:
            raise Forged("Missing or invalid X-Shopify-Shop-Domain header.")
        if not request.headers.get("X-Shopify-Hmac-Sha256"):
            raise Forged("Missing signature.")
        connector = connector_for_domain(domain)
        # An unknown (or disconnected) shop costs the same HMAC and gets the same answer as a
        # bad signature: status, message and time tell an unsigned sender nothing.
        keys = connector.secrets() if connector is not None else [_NO_SHOP_SECRET]
        try:
            check_hmac_b64(request.headers.get("X-Shopify-Hmac-Sha256"), raw_body, keys)
        except Forged:
            raise Forged(UNKNOWN_OR_FORGED) from None
        if connector is None:
            raise Forged(UNKNOWN_OR_FORGED)
        return connector

    def check_sender(self, request, connector):
        claimed = request.headers.get(SHOP_DOMAIN_HEADER)
        if claimed is None:
            return  # nothing claimed; the signature alone vouches, as before shop domains
        domain = normalise_shop_domain(claimed)
        recorded = recorded_shop_domain(connector.store)
        if recorded is None and domain is not None:
            # The first signed delivery to the connector's own URL names its shop: from now
            # on the app URL finds this store by it, and another shop's deliveries are refused.
            if not learn_shop_domain(connector, domain):
                raise WebhookError("This shop is connected to another store.", 403)
        elif recorded is not None and domain != recorded:
            # Signed with this connector's secret but from another shop (an app secret that
            # several shops share): its data must not land in this store.
            raise WebhookError("This webhook comes from another shop than the one connected here.", 403)

    def delivery_id(self, request, payload):
        return request.headers.get("X-Shopify-Webhook-Id")

    def topic(self, request, payload):
        return request.headers.get("X-Shopify-Topic")

    def validate(self, topic, payload):
        # Refused in the request, so Shopify sees the failure (and retries) instead of a
        # request that is "accepted" and then never answered.
        if topic in _PRIVACY_ORDERS:
            person = payload.get("customer")
            if not isinstance(person, dict) or not (text_id(person.get("id")) or person.get("email")):
                raise Malformed("A customer privacy request needs the customer's id or email.")
            orders = payload.get(_PRIVACY_ORDERS[topic])
            if orders is not None and (not isinstance(orders, list)
                                       or not all(isinstance(o, (int, str)) for o in orders)):
                raise Malformed(f"{_PRIVACY_ORDERS[topic]} must be a list of order ids.")
        if topic == "customers/data_request" and not isinstance(payload.get("data_request"), dict):
            raise Malformed("A data request needs its data_request id.")

    def parse(self, topic, payload, connector):
        records = Records()
        if topic in ORDER_TOPICS:
            records.orders.append(order(payload))
        elif topic == "refunds/create":
            records.refunds.append(_refund(payload, connector.currency))
        elif topic in CUSTOMER_TOPICS:
            records.customers.append(customer(payload))
        elif topic in PRODUCT_TOPICS:
            records.products.append(product(payload, connector.currency))
        elif topic == "products/delete":
            records.products.append(ProductRecord(platform_id=str(payload["id"]), title="", deleted=True))
        elif topic in PRIVACY_TOPICS:
            records.privacy.append(privacy_request(topic, payload))
        return records
