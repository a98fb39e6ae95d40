"""The shop redaction job (workers/privacy_jobs.py), started by a real signed ``shop/redact``:
outbox work done in batches, resumed where it stopped after a failure, handed on in slices,
and harmless when run again."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from helpdesk.actions.privacy import continue_shop_redaction
from helpdesk.extensions import db
from helpdesk.models import Contact, OutboxItem, StoreConnector, utcnow
from tests.connectors.commerce import count
from tests.connectors.shopify.conftest import connector, store  # noqa: F401 -- the shop's fixtures
from tests.connectors.shopify.test_webhooks import post
from tests.factories import make_contact, make_ticket
from workers import outbox, privacy_jobs

SHOP_CUSTOMERS = 5


@pytest.fixture
def customers(store, connector):
    """Five customers the Shopify shop alone knows, and one the store knows by email."""
    ids = [make_contact(store, email=f"buyer{n}@example.com", name=f"Buyer {n}", platform="shopify",
                        platform_id=str(7000000 + n)).id for n in range(SHOP_CUSTOMERS)]
    own = make_contact(store, email="own@example.com", name="Own Customer")
    make_ticket(store, own, "email", "Do you gift-wrap?")
    return ids, own.id


def erased(ids):
    db.session.expire_all()
    return [db.session.get(Contact, i).erasure is not None for i in ids]


def redactions():
    db.session.expire_all()
    return db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "shop_redaction")
                              .order_by(OutboxItem.id)).all()


def test_a_failed_batch_is_retried_and_resumes_where_it_stopped(client, connector, customers, monkeypatch):
    ids, own = customers
    monkeypatch.setattr(privacy_jobs, "BATCH", 2)
    from helpdesk.actions import privacy

    real, calls = privacy.redact_shop_contacts, []

    def second_batch_fails(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(*args)

    monkeypatch.setattr(privacy, "redact_shop_contacts", second_batch_fails)
    assert post(client, connector, "shop_redact.json", "shop/redact").status_code == 200

    # The webhook was answered; the first batch is done for good, the rest waits for a retry.
    item, = redactions()
    assert item.status == "pending" and "database went away" in item.last_error and item.attempts == 1
    assert erased(ids) == [True, True, False, False, False]
    assert not db.session.get(StoreConnector, connector.id).active  # disconnected at once

    # The retry (the sweep picks the row up once due) starts again and skips what is done.
    monkeypatch.setattr(privacy, "redact_shop_contacts", real)
    db.session.execute(update(OutboxItem).where(OutboxItem.id == item.id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert outbox.sweep() >= 1
    item, = redactions()
    assert item.status == "sent" and item.attempts == 2
    assert erased(ids) == [True] * SHOP_CUSTOMERS and erased([own]) == [False]


def test_a_long_redaction_is_handed_on_in_slices(client, connector, customers, monkeypatch):
    ids, own = customers
    monkeypatch.setattr(privacy_jobs, "BATCH", 2)
    monkeypatch.setattr(privacy_jobs, "SLICE_SECONDS", -1)  # every batch ends its slice
    assert post(client, connector, "shop_redact.json", "shop/redact").status_code == 200
    rows = redactions()
    # Three batches of 2, 2 and 1, each handing on to the next row; the last finds nothing left.
    assert [r.payload["after_id"] for r in rows] == [0, ids[1], ids[3], ids[4]]
    assert {r.status for r in rows} == {"sent"}
    assert erased(ids) == [True] * SHOP_CUSTOMERS and erased([own]) == [False]


def test_running_a_finished_redaction_again_changes_nothing(client, connector, store, customers, sent_events):
    ids, own = customers
    post(client, connector, "shop_redact.json", "shop/redact")
    first = redactions()[0]
    events = len(sent_events)
    names = {c.id: c.name for c in db.session.scalars(select(Contact))}

    continue_shop_redaction(dict(first.payload), 0)  # the same work queued once more

    rows = redactions()
    assert len(rows) == 2 and rows[1].status == "sent"
    assert {c.id: c.name for c in db.session.scalars(select(Contact))} == names
    assert len(sent_events) == events  # no erasure twice, nothing emitted
    assert count(Contact) == SHOP_CUSTOMERS + 1
