"""BigCommerce: thin notifications (``{"scope": "store/order/created", "data": {"type": "order",
"id": 250}, "hash": ..., "created_at": ...}``) authenticated by a shared secret header that is
set on the store's webhook when it is created (BigCommerce sends custom ``headers`` back with
every delivery). The job then fetches the order, customer or product from the store's API
with the store's credentials (``X-Auth-Token``).

Retries of one notification carry the same ``hash`` and ``created_at``: together they are
the delivery id."""
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

from connectors.base import (
    Connector,
    CustomerRecord,
    Forged,
    LineRecord,
    OrderRecord,
    ProductRecord,
    Records,
    currency_code,
    full_name,
    money,
    phone_number,
    text_id,
    timestamp,
)
from connectors.registry import register
from helpdesk.text import clean_text, html_to_text

#: The header (and its value, the connector's secret) the store's webhooks are created with.
SECRET_HEADER = "X-Helpdesk-Webhook-Secret"
#: Seconds one API call may take before the job gives up (and is retried).
API_TIMEOUT = 10
#: status_id of orders that never became a sale: Cancelled, Declined.
CANCELLED_STATUS_IDS = {5, 6}

ORDER_SCOPES = {"store/order/created", "store/order/updated", "store/order/statusUpdated",
                "store/order/archived", "store/order/refund/created"}
CUSTOMER_SCOPES = {"store/customer/created", "store/customer/updated"}
PRODUCT_SCOPES = {"store/product/created", "store/product/updated"}


class ApiError(Exception):
    pass


def api_get(connector, path, query=None):
    """GET ``path`` under the store's API base; JSON with amounts as Decimal."""
    if not connector.api_url or not connector.api_token:
        raise ApiError("The BigCommerce connector has no API URL or token.")
    url = connector.api_url.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query, safe=":,")
    req = urllib.request.Request(url, headers={"X-Auth-Token": connector.api_token,
                                               "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=API_TIMEOUT) as response:  # noqa: S310 -- configured https URL
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise ApiError(f"BigCommerce API answered {exc.code} for {path}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ApiError(f"BigCommerce API unreachable: {exc}") from None
    if not body.strip():
        return None
    return json.loads(body, parse_float=Decimal)


def customer(data):
    return CustomerRecord(
        platform_id=text_id(data.get("id")),
        email=data.get("email"),
        phone=phone_number(data.get("phone")),
        name=full_name(data.get("first_name"), data.get("last_name")),
        created_at=timestamp(data.get("date_created")),
        updated_at=timestamp(data.get("date_modified")),
    )


def order(data, products):
    billing = data.get("billing_address") or {}
    customer_id = text_id(data.get("customer_id"))
    cust = CustomerRecord(
        platform_id=customer_id,
        email=billing.get("email"),
        phone=phone_number(billing.get("phone")),
        name=full_name(billing.get("first_name"), billing.get("last_name")),
    )
    lines = [
        LineRecord(
            platform_id=text_id(item.get("id")),
            product_platform_id=text_id(item.get("product_id")),
            sku=item.get("sku") or None,
            title=clean_text(item.get("name"), 255),
            quantity=int(item.get("quantity") or 0),
            unit_price=money(item.get("price_inc_tax") or item.get("base_price")),
            total=money(item.get("total_inc_tax")),
        )
        for item in products or []
    ]
    cancelled = int(data.get("status_id") or 0) in CANCELLED_STATUS_IDS
    return OrderRecord(
        platform_id=str(data["id"]),
        number=f"#{data['id']}",
        currency=currency_code(data.get("currency_code") or data.get("default_currency_code")),
        subtotal=money(data.get("subtotal_ex_tax")),
        tax=money(data.get("total_tax")),
        shipping=money(data.get("shipping_cost_inc_tax")),
        discount=money(data.get("discount_amount")),
        total=money(data.get("total_inc_tax")),
        # BigCommerce keeps the refunded total on the order itself.
        refunded=money(data.get("refunded_amount")),
        cancelled=cancelled,
        cancelled_at=timestamp(data.get("date_modified")) if cancelled else None,
        financial_status=data.get("payment_status") or None,
        fulfillment_status=data.get("status"),
        email=billing.get("email"),
        phone=phone_number(billing.get("phone")),
        customer=cust if (customer_id or cust.email or cust.phone) else None,
        lines=lines,
        placed_at=timestamp(data.get("date_created")),
        updated_at=timestamp(data.get("date_modified")),
    )


def product(data, default_currency):
    images = data.get("images") or []
    image = next((i for i in images if i.get("is_thumbnail")), images[0] if images else {})
    return ProductRecord(
        platform_id=str(data["id"]),
        title=clean_text(data.get("name"), 255),
        description=html_to_text(data.get("description")),
        price=money(data.get("calculated_price", data.get("price")), default=None),
        currency=default_currency,
        image_url=image.get("url_standard"),
        url=(data.get("custom_url") or {}).get("url"),
        active=bool(data.get("is_visible", True)),
    )


@register
class BigCommerce(Connector):
    platform = "bigcommerce"
    title = "BigCommerce"
    topics = frozenset(ORDER_SCOPES | CUSTOMER_SCOPES | PRODUCT_SCOPES | {"store/product/deleted"})

    def verify(self, request, raw_body, connector):
        given = request.headers.get(SECRET_HEADER, "")
        if not given or not any(hmac.compare_digest(given.encode(), s.encode()) for s in connector.secrets()):
            raise Forged("Missing or wrong shared secret.")

    def delivery_id(self, request, payload):
        if not isinstance(payload, dict) or not payload.get("hash"):
            return None
        return f"{payload.get('created_at', '')}:{payload['hash']}"

    def topic(self, request, payload):
        return payload.get("scope") if isinstance(payload, dict) else None

    def expand(self, topic, payload, connector):
        """Fetch the resource the notification points at (in the job, never in the request)."""
        resource_id = int(payload["data"]["id"])
        if topic in ORDER_SCOPES:
            return {"order": api_get(connector, f"/v2/orders/{resource_id}"),
                    "products": api_get(connector, f"/v2/orders/{resource_id}/products") or []}
        if topic in CUSTOMER_SCOPES:
            found = (api_get(connector, "/v3/customers", {"id:in": resource_id}) or {}).get("data") or []
            return {"customer": found[0] if found else None}
        if topic in PRODUCT_SCOPES:
            body = api_get(connector, f"/v3/catalog/products/{resource_id}", {"include": "images"}) or {}
            return {"product": body.get("data")}
        return {"deleted_id": resource_id}

    def parse(self, topic, payload, connector):
        records = Records()
        if topic in ORDER_SCOPES and payload.get("order"):
            records.orders.append(order(payload["order"], payload.get("products")))
        elif topic in CUSTOMER_SCOPES and payload.get("customer"):
            records.customers.append(customer(payload["customer"]))
        elif topic in PRODUCT_SCOPES and payload.get("product"):
            records.products.append(product(payload["product"], connector.currency))
        elif topic == "store/product/deleted":
            records.products.append(ProductRecord(platform_id=str(payload["deleted_id"]), title="", deleted=True))
        return records
