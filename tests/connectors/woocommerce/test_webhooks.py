"""WooCommerce: one test per real payload (tests/fixtures/woocommerce/), the unsigned ping,
signatures and replays."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from helpdesk.actions.commerce import connect_store
from helpdesk.extensions import db
from helpdesk.models import CommerceCustomer, Contact, Order, OrderRefund, Product, WebhookDelivery
from tests.connectors.commerce import count, fixture_bytes, hmac_b64
from tests.factories import make_store

SECRET = "o=9&cR3t;Wc"


@pytest.fixture
def connector():
    return connect_store(make_store("Woo Shop"), "woocommerce", secret=SECRET)


def post(client, connector, name, topic, *, secret=SECRET, delivery_id=None, body=None, sign=True):
    body = fixture_bytes("woocommerce", name) if body is None else body
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)",
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "27",
        "X-WC-Webhook-Delivery-ID": delivery_id or f"0c5b1b7f3d0a6e1a9bb0c1c2{name}",
    }
    if sign:
        headers["X-WC-Webhook-Signature"] = hmac_b64(secret, body)
    return client.post(f"/webhooks/woocommerce/{connector.key}", data=body, headers=headers)


def the_order():
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.platform_id == "727"))


def test_ping_when_the_webhook_is_created_is_200_and_not_stored(client, connector):
    response = client.post(f"/webhooks/woocommerce/{connector.key}", data=fixture_bytes("woocommerce", "ping.txt"),
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "User-Agent": "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)"})
    assert response.status_code == 200
    assert count(WebhookDelivery) == 0


def test_order_created(client, connector):
    assert post(client, connector, "order_created.json", "order.created").status_code == 200
    order = the_order()
    assert (order.number, order.currency, order.status, order.financial_status) == ("#727", "USD", "open", "paid")
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("18.00"), Decimal("10.00"), Decimal("1.35"), Decimal("29.35"))
    assert order.placed_at.isoformat() == "2024-03-22T19:28:02+00:00"
    assert [(line.title, line.quantity, line.unit_price, line.total, line.product_platform_id) for line in order.lines] == [
        ("Woo Single #1", 2, Decimal("3"), Decimal("6.00"), "93"),
        ("Ship Your Idea – Color: Black, Size: M Test", 1, Decimal("12"), Decimal("12.00"), "22"),
    ]
    contact = db.session.get(Contact, order.contact_id)
    assert contact.email == "john.doe@example.com" and contact.platform_ids == {"woocommerce": "25"}
    assert contact.phone == "5555555555"


def test_order_updated(client, connector):
    post(client, connector, "order_created.json", "order.created")
    post(client, connector, "order_updated.json", "order.updated")
    order = the_order()
    assert order.fulfillment_status == "fulfilled"
    assert order.refunded == Decimal("10.00") and order.net_total == Decimal("19.35")
    assert db.session.scalar(select(OrderRefund)).amount == Decimal("10.00")


def test_an_older_update_arriving_late_changes_nothing(client, connector):
    post(client, connector, "order_updated.json", "order.updated")
    post(client, connector, "order_created.json", "order.created")
    order = the_order()
    assert order.fulfillment_status == "fulfilled" and order.refunded == Decimal("10.00")


def test_customer_created(client, connector):
    post(client, connector, "customer_created.json", "customer.created")
    customer = db.session.scalar(select(CommerceCustomer))
    assert (customer.platform_id, customer.email, customer.name) == ("25", "john.doe@example.com", "John Doe")
    assert db.session.get(Contact, customer.contact_id).platform_ids == {"woocommerce": "25"}


def test_customer_updated(client, connector):
    post(client, connector, "customer_created.json", "customer.created")
    post(client, connector, "customer_updated.json", "customer.updated")
    db.session.expire_all()
    customer = db.session.scalar(select(CommerceCustomer))
    assert (customer.name, customer.phone) == ("Johnny Doe", "+15555550100")
    assert count(CommerceCustomer) == 1 and count(Contact) == 1


def test_product_created(client, connector):
    post(client, connector, "product_created.json", "product.created")
    product = db.session.scalar(select(Product))
    assert (product.platform, product.platform_id, product.title) == ("woocommerce", "794", "Premium Quality")
    assert (product.price, product.currency, product.active) == (Decimal("21.99"), "USD", True)
    assert product.description == "Pellentesque habitant morbi tristique senectus."
    assert product.url == "https://example.com/product/premium-quality-19/"
    assert product.image_url == "https://example.com/wp-content/uploads/2024/03/T_2_front-4.jpg"


def test_product_updated(client, connector):
    post(client, connector, "product_created.json", "product.created")
    post(client, connector, "product_updated.json", "product.updated")
    db.session.expire_all()
    assert db.session.scalar(select(Product)).price == Decimal("18.50") and count(Product) == 1


def test_forged_signature_is_401(client, connector):
    assert post(client, connector, "order_created.json", "order.created", secret="guess").status_code == 401
    assert count(WebhookDelivery) == 0 and count(Order) == 0


def test_an_unsigned_order_is_401_not_a_ping(client, connector):
    assert post(client, connector, "order_created.json", "order.created", sign=False).status_code == 401
    assert count(WebhookDelivery) == 0


def test_a_replayed_delivery_is_stored_once(client, connector):
    assert post(client, connector, "order_created.json", "order.created", delivery_id="d1").status_code == 200
    again = post(client, connector, "order_created.json", "order.created", delivery_id="d1")
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert count(WebhookDelivery) == 1


def test_unknown_topic_is_202(client, connector):
    assert post(client, connector, "x", "coupon.created", body=b'{"id": 720, "code": "free"}').status_code == 202
