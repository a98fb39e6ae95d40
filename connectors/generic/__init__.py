"""Generic signed JSON: any platform POSTs orders, customers and products signed per Standard
Webhooks (``webhook-id``, ``webhook-timestamp`` within five minutes, ``webhook-signature``
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the connector's ``whsec_`` secret).

The body is ``{"type": "<topic>", "timestamp": "...", "data": {...}}`` with the topics and
shapes of ``connectors.generic.schemas`` (documented there, validated with marshmallow).
"""
from marshmallow import ValidationError

from connectors.base import (
    Connector,
    CustomerRecord,
    LineRecord,
    Malformed,
    OrderRecord,
    ProductRecord,
    RefundRecord,
    Records,
    phone_number,
    verify_standard,
)
from connectors.generic.schemas import CustomerData, DeletedData, OrderData, ProductData, RefundData
from connectors.registry import register

SCHEMAS = {
    "order.created": OrderData, "order.updated": OrderData, "order.cancelled": OrderData,
    "refund.created": RefundData,
    "customer.created": CustomerData, "customer.updated": CustomerData,
    "product.created": ProductData, "product.updated": ProductData, "product.deleted": DeletedData,
}


def _customer(data):
    if not data:
        return None
    return CustomerRecord(platform_id=data.get("id"), email=data.get("email"), phone=phone_number(data.get("phone")),
                          name=data.get("name", ""), created_at=data.get("created_at"),
                          updated_at=data.get("updated_at"))


def _order(topic, data):
    currency = data["currency"]
    return OrderRecord(
        platform_id=data["id"],
        number=data.get("number") or f"#{data['id']}",
        currency=currency,
        subtotal=data["subtotal"], tax=data["tax"], shipping=data["shipping"], discount=data["discount"],
        total=data["total"],
        refunded=data.get("refunded"),
        refunds=[RefundRecord(platform_id=r["id"], order_platform_id=data["id"], amount=r["amount"],
                              currency=currency, refunded_at=r.get("created_at"))
                 for r in data.get("refunds") or []],
        cancelled=topic == "order.cancelled" or data.get("status") == "cancelled",
        cancelled_at=data.get("cancelled_at"),
        financial_status=data.get("financial_status"),
        fulfillment_status=data.get("fulfillment_status"),
        email=data.get("email"),
        phone=phone_number(data.get("phone")),
        customer=_customer(data.get("customer")),
        lines=[LineRecord(platform_id=i.get("id"), product_platform_id=i.get("product_id"), sku=i.get("sku"),
                          title=i["title"], quantity=i["quantity"], unit_price=i["unit_price"],
                          total=i.get("total", i["unit_price"] * i["quantity"]))
               for i in data.get("line_items") or []],
        placed_at=data["placed_at"],
        updated_at=data.get("updated_at"),
        url=data.get("url"),
    )


@register
class Generic(Connector):
    platform = "generic"
    title = "Signed JSON (Standard Webhooks)"
    topics = frozenset(SCHEMAS)

    def verify(self, request, raw_body, connector):
        verify_standard(request.headers, raw_body, connector.secrets())

    def delivery_id(self, request, payload):
        return request.headers.get("webhook-id")

    def topic(self, request, payload):
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            raise Malformed("The body needs a string `type`.")
        return payload["type"]

    def validate(self, topic, payload):
        self._load(topic, payload)

    def _load(self, topic, payload):
        data = payload.get("data")
        if not isinstance(data, dict):
            raise Malformed("The body needs an object `data`.")
        try:
            return SCHEMAS[topic]().load(data)
        except ValidationError as exc:
            raise Malformed(f"Invalid {topic} data: {exc.messages}") from None

    def parse(self, topic, payload, connector):
        data = self._load(topic, payload)
        records = Records()
        if topic.startswith("order."):
            records.orders.append(_order(topic, data))
        elif topic == "refund.created":
            records.refunds.append(RefundRecord(platform_id=data["id"], order_platform_id=data["order_id"],
                                                amount=data["amount"], currency=data["currency"],
                                                refunded_at=data.get("created_at")))
        elif topic.startswith("customer."):
            records.customers.append(_customer(data))
        elif topic == "product.deleted":
            records.products.append(ProductRecord(platform_id=data["id"], title="", deleted=True))
        else:
            records.products.append(ProductRecord(
                platform_id=data["id"], title=data["title"], description=data.get("description", ""),
                price=data.get("price"), currency=data.get("currency") or connector.currency,
                image_url=data.get("image_url"), url=data.get("url"), active=data.get("active", True)))
        return records
