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
    except Exception as exc:
        mark_delivery_failed(delivery, f"{type(exc).__name__}: {exc}")
        log.warning("webhook delivery not applied; retried later", extra=ids)
        raise
    log.info("webhook delivery processed", extra=ids)
    return True
