"""Which Shopify shop a store's connector is connected to: its ``shop_domain``.

A custom app made in one shop's admin points its webhooks at the connector's own URL
(``/webhooks/shopify/<key>``). A public or multi-shop app has one set of webhook
subscriptions and one compliance URL for every shop it is installed in, so it can only name
one URL: ``/webhooks/shopify``. Shopify tells the shops apart by ``X-Shopify-Shop-Domain``
(always the shop's ``<name>.myshopify.com``, whatever custom domain the storefront has), and
that is how such a delivery finds its store.

Where the domain is kept: ``Store.settings[SHOP_DOMAIN]``. A store has at most one Shopify
connector (unique per store and platform), the settings JSON is already where per-store
connector state lives (``helpdesk.actions.privacy`` keeps its data requests there), and the
connector table has no column for it -- a new one would need a migration. Uniqueness (one
active connector per shop across stores) is therefore kept here, not by an index: every
write checks it, and a lookup that still finds two (a race between two first deliveries)
refuses the delivery rather than guess.

The functions that change the domain are actions (one transaction, composable); they live
beside the connector because only Shopify has a shop domain.
"""
import logging
import re

from flask_babel import gettext as _
from sqlalchemy import select

from helpdesk.actions import ActionError, Conflict, action
from helpdesk.extensions import db
from helpdesk.models import Store, StoreConnector

log = logging.getLogger(__name__)

PLATFORM = "shopify"
#: ``Store.settings`` key of the shop domain of the store's Shopify connector.
SHOP_DOMAIN = "shopify_shop_domain"
#: The header naming the shop on every Shopify webhook.
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"

# The check of Shopify's own API library (shopify-api-js, sanitizeShop): one label of letters,
# digits and hyphens, not starting with a hyphen, under myshopify.com; at most 63 (DNS).
_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com")
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def normalise_shop_domain(value):
    """``value`` as a lower-case ``<name>.myshopify.com``, or None when it is not one.

    Admins paste what they see: any case, with ``https://`` and a trailing slash. Anything
    else (a custom storefront domain, a path, a port) is refused: Shopify names the shop by
    its myshopify.com domain only, so nothing else could ever match a delivery."""
    if not isinstance(value, str):
        return None
    text = _SCHEME.sub("", value.strip(), count=1).rstrip("/").lower()
    return text if _DOMAIN.fullmatch(text) else None


def validate_shop_domain(value):
    """marshmallow validator: a field message for anything ``normalise_shop_domain`` refuses."""
    from marshmallow import ValidationError

    if value not in (None, "") and normalise_shop_domain(value) is None:
        raise ValidationError(_("Enter the shop's myshopify.com domain, like example.myshopify.com."))


def recorded_shop_domain(store):
    """The shop domain recorded for ``store``'s Shopify connector, or None."""
    return (store.settings or {}).get(SHOP_DOMAIN) or None


def _domain_column():
    return Store.settings[SHOP_DOMAIN].as_string()


def connectors_for_domain(domain, *, exclude_store_id=None):
    """The active Shopify connectors whose store records ``domain`` (normalised). More than
    one only after a race the writers could not see (see the module docstring)."""
    query = (select(StoreConnector).join(Store, Store.id == StoreConnector.store_id)
             .where(StoreConnector.platform == PLATFORM, StoreConnector.active.is_(True),
                    _domain_column() == domain)
             .order_by(StoreConnector.id))
    if exclude_store_id is not None:
        query = query.where(StoreConnector.store_id != exclude_store_id)
    return db.session.scalars(query).all()


def connector_for_domain(domain):
    """The one active Shopify connector of the shop ``domain`` (normalised), else None."""
    found = connectors_for_domain(domain)
    if len(found) > 1:
        log.warning("shopify shop domain recorded by several active connectors",
                  extra={"shop_domain": domain, "connector_ids": [c.id for c in found]})
        return None
    return found[0] if found else None


def _taken(store, domain):
    return bool(connectors_for_domain(domain, exclude_store_id=store.id))


def _save(store, domain):
    # A new dict: the JSON column notices only an assignment, not a change inside it.
    settings = {k: v for k, v in (store.settings or {}).items() if k != SHOP_DOMAIN}
    if domain:
        settings[SHOP_DOMAIN] = domain
    store.settings = settings


def _lock(store):
    """Read the store's settings again under a row lock (PostgreSQL), as the privacy requests
    do: each writer rewrites the whole JSON, and must not drop the other's change."""
    db.session.refresh(store, with_for_update=True)


#: ``connect_shopify``'s "leave the shop domain as it is".
KEEP = object()


@action
def connect_shopify(store, *, shop_domain=KEEP, rotate=False, secret=None, **changes):
    """``helpdesk.actions.commerce.connect_store`` for Shopify (``rotate`` as there) and the
    shop domain, all in one transaction: ``shop_domain`` sets it (normalised), None or "" forgets it (the next signed
    delivery to the connector's own URL teaches it again). Refused (409, nothing changed)
    when another store's active Shopify connector has that shop -- also when this one is
    switched back on (``active``) with a shop that another store connected meanwhile.
    Emits nothing."""
    from helpdesk.actions.commerce import connect_store

    wanted = None
    if shop_domain not in (KEEP, None, ""):
        wanted = normalise_shop_domain(shop_domain)
        if wanted is None:
            raise ActionError("Enter the shop's myshopify.com domain, like example.myshopify.com.", "shop_domain")
    connector = connect_store(store, PLATFORM, secret=secret, rotate=rotate, **changes)
    _lock(store)
    if shop_domain is KEEP:
        wanted = recorded_shop_domain(store)
    if connector.active and wanted and _taken(store, wanted):
        raise Conflict("Another store is connected to this Shopify shop.", "shop_domain")
    if wanted != recorded_shop_domain(store):
        _save(store, wanted)
        log.info("shopify shop domain set", extra={"store_id": store.id, "connector_id": connector.id,
                                                    "shop_domain": wanted})
    db.session.flush()
    return connector


@action
def learn_shop_domain(connector, domain):
    """Record ``domain`` (normalised) as the shop of ``connector`` -- which had none -- from a
    delivery signed with its secret to its own URL. Not when another store's active connector
    has that shop (logged; the caller refuses the delivery). Returns whether the connector's
    shop is now ``domain``. Emits nothing."""
    store = db.session.get(Store, connector.store_id)
    _lock(store)
    current = recorded_shop_domain(store)
    if current is not None:
        return current == domain
    if _taken(store, domain):
        log.warning("shopify shop domain not learned: another store has that shop",
                    extra={"store_id": store.id, "connector_id": connector.id, "shop_domain": domain})
        return False
    _save(store, domain)
    db.session.flush()
    log.info("shopify shop domain learned", extra={"store_id": store.id, "connector_id": connector.id,
                                                    "shop_domain": domain})
    return True
