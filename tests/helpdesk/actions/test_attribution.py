"""Sales attribution: the window, the last agent, refunds, cancellations, edits, idempotency,
and the events it emits (the agent's devices, the store's agents)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.base import LineRecord, OrderRecord, RefundRecord
from helpdesk.actions import ActionError, action
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import record_refund, update_attribution_settings, upsert_order
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import Attribution, utcnow
from tests.factories import make_agent, make_contact, make_store


@action
def put_order(store, record):
    order = upsert_order(store, "generic", record)
    attribute_order(order)
    return order


@action
def put_refund(store, record):
    order = record_refund(store, "generic", record)
    attribute_order(order)
    return order


def order_record(contact, *, total="120.00", placed_in=timedelta(hours=2), currency="EUR", cancelled=False,
                 updated=None, platform_id="o-1"):
    return OrderRecord(platform_id=platform_id, number="#1001", currency=currency, total=Decimal(total),
                       placed_at=utcnow() + placed_in, email=contact.email, cancelled=cancelled,
                       updated_at=updated,
                       lines=[LineRecord(title="Linen shirt", quantity=1, unit_price=Decimal(total),
                                         total=Decimal(total))])


@pytest.fixture
def store():
    return make_store("Linen & Co")


@pytest.fixture
def shopper(store):
    return make_contact(store, email="dana@example.test")


@pytest.fixture
def chat(store, shopper):
    message, _ = receive_customer_message(store, shopper, "chat", "Does the shirt run small?")
    return message.ticket


def attribution():
    db.session.expire_all()
    return db.session.scalar(select(Attribution))


def test_an_order_after_a_chat_is_credited_to_the_last_agent_who_replied(store, shopper, chat, sent_events):
    first, last = make_agent("Ola"), make_agent("Sam")
    reply(chat, first, "It runs true to size.")
    reply(chat, last, "And it ships today.")
    add_note(chat, first, "I think she'll buy")  # notes are not interactions with the shopper
    sent_events.clear()
    order = put_order(store, order_record(shopper))
    credit = attribution()
    assert (credit.agent_id, credit.ticket_id, credit.order_id) == (last.id, chat.id, order.id)
    assert (credit.amount, credit.order_total, credit.currency, credit.status) == (
        Decimal("120.00"), Decimal("120.00"), "EUR", "credited")
    assert credit.rule == "last_agent"
    rooms = [(e["event"], e["room"]) for e in sent_events if e["event"].startswith("attribution")]
    assert rooms == [("attribution.created", f"agent:{last.id}"), ("attribution.created", f"store:{store.id}:agents")]
    payload = next(e["payload"] for e in sent_events if e["event"] == "attribution.created")
    assert payload["attribution"]["amount"] == "120.00" and payload["attribution"]["order_number"] == "#1001"


def test_no_chat_no_credit(store, shopper):
    receive_customer_message(store, shopper, "email", "Question by email")
    put_order(store, order_record(shopper))
    assert attribution() is None


def test_an_email_answer_is_not_a_chat(store, shopper):
    message, _ = receive_customer_message(store, shopper, "email", "Question by email")
    reply(message.ticket, make_agent(), "Answer by email")
    put_order(store, order_record(shopper))
    assert attribution() is None


def test_a_chat_without_an_agent_reply_credits_nobody(store, shopper, chat):
    put_order(store, order_record(shopper))
    assert attribution() is None


def test_an_order_placed_before_the_chat_is_not_credited(store, shopper, chat):
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper, placed_in=-timedelta(hours=1)))
    assert attribution() is None


def test_the_window_defaults_to_30_days(store, shopper, chat):
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper, placed_in=timedelta(days=31), platform_id="late"))
    assert attribution() is None
    put_order(store, order_record(shopper, placed_in=timedelta(days=29), platform_id="in-time"))
    assert attribution().order.platform_id == "in-time"


def test_the_window_is_a_store_setting(store, shopper, chat):
    update_attribution_settings(store, window_days=45)
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper, placed_in=timedelta(days=40)))
    assert attribution() is not None


@pytest.mark.parametrize("days", [0, 91, "30", True])
def test_the_window_is_1_to_90_days(store, days):
    with pytest.raises(ActionError):
        update_attribution_settings(store, window_days=days)


def test_the_first_agent_rule(store, shopper, chat):
    update_attribution_settings(store, rule="first_agent")
    first = make_agent("Ola")
    reply(chat, first, "Hello!")
    reply(chat, make_agent("Sam"), "Anything else?")
    put_order(store, order_record(shopper))
    assert attribution().agent_id == first.id and attribution().rule == "first_agent"


def test_attribution_can_be_switched_off(store, shopper, chat):
    update_attribution_settings(store, rule="off")
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper))
    assert attribution() is None


def test_a_refund_reduces_the_credit(store, shopper, chat):
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper))
    put_refund(store, RefundRecord(platform_id="r-1", order_platform_id="o-1", amount=Decimal("20.50"), currency="EUR"))
    credit = attribution()
    assert (credit.amount, credit.order_total, credit.status) == (Decimal("99.50"), Decimal("120.00"), "reduced")


def test_a_cancellation_reverses_the_credit(store, shopper, chat):
    reply(chat, make_agent(), "Hello!")
    put_order(store, order_record(shopper))
    put_order(store, order_record(shopper, cancelled=True, updated=utcnow()))
    credit = attribution()
    assert (credit.amount, credit.status) == (0, "reversed")


def test_an_edit_updates_the_credit(store, shopper, chat):
    agent = make_agent()
    reply(chat, agent, "Hello!")
    put_order(store, order_record(shopper))
    put_order(store, order_record(shopper, total="150.00", updated=utcnow()))
    credit = attribution()
    assert (credit.amount, credit.order_total, credit.status, credit.agent_id) == (
        Decimal("150.00"), Decimal("150.00"), "credited", agent.id)


def test_reprocessing_the_same_events_changes_nothing(store, shopper, chat, sent_events):
    agent = make_agent()
    reply(chat, agent, "Hello!")
    record = order_record(shopper, updated=utcnow())
    refund = RefundRecord(platform_id="r-1", order_platform_id="o-1", amount=Decimal("20"), currency="EUR")
    put_order(store, record)
    put_refund(store, refund)
    before = attribution()
    snapshot = (before.id, before.agent_id, before.amount, before.status, before.updated_at)
    sent_events.clear()
    for _ in range(2):
        put_order(store, record)
        put_refund(store, refund)
    after = attribution()
    assert (after.id, after.agent_id, after.amount, after.status, after.updated_at) == snapshot
    assert after.amount == Decimal("100")
    assert [e for e in sent_events if e["event"].startswith("attribution")] == []
    assert db.session.scalar(select(db.func.count()).select_from(Attribution)) == 1


def test_a_credited_order_keeps_its_agent_when_a_later_chat_happens(store, shopper, chat):
    first = make_agent("Ola")
    reply(chat, first, "Hello!")
    put_order(store, order_record(shopper))
    reply(chat, make_agent("Sam"), "Thanks for your order!")
    put_order(store, order_record(shopper, total="130.00", updated=utcnow()))
    assert attribution().agent_id == first.id
