"""Shopify's mandatory compliance webhooks, one test per payload (tests/fixtures/shopify/
customers_redact.json, customers_data_request.json, shop_redact.json), signed and posted for real:
what is erased, what admins see, and what stays; then forged, replayed and unknown requests."""
import json
import logging
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from connectors.base import CustomerRecord, OrderRecord
from helpdesk.actions.commerce import connect_store, create_webhook_subscription, upsert_order
from helpdesk.actions.privacy import DATA_REQUESTS, MAX_DATA_REQUESTS
from helpdesk.extensions import db
from helpdesk.models import (
    CommerceCustomer,
    Contact,
    ContactIdentity,
    Order,
    OutboxItem,
    Store,
    StoreConnector,
    Ticket,
    WebhookDelivery,
)
from helpdesk.models.people import ERASED
from inbox import queries
from tests.api.conftest import login
from tests.connectors.commerce import count, fixture_bytes, hmac_b64
from tests.connectors.shopify.test_webhooks import SECRET, post
from tests.factories import make_agent, make_contact, make_ticket

PHRASE = "wibbleflux teapot"  # only John ever wrote it


def _order(store, platform_id, email, customer_id=None, url=None):
    customer = CustomerRecord(platform_id=customer_id, email=email, name="John Doe") if customer_id else None
    order = upsert_order(store, "shopify", OrderRecord(
        platform_id=platform_id, number=f"#{platform_id}", currency="USD", total=Decimal("42.00"),
        placed_at=datetime(2024, 3, 1, tzinfo=timezone.utc), email=email, customer=customer, url=url))
    db.session.commit()
    return order


@pytest.fixture
def john(client, store, connector):
    """John as the helpdesk knows him: one contact linked to his Shopify customer id (191167)
    under his work address, chatting; another from his own mail (john@example.com, the address
    Shopify names), with an email ticket; an order of his with its status link; and Olek, who
    has nothing to do with it but uses the same odd word."""
    linked = make_contact(store, email="johnny@work.example", name="John Doe", platform="shopify",
                          platform_id="191167")
    chat = make_ticket(store, linked, "chat", f"The {PHRASE} arrived cracked, see photo")
    mailed = make_contact(store, email="john@example.com", name="John D.")
    email = make_ticket(store, mailed, "email", f"About my {PHRASE} again")
    order = _order(store, "299938", "john@example.com", customer_id="191167",
                   url="https://jsmith.myshopify.com/4207896/orders/73fd/authenticate?key=753621327b9e")
    olek = make_contact(store, email="olek@example.com", name="Olek Nowak")
    olek_ticket = make_ticket(store, olek, "chat", "Is the wibbleflux lid sold separately?")
    olek_order = _order(store, "555001", "olek@example.com")
    # A delivery already processed whose raw body names John (his customers/update).
    body = json.dumps({"id": 191167, "email": "john@example.com", "first_name": "John", "last_name": "Doe",
                       "updated_at": "2024-03-02T08:00:00-05:00"}).encode()
    assert post(client, connector, "x", "customers/update", body=body, webhook_id="john-update").status_code == 200
    db.session.expire_all()
    return SimpleNamespace(linked=linked.id, mailed=mailed.id, chat=chat.id, email=email.id, order=order.id,
                           olek=olek.id, olek_ticket=olek_ticket.id, olek_order=olek_order.id)


def search(q):
    return [t.id for t in queries.search_tickets(select(Ticket), q, 25)]


def contact(contact_id):
    return db.session.get(Contact, contact_id)


# ---- customers/redact ----------------------------------------------------------------------

def test_customers_redact_erases_the_customer_by_id_and_email(client, connector, store, john, sent_events, caplog):
    assert set(search(PHRASE)) == {john.chat, john.email}
    caplog.set_level(logging.INFO)

    response = post(client, connector, "customers_redact.json", "customers/redact")

    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    db.session.expire_all()
    for contact_id in (john.linked, john.mailed):
        person = contact(contact_id)
        assert person.name == f"Erased customer #{contact_id}" and person.email is None
        assert person.erasure["by_agent_id"] is None  # the system, on the shop's request
    assert count(ContactIdentity, ContactIdentity.platform_id == "191167") == 0
    assert count(CommerceCustomer, CommerceCustomer.platform_id == "191167") == 0
    # Nothing John wrote can be found any more; Olek's word still can.
    assert search(PHRASE) == [] and search("teapot") == [] and search("wibbleflux") == [john.olek_ticket]
    assert db.session.get(Ticket, john.chat).subject in ("", ERASED)
    # His order stays for the accounts, without anything that leads to him; Olek's is untouched.
    order = db.session.get(Order, john.order)
    assert (order.total, order.email, order.url, order.customer_id) == (Decimal("42.0000"), None, None, None)
    assert db.session.get(Order, john.olek_order).email == "olek@example.com"
    assert (contact(john.olek).name, contact(john.olek).email) == ("Olek Nowak", "olek@example.com")
    # Neither this request's body nor the earlier one naming him is kept.
    bodies = dict(db.session.execute(select(WebhookDelivery.topic, WebhookDelivery.body)).all())
    assert bodies == {"customers/update": None, "customers/redact": None}
    redact = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.topic == "customers/redact"))
    assert redact.status == "processed"
    # Open inboxes drop what they show of him.
    assert {e["payload"]["contact"]["id"] for e in sent_events if e["event"] == "contact.erased"} == {
        john.linked, john.mailed}
    assert "john@example.com" not in caplog.text and any(
        r.getMessage() == "shop privacy request: customer erased" for r in caplog.records)


def test_customers_redact_tells_the_outgoing_webhooks_ids_only(client, connector, store, john):
    create_webhook_subscription(store, "http://127.0.0.1:9/hooks", ["contact"])
    post(client, connector, "customers_redact.json", "customers/redact")
    rows = db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "webhook")).all()
    assert sorted(r.payload["data"]["contact_id"] for r in rows) == sorted([john.linked, john.mailed])
    for row in rows:
        assert row.payload["type"] == "contact.erased"
        assert set(row.payload["data"]) == {"contact_id", "store_id", "erased_at"}
        assert "john" not in json.dumps(row.payload).lower()


def test_a_forged_customers_redact_is_401_and_erases_nothing(client, connector, john):
    response = post(client, connector, "customers_redact.json", "customers/redact", secret="not-the-secret")
    assert response.status_code == 401
    db.session.expire_all()
    assert contact(john.linked).name == "John Doe" and contact(john.mailed).email == "john@example.com"
    assert count(WebhookDelivery, WebhookDelivery.topic == "customers/redact") == 0
    assert set(search(PHRASE)) == {john.chat, john.email}


def test_a_replayed_customers_redact_is_a_200_no_op(client, connector, store, john, sent_events):
    def erasures():
        return len([e for e in sent_events if e["event"] == "contact.erased"
                    and e["room"] == f"store:{store.id}:agents"])

    first = post(client, connector, "customers_redact.json", "customers/redact", webhook_id="redact-1")
    again = post(client, connector, "customers_redact.json", "customers/redact", webhook_id="redact-1")
    assert (first.status_code, again.status_code) == (200, 200) and again.get_json()["status"] == "duplicate"
    assert erasures() == 2 and count(WebhookDelivery, WebhookDelivery.topic == "customers/redact") == 1
    # The same request under a new webhook id (Shopify sends it again) finds nobody left to erase.
    again = post(client, connector, "customers_redact.json", "customers/redact", webhook_id="redact-2")
    assert again.status_code == 200 and erasures() == 2


def test_an_unknown_customer_is_a_200_no_op_and_logged(client, connector, store, caplog):
    someone = make_contact(store, email="someone@example.com", name="Someone Else")
    make_ticket(store, someone, "chat", "Hello there")
    caplog.set_level(logging.INFO)
    response = post(client, connector, "customers_redact.json", "customers/redact")
    assert response.status_code == 200
    db.session.expire_all()
    assert contact(someone.id).name == "Someone Else"
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.body) == ("processed", None)
    assert any(r.getMessage() == "shop privacy request: no customer to erase" for r in caplog.records)


@pytest.mark.parametrize("body", [
    b'{"shop_id": 954889, "shop_domain": "jsmith.myshopify.com", "orders_to_redact": []}',
    b'{"shop_id": 954889, "customer": {"phone": "555-625-1199"}}',
    b'{"shop_id": 954889, "customer": {"id": 191167}, "orders_to_redact": "299938"}',
])
def test_a_customers_redact_without_a_customer_or_with_bad_orders_is_400(client, connector, body):
    response = post(client, connector, "x", "customers/redact", body=body)
    assert response.status_code == 400 and count(WebhookDelivery) == 0


# ---- customers/data_request ---------------------------------------------------------------------

def test_customers_data_request_reaches_the_admins_with_a_working_export(app, client, connector, store, john,
                                                                       sent_events):
    admin = make_agent("Ada Admin", role="admin")
    agent = make_agent("Abe Agent")

    response = post(client, connector, "customers_data_request.json", "customers/data_request")

    assert response.status_code == 200
    db.session.expire_all()
    entry, = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    assert entry["request_id"] == "9999" and entry["customer_platform_id"] == "191167"
    assert entry["contact_ids"] == [john.linked, john.mailed]
    assert entry["order_platform_ids"] == ["299938", "280263", "220458"]
    assert "john@example.com" not in json.dumps(entry) and "625-1199" not in json.dumps(entry)  # ids only
    assert db.session.scalar(select(WebhookDelivery.body).where(
        WebhookDelivery.topic == "customers/data_request")) is None
    # The admins' devices hear of it; agents do not.
    heard = [e for e in sent_events if e["event"] == "privacy.data_request"]
    assert [(e["room"], e["namespace"]) for e in heard] == [(f"agent:{admin.id}", "/inbox")]
    assert heard[0]["payload"]["store_id"] == store.id and heard[0]["payload"]["request"]["id"] == entry["id"]
    # Nothing was erased or changed.
    assert contact(john.linked).name == "John Doe"

    # The admin's store settings page lists it with each contact's export, which works.
    as_admin = app.test_client()
    login(as_admin, admin)
    page = as_admin.get(f"/inbox/settings/stores/{store.id}").get_data(as_text=True)
    assert 'id="data-requests"' in page and "9999" in page
    for contact_id in (john.linked, john.mailed):
        link = f"/api/v1/contacts/{contact_id}/export"
        assert f'href="{link}"' in page
        export = as_admin.get(link)
        assert export.status_code == 200 and export.get_json()["contact"]["id"] == contact_id
    assert as_admin.get(f"/api/v1/contacts/{john.mailed}/export").get_json()["contact"]["email"] == "john@example.com"

    # An agent gets neither the page nor the export. (Another app context: flask-login caches
    # the signed-in agent on the test's own.)
    with app.app_context():
        as_agent = app.test_client()
        login(as_agent, agent)
        assert as_agent.get(f"/inbox/settings/stores/{store.id}").status_code == 403
        assert as_agent.get(f"/api/v1/contacts/{john.linked}/export").status_code == 403
        settings = as_agent.get(f"/api/v1/stores/{store.id}/settings").get_json()
        assert DATA_REQUESTS not in settings and "9999" not in json.dumps(settings)

    # Answered, it leaves the waiting list and is listed as answered, by whom, without the
    # customer's platform id and order ids.
    token = as_admin.get(f"/inbox/settings/stores/{store.id}").get_data(as_text=True)
    csrf = token.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = as_admin.post(f"/inbox/settings/stores/{store.id}/data-requests/done",
                         data={"csrf_token": csrf, "request": entry["id"]})
    assert done.status_code == 302
    db.session.expire_all()
    answered, = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    assert answered["answered"]["how"] == "marked" and answered["answered"]["by_agent_id"] == admin.id
    assert "customer_platform_id" not in answered and "order_platform_ids" not in answered
    page = as_admin.get(f"/inbox/settings/stores/{store.id}").get_data(as_text=True)
    assert 'id="data-requests-waiting"' not in page and 'id="data-requests-answered"' in page
    assert "Marked as answered by Ada Admin" in page


def test_a_data_request_sent_again_is_recorded_once(client, connector, store, john):
    post(client, connector, "customers_data_request.json", "customers/data_request", webhook_id="dr-1")
    assert post(client, connector, "customers_data_request.json", "customers/data_request",
                webhook_id="dr-1").get_json()["status"] == "duplicate"
    # Shopify may send the same request under a new webhook id.
    post(client, connector, "customers_data_request.json", "customers/data_request", webhook_id="dr-2")
    db.session.expire_all()
    assert len(db.session.get(Store, store.id).settings[DATA_REQUESTS]) == 1


def test_a_data_request_for_an_unknown_customer_says_the_helpdesk_holds_nothing(app, client, connector, store):
    admin = make_agent("Ada Admin", role="admin")
    post(client, connector, "customers_data_request.json", "customers/data_request")
    db.session.expire_all()
    assert db.session.get(Store, store.id).settings[DATA_REQUESTS][0]["contact_ids"] == []
    as_admin = app.test_client()
    login(as_admin, admin)
    page = as_admin.get(f"/inbox/settings/stores/{store.id}").get_data(as_text=True)
    assert "holds no data about them" in page


def test_waiting_data_requests_are_capped(client, connector, store):
    body = json.loads(fixture_bytes("shopify", "customers_data_request.json"))
    for n in range(MAX_DATA_REQUESTS + 2):
        body["data_request"]["id"] = 10000 + n
        post(client, connector, "x", "customers/data_request", body=json.dumps(body).encode(), webhook_id=f"dr-{n}")
    db.session.expire_all()
    kept = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    assert len(kept) == MAX_DATA_REQUESTS and kept[0]["request_id"] == str(10000 + MAX_DATA_REQUESTS + 1)
    assert "10000" not in {e["request_id"] for e in kept}


def test_customers_redact_answers_that_customers_waiting_data_request(client, connector, store, john):
    post(client, connector, "customers_data_request.json", "customers/data_request")
    post(client, connector, "customers_redact.json", "customers/redact")
    db.session.expire_all()
    entry, = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    # Nothing left to send: answered by the erasure, on the shop's request (nobody's), and the
    # record of it no longer names the customer by their Shopify id.
    assert entry["answered"]["how"] == "erased" and entry["answered"]["by_agent_id"] is None
    assert entry["contact_ids"] == [john.linked, john.mailed] and "customer_platform_id" not in entry


def test_customers_redact_answers_a_data_request_that_matched_nobody(client, connector, store):
    post(client, connector, "customers_data_request.json", "customers/data_request")
    post(client, connector, "customers_redact.json", "customers/redact")
    db.session.expire_all()
    entry, = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    assert entry["contact_ids"] == [] and entry["answered"]["how"] == "erased"


def test_a_redact_for_somebody_else_leaves_a_data_request_waiting(client, connector, store, john):
    post(client, connector, "customers_data_request.json", "customers/data_request")
    body = json.loads(fixture_bytes("shopify", "customers_redact.json"))
    body["customer"] = {"id": 555777, "email": "olek@example.com"}
    body["orders_to_redact"] = []
    assert post(client, connector, "x", "customers/redact", body=json.dumps(body).encode()).status_code == 200
    db.session.expire_all()
    assert contact(john.olek).erasure is not None
    entry, = db.session.get(Store, store.id).settings[DATA_REQUESTS]
    assert "answered" not in entry and entry["customer_platform_id"] == "191167"


# ---- shop/redact ------------------------------------------------------------------------------

@pytest.fixture
def shop(client, store, connector):
    """The store's own email and chat customers, a customer who wrote to the store and also
    bought in the Shopify shop, and one the shop alone knows."""
    emailer = make_contact(store, email="erin@example.com", name="Erin Mail")
    make_ticket(store, emailer, "email", "Do you ship to Norway?")
    chatter = make_contact(store, email="hal@example.com", name="Hal Chat")
    make_ticket(store, chatter, "chat", "Any discount codes?")
    both = make_contact(store, email="bob.norman@example.com", name="Bob from chat")
    make_ticket(store, both, "chat", "Where is my parcel?")
    # Bob's order links him to the Shopify customer 706405506930370084; Ella is Shopify's alone.
    assert post(client, connector, "orders_create.json", "orders/create").status_code == 200
    assert post(client, connector, "customers_create.json", "customers/create").status_code == 200
    db.session.expire_all()
    ella = db.session.scalar(select(Contact).where(Contact.email == "ella.gomez@example.com"))
    return SimpleNamespace(emailer=emailer.id, chatter=chatter.id, both=both.id, ella=ella.id)


def test_shop_redact_erases_the_shops_customers_and_leaves_the_stores_own(client, connector, store, shop):
    order_id = db.session.scalar(select(Order.id))
    response = post(client, connector, "shop_redact.json", "shop/redact")
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    db.session.expire_all()

    # Known to the shop alone: erased.
    assert contact(shop.ella).erasure is not None and contact(shop.ella).email is None
    # The store's own email and chat customers: untouched, words included.
    for contact_id, name, email in ((shop.emailer, "Erin Mail", "erin@example.com"),
                                    (shop.chatter, "Hal Chat", "hal@example.com")):
        person = contact(contact_id)
        assert (person.name, person.email, person.erasure) == (name, email, None)
    assert search("Norway") and search("discount codes")
    # Wrote to the store and bought in the shop: keeps the conversation, loses the shop's data.
    bob = contact(shop.both)
    assert (bob.name, bob.email, bob.erasure) == ("Bob from chat", "bob.norman@example.com", None)
    assert "shopify" not in bob.platform_ids and search("parcel")
    assert count(ContactIdentity, ContactIdentity.platform == "shopify") == 0
    assert count(CommerceCustomer) == 0
    # The shop's order stays as an anonymous accounting row.
    order = db.session.get(Order, order_id)
    assert (order.total, order.email, order.url, order.contact_id, order.customer_id) == (
        Decimal("388.0000"), None, None, None, None)
    # The connector is disconnected, and no raw body of the shop is kept.
    disconnected = db.session.get(StoreConnector, connector.id)
    assert (disconnected.active, disconnected.secret, disconnected.previous_secret) == (False, "", None)
    assert db.session.scalars(select(WebhookDelivery.body)).all() == [None, None, None]
    item = db.session.scalar(select(OutboxItem).where(OutboxItem.kind == "shop_redaction"))
    assert item.status == "sent" and item.payload["connector_id"] == connector.id


def test_a_forged_shop_redact_is_401_and_changes_nothing(client, connector, store, shop):
    assert post(client, connector, "shop_redact.json", "shop/redact", secret="nope").status_code == 401
    db.session.expire_all()
    assert contact(shop.ella).erasure is None and db.session.get(StoreConnector, connector.id).active
    assert count(OutboxItem, OutboxItem.kind == "shop_redaction") == 0


def test_after_shop_redact_a_replay_is_refused_and_changes_nothing(client, connector, store, shop):
    key = connector.key
    post(client, connector, "shop_redact.json", "shop/redact", webhook_id="shop-1")
    db.session.expire_all()
    body = fixture_bytes("shopify", "shop_redact.json")
    again = client.post(f"/webhooks/shopify/{key}", data=body, headers={
        "X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body), "X-Shopify-Topic": "shop/redact",
        "X-Shopify-Webhook-Id": "shop-1"})
    # Nothing is accepted from a disconnected shop any more: its secret is gone.
    assert again.status_code == 404
    assert count(OutboxItem, OutboxItem.kind == "shop_redaction") == 1
    assert count(WebhookDelivery, WebhookDelivery.topic == "shop/redact") == 1


def test_the_shop_connects_again_with_a_new_secret(client, connector, store, shop):
    post(client, connector, "shop_redact.json", "shop/redact")
    again = connect_store(store, "shopify", active=True)
    assert again.id == connector.id and again.active and len(again.secret) == 64
    assert post(client, again, "products_create.json", "products/create", secret=again.secret).status_code == 200
    assert post(client, again, "products_create.json", "products/create", webhook_id="old").status_code == 401
