"""Outgoing webhooks against a real HTTP server on loopback: signed per Standard Webhooks,
only the subscribed topics, never internal notes, retried with backoff, logged for admins,
and a 410 disables the subscription."""
import base64
import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from connectors.base import OrderRecord
from helpdesk.actions import action
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import create_webhook_subscription, upsert_order
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.actions.visitors import rate_ticket
from helpdesk.extensions import db
from helpdesk.models import OutboxItem, WebhookAttempt, WebhookSubscription, utcnow
from tests.api.conftest import Api
from tests.factories import make_agent, make_contact, make_store, make_token, make_visitor


def subscribe(store, receiver, topics):
    return create_webhook_subscription(store, receiver.url + "/hooks/helpdesk", topics)


def received(receiver):
    return [r for r in receiver.requests if r["method"] == "POST"]


def body_types(receiver):
    return [json.loads(r["body"])["type"] for r in received(receiver)]


def test_events_are_signed_per_standard_webhooks(store, receiver):
    subscription = subscribe(store, receiver, ["ticket", "message"])
    contact = make_contact(store, email="dana@example.test")
    message, _ = receive_customer_message(store, contact, "chat", "Is the linen shirt in stock?")
    assert body_types(receiver) == ["ticket.created", "message.created", "ticket.updated"]
    for request in received(receiver):
        headers, body = request["headers"], request["body"]
        assert headers["content-type"] == "application/json"
        assert headers["webhook-id"].startswith("msg_")
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        key = base64.b64decode(subscription.secret.removeprefix("whsec_"))
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert headers["webhook-signature"] == expected
    event = json.loads(received(receiver)[1]["body"])
    assert event["data"]["message"]["body_text"] == "Is the linen shirt in stock?"
    assert event["data"]["message"]["ticket_id"] == message.ticket_id
    assert "meta" not in event["data"]["message"]  # the public shape, as the shopper sees it
    attempts = db.session.scalars(select(WebhookAttempt)).all()
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 200)] * 3


def test_only_subscribed_topics_and_never_notes(store, receiver):
    subscribe(store, receiver, ["message"])
    contact = make_contact(store)
    message, _ = receive_customer_message(store, contact, "chat", "Hello")
    agent = make_agent()
    add_note(message.ticket, agent, "Internal: she is a VIP")
    reply(message.ticket, agent, "Hi! How can I help?")
    assert body_types(receiver) == ["message.created", "message.created"]
    texts = [json.loads(r["body"])["data"]["message"]["body_text"] for r in received(receiver)]
    assert texts == ["Hello", "Hi! How can I help?"]


def test_another_stores_events_are_not_sent(store, receiver):
    subscribe(store, receiver, ["ticket", "message"])
    other = make_store("Other shop")
    receive_customer_message(other, make_contact(other), "chat", "Hello")
    assert received(receiver) == []


def test_a_rating_is_sent_to_rating_subscribers(store, receiver):
    subscribe(store, receiver, ["rating"])
    contact = make_contact(store)
    visitor = make_visitor(store, contact)
    message, _ = receive_customer_message(store, contact, "chat", "Hello", visitor=visitor)
    rate_ticket(visitor, message.ticket, 5)
    assert body_types(receiver) == ["ticket.rated"]
    assert json.loads(received(receiver)[0]["body"])["data"]["ticket"]["rating"] == 5


@action
def put_order(store, record):
    order = upsert_order(store, "shopify", record)
    attribute_order(order)
    return order


def test_an_attribution_is_sent_to_attribution_subscribers(store, receiver):
    subscribe(store, receiver, ["attribution"])
    contact = make_contact(store, email="dana@example.test")
    message, _ = receive_customer_message(store, contact, "chat", "Hello")
    agent = make_agent()
    reply(message.ticket, agent, "Hi!")
    put_order(store, OrderRecord(platform_id="5001", number="#5001", currency="USD", total=Decimal("59.90"),
                                 placed_at=utcnow() + timedelta(minutes=5), email="dana@example.test"))
    assert body_types(receiver) == ["attribution.created"]
    data = json.loads(received(receiver)[0]["body"])["data"]["attribution"]
    assert (data["agent_id"], data["amount"], data["currency"], data["order_number"]) == (agent.id, "59.90", "USD", "#5001")


def test_a_failing_receiver_is_retried_with_backoff_and_logged(store, receiver):
    receiver.post_status = [500, 200]
    subscribe(store, receiver, ["ticket"])
    ticket = receive_customer_message(store, make_contact(store), "chat", "Hello")[0].ticket
    assert body_types(receiver) == ["ticket.created", "ticket.updated"]
    rows = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("sent", 1)]
    assert rows[0].next_attempt_at > utcnow() + timedelta(seconds=20)
    # The backoff has passed: the sweep sends it again, with the same webhook-id.
    rows[0].next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    from workers import outbox

    outbox.sweep()
    db.session.expire_all()
    assert db.session.get(OutboxItem, rows[0].id).status == "sent"
    ids = [r["headers"]["webhook-id"] for r in received(receiver)]
    assert ids[0] == ids[2] and ids[0] != ids[1]
    log = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [(a.status_code, a.ok) for a in log] == [(500, False), (200, True), (200, True)]
    assert log[0].error == "answered 500" and ticket.id


def test_a_410_disables_the_subscription(store, receiver):
    receiver.post_status = [410]
    subscription = subscribe(store, receiver, ["ticket"])
    contact = make_contact(store)
    receive_customer_message(store, contact, "chat", "Hello")
    db.session.expire_all()
    subscription = db.session.get(WebhookSubscription, subscription.id)
    assert subscription.active is False and "410" in subscription.disabled_reason
    statuses = [r.status for r in db.session.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    # The first answer 410 disables it; the row queued in the same transaction is not sent.
    assert statuses == ["dead", "dead"]
    assert len(received(receiver)) == 1
    receive_customer_message(store, contact, "chat", "Anyone there?")
    assert len(received(receiver)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(OutboxItem)) == 2


def test_the_delivery_log_is_for_admins(app, store, receiver):
    subscription = subscribe(store, receiver, ["ticket"])
    receive_customer_message(store, make_contact(store), "chat", "Hello")
    admin = Api(app.test_client(), make_token(make_agent(role="admin")))
    response = admin.get(f"/webhook-subscriptions/{subscription.id}/attempts")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["event_type"], i["status_code"], i["ok"]) for i in items] == [
        ("ticket.updated", 200, True), ("ticket.created", 200, True)]
    agent = Api(app.test_client(), make_token(make_agent()))
    assert agent.get(f"/webhook-subscriptions/{subscription.id}/attempts").status_code == 403
    assert agent.get("/webhook-subscriptions").status_code == 403


def test_admins_manage_subscriptions_through_the_api(app, store, receiver):
    admin = Api(app.test_client(), make_token(make_agent(role="admin")))
    created = admin.post("/webhook-subscriptions", {"store_id": store.id, "url": receiver.url + "/h",
                                                    "topics": ["ticket", "attribution"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["topics"] == ["attribution", "ticket"]
    listed = admin.get("/webhook-subscriptions", query={"store": store.id}).get_json()["items"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    assert admin.post("/webhook-subscriptions", {"store_id": store.id, "url": "ftp://x", "topics": ["ticket"]}
                      ).status_code == 422
    assert admin.post("/webhook-subscriptions", {"store_id": store.id, "url": receiver.url, "topics": ["orders"]}
                      ).status_code == 422
    patched = admin.patch(f"/webhook-subscriptions/{body['id']}", {"active": False})
    assert patched.get_json()["active"] is False
    assert admin.patch(f"/webhook-subscriptions/{body['id']}", {"active": True}).get_json()["disabled_reason"] is None
    assert admin.delete(f"/webhook-subscriptions/{body['id']}").status_code == 204
    assert admin.get("/webhook-subscriptions").get_json()["items"] == []
