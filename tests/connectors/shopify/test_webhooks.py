"""Shopify: one test per real payload (tests/fixtures/shopify/), each asserting the normalised
rows; then signatures (forged, missing, rotation), replays and bad input."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from helpdesk.actions.commerce import finish_secret_rotation, rotate_connector_secret
from helpdesk.extensions import db
from helpdesk.models import (
    CommerceCustomer,
    Contact,
    Order,
    OrderRefund,
    Product,
    WebhookDelivery,
)
from tests.connectors.commerce import count, fixture_bytes, hmac_b64
from tests.connectors.shopify.conftest import SECRET
from tests.factories import make_contact



def post(client, connector, name, topic, *, secret=SECRET, webhook_id=None, body=None, signature=None):
    body = fixture_bytes("shopify", name) if body is None else body
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "jsmith.myshopify.com",
        "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043-{name}",
        "X-Shopify-Triggered-At": "2024-03-14T21:25:43.514Z",
    }
    if signature is not False:
        headers["X-Shopify-Hmac-Sha256"] = signature or hmac_b64(secret, body)
    return client.post(f"/webhooks/shopify/{connector.key}", data=body, headers=headers)


def the_order():
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.platform_id == "820982911946154508"))


# ---- one test per payload ------------------------------------------------------------------

def test_orders_create(client, connector, store):
    response = post(client, connector, "orders_create.json", "orders/create")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "accepted"
    order = the_order()
    assert order.store_id == store.id and order.platform == "shopify"
    assert order.number == "#9999"
    assert (order.currency, order.total, order.subtotal) == ("USD", Decimal("388.00"), Decimal("388.00"))
    assert (order.discount, order.shipping, order.tax, order.refunded) == (Decimal("20"), Decimal("10"), 0, 0)
    assert order.status == "open" and order.financial_status == "pending"
    assert order.placed_at.isoformat() == "2024-03-14T21:25:42+00:00"
    assert [(line.title, line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("IPod Nano - 8GB", "IPOD2008PINK", 1, Decimal("199.00"), Decimal("199.00")),
        ("IPod Nano - 8GB", "IPOD2008PINK", 1, Decimal("199.00"), Decimal("179.00")),
    ]
    # Linked to the platform customer and through it to a contact.
    customer = db.session.scalar(select(CommerceCustomer))
    assert customer.platform_id == "706405506930370084"
    assert order.customer_id == customer.id and order.contact_id == customer.contact_id
    contact = db.session.get(Contact, order.contact_id)
    assert contact.email == "bob.norman@example.com" and contact.platform_ids == {"shopify": "706405506930370084"}
    assert order.email == "jon@example.com"
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.topic, delivery.status) == ("orders/create", "processed")


def test_orders_updated(client, connector):
    post(client, connector, "orders_create.json", "orders/create")
    assert post(client, connector, "orders_updated.json", "orders/updated").status_code == 200
    order = the_order()
    assert order.total == Decimal("408.00") and order.discount == 0
    assert [(line.quantity, line.total) for line in order.lines] == [(2, Decimal("398.00"))]
    assert count(Order) == 1


def test_orders_paid(client, connector):
    post(client, connector, "orders_paid.json", "orders/paid")
    order = the_order()
    assert order.financial_status == "paid" and order.status == "open" and order.total == Decimal("388.00")


def test_orders_cancelled(client, connector):
    post(client, connector, "orders_create.json", "orders/create")
    post(client, connector, "orders_cancelled.json", "orders/cancelled")
    order = the_order()
    assert order.status == "cancelled" and order.financial_status == "voided"
    assert order.cancelled_at.isoformat() == "2024-03-15T13:12:44+00:00"
    assert order.net_total == 0


def test_refunds_create(client, connector):
    post(client, connector, "orders_create.json", "orders/create")
    assert post(client, connector, "refunds_create.json", "refunds/create").status_code == 200
    refund = db.session.scalar(select(OrderRefund))
    assert (refund.platform_id, refund.order_platform_id) == ("509562969", "820982911946154508")
    assert (refund.amount, refund.currency) == (Decimal("41.94"), "USD")
    order = the_order()
    assert order.refunded == Decimal("41.94") and order.net_total == Decimal("346.06")


def test_a_refund_before_its_order_counts_when_the_order_arrives(client, connector):
    post(client, connector, "refunds_create.json", "refunds/create")
    assert the_order() is None and count(OrderRefund) == 1
    post(client, connector, "orders_create.json", "orders/create")
    assert the_order().refunded == Decimal("41.94")


def test_customers_create(client, connector, store):
    post(client, connector, "customers_create.json", "customers/create")
    customer = db.session.scalar(select(CommerceCustomer))
    assert (customer.platform_id, customer.email, customer.name, customer.phone) == (
        "706405506930370085", "ella.gomez@example.com", "Ella Gomez", "+14155550142")
    contact = db.session.get(Contact, customer.contact_id)
    assert (contact.store_id, contact.email, contact.name, contact.phone) == (
        store.id, "ella.gomez@example.com", "Ella Gomez", "+14155550142")


def test_customers_update_links_the_existing_contact_by_email(client, connector, store):
    known = make_contact(store, email="Bob.Norman@example.com", name="Bob from chat")
    post(client, connector, "customers_update.json", "customers/update")
    customer = db.session.scalar(select(CommerceCustomer))
    assert customer.contact_id == known.id
    assert db.session.get(Contact, known.id).platform_ids == {"shopify": "706405506930370084"}
    assert count(Contact) == 1


def test_products_create(client, connector, store):
    post(client, connector, "products_create.json", "products/create")
    product = db.session.scalar(select(Product))
    assert (product.store_id, product.platform, product.platform_id) == (store.id, "shopify", "788032119674292922")
    assert product.title == "Example T-Shirt"
    assert product.description == "An example T-Shirt in soft cotton."
    assert (product.price, product.currency, product.active) == (Decimal("19.99"), "USD", True)
    assert product.image_url.endswith("/products/example-t-shirt.jpg")
    assert product.url == "/products/example-t-shirt"


def test_products_update(client, connector):
    post(client, connector, "products_create.json", "products/create")
    post(client, connector, "products_update.json", "products/update")
    db.session.expire_all()
    product = db.session.scalar(select(Product))
    assert (product.title, product.price, product.active) == ("Example T-Shirt (organic)", Decimal("17.50"), False)
    assert count(Product) == 1


def test_products_delete(client, connector):
    post(client, connector, "products_create.json", "products/create")
    post(client, connector, "products_delete.json", "products/delete")
    db.session.expire_all()
    assert db.session.scalar(select(Product)).active is False


# ---- signatures, replays, bad input --------------------------------------------------------

def test_forged_signature_is_401_and_stores_nothing(client, connector):
    response = post(client, connector, "orders_create.json", "orders/create", secret="not-the-secret")
    assert response.status_code == 401
    assert count(WebhookDelivery) == 0 and count(Order) == 0


def test_missing_signature_is_401(client, connector):
    assert post(client, connector, "orders_create.json", "orders/create", signature=False).status_code == 401
    assert count(WebhookDelivery) == 0


def test_a_body_changed_after_signing_is_401(client, connector):
    body = fixture_bytes("shopify", "orders_create.json")
    tampered = body.replace(b'"total_price": "388.00"', b'"total_price": "3.88"')
    response = post(client, connector, "orders_create.json", "orders/create", body=tampered,
                    signature=hmac_b64(SECRET, body))
    assert response.status_code == 401 and count(Order) == 0


def test_a_replay_is_200_and_stored_once(client, connector):
    first = post(client, connector, "orders_create.json", "orders/create", webhook_id="same-id")
    again = post(client, connector, "orders_create.json", "orders/create", webhook_id="same-id")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["status"] == "duplicate"
    assert count(WebhookDelivery) == 1 and count(Order) == 1


def test_both_secrets_work_during_a_rotation_and_only_the_new_one_after(client, connector):
    rotate_connector_secret(connector, "shpss_new_5e6f")
    assert post(client, connector, "products_create.json", "products/create", webhook_id="a").status_code == 200
    assert post(client, connector, "products_create.json", "products/create", webhook_id="b",
                secret="shpss_new_5e6f").status_code == 200
    finish_secret_rotation(connector)
    assert post(client, connector, "products_create.json", "products/create", webhook_id="c").status_code == 401
    assert post(client, connector, "products_create.json", "products/create", webhook_id="d",
                secret="shpss_new_5e6f").status_code == 200


def test_unknown_topic_is_202_and_logged_without_the_body(client, connector, caplog):
    body = b'{"id": 1, "name": "checkout"}'
    response = post(client, connector, "x", "checkouts/create", body=body)
    assert response.status_code == 202
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.topic, delivery.body) == ("ignored", "checkouts/create", None)
    assert any("topic not handled" in r.getMessage() for r in caplog.records)


def test_malformed_json_is_400_and_stores_nothing(client, connector):
    body = b'{"id": 820982911946154508, "total_price": '
    assert post(client, connector, "x", "orders/create", body=body).status_code == 400
    assert count(WebhookDelivery) == 0


@pytest.mark.parametrize("body", [b"[]", b'[{"id": 1}]', b"null", b'"order"', b"5"])
def test_json_that_is_not_an_object_is_400_and_stores_nothing(client, connector, body):
    # It used to be "accepted", then failed unread in the job: the shop never knew.
    response = post(client, connector, "x", "orders/create", body=body)
    assert response.status_code == 400 and response.get_json()["status"] == "refused"
    assert count(WebhookDelivery) == 0


def test_amounts_are_never_floats(client, connector):
    # 0.1 + 0.2 is not 0.3 in floating point; a float anywhere on the way would show it.
    body = (b'{"id": 7, "name": "#7", "currency": "eur", "total_price": 0.3, "subtotal_price": "0.30",'
            b' "created_at": "2024-03-14T10:00:00Z", "line_items": [{"id": 1, "title": "A", "price": 0.1,'
            b' "quantity": 1}, {"id": 2, "title": "B", "price": "0.2", "quantity": 1}]}')
    assert post(client, connector, "x", "orders/create", body=body).status_code == 200
    order = db.session.scalar(select(Order))
    assert order.currency == "EUR"
    assert sum(line.unit_price for line in order.lines) == order.total == Decimal("0.3")


def test_unknown_store_key_is_404(client, connector):
    body = fixture_bytes("shopify", "orders_create.json")
    response = client.post("/webhooks/shopify/nope", data=body,
                           headers={"X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body), "X-Shopify-Topic": "orders/create",
                                    "X-Shopify-Webhook-Id": "1"})
    assert response.status_code == 404 and count(WebhookDelivery) == 0


def test_the_store_slug_works_as_the_key(client, connector, store):
    body = fixture_bytes("shopify", "products_create.json")
    response = client.post(f"/webhooks/shopify/{store.slug}", data=body, headers={
        "X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body), "X-Shopify-Topic": "products/create",
        "X-Shopify-Webhook-Id": "slug-1"})
    assert response.status_code == 200 and count(Product) == 1


def test_reprocessing_a_delivery_changes_nothing(client, connector):
    from workers.commerce_jobs import process_delivery

    post(client, connector, "orders_create.json", "orders/create")
    delivery = db.session.scalar(select(WebhookDelivery))
    assert process_delivery(delivery.id) is False  # processed already
    assert count(Order) == 1


def test_an_order_that_can_never_be_read_is_marked_failed(client, connector):
    body = b'{"id": 8, "name": "#8", "currency": "USD", "total_price": "1.00"}'
    assert post(client, connector, "x", "orders/create", body=body).status_code == 200
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.refresh(delivery)
    assert delivery.status == "failed" and "placed" in delivery.error
    assert count(Order) == 0


def test_a_number_out_of_the_databases_range_fails_the_delivery_for_good(client, connector):
    """A quantity no database column holds is the payload's fault, not a passing outage: the
    delivery is marked failed with the reason, not retried by every sweep."""
    body = (b'{"id": 8, "name": "#8", "currency": "EUR", "total_price": "1.00", "created_at": "2024-03-14T10:00:00Z",'
            b' "line_items": [{"id": 1, "title": "A", "price": "1.00", "quantity": 1000000000000000000000000000000}]}')
    assert post(client, connector, "x", "orders/create", body=body).status_code == 200
    db.session.expire_all()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "failed" and delivery.error.startswith("unreadable:")
    assert count(Order) == 0
