"""Generic signed JSON (Standard Webhooks): one test per payload (tests/fixtures/generic/),
then the signature rules -- secret, timestamp tolerance, replays, bad shapes."""
import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.base import new_whsec, standard_headers
from helpdesk.actions.commerce import connect_store
from helpdesk.extensions import db
from helpdesk.models import CommerceCustomer, Contact, Order, OrderRefund, Product, WebhookDelivery
from tests.connectors.commerce import count, fixture_bytes
from tests.factories import make_store

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def connector():
    return connect_store(make_store("Ceramika"), "generic", secret=SECRET)


def post(client, connector, name, *, secret=SECRET, msg_id=None, timestamp=None, body=None, headers=None):
    body = fixture_bytes("generic", name) if body is None else body
    signed = standard_headers(secret, msg_id or f"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W-{name}", body, timestamp)
    signed.update(headers or {})
    return client.post(f"/webhooks/generic/{connector.key}", data=body,
                       headers={"Content-Type": "application/json", **signed})


def the_order():
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.platform_id == "ord_10077"))


def test_order_created(client, connector):
    assert post(client, connector, "order_created.json").status_code == 200
    order = the_order()
    assert (order.number, order.currency, order.total, order.discount, order.shipping) == (
        "PL-10077", "PLN", Decimal("249.97"), Decimal("25.00"), Decimal("14.99"))
    assert order.placed_at.isoformat() == "2024-04-02T12:03:11+00:00"
    assert [(line.title, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("Stoneware mug, blue", 2, Decimal("49.99"), Decimal("99.98")),
        ("Teapot 1.2 l", 1, Decimal("160.00"), Decimal("160.00")),
    ]
    contact = db.session.get(Contact, order.contact_id)
    assert (contact.email, contact.phone, contact.platform_ids) == ("mira.k@example.com", "+48601234567",
                                                                    {"generic": "cus_8842"})


def test_order_updated(client, connector):
    post(client, connector, "order_created.json")
    post(client, connector, "order_updated.json")
    order = the_order()
    assert (order.total, order.refunded, order.net_total) == (Decimal("274.97"), Decimal("49.99"), Decimal("224.98"))


def test_order_cancelled(client, connector):
    post(client, connector, "order_created.json")
    post(client, connector, "order_cancelled.json")
    order = the_order()
    assert order.status == "cancelled" and order.net_total == 0


def test_refund_created(client, connector):
    post(client, connector, "order_updated.json")
    post(client, connector, "refund_created.json")
    assert {r.platform_id for r in db.session.scalars(select(OrderRefund))} == {"rf_1", "rf_2"}
    assert the_order().refunded == Decimal("69.99")


def test_customer_created(client, connector):
    post(client, connector, "customer_created.json")
    customer = db.session.scalar(select(CommerceCustomer))
    assert (customer.platform_id, customer.email, customer.name) == ("cus_8842", "mira.k@example.com", "Mira Kowalski")


def test_customer_updated(client, connector):
    post(client, connector, "customer_created.json")
    post(client, connector, "customer_updated.json")
    db.session.expire_all()
    assert db.session.scalar(select(CommerceCustomer)).name == "Mira Kowalska"


def test_product_created(client, connector):
    post(client, connector, "product_created.json")
    product = db.session.scalar(select(Product))
    assert (product.platform_id, product.title, product.price, product.currency) == (
        "prd_51", "Stoneware mug, blue", Decimal("49.99"), "PLN")


def test_product_updated(client, connector):
    post(client, connector, "product_created.json")
    post(client, connector, "product_updated.json")
    db.session.expire_all()
    assert db.session.scalar(select(Product)).price == Decimal("44.99")


def test_product_deleted(client, connector):
    post(client, connector, "product_created.json")
    post(client, connector, "product_deleted.json")
    db.session.expire_all()
    assert db.session.scalar(select(Product)).active is False


def test_a_signature_under_another_secret_is_401(client, connector):
    assert post(client, connector, "order_created.json", secret=new_whsec()).status_code == 401
    assert count(WebhookDelivery) == 0


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_401(client, connector, drop):
    body = fixture_bytes("generic", "order_created.json")
    headers = standard_headers(SECRET, "msg_1", body)
    headers.pop(drop)
    assert client.post(f"/webhooks/generic/{connector.key}", data=body, headers=headers).status_code == 401


# Half a minute past the tolerance either way: a boundary of one second failed on a busy CI
# machine, where more than a second passed between signing and the server's check.
@pytest.mark.parametrize("skew", [-330, 330])
def test_a_timestamp_outside_five_minutes_is_401(client, connector, skew):
    assert post(client, connector, "order_created.json", timestamp=int(time.time()) + skew).status_code == 401


def test_a_timestamp_inside_the_tolerance_is_accepted(client, connector):
    assert post(client, connector, "order_created.json", timestamp=int(time.time()) - 240).status_code == 200


def test_a_second_signature_in_the_header_may_be_the_valid_one(client, connector):
    body = fixture_bytes("generic", "product_created.json")
    good = standard_headers(SECRET, "msg_multi", body)
    good["webhook-signature"] = "v1,Zm9yZ2VkIHNpZ25hdHVyZQ== " + good["webhook-signature"]
    response = client.post(f"/webhooks/generic/{connector.key}", data=body, headers=good)
    assert response.status_code == 200


def test_a_replay_is_stored_once(client, connector):
    assert post(client, connector, "order_created.json", msg_id="msg_same").status_code == 200
    assert post(client, connector, "order_created.json", msg_id="msg_same").get_json()["status"] == "duplicate"
    assert count(WebhookDelivery) == 1


def test_malformed_json_is_400(client, connector):
    assert post(client, connector, "x", body=b'{"type": "order.created", "data": {').status_code == 400
    assert count(WebhookDelivery) == 0


def test_an_invalid_order_shape_is_400(client, connector):
    body = b'{"type": "order.created", "data": {"id": "o1", "currency": "euro", "total": "NaN"}}'
    response = post(client, connector, "x", body=body)
    assert response.status_code == 400 and count(WebhookDelivery) == 0


def test_nan_as_a_json_constant_is_400(client, connector):
    body = b'{"type": "product.created", "data": {"id": "p1", "title": "x", "price": NaN}}'
    assert post(client, connector, "x", body=body).status_code == 400


def test_unknown_type_is_202(client, connector):
    assert post(client, connector, "x", body=b'{"type": "cart.abandoned", "data": {}}').status_code == 202


def test_a_type_with_a_lone_surrogate_is_400(client, connector):
    body = b'{"type": "order.\\ud800", "data": {"id": "o1"}}'
    assert post(client, connector, "x", body=body).status_code == 400
    assert count(WebhookDelivery) == 0
