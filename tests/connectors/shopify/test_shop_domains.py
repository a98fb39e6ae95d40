"""Shopify deliveries routed by shop domain: ``POST /webhooks/shopify`` (the one URL of an app
installed in several shops) finds the store by ``X-Shopify-Shop-Domain`` and checks the
signature with that store's connector; the connector's own URL learns its shop and refuses
another shop's deliveries. Real header shapes, real payloads (tests/fixtures/shopify/)."""
import logging

import pytest
from sqlalchemy import select

from connectors.shopify import UNKNOWN_OR_FORGED
from connectors.shopify.shops import SHOP_DOMAIN, connect_shopify, recorded_shop_domain
from helpdesk.actions.commerce import connect_store
from helpdesk.extensions import db
from helpdesk.models import CommerceCustomer, Order, Store, StoreConnector, WebhookDelivery
from tests.connectors.commerce import count, fixture_bytes, hmac_b64
from tests.connectors.shopify.conftest import SECRET
from tests.factories import make_store

SHOP = "jsmith.myshopify.com"
#: The client secret of an app installed in several shops: every shop's deliveries carry it.
APP_SECRET = "shpss_0c9a1e5d7b3f4a2e8d6c"


def headers(topic, domain, body, *, secret, webhook_id, signature=None):
    """What Shopify sends with every webhook (Shopify's "Deliver webhooks through HTTPS")."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2024-03-14T21:25:43.514Z",
    }
    if domain is not None:
        sent["X-Shopify-Shop-Domain"] = domain
    if signature is not False:
        sent["X-Shopify-Hmac-Sha256"] = signature or hmac_b64(secret, body)
    return sent


def deliver(client, name, topic, *, domain=SHOP, secret=SECRET, webhook_id=None, body=None, signature=None,
            key=None):
    """POST a fixture the way Shopify does: to the app URL, or with ``key`` to a connector's own."""
    body = fixture_bytes("shopify", name) if body is None else body
    webhook_id = webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043-{name}"
    url = "/webhooks/shopify" if key is None else f"/webhooks/shopify/{key}"
    return client.post(url, data=body, headers=headers(topic, domain, body, secret=secret, webhook_id=webhook_id,
                                                       signature=signature))


def shop_connector(name, domain, secret=SECRET):
    return connect_shopify(make_store(name), secret=secret, shop_domain=domain)


@pytest.fixture
def connector():
    return shop_connector("Jsmith Shop", SHOP)


def nothing_stored():
    return count(WebhookDelivery) == 0 and count(Order) == 0 and count(CommerceCustomer) == 0


# ---- the app URL ----------------------------------------------------------------------------

def test_a_signed_delivery_reaches_the_store_of_its_shop(client, connector):
    response = deliver(client, "orders_create.json", "orders/create")
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert (order.store_id, order.number) == (connector.store_id, "#9999")
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.connector_id, delivery.topic, delivery.status) == (connector.id, "orders/create", "processed")


def test_two_shops_of_one_app_reach_their_own_stores(client):
    """One app, one secret, one URL: the header alone tells the stores apart."""
    jsmith = shop_connector("Jsmith Shop", SHOP, APP_SECRET)
    other = shop_connector("Teapots", "teapots-direct.myshopify.com", APP_SECRET)
    assert deliver(client, "orders_create.json", "orders/create", secret=APP_SECRET).status_code == 200
    assert deliver(client, "customers_create.json", "customers/create", domain="teapots-direct.myshopify.com",
                   secret=APP_SECRET).status_code == 200
    # Shopify's ids are its own: the same webhook id from two shops is two deliveries.
    for domain in (SHOP, "teapots-direct.myshopify.com"):
        assert deliver(client, "products_create.json", "products/create", domain=domain, secret=APP_SECRET,
                       webhook_id="same-id").get_json()["status"] == "accepted"
    db.session.expire_all()
    assert [o.store_id for o in db.session.scalars(select(Order))] == [jsmith.store_id]
    assert sorted((c.store_id, c.email) for c in db.session.scalars(select(CommerceCustomer))) == [
        (jsmith.store_id, "bob.norman@example.com"), (other.store_id, "ella.gomez@example.com")]
    assert sorted((d.connector_id, d.topic) for d in db.session.scalars(select(WebhookDelivery))) == [
        (jsmith.id, "orders/create"), (jsmith.id, "products/create"),
        (other.id, "customers/create"), (other.id, "products/create")]


def test_each_shop_is_checked_against_its_own_stores_secret(client):
    shop_connector("Jsmith Shop", SHOP, SECRET)
    shop_connector("Teapots", "teapots-direct.myshopify.com", "shpss_teapots_secret")
    # Signed, but with the other store's secret: refused like any forgery.
    response = deliver(client, "orders_create.json", "orders/create", domain="teapots-direct.myshopify.com")
    assert response.status_code == 401 and nothing_stored()
    assert deliver(client, "orders_create.json", "orders/create", domain="teapots-direct.myshopify.com",
                   secret="shpss_teapots_secret").status_code == 200


@pytest.mark.parametrize("name, topic", [
    ("customers_data_request.json", "customers/data_request"),
    ("customers_redact.json", "customers/redact"),
    ("shop_redact.json", "shop/redact"),
])
def test_the_compliance_webhooks_come_through_the_app_url(client, connector, name, topic):
    """The app's settings name one compliance URL for every shop: this one."""
    response = deliver(client, name, topic)
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    db.session.expire_all()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.connector_id, delivery.topic, delivery.status) == (connector.id, topic, "processed")


def test_after_shop_redact_the_shop_is_unknown(client, connector):
    assert deliver(client, "shop_redact.json", "shop/redact").status_code == 200
    again = deliver(client, "products_create.json", "products/create")
    assert again.status_code == 401 and again.get_json()["message"] == UNKNOWN_OR_FORGED
    assert count(WebhookDelivery) == 1


def test_a_replay_is_200_and_nothing_is_done_again(client, connector):
    first = deliver(client, "orders_create.json", "orders/create", webhook_id="same-id")
    again = deliver(client, "orders_create.json", "orders/create", webhook_id="same-id")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == {"status": "duplicate", "delivery": first.get_json()["delivery"]}
    assert count(WebhookDelivery) == 1 and count(Order) == 1


def test_the_header_is_read_in_any_case(client, connector):
    assert deliver(client, "products_create.json", "products/create", domain=" JSmith.MyShopify.com").status_code == 200


# ---- refusals: nothing stored, and nothing told about which shops are known ------------------

def test_forged_unknown_and_disconnected_shops_get_the_same_answer(client, connector):
    forged = deliver(client, "orders_create.json", "orders/create", secret="not-the-secret")
    unknown = deliver(client, "orders_create.json", "orders/create", domain="someone-else.myshopify.com")
    connect_store(db.session.get(Store, connector.store_id), "shopify", active=False)
    inactive = deliver(client, "orders_create.json", "orders/create")
    answers = [(r.status_code, r.get_json()) for r in (forged, unknown, inactive)]
    assert answers == [(401, {"status": "refused", "message": UNKNOWN_OR_FORGED})] * 3
    assert nothing_stored()


def test_a_body_changed_after_signing_is_401(client, connector):
    body = fixture_bytes("shopify", "orders_create.json")
    tampered = body.replace(b'"total_price": "388.00"', b'"total_price": "3.88"')
    response = deliver(client, "x", "orders/create", body=tampered, signature=hmac_b64(SECRET, body))
    assert response.status_code == 401 and nothing_stored()


@pytest.mark.parametrize("domain", [None, "", "jsmith.example.com", "jsmith.myshopify.com.evil.test",
                                    "https://jsmith.myshopify.com/admin"])
def test_a_missing_or_invalid_shop_domain_is_401(client, connector, domain):
    response = deliver(client, "orders_create.json", "orders/create", domain=domain)
    assert response.status_code == 401
    assert response.get_json()["message"] == "Missing or invalid X-Shopify-Shop-Domain header."
    assert nothing_stored()


def test_a_missing_signature_is_401(client, connector):
    response = deliver(client, "orders_create.json", "orders/create", signature=False)
    assert (response.status_code, response.get_json()["message"]) == (401, "Missing signature.")
    assert nothing_stored()


def test_a_shop_two_stores_claim_is_refused_not_guessed(client, connector, caplog):
    """Writers keep one active connector per shop; should a race still leave two, neither
    store gets the delivery."""
    other = make_store("Copycat")
    connect_store(other, "shopify", secret=SECRET)
    other.settings = {**other.settings, SHOP_DOMAIN: SHOP}
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="connectors.shopify.shops"):
        response = deliver(client, "orders_create.json", "orders/create")
    assert response.status_code == 401 and nothing_stored()
    assert "several active connectors" in caplog.text


def test_other_platforms_have_no_app_url(client):
    assert client.post("/webhooks/woocommerce", data=b"{}").status_code == 404
    assert client.post("/webhooks/magento", data=b"{}").status_code == 404


def test_refusals_are_rate_limited_per_address_and_signed_deliveries_are_not(client, connector):
    # Shopify sends every shop's deliveries from a few addresses: they never count.
    for n in range(35):
        response = deliver(client, "products_delete.json", "products/delete", webhook_id=f"ok-{n}")
        assert response.status_code == 200, n
    for n in range(30):
        guess = deliver(client, "orders_create.json", "orders/create", secret="guess", webhook_id=f"g-{n}")
        assert guess.status_code == 401, n
    limited = deliver(client, "orders_create.json", "orders/create", webhook_id="after")
    assert limited.status_code == 429 and limited.is_json
    assert count(Order) == 0


def test_guessing_connector_keys_or_signatures_on_the_own_url_is_rate_limited_too(client, connector):
    for n in range(35):
        response = deliver(client, "products_delete.json", "products/delete", webhook_id=f"ok-{n}", key=connector.key)
        assert response.status_code == 200, n
    for n in range(15):
        assert deliver(client, "orders_create.json", "orders/create", key=f"guess{n}").status_code == 404, n
        forged = deliver(client, "orders_create.json", "orders/create", key=connector.key, secret="guess",
                         webhook_id=f"g-{n}")
        assert forged.status_code == 401, n
    limited = deliver(client, "orders_create.json", "orders/create", key=connector.key, webhook_id="after")
    assert limited.status_code == 429 and limited.is_json
    assert count(Order) == 0


# ---- the connector's own URL ----------------------------------------------------------------

def test_the_first_signed_delivery_to_the_connectors_url_teaches_its_shop(client):
    store = make_store("Jsmith Shop")
    connector = connect_store(store, "shopify", secret=SECRET)
    # A forged one teaches nothing.
    assert deliver(client, "orders_create.json", "orders/create", key=connector.key, secret="nope").status_code == 401
    assert recorded_shop_domain(db.session.get(Store, store.id)) is None
    assert deliver(client, "orders_create.json", "orders/create", key=connector.key,
                   domain="JSmith.myshopify.com").status_code == 200
    db.session.expire_all()
    assert recorded_shop_domain(db.session.get(Store, store.id)) == SHOP
    # From now on the app URL finds the store, and a replay of the same delivery there is one.
    again = deliver(client, "orders_create.json", "orders/create")
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert deliver(client, "customers_create.json", "customers/create").get_json()["status"] == "accepted"
    assert count(WebhookDelivery) == 2 and count(Order) == 1
    assert count(CommerceCustomer, CommerceCustomer.store_id == store.id) == 2


def test_a_delivery_from_another_shop_to_the_connectors_url_is_refused(client, connector):
    response = deliver(client, "orders_create.json", "orders/create", key=connector.key,
                       domain="someone-else.myshopify.com")
    assert response.status_code == 403 and response.get_json()["status"] == "refused"
    assert nothing_stored()
    assert deliver(client, "orders_create.json", "orders/create", key=connector.key).status_code == 200


def test_a_shop_another_store_has_is_not_learned(client, connector):
    """An app secret shared by two shops, the second one's webhooks pointed at another store's
    own URL: that store must not get (nor claim) the first one's shop."""
    store = make_store("Copycat")
    copycat = connect_store(store, "shopify", secret=SECRET)
    response = deliver(client, "orders_create.json", "orders/create", key=copycat.key)
    assert response.status_code == 403 and nothing_stored()
    assert recorded_shop_domain(db.session.get(Store, store.id)) is None


def test_the_connectors_url_still_takes_deliveries_without_the_header(client, connector):
    assert deliver(client, "orders_create.json", "orders/create", key=connector.key, domain=None).status_code == 200
    assert db.session.get(StoreConnector, connector.id).active and count(Order) == 1
