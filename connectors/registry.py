"""The shop connectors, one registry: ``CONNECTORS[platform]`` is a ``Connector`` instance.

Adding a platform is one package (a ``Connector`` subclass registered with ``@register``)
plus its fixtures. ``load(app)`` imports the packages and mounts the one webhook route:

    POST /webhooks/<platform>/<key>     (key: the connector's key, or the store's slug)
    POST /webhooks/<platform>           (platforms that name the sender: Connector.route)

The view verifies the signature on the RAW body, records the delivery id (unique per
connector, so a replay is stored once, whichever of the two URLs it came to), answers at
once and leaves the work to the ``workers.commerce_jobs.process_delivery`` job. Answers:
forged or missing signature 401 (nothing stored), a sender the connector does not accept
403, malformed JSON 400, replay 200, unknown topic 202 (logged), new 200. The keyless URL
answers an unknown sender 401 like a bad signature, and counts such refusals per address.
"""
import importlib
import logging

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import or_, select

from connectors.base import Connector, Malformed, WebhookError, loads
from helpdesk.extensions import csrf, db, limiter
from helpdesk.text import has_lone_surrogate

log = logging.getLogger(__name__)

CONNECTORS = {}

#: Refused deliveries per client address, on either URL (401: unknown sender or bad
#: signature; 403: another sender; 404: no such connector key). Only refusals count: one
#: app's URL takes every shop's deliveries from the platform's few addresses, so a budget on
#: all of them would hold back real traffic, while someone guessing keys, senders or
#: signatures is stopped. Over it: 429, which platforms retry.
REFUSED_RATE = "30/minute;300/hour"

#: The packages ``load`` imports; each registers its connector.
PACKAGES = (
    "connectors.shopify",
    "connectors.woocommerce",
    "connectors.bigcommerce",
    "connectors.generic",
)

bp = Blueprint("webhooks_in", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


def register(cls):
    """Class decorator: put one instance of ``cls`` in the registry under ``cls.platform``."""
    if not (isinstance(cls, type) and issubclass(cls, Connector) and cls.platform):
        raise TypeError("register a Connector subclass with a platform name")
    CONNECTORS[cls.platform] = cls()
    return cls


def get(platform):
    load_packages()
    return CONNECTORS.get(platform)


def load_packages():
    for name in PACKAGES:
        importlib.import_module(name)


def load(app):
    """Import every connector and mount the webhook route (and the outgoing webhooks handler)."""
    load_packages()
    import connectors.webhooks_out  # noqa: F401 -- registers the outbox handler "webhook"

    app.register_blueprint(bp)


def _find_connector(platform, key):
    from helpdesk.models import Store, StoreConnector

    return db.session.scalar(
        select(StoreConnector).join(Store, Store.id == StoreConnector.store_id)
        .where(StoreConnector.platform == platform, StoreConnector.active.is_(True),
               or_(StoreConnector.key == key, Store.slug == key))
        .order_by((StoreConnector.key == key).desc()).limit(1)
    )


def _answer(status, code, **extra):
    return jsonify({"status": status, **extra}), code


def _refused(response):
    return response.status_code in (401, 403, 404)


@bp.post("/<platform>")
@limiter.limit(REFUSED_RATE, deduct_when=_refused)
def receive_by_sender(platform):
    """A delivery to the one URL of an app installed in several shops: the platform's
    ``route`` finds the connector by who the request says sent it, and checks the signature."""
    impl = CONNECTORS.get(platform)
    if impl is None or not impl.routes_without_key:
        abort(404)
    raw = request.get_data(cache=True)
    if impl.is_ping(request, raw):
        return _answer("pong", 200)
    try:
        connector = impl.route(request, raw)
    except WebhookError as exc:
        log.info("webhook refused", extra={"platform": platform, "status_code": exc.status, "reason": exc.message})
        return _answer("refused", exc.status, message=exc.message)
    return _accept(impl, connector, raw)


@bp.post("/<platform>/<key>")
@limiter.limit(REFUSED_RATE, deduct_when=_refused)
def receive(platform, key):
    impl = CONNECTORS.get(platform)
    if impl is None:
        abort(404)
    raw = request.get_data(cache=True)
    if impl.is_ping(request, raw):
        return _answer("pong", 200)
    connector = _find_connector(platform, key[:64])
    if connector is None:
        abort(404)
    try:
        impl.verify(request, raw, connector)
        impl.check_sender(request, connector)
    except WebhookError as exc:
        log.info("webhook refused", extra={"platform": platform, "connector_id": connector.id,
                                            "status_code": exc.status, "reason": exc.message})
        return _answer("refused", exc.status, message=exc.message)
    return _accept(impl, connector, raw)


def _accept(impl, connector, raw):
    """The same for both URLs once the sender is verified: read, record once, answer."""
    from helpdesk.actions.commerce import record_delivery

    platform = impl.platform
    try:
        payload = loads(raw)
        if not isinstance(payload, dict):
            # Every platform sends one JSON object: a list or a bare value was answered
            # "accepted" and only failed later in the job, unseen by the sender.
            raise Malformed("The body must be a JSON object.")
        delivery_id = impl.delivery_id(request, payload)
        topic = impl.topic(request, payload)
        # A topic read from the body (BigCommerce's scope, the generic type) may be any
        # JSON: a list is unhashable, a lone surrogate cannot be stored. Both were a 500.
        if topic is not None and (not isinstance(topic, str) or has_lone_surrogate(topic)):
            raise Malformed("The topic must be text.")
        if topic in impl.topics:
            impl.validate(topic, payload)
    except WebhookError as exc:
        log.info("webhook refused", extra={"platform": platform, "connector_id": connector.id,
                                            "status_code": exc.status, "reason": exc.message})
        return _answer("refused", exc.status, message=exc.message)
    if not delivery_id or not topic:
        return _answer("refused", 400, message="Missing delivery id or topic.")
    known = topic in impl.topics
    delivery, created = record_delivery(connector, str(delivery_id)[:128], str(topic)[:128], raw, known=known)
    if not created:
        return _answer("duplicate", 200, delivery=delivery.id)
    if not known:
        log.warning("webhook topic not handled", extra={"platform": platform, "connector_id": connector.id,
                                                        "topic": topic, "delivery": delivery.id})
        return _answer("ignored", 202, delivery=delivery.id)
    return _answer("accepted", 200, delivery=delivery.id)
