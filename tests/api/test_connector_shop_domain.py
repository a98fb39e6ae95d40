"""The Shopify connector's shop domain through the connectors API (admins): set, normalised,
shown with the app URL, refused with field messages, one active connector per shop."""
import pytest

from helpdesk.extensions import db
from helpdesk.models import StoreConnector
from tests.factories import make_store


def put(admin_api, store, body, platform="shopify"):
    return admin_api.put(f"/stores/{store.id}/connectors/{platform}", body)


def test_admins_set_the_shop_domain_and_get_the_app_url(app, admin_api, store):
    response = put(admin_api, store, {"secret": "shpss_first_secret", "shop_domain": "https://JSmith.myshopify.com/"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["shop_domain"] == "jsmith.myshopify.com"
    assert body["app_webhook_url"].endswith("/webhooks/shopify")
    assert body["webhook_url"].endswith(f"/webhooks/shopify/{body['key']}")
    listed = admin_api.get(f"/stores/{store.id}/connectors").get_json()["items"]
    assert [(c["platform"], c["shop_domain"]) for c in listed] == [("shopify", "jsmith.myshopify.com")]
    # Other changes keep it; null forgets it.
    assert put(admin_api, store, {"currency": "eur"}).get_json()["shop_domain"] == "jsmith.myshopify.com"
    assert put(admin_api, store, {"shop_domain": None}).get_json()["shop_domain"] is None


def test_other_platforms_have_no_shop_domain(app, admin_api, store):
    body = put(admin_api, store, {}, platform="woocommerce").get_json()
    assert (body["shop_domain"], body["app_webhook_url"]) == (None, None)
    refused = put(admin_api, store, {"shop_domain": "jsmith.myshopify.com"}, platform="woocommerce")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"shop_domain": ["Only a Shopify connector has a shop domain."]}


@pytest.mark.parametrize("value, message", [
    ("jsmith.com", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("shop.jsmith.example", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("jsmith.myshopify.com.evil.test", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("-jsmith.myshopify.com", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("a.b.myshopify.com", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("jsmith.myshopify.com/admin", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("jsmith.myshopify.com:443", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    ("x" * 64 + ".myshopify.com", "Enter the shop's myshopify.com domain, like example.myshopify.com."),
    (42, "Not a valid string."),
])
def test_a_shop_domain_that_is_not_one_is_a_field_error(app, admin_api, store, value, message):
    response = put(admin_api, store, {"secret": "shpss_first_secret", "shop_domain": value})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"shop_domain": [message]}
    assert db.session.query(StoreConnector).count() == 0


def test_one_active_connector_per_shop_across_stores(app, admin_api, store):
    other = make_store("Copycat")
    assert put(admin_api, store, {"shop_domain": "jsmith.myshopify.com"}).status_code == 200
    before = put(admin_api, other, {"secret": "shpss_copycat"}).get_json()
    taken = put(admin_api, other, {"shop_domain": "JSMITH.myshopify.com", "rotate": True})
    assert taken.status_code == 409
    assert taken.get_json()["errors"] == {"shop_domain": ["Another store is connected to this Shopify shop."]}
    # Nothing of the refused request stayed: no rotation started, no domain.
    after = admin_api.get(f"/stores/{other.id}/connectors").get_json()["items"][0]
    assert (after["shop_domain"], after["rotating"]) == (None, False)
    assert db.session.get(StoreConnector, before["id"]).secret == "shpss_copycat"

    # A disconnected connector does not hold its shop; switched back on, it cannot take it back.
    assert put(admin_api, store, {"active": False}).status_code == 200
    assert put(admin_api, other, {"shop_domain": "jsmith.myshopify.com"}).status_code == 200
    back = put(admin_api, store, {"active": True})
    assert back.status_code == 409 and "shop_domain" in back.get_json()["errors"]
    assert admin_api.get(f"/stores/{store.id}/connectors").get_json()["items"][0]["active"] is False


def test_only_admins_set_it(app, api, store):
    assert api.put(f"/stores/{store.id}/connectors/shopify", {"shop_domain": "jsmith.myshopify.com"}).status_code == 403
