"""The outbox: rows first, jobs second.

``add()`` writes a row inside the caller's transaction and enqueues a delivery job after
commit. ``deliver()`` claims a due row with a conditional UPDATE (so two jobs never send
the same row), runs its handler, and records the outcome; failures back off
exponentially. ``sweep()`` re-enqueues rows that are due or whose claim expired, so losing
Redis or a worker delays delivery and never drops it.
"""
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from helpdesk.extensions import db
from helpdesk.models import OutboxItem, utcnow
from workers.queue import enqueue

log = logging.getLogger(__name__)

#: Attempts before a row is marked dead (kept, visible, re-sendable by an admin).
MAX_ATTEMPTS = 8
#: First retry delay in seconds; doubles each attempt up to BACKOFF_CAP.
BACKOFF_BASE = 30
BACKOFF_CAP = 6 * 3600
#: How long one job owns a claimed row before the sweep may hand it to another.
CLAIM_SECONDS = 300
#: How often ``helpdesk worker`` (and the in-process runner) sweeps.
SWEEP_INTERVAL = 30

HANDLERS = {}


class PermanentFailure(Exception):
    """The handler knows retrying cannot help (e.g. 410 Gone, a rejected recipient)."""


def handler(kind):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def _load_handlers():
    # Handlers live with their connectors (and actions); importing registers them.
    import connectors.email.outbound  # noqa: F401
    import helpdesk.actions.attachments  # noqa: F401  (forget_files: erased customers' files)
    import workers.privacy_jobs  # noqa: F401  (shop_redaction: a shop platform's shop/redact)


def add(kind, payload, subject_ref=None):
    """Queue work that must not be lost. Call inside an action's transaction."""
    item = OutboxItem(kind=kind, payload=payload, subject_ref=subject_ref)
    db.session.add(item)
    db.session.flush()
    enqueue("workers.jobs.deliver_outbox", item.id)
    return item


def backoff(attempts):
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def deliver(item_id):
    _load_handlers()
    now = utcnow()
    claimed = db.session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item_id,
            OutboxItem.next_attempt_at <= now,
            or_(
                OutboxItem.status == OutboxItem.PENDING,
                (OutboxItem.status == OutboxItem.SENDING) & (OutboxItem.claimed_until < now),
            ),
        )
        .values(status=OutboxItem.SENDING, claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=OutboxItem.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return False  # sent already, not due, or another job owns it
    item = db.session.get(OutboxItem, item_id)
    fn = HANDLERS.get(item.kind)
    try:
        if fn is None:
            raise PermanentFailure(f"no handler for {item.kind!r}")
        fn(item)
    except PermanentFailure as exc:
        item.status = OutboxItem.DEAD
        item.last_error = str(exc)[:1000]
        log.warning("outbox item dead", extra={"outbox_id": item.id, "kind": item.kind})
    except Exception as exc:  # noqa: BLE001 -- any failure is retried later
        item.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if item.attempts >= MAX_ATTEMPTS:
            item.status = OutboxItem.DEAD
        else:
            item.status = OutboxItem.PENDING
            item.next_attempt_at = utcnow() + timedelta(seconds=backoff(item.attempts))
        log.info("outbox delivery failed", extra={"outbox_id": item.id, "kind": item.kind,
                                                   "attempts": item.attempts})
    else:
        item.status = OutboxItem.SENT
        item.sent_at = utcnow()
        item.last_error = None
    item.claimed_until = None
    db.session.commit()
    return item.status == OutboxItem.SENT


def sweep(limit=500):
    """Enqueue every row that is due (or whose claim expired). Returns how many."""
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxItem.id)
        .where(
            OutboxItem.next_attempt_at <= now,
            or_(
                OutboxItem.status == OutboxItem.PENDING,
                (OutboxItem.status == OutboxItem.SENDING) & (OutboxItem.claimed_until < now),
            ),
        )
        .order_by(OutboxItem.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    for item_id in ids:
        enqueue("workers.jobs.deliver_outbox", item_id)
    return len(ids)
