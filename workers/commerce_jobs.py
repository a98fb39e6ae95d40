"""Jobs of the shop connectors: turning a recorded webhook delivery into customers, orders,
refunds and products (and their attribution)."""
import logging

from workers.jobs import job

log = logging.getLogger(__name__)


@job
def process_delivery(delivery_id):
    """Parse one recorded delivery (fetching the resource first for thin notifications) and
    hand the records to ``helpdesk.actions.commerce.apply_delivery``. A delivery that can
    never be read is marked failed; a fetch or database error is raised again so the queue
    retries it (processing is idempotent)."""
    from connectors import registry
    from sqlalchemy.exc import DataError

    from connectors.base import WebhookError, loads
    from helpdesk.actions.commerce import apply_delivery, mark_delivery_failed
    from helpdesk.extensions import db
    from helpdesk.models import WebhookDelivery

    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != WebhookDelivery.RECEIVED:
        return False
    impl = registry.get(delivery.platform)
    connector = delivery.connector
    ids = {"delivery": delivery.id, "platform": delivery.platform, "topic": delivery.topic}
    db.session.commit()  # no connection held while the platform's API is called
    try:
        payload = impl.expand(delivery.topic, loads(delivery.body), connector)
        records = impl.parse(delivery.topic, payload, connector)
    except (WebhookError, KeyError, TypeError, ValueError, AttributeError) as exc:
        db.session.rollback()
        reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        mark_delivery_failed(delivery, f"unreadable: {reason}", final=True)
        log.warning("webhook delivery unreadable", extra=ids)
        return False
    except Exception as exc:
        db.session.rollback()
        mark_delivery_failed(delivery, f"{type(exc).__name__}: {exc}")
        log.warning("webhook delivery failed; retried later", extra=ids)
        raise
    try:
        apply_delivery(delivery, records)
    except (OverflowError, DataError) as exc:
        # A value no column can hold (a quantity of 10**30): the payload's fault, so
        # retrying cannot help. Failed for good, with the reason, like an unreadable one.
        db.session.rollback()
        mark_delivery_failed(delivery, f"unreadable: a value out of range ({type(exc).__name__})", final=True)
        log.warning("webhook delivery unreadable", extra=ids)
        return False
    except Exception as exc:
        mark_delivery_failed(delivery, f"{type(exc).__name__}: {exc}")
        log.warning("webhook delivery not applied; retried later", extra=ids)
        raise
    log.info("webhook delivery processed", extra=ids)
    return True


#: A delivery still "received" this long after it arrived lost its job (Redis or a worker
#: went away): the sweep enqueues it again. Processing is idempotent, so a slow job that
#: is still running does no harm if it gets a twin.
STALE_AFTER_SECONDS = 120
#: Deliveries that failed this many times are left for an admin to look at.
MAX_ATTEMPTS = 8


def sweep_deliveries(limit=500):
    """Re-enqueue recorded deliveries whose job never finished. Returns how many."""
    from datetime import timedelta

    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.models import WebhookDelivery, utcnow
    from workers.queue import enqueue

    cutoff = utcnow() - timedelta(seconds=STALE_AFTER_SECONDS)
    ids = db.session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.status == WebhookDelivery.RECEIVED,
                                         WebhookDelivery.received_at < cutoff,
                                         WebhookDelivery.attempts < MAX_ATTEMPTS)
        # Oldest first in the order of ix_webhook_deliveries_status: ordered by id, SQLite
        # read every delivery in id order rather than the few "received" ones (its statistics
        # see half the rows per status, where nearly all are "processed").
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id).limit(limit)
    ).all()
    db.session.rollback()
    for delivery_id in ids:
        enqueue("workers.commerce_jobs.process_delivery", delivery_id)
    return len(ids)
