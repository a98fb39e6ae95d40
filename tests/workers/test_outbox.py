"""The outbox: a row first, a job second; delivered once, retried with backoff, swept."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.actions import action
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import OutboxItem, utcnow
from workers import outbox
from tests.factories import make_agent, make_contact, make_store


def mail(to="dana@example.test", subject="Your order", text="It ships tomorrow."):
    return {"to": to, "to_name": "Dana", "subject": subject, "text": text}


@action
def queue_mail(payload):
    return outbox.add("email", payload, subject_ref="test:1")


def fresh(item_id):
    db.session.expire_all()
    return db.session.get(OutboxItem, item_id)


def test_add_then_deliver_sends_a_real_email(smtp_server):
    item = queue_mail(mail())
    (received,) = smtp_server.wait_for(1)
    assert received["To"] == "Dana <dana@example.test>"
    assert received["Subject"] == "Your order"
    assert received.get_content().strip() == "It ships tomorrow."
    row = fresh(item.id)
    assert row.status == OutboxItem.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.claimed_until is None and row.last_error is None


def test_agent_reply_on_an_email_ticket_reaches_the_customer_by_smtp(smtp_server):
    store = make_store("Linen & Co")
    agent = make_agent("Sam")
    contact = make_contact(store, email="buyer@example.test", name="Buyer")
    message, _ = receive_customer_message(store, contact, "email", "Where is my parcel?", subject="Parcel")
    reply(message.ticket, agent, "It left our warehouse today.")
    (received,) = smtp_server.wait_for(1)
    assert received["To"] == "Buyer <buyer@example.test>"
    assert received["Subject"] == f"Re: Parcel [#{message.ticket.id}]"
    assert "It left our warehouse today." in received.get_body(("plain",)).get_content()


def test_smtp_down_leaves_the_row_pending_with_backoff(smtp_down):
    before = utcnow()
    item = queue_mail(mail())
    row = fresh(item.id)
    assert row.status == OutboxItem.PENDING
    assert row.attempts == 1
    assert row.claimed_until is None
    assert "ConnectionRefusedError" in row.last_error
    expected = before + timedelta(seconds=outbox.backoff(1))
    assert expected <= row.next_attempt_at <= utcnow() + timedelta(seconds=outbox.backoff(1))
    # Not due yet: another delivery attempt does nothing.
    assert outbox.deliver(item.id) is False
    assert fresh(item.id).attempts == 1


def test_a_retry_after_the_backoff_delivers(app, smtp_down, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_down)
    item = queue_mail(mail())
    assert fresh(item.id).status == OutboxItem.PENDING
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    row = fresh(item.id)
    row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the backoff has passed
    db.session.commit()
    assert outbox.sweep() == 1
    smtp_server.wait_for(1)
    row = fresh(item.id)
    assert row.status == OutboxItem.SENT and row.attempts == 2


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.backoff(40) == outbox.BACKOFF_CAP


def test_last_attempt_marks_the_row_dead(smtp_down):
    db.session.add(OutboxItem(kind="email", payload=mail(), attempts=outbox.MAX_ATTEMPTS - 1))
    db.session.commit()
    item_id = db.session.scalar(select(OutboxItem.id))
    assert outbox.deliver(item_id) is False
    row = fresh(item_id)
    assert row.status == OutboxItem.DEAD and row.attempts == outbox.MAX_ATTEMPTS


def test_refused_recipient_is_a_permanent_failure(smtp_server):
    item = queue_mail(mail(to="refuse@example.test"))
    row = fresh(item.id)
    assert row.status == OutboxItem.DEAD and "recipient refused" in row.last_error
    assert smtp_server.messages == []


def test_unknown_kind_is_dead_not_retried():
    db.session.add(OutboxItem(kind="carrier-pigeon", payload={}))
    db.session.commit()
    item_id = db.session.scalar(select(OutboxItem.id))
    assert outbox.deliver(item_id) is False
    assert fresh(item_id).status == OutboxItem.DEAD


def test_without_smtp_url_mail_stays_queued(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    item = queue_mail(mail())
    row = fresh(item.id)
    assert row.status == OutboxItem.PENDING and "SMTP_URL" in row.last_error


def test_sweep_enqueues_due_rows_and_expired_claims_only(smtp_server, monkeypatch):
    now = utcnow()
    rows = {
        "due": OutboxItem(kind="email", payload=mail(subject="due"), next_attempt_at=now - timedelta(seconds=5)),
        "later": OutboxItem(kind="email", payload=mail(subject="later"), next_attempt_at=now + timedelta(hours=1)),
        "expired": OutboxItem(kind="email", payload=mail(subject="expired"), status=OutboxItem.SENDING,
                              attempts=1, next_attempt_at=now - timedelta(minutes=10),
                              claimed_until=now - timedelta(seconds=1)),
        "claimed": OutboxItem(kind="email", payload=mail(subject="claimed"), status=OutboxItem.SENDING,
                              attempts=1, next_attempt_at=now - timedelta(minutes=1),
                              claimed_until=now + timedelta(minutes=4)),
        "sent": OutboxItem(kind="email", payload=mail(subject="sent"), status=OutboxItem.SENT, attempts=1,
                           next_attempt_at=now - timedelta(minutes=1), sent_at=now),
        "dead": OutboxItem(kind="email", payload=mail(subject="dead"), status=OutboxItem.DEAD, attempts=8,
                           next_attempt_at=now - timedelta(minutes=1)),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    ids = {name: row.id for name, row in rows.items()}

    enqueued = []
    real_enqueue = outbox.enqueue
    monkeypatch.setattr(outbox, "enqueue", lambda path, *args: enqueued.append((path, args)))
    assert outbox.sweep() == 2
    assert sorted(enqueued) == sorted([("workers.jobs.deliver_outbox", (ids["due"],)),
                                       ("workers.jobs.deliver_outbox", (ids["expired"],))])

    # And for real: the swept rows are delivered, the rest are untouched.
    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    assert outbox.sweep() == 2
    subjects = sorted(m["Subject"] for m in smtp_server.wait_for(2))
    assert subjects == ["due", "expired"]
    status = {name: fresh(item_id).status for name, item_id in ids.items()}
    assert status == {"due": "sent", "later": "pending", "expired": "sent", "claimed": "sending",
                      "sent": "sent", "dead": "dead"}


def _direct_row(subject):
    """A due row with no job queued for it (as if Redis had lost the job)."""
    row = OutboxItem(kind="email", payload=mail(subject=subject))
    db.session.add(row)
    db.session.commit()
    return row.id


def _in_thread(app, fn, results, barrier=None):
    def run():
        with app.app_context():
            try:
                if barrier is not None:
                    barrier.wait()
                results.append(fn())
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_concurrent_deliveries_of_one_row_send_exactly_once(app, smtp_server):
    item_id = _direct_row("once")
    results = []
    barrier = threading.Barrier(4)
    threads = [_in_thread(app, lambda: outbox.deliver(item_id), results, barrier) for _ in range(4)]
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, False, False, True]
    smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1
    row = fresh(item_id)
    assert row.status == OutboxItem.SENT and row.attempts == 1


def test_a_claimed_row_is_not_sent_again_while_its_handler_runs(app, monkeypatch):
    entered, release, sends = threading.Event(), threading.Event(), []

    def slow_handler(item):
        sends.append(item.id)
        entered.set()
        release.wait(10)

    monkeypatch.setitem(outbox.HANDLERS, "slow", slow_handler)
    db.session.add(OutboxItem(kind="slow", payload={}))
    db.session.commit()
    item_id = db.session.scalar(select(OutboxItem.id))
    results = []
    first = _in_thread(app, lambda: outbox.deliver(item_id), results)
    assert entered.wait(10)
    try:
        assert outbox.deliver(item_id) is False  # the first claim still owns the row
        assert fresh(item_id).status == OutboxItem.SENDING
    finally:
        release.set()
        first.join(10)
    assert results == [True] and sends == [item_id]
    assert fresh(item_id).status == OutboxItem.SENT


@pytest.mark.parametrize("mode", ["sync", "thread"])
def test_in_process_modes_deliver(app, smtp_server, monkeypatch, mode):
    from workers import run_pending_inline

    monkeypatch.setitem(app.config, "JOBS_MODE", mode)
    item = queue_mail(mail(subject=mode))
    run_pending_inline()
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == mode
    assert fresh(item.id).status == OutboxItem.SENT
