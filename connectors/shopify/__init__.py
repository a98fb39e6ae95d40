"""Shopify: webhooks signed with ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body
under the app's secret; during a rotation the previous secret is accepted too), deduplicated
on ``X-Shopify-Webhook-Id``, the topic in ``X-Shopify-Topic``. Payloads are the full resource.

Shopify's mandatory compliance webhooks arrive the same way (``PRIVACY_TOPICS``): a customer's
erasure (``customers/redact``), a customer's request for their data (``customers/data_request``)
and, 48 hours after the shop uninstalled the app, the shop's (``shop/redact``). They become
``PrivacyRequest`` records, answered by ``helpdesk.actions.privacy``. A forged one is 401 like
any other delivery, as Shopify's review requires."""
from connectors.base import (
    Connector,
    CustomerRecord,
    LineRecord,
    Malformed,
    OrderRecord,
    PrivacyRequest,
    ProductRecord,
    RefundRecord,
    Records,
    check_hmac_b64,
    currency_code,
    full_name,
    money,
    phone_number,
    text_id,
    timestamp,
)
from connectors.registry import register
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

    def verify(self, request, raw_body, connector):
        check_hmac_b64(request.headers.get("X-Shopify-Hmac-Sha256"), raw_body, connector.secrets())

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
