"""BigCommerce: thin notifications authenticated by the shared secret header, then the
resource fetched from the store's API -- a real HTTP server on loopback answering with the
API's shapes (tests/fixtures/bigcommerce/api/). One test per notification payload."""
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.bigcommerce import SECRET_HEADER
from helpdesk.actions.commerce import connect_store
from helpdesk.extensions import db
from helpdesk.models import CommerceCustomer, Contact, Order, Product, WebhookDelivery
from tests.connectors.commerce import FakeApi, count, fixture_bytes
from tests.factories import make_store

SECRET = "bc-shared-8d1f0e"
TOKEN = "a1b2c3d4e5f6apitoken"
BASE = "/stores/7ab3c9d2e1"


@pytest.fixture
def api():
    with FakeApi() as server:
        server.serve = lambda path, name, status=200: server.routes.__setitem__(
            BASE + path, (status, fixture_bytes("bigcommerce", "api/" + name)))
        server.serve("/v2/orders/250", "v2_orders_250.json")
        server.serve("/v2/orders/250/products", "v2_orders_250_products.json")
        server.serve("/v3/customers", "v3_customers_11.json")
        server.serve("/v3/catalog/products/174", "v3_catalog_products_174.json")
        yield server


@pytest.fixture
def connector(api):
    return connect_store(make_store("Terrarium Co"), "bigcommerce", secret=SECRET, api_url=api.url + BASE,
                         api_token=TOKEN)


def post(client, connector, name, *, secret=SECRET):
    headers = {"Content-Type": "application/json", SECRET_HEADER: secret} if secret else {}
    return client.post(f"/webhooks/bigcommerce/{connector.key}", data=fixture_bytes("bigcommerce", name),
                       headers=headers)


def the_order():
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.platform_id == "250"))


def test_store_order_created_fetches_the_order_with_the_stores_token(client, connector, api):
    assert post(client, connector, "store_order_created.json").status_code == 200
    order = the_order()
    assert (order.platform, order.number, order.currency) == ("bigcommerce", "#250", "USD")
    assert (order.subtotal, order.shipping, order.total, order.refunded) == (
        Decimal("215"), Decimal("10"), Decimal("225"), 0)
    assert order.financial_status == "captured" and order.status == "open"
    assert order.placed_at.isoformat() == "2024-03-14T21:25:42+00:00"
    assert [(line.title, line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("Orbit Terrarium - Large", "OTL-0001", 1, Decimal("109"), Decimal("109")),
        ("[Sample] Fog Linen Chambray Towel - Beige Stripe", "SLCTBS", 2, Decimal("53"), Decimal("106")),
    ]
    contact = db.session.get(Contact, order.contact_id)
    assert contact.email == "jane.doe@example.com" and contact.platform_ids == {"bigcommerce": "11"}
    fetched = [(r["path"], r["headers"]["x-auth-token"]) for r in api.requests]
    assert fetched == [(BASE + "/v2/orders/250", TOKEN), (BASE + "/v2/orders/250/products", TOKEN)]


def test_store_order_updated(client, connector, api):
    post(client, connector, "store_order_created.json")
    api.serve("/v2/orders/250", "v2_orders_250_edited.json")
    post(client, connector, "store_order_updated.json")
    assert the_order().total == Decimal("200")


def test_store_order_status_updated_to_cancelled(client, connector, api):
    post(client, connector, "store_order_created.json")
    api.serve("/v2/orders/250", "v2_orders_250_cancelled.json")
    post(client, connector, "store_order_statusUpdated.json")
    order = the_order()
    assert order.status == "cancelled" and order.fulfillment_status == "Cancelled" and order.net_total == 0


def test_store_order_refund_created(client, connector, api):
    post(client, connector, "store_order_created.json")
    api.serve("/v2/orders/250", "v2_orders_250_refunded.json")
    post(client, connector, "store_order_refund_created.json")
    order = the_order()
    assert order.refunded == Decimal("25") and order.net_total == Decimal("200")


def test_store_customer_created(client, connector, api):
    post(client, connector, "store_customer_created.json")
    customer = db.session.scalar(select(CommerceCustomer))
    assert (customer.platform_id, customer.email, customer.name, customer.phone) == (
        "11", "jane.doe@example.com", "Jane Doe", "5125550188")
    assert api.requests[0]["path"] == BASE + "/v3/customers?id:in=11"


def test_store_customer_updated(client, connector, api):
    post(client, connector, "store_customer_created.json")
    api.serve("/v3/customers", "v3_customers_11_updated.json")
    post(client, connector, "store_customer_updated.json")
    db.session.expire_all()
    assert db.session.scalar(select(CommerceCustomer)).name == "Janet Doe"


def test_store_product_created(client, connector, api):
    post(client, connector, "store_product_created.json")
    product = db.session.scalar(select(Product))
    assert (product.platform_id, product.title, product.price, product.active) == (
        "174", "Orbit Terrarium - Large", Decimal("109.00"), True)
    assert product.url == "/orbit-terrarium-large/"
    assert product.image_url.endswith("OrbitTerrariumLarge3__43233.1710428487.386.513.jpg")
    assert product.description == "This geometric terrarium is the perfect home for succulents."
    assert api.requests[0]["path"] == BASE + "/v3/catalog/products/174?include=images"


def test_store_product_updated(client, connector, api):
    post(client, connector, "store_product_created.json")
    api.serve("/v3/catalog/products/174", "v3_catalog_products_174_updated.json")
    post(client, connector, "store_product_updated.json")
    db.session.expire_all()
    product = db.session.scalar(select(Product))
    assert (product.title, product.price, product.active) == ("Orbit Terrarium - Large (glass)", Decimal("99.50"), False)


def test_store_product_deleted_needs_no_fetch(client, connector, api):
    post(client, connector, "store_product_created.json")
    api.requests.clear()
    post(client, connector, "store_product_deleted.json")
    db.session.expire_all()
    assert db.session.scalar(select(Product)).active is False
    assert api.requests == []


def test_wrong_or_missing_shared_secret_is_401(client, connector, api):
    assert post(client, connector, "store_order_created.json", secret="guess").status_code == 401
    assert post(client, connector, "store_order_created.json", secret=None).status_code == 401
    assert count(WebhookDelivery) == 0 and api.requests == []


def test_a_retried_notification_is_stored_and_fetched_once(client, connector, api):
    assert post(client, connector, "store_order_created.json").status_code == 200
    again = post(client, connector, "store_order_created.json")
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert count(WebhookDelivery) == 1 and len(api.requests) == 2


def test_the_api_being_down_leaves_the_delivery_for_a_retry(client, connector, api):
    api.routes.pop(BASE + "/v2/orders/250")
    assert post(client, connector, "store_order_created.json").status_code == 200  # answered before the fetch
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.refresh(delivery)
    assert delivery.status == "received" and "404" in delivery.error and delivery.attempts == 1
    api.serve("/v2/orders/250", "v2_orders_250.json")
    from workers.commerce_jobs import process_delivery

    assert process_delivery(delivery.id) is True
    assert the_order() is not None


@pytest.mark.parametrize("scope", [["store/order/created"], {"a": 1}, 5, "store/order/\ud800"])
def test_a_scope_that_is_not_text_is_400_and_stores_nothing(client, connector, api, scope):
    body = json.loads(fixture_bytes("bigcommerce", "store_order_created.json"))
    body["scope"] = scope
    response = client.post(f"/webhooks/bigcommerce/{connector.key}", data=json.dumps(body),
                           headers={"Content-Type": "application/json", SECRET_HEADER: SECRET})
    assert response.status_code == 400 and response.get_json()["status"] == "refused"
    assert count(WebhookDelivery) == 0
