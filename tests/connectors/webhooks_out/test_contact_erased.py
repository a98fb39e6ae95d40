"""Outgoing webhooks of ``contact.erased`` (topic ``contact``) against a real HTTP server on
loopback: ids and the time only, queued with the erasure itself, only to subscribers of that
topic."""
import json

import pytest
from sqlalchemy import select

from helpdesk.actions import Forbidden
from helpdesk.actions.commerce import create_webhook_subscription
from helpdesk.actions.contacts import erase_contact
from helpdesk.extensions import db
from helpdesk.models import Contact, OutboxItem
from tests.api.conftest import Api
from tests.connectors.commerce import count
from tests.factories import make_agent, make_contact, make_ticket, make_token


def received(receiver):
    return [json.loads(r["body"]) for r in receiver.requests if r["method"] == "POST"]


def test_an_erasure_sends_ids_and_time_only(store, receiver):
    create_webhook_subscription(store, receiver.url + "/hooks/helpdesk", ["contact"])
    dana = make_contact(store, email="dana@example.test", name="Dana Shopper", phone="+4915112345678")
    make_ticket(store, dana, "chat", "My address is 5 Rue X")
    admin = make_agent(role="admin")

    erase_contact(dana, by=admin)

    event, = received(receiver)
    erasure = db.session.get(Contact, dana.id).erasure
    assert event == {"type": "contact.erased", "timestamp": event["timestamp"],
                     "data": {"contact_id": dana.id, "store_id": store.id, "erased_at": erasure["at"]}}
    raw = json.dumps(event)
    assert "dana" not in raw.lower() and "5 Rue" not in raw and "4915112345678" not in raw


def test_only_subscribers_of_the_contact_topic_hear_of_it(store, receiver):
    create_webhook_subscription(store, receiver.url + "/hooks/helpdesk", ["ticket", "message", "rating"])
    dana = make_contact(store, email="dana@example.test")
    erase_contact(dana, by=None)
    assert received(receiver) == []


def test_a_refused_erasure_queues_nothing(store, receiver):
    create_webhook_subscription(store, receiver.url + "/hooks/helpdesk", ["contact"])
    dana = make_contact(store, email="dana@example.test")
    with pytest.raises(Forbidden):
        erase_contact(dana, by=make_agent())
    assert count(OutboxItem, OutboxItem.kind == "webhook") == 0 and received(receiver) == []


def test_the_api_subscribes_to_the_contact_topic(app, store, receiver):
    api = Api(app.test_client(), make_token(make_agent(role="admin")))
    response = api.post("/webhook-subscriptions", {"store_id": store.id, "url": receiver.url + "/hooks",
                                                   "topics": ["contact"]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["topics"] == ["contact"]
    dana = make_contact(store, email="dana@example.test")
    erase_contact(dana, by=None)
    assert [e["type"] for e in received(receiver)] == ["contact.erased"]
    assert db.session.scalar(select(OutboxItem.status).where(OutboxItem.kind == "webhook")) == "sent"
