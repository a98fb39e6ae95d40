"""WooCommerce: webhooks signed with ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the raw
body under the webhook's secret), deduplicated on ``X-WC-Webhook-Delivery-ID``, the topic in
``X-WC-Webhook-Topic`` (``order.created``...). Creating a webhook in WooCommerce first sends
an unsigned ping, a form post ``webhook_id=N``; it is answered 200 and not stored."""
import html
import re

from connectors.base import (
    Connector,
    CustomerRecord,
    LineRecord,
    OrderRecord,
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

_PING = re.compile(rb"webhook_id=\d{1,20}")
#: Orders in these states never became a sale.
CANCELLED_STATUSES = {"cancelled", "failed", "trash"}


def _gmt(data, key):
    return timestamp(data.get(f"{key}_gmt") or data.get(key))


def customer(data):
    billing = data.get("billing") or {}
    return CustomerRecord(
        platform_id=text_id(data.get("id")),
        email=data.get("email") or billing.get("email"),
        phone=phone_number(billing.get("phone")),
        name=full_name(data.get("first_name"), data.get("last_name")) or full_name(billing.get("first_name"),
                                                                                   billing.get("last_name")),
        created_at=_gmt(data, "date_created"),
        updated_at=_gmt(data, "date_modified"),
    )


def order(data):
    billing = data.get("billing") or {}
    currency = currency_code(data.get("currency"))
    customer_id = text_id(data.get("customer_id"))
    cust = CustomerRecord(
        platform_id=customer_id,
        email=billing.get("email"),
        phone=phone_number(billing.get("phone")),
        name=full_name(billing.get("first_name"), billing.get("last_name")),
    ) if (customer_id or billing.get("email") or billing.get("phone")) else None
    lines = [
        LineRecord(
            platform_id=text_id(item.get("id")),
            product_platform_id=text_id(item.get("product_id")),
            sku=item.get("sku") or None,
            title=clean_text(html.unescape(item.get("name") or ""), 255),
            quantity=int(item.get("quantity") or 0),
            unit_price=money(item.get("price")),
            total=money(item.get("total")),
        )
        for item in data.get("line_items") or []
    ]
    # WooCommerce lists refunds with negative totals.
    refunds = [RefundRecord(platform_id=str(r["id"]), order_platform_id=str(data["id"]),
                            amount=abs(money(r.get("total"))), currency=currency)
               for r in data.get("refunds") or []]
    status = data.get("status")
    return OrderRecord(
        platform_id=str(data["id"]),
        number=clean_text(f"#{data.get('number') or data['id']}", 64),
        currency=currency,
        subtotal=sum((money(i.get("subtotal")) for i in data.get("line_items") or []), money("0")),
        tax=money(data.get("total_tax")),
        shipping=money(data.get("shipping_total")),
        discount=money(data.get("discount_total")),
        total=money(data.get("total")),
        refunded=None,
        refunds=refunds,
        cancelled=status in CANCELLED_STATUSES,
        cancelled_at=_gmt(data, "date_modified") if status in CANCELLED_STATUSES else None,
        financial_status="paid" if data.get("date_paid_gmt") or data.get("date_paid") else status,
        fulfillment_status="fulfilled" if status == "completed" else None,
        email=billing.get("email"),
        phone=phone_number(billing.get("phone")),
        customer=cust,
        lines=lines,
        placed_at=_gmt(data, "date_created"),
        updated_at=_gmt(data, "date_modified"),
    )


def product(data, default_currency):
    images = data.get("images") or []
    price = data.get("price")
    return ProductRecord(
        platform_id=str(data["id"]),
        title=clean_text(html.unescape(data.get("name") or ""), 255),
        description=html_to_text(data.get("short_description") or data.get("description")),
        price=money(price) if price not in (None, "") else None,
        currency=default_currency,
        image_url=images[0].get("src") if images else None,
        url=data.get("permalink"),
        active=data.get("status") == "publish",
    )


@register
class WooCommerce(Connector):
    platform = "woocommerce"
    title = "WooCommerce"
    topics = frozenset({"order.created", "order.updated", "customer.created", "customer.updated",
                        "product.created", "product.updated", "product.deleted"})

    def is_ping(self, request, raw_body):
        return "X-WC-Webhook-Signature" not in request.headers and _PING.fullmatch(raw_body.strip()) is not None

    def verify(self, request, raw_body, connector):
        check_hmac_b64(request.headers.get("X-WC-Webhook-Signature"), raw_body, connector.secrets())

    def delivery_id(self, request, payload):
        return request.headers.get("X-WC-Webhook-Delivery-ID")

    def topic(self, request, payload):
        return request.headers.get("X-WC-Webhook-Topic")

    def parse(self, topic, payload, connector):
        records = Records()
        resource, _, event = topic.partition(".")
        if resource == "order":
            records.orders.append(order(payload))
        elif resource == "customer":
            records.customers.append(customer(payload))
        elif resource == "product":
            if event == "deleted":
                records.products.append(ProductRecord(platform_id=str(payload["id"]), title="", deleted=True))
            else:
                records.products.append(product(payload, connector.currency))
        return records
