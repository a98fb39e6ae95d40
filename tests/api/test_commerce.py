"""Commerce endpoints: a contact's orders for the context panel, connectors and attribution
settings (admins)."""
from decimal import Decimal

from connectors.base import LineRecord, OrderRecord
from helpdesk.actions import action
from helpdesk.actions.commerce import upsert_order
from helpdesk.models import utcnow
from tests.api.conftest import api_for
from tests.factories import make_agent, make_contact, make_store
from tests.sql import big_table_stats, query_plans, scans


@action
def put_order(store, platform_id, email, total="19.90"):
    return upsert_order(store, "shopify", OrderRecord(
        platform_id=platform_id, number=f"#{platform_id}", currency="EUR", total=Decimal(total), placed_at=utcnow(),
        email=email, lines=[LineRecord(title="Mug", quantity=2, unit_price=Decimal("9.95"), total=Decimal(total))]))


def test_a_contacts_orders_for_the_context_panel(app, api, store):
    contact = make_contact(store, email="dana@example.test")
    put_order(store, "1", "dana@example.test")
    put_order(store, "2", "dana@example.test", total="0.30")
    put_order(store, "3", "someone@example.test")
    response = api.get(f"/contacts/{contact.id}/orders")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [o["number"] for o in items] == ["#2", "#1"]
    assert (items[0]["total"], items[0]["net_total"], items[0]["currency"]) == ("0.30", "0.30", "EUR")
    assert items[1]["lines"] == [{"title": "Mug", "sku": None, "quantity": 2, "unit_price": "9.95", "total": "19.90",
                                  "product_id": None}]


def test_a_contacts_orders_are_found_by_index_with_the_contacts_merged_into_it(app, api, store):
    """The panel's orders take in merged contacts (id = :id OR merged_into_id = :id): both by
    index, not a scan of every contact for each ticket opened."""
    contact = make_contact(store, email="dana@example.test")
    put_order(store, "1", "dana@example.test")
    with big_table_stats(), query_plans() as plans:
        assert api.get(f"/contacts/{contact.id}/orders").status_code == 200
    assert not scans(plans, "contacts", "orders"), plans


def test_orders_of_another_stores_contact_are_not_found(app, store):
    other = make_store("Other")
    contact = make_contact(other)
    limited = make_agent(stores=[store])
    assert api_for(app, limited).get(f"/contacts/{contact.id}/orders").status_code == 404


def test_admins_connect_a_platform_and_rotate_its_secret(app, admin_api, api, store):
    created = admin_api.put(f"/stores/{store.id}/connectors/shopify", {"secret": "shpss_first_secret"})
    assert created.status_code == 200
    body = created.get_json()
    assert body["secret"] == "shpss_first_secret" and body["rotating"] is False
    assert body["webhook_url"].endswith(f"/webhooks/shopify/{body['key']}")
    rotated = admin_api.put(f"/stores/{store.id}/connectors/shopify", {"rotate": True, "secret": "shpss_second"})
    assert rotated.get_json()["rotating"] is True and rotated.get_json()["secret"] == "shpss_second"
    finished = admin_api.put(f"/stores/{store.id}/connectors/shopify", {"finish_rotation": True})
    assert finished.get_json()["rotating"] is False
    listed = admin_api.get(f"/stores/{store.id}/connectors").get_json()["items"]
    assert [c["platform"] for c in listed] == ["shopify"] and "secret" not in listed[0]
    generic = admin_api.put(f"/stores/{store.id}/connectors/generic", {}).get_json()
    assert generic["secret"].startswith("whsec_")
    assert admin_api.put(f"/stores/{store.id}/connectors/magento", {}).status_code == 404
    assert api.put(f"/stores/{store.id}/connectors/shopify", {}).status_code == 403
    assert api.get(f"/stores/{store.id}/connectors").status_code == 403


def test_bigcommerce_needs_its_api_credentials(app, admin_api, store):
    body = admin_api.put(f"/stores/{store.id}/connectors/bigcommerce", {
        "api_url": "https://api.bigcommerce.com/stores/7ab3c9d2e1", "api_token": "tok", "currency": "usd"}).get_json()
    assert (body["api_url"], body["has_api_token"], body["currency"]) == (
        "https://api.bigcommerce.com/stores/7ab3c9d2e1", True, "USD")
    assert "api_token" not in body


def test_attribution_settings(app, admin_api, api, store):
    assert api.get(f"/stores/{store.id}/attribution").get_json() == {
        "store_id": store.id, "attribution_window_days": 30, "attribution_rule": "last_agent"}
    changed = admin_api.patch(f"/stores/{store.id}/attribution",
                              {"attribution_window_days": 7, "attribution_rule": "first_agent"})
    assert changed.get_json()["attribution_window_days"] == 7 and changed.get_json()["attribution_rule"] == "first_agent"
    for bad in ({"attribution_window_days": 0}, {"attribution_window_days": 91}, {"attribution_rule": "random"}):
        assert admin_api.patch(f"/stores/{store.id}/attribution", bad).status_code == 422
    assert api.patch(f"/stores/{store.id}/attribution", {"attribution_window_days": 5}).status_code == 403
