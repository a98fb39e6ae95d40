"""Outgoing webhooks: a store's subscribers receive its ticket, message, rating and
attribution events, and ``contact.erased`` (ids and time only) when a customer's data was
erased on request, so their copies can go too; signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256>`` under the subscription's ``whsec_`` secret).

``queue_event`` runs inside the action's transaction (called from ``helpdesk.events``) and
writes one outbox row per subscriber; the outbox delivers them with exponential backoff.
``send`` is the outbox handler: it logs every attempt, and a ``410 Gone`` disables the
subscription for good.
"""
import json
import logging
import secrets
import time
import urllib.error
import urllib.request

from sqlalchemy import bindparam, exists, select

from connectors.base import standard_headers
from helpdesk.actions import transaction_cache
from helpdesk.extensions import db
from helpdesk.models import WebhookSubscription, utcnow
from workers.outbox import PermanentFailure, handler

log = logging.getLogger(__name__)

#: Event type -> the subscription topic that receives it.
EVENT_TOPICS = {
    "ticket.created": "ticket",
    "ticket.updated": "ticket",
    "message.created": "message",
    "ticket.rated": "rating",
    "attribution.created": "attribution",
    "attribution.updated": "attribution",
    "contact.erased": "contact",
}
#: Seconds a receiver may take to answer one delivery.
TIMEOUT = 10
USER_AGENT = "helpdesk-webhooks/1"
_CACHE = "helpdesk_webhook_subscriptions"


class DeliveryFailed(Exception):
    """The receiver answered something other than 2xx (retried with backoff)."""


# Built once (it keeps its cache key): this runs for every chat message. Table columns,
# not mapped attributes: without ORM entities the statement skips the ORM's compile and
# result setup.
_SUBSCRIPTIONS = WebhookSubscription.__table__
_ACTIVE_SUBSCRIPTIONS = (
    select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.topics)
    .where(_SUBSCRIPTIONS.c.store_id == bindparam("store_id"), _SUBSCRIPTIONS.c.active.is_(True))
)


def _subscriptions(store_id):
    """(id, topics) of the store's active subscriptions, read once per transaction: a chat
    message emits several events and must not pay a query for each."""
    by_store = transaction_cache(_CACHE)
    if store_id not in by_store:
        by_store[store_id] = db.session.execute(_ACTIVE_SUBSCRIPTIONS, {"store_id": store_id}).all()
    return by_store[store_id]


def subscribed(store_id):
    """EXISTS (an active subscription of ``store_id``). ``store_id`` may be a column: the
    check rides along in a hot path's lookup (a chat message's visitor, an email's thread),
    whose caller hands the answer to ``known_subscribed``."""
    return exists().where(_SUBSCRIPTIONS.c.store_id == store_id, _SUBSCRIPTIONS.c.active.is_(True))


def known_subscribed(store_id, answer):
    """What ``subscribed`` answered in this transaction. A store without subscribers (most
    of them) then costs its events no query; one with subscribers is read as usual."""
    if not answer:
        transaction_cache(_CACHE).setdefault(store_id, [])


def queue_event(store_id, event_type, data):
    """Queue ``event_type`` for every subscriber of its topic in ``store_id`` (outbox rows in
    the caller's transaction, sent after commit)."""
    from workers import outbox

    topic = EVENT_TOPICS[event_type]
    for subscription_id, topics in _subscriptions(store_id):
        if topic not in (topics or ()):
            continue
        outbox.add("webhook", {
            "subscription_id": subscription_id,
            "event_id": "msg_" + secrets.token_urlsafe(18),
            "type": event_type,
            "timestamp": utcnow().isoformat(),
            "data": data,
        }, subject_ref=f"webhook:{subscription_id}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer like any other non-2xx: retried, logged


_opener = urllib.request.build_opener(_NoRedirect)


def body_of(payload):
    return json.dumps({"type": payload["type"], "timestamp": payload["timestamp"], "data": payload["data"]},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@handler("webhook")
def send(item):
    from helpdesk.actions.commerce import disable_webhook_subscription, log_webhook_attempt

    payload = item.payload
    subscription = db.session.get(WebhookSubscription, payload["subscription_id"])
    if subscription is None or not subscription.active:
        raise PermanentFailure("the subscription was deleted or disabled")
    body = body_of(payload)
    headers = standard_headers(subscription.secret, payload["event_id"], body)
    headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
    request = urllib.request.Request(subscription.url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    status, error = None, None
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    elapsed = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok:
        error = f"answered {status}"
    ids = dict(subscription_id=subscription.id, item_id=item.id, event_id=payload["event_id"],
               event_type=payload["type"])
    log_webhook_attempt(ids["subscription_id"], ids["item_id"], ids["event_id"], ids["event_type"],
                        status_code=status, ok=ok, error=error, duration_ms=elapsed)
    log.info("webhook sent" if ok else "webhook failed",
             extra={"subscription_id": ids["subscription_id"], "outbox_id": ids["item_id"], "status_code": status})
    if ok:
        return
    if status == 410:
        disable_webhook_subscription(db.session.get(WebhookSubscription, ids["subscription_id"]),
                                     "the receiver answered 410 Gone")
        raise PermanentFailure("410 Gone: subscription disabled")
    raise DeliveryFailed(error)
