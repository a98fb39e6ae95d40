"""Privacy requests that shop platforms pass on to the helpdesk (Shopify's mandatory compliance
webhooks, normalised as ``connectors.base.PrivacyRequest``): erase a customer, tell the shop
owner what we hold about one, forget a shop that uninstalled the app.

The shop webhook job (``workers.commerce_jobs.process_delivery``) hands each request to
``apply_privacy_request`` inside ``helpdesk.actions.commerce.apply_delivery``'s transaction, so
a request is answered exactly once per delivery. Erasure itself is
``helpdesk.actions.contacts.erase_contact``, by the system (``by=None``): what it removes and
keeps is the same whether an admin or a platform asked.

Where a data request waits for the shop owner: in the store's settings JSON
(``Store.settings[DATA_REQUESTS]``), a short list of ids -- the platform's request and
customer ids, the matching contacts' ids, the order ids asked about -- never the customer's
address or phone. No table fits without a migration (an ``InboundEmail`` is mail, a
``Post`` reaches every agent of a store, not only admins), and these are few (a shop gets a
handful a year) and short-lived (answered within the month the law gives): a list on the
store, capped at ``MAX_DATA_REQUESTS``, shown on the admins' store settings page with a link
to each contact's JSON export, until it is answered: an admin marks it answered (having sent
the export), or every contact it matched is erased meanwhile (an admin erased them by hand, or
the shop's ``customers/redact`` came first) -- then there is nothing left to send, and it is
answered by that erasure, by whoever erased last. An answered request stays listed as such
(who, when, how), the last ``MAX_ANSWERED_DATA_REQUESTS``, with the customer's platform id and
order ids dropped: the record of the answer needs neither. The raw webhook body, which names
the customer, is dropped once the request is recorded.

What a shop redaction (``shop/redact``) erases, and what it does not: the store may be more
than that one Shopify shop -- its own email, chat and contact-form customers. So only the
contacts that came from the shop are erased: those the shop's webhooks linked (a platform id,
a customer record or an order of that platform) and that never wrote to the store themselves
(no conversation). A customer who also wrote to the store keeps their conversations and
profile (the store's own support records, given by the customer to the store); the shop's
data about them goes: their platform id, the platform's customer record, and the link from
its orders. The shop's orders stay as anonymous accounting rows (amounts, lines, sales
credited to agents) without address or order-status link; its product catalog stays (not
personal; old product cards still show). The connector is disconnected at once (secret
cleared, inactive: nothing more from that shop is accepted, replays included), and the
erasure runs as outbox work (``workers.privacy_jobs``), in batches, resumable.
"""
import logging
import re

from sqlalchemy import delete, or_, select, union, update

from helpdesk import events
from helpdesk.actions import Conflict, NotFound, action
from helpdesk.actions.contacts import (
    anonymise_orders,
    erase_contact,
    forget_webhook_bodies,
    normalise_email,
    require_privacy_admin,
    with_merged,
)
from helpdesk.extensions import db
from helpdesk.models import (
    Agent,
    CommerceCustomer,
    Contact,
    ContactIdentity,
    Order,
    Role,
    Store,
    Ticket,
    WebhookDelivery,
    utcnow,
)
from workers import outbox

log = logging.getLogger(__name__)

#: ``Store.settings`` key of the data requests, waiting for an admin or answered.
DATA_REQUESTS = "privacy_data_requests"
#: At most this many wait per store; beyond, the oldest is dropped (and logged). A shop gets a
#: few a year: a list this long means nobody reads the page, and the JSON must not grow forever.
MAX_DATA_REQUESTS = 100
#: Answered requests kept (newest answers first) to show who answered which, and how.
MAX_ANSWERED_DATA_REQUESTS = 20
#: How a request was answered (``entry["answered"]["how"]``): an admin marked it answered
#: (the export sent, or word that the helpdesk holds nothing), or the customer was erased.
ANSWERED_BY_ADMIN, ANSWERED_BY_ERASURE = "marked", "erased"
#: What an answered entry keeps: ids that do not name the customer (their platform id and
#: order ids go with the answer).
_ANSWERED_KEYS = ("id", "platform", "request_id", "contact_ids", "received_at", "answered")
#: Order ids kept per data request (Shopify lists the customer's orders; a few suffice to check).
MAX_ORDER_IDS = 50
#: The outbox kind of a shop redaction (``workers.privacy_jobs``).
SHOP_REDACTION = "shop_redaction"
#: Platform ids shorter than this are not looked for in raw webhook bodies: a short number
#: would match bodies about somebody else (Shopify's ids are 6 to 19 digits).
_MIN_NEEDLE = 6


def apply_privacy_request(store, delivery, request):
    """Answer one ``PrivacyRequest`` of ``delivery`` (inside ``apply_delivery``'s transaction).
    The delivery's raw body goes: it names the customer, and what it asked is done or
    recorded by ids."""
    from connectors.base import PrivacyRequest

    platform = delivery.platform
    if request.kind == PrivacyRequest.CUSTOMER_REDACT:
        redact_customer(store, platform, request)
    elif request.kind == PrivacyRequest.DATA_REQUEST:
        record_data_request(store, platform, request, delivery)
    elif request.kind == PrivacyRequest.SHOP_REDACT:
        begin_shop_redaction(delivery.connector, delivery)
    delivery.body = None


def _root(contact):
    while contact is not None and contact.merged_into_id:
        contact = db.session.get(Contact, contact.merged_into_id)
    return contact


def matching_contacts(store, platform, *, platform_id=None, email=None):
    """The store's contacts (each the one its duplicates were merged into) known by this
    platform customer id -- an identity or the platform's customer record -- or by this email
    address; erased placeholders left out. Phone numbers are not matched: several people share
    one (a household, a company line)."""
    found = []
    if platform_id:
        ids = union(
            select(ContactIdentity.contact_id).where(ContactIdentity.store_id == store.id,
                                                     ContactIdentity.platform == platform,
                                                     ContactIdentity.platform_id == str(platform_id)),
            select(CommerceCustomer.contact_id).where(CommerceCustomer.store_id == store.id,
                                                      CommerceCustomer.platform == platform,
                                                      CommerceCustomer.platform_id == str(platform_id),
                                                      CommerceCustomer.contact_id.is_not(None)),
        )
        found += db.session.scalars(select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)).all()
    email = normalise_email(email)
    if email:
        found += db.session.scalars(select(Contact).where(Contact.store_id == store.id, Contact.email == email)
                                    .order_by(Contact.id)).all()
    roots = {}
    for contact in found:
        root = _root(contact)
        if root is not None and root.store_id == store.id and not root.erasure:
            roots.setdefault(root.id, root)
    return [roots[k] for k in sorted(roots)]


def _needles(request):
    ids = [request.customer_platform_id, *request.order_platform_ids]
    return [request.email] + [i for i in ids if i and len(i) >= _MIN_NEEDLE]


def redact_customer(store, platform, request):
    """A platform's ``customers/redact``: erase every contact of ``store`` with this platform
    customer id or email (``erase_contact``, by the system), strip the orders listed of
    personal data as an erasure does (``anonymise_orders``), drop the platform's customer
    record even when no contact is linked to it, and raw webhook bodies naming the customer or
    those orders. Waiting data requests of that customer are answered by the erasure (there is
    nothing left to send): each erasure answers those whose every contact it erased, and this
    answers those that matched no contact. A customer the helpdesk does not know, or one
    erased already, changes nothing else but the log. Emits what ``erase_contact`` emits, per
    contact."""
    contacts = matching_contacts(store, platform, platform_id=request.customer_platform_id, email=request.email)
    erased = []
    for contact in contacts:
        # An earlier erasure in this loop may have taken this one along (an anonymous contact
        # it began as); erase_contact expired every object, so this reads the row again.
        if contact.erasure or contact.merged_into_id:
            continue
        erase_contact(contact, by=None)
        erased.append(contact.id)
    orders = request.order_platform_ids
    if orders:
        anonymise_orders((Order.store_id == store.id) & (Order.platform == platform) & Order.platform_id.in_(orders))
    if request.customer_platform_id:
        db.session.execute(delete(CommerceCustomer).where(
            CommerceCustomer.store_id == store.id, CommerceCustomer.platform == platform,
            CommerceCustomer.platform_id == request.customer_platform_id).execution_options(synchronize_session=False))
    forget_webhook_bodies(store.id, _needles(request))
    answered = answer_data_requests_by_erasure(store.id, by=None, at=utcnow(), platform=platform,
                                               customer_platform_id=request.customer_platform_id)
    db.session.flush()
    log.info("shop privacy request: customer erased" if erased else "shop privacy request: no customer to erase",
             extra={"store_id": store.id, "platform": platform, "contacts": len(erased), "orders": len(orders),
                    "data_requests_answered": answered})
    return erased


# ---- data requests ------------------------------------------------------------------------

def _request_key(platform, request_id):
    return re.sub(r"[^A-Za-z0-9_.-]", "", f"{platform}-{request_id}")[:100]


def _entries(store):
    return [dict(e) for e in (store.settings or {}).get(DATA_REQUESTS) or () if isinstance(e, dict)]


def pending_data_requests(store):
    """The data requests waiting for an admin of ``store``, newest first (stored entries)."""
    return sorted((e for e in _entries(store) if not e.get("answered")),
                  key=lambda e: e.get("received_at") or "", reverse=True)


def answered_data_requests(store):
    """The data requests of ``store`` answered lately, the latest answer first (stored entries:
    ``answered`` is ``{"at", "by_agent_id", "how"}``, ``how`` one of ANSWERED_BY_ADMIN,
    ANSWERED_BY_ERASURE; ``by_agent_id`` None is the system, on the shop's request)."""
    return sorted((e for e in _entries(store) if isinstance(e.get("answered"), dict)),
                  key=lambda e: e["answered"].get("at") or "", reverse=True)


def _lock(store):
    """Read the store's settings again under a row lock (PostgreSQL): two requests arriving
    together, each rewriting the whole JSON, must not drop each other's entry."""
    db.session.refresh(store, with_for_update=True)


def _save_data_requests(store, waiting, answered):
    answered = sorted(answered, key=lambda e: e["answered"].get("at") or "", reverse=True)
    # A new dict: the JSON column notices only an assignment, not a change inside it.
    store.settings = {**(store.settings or {}), DATA_REQUESTS: waiting + answered[:MAX_ANSWERED_DATA_REQUESTS]}


def _answer(entry, how, by, at):
    """What stays of ``entry`` once answered, and who answered it, when, how."""
    kept = {k: entry[k] for k in _ANSWERED_KEYS if k in entry}
    return {**kept, "answered": {"at": at.isoformat(), "by_agent_id": by.id if by is not None else None,
                                 "how": how}}


def record_data_request(store, platform, request, delivery):
    """A platform's ``customers/data_request``: the shop owner must send the customer what the
    helpdesk holds. Records the request for the store's admins (``DATA_REQUESTS``: ids only)
    with the contacts it matches (``matching_contacts``), whose JSON export the admins' store
    settings page links; the same request sent again (a new delivery of it, even after it was
    answered) is recorded once. Emits ``privacy.data_request`` to every active admin; agents
    hear nothing."""
    contacts = matching_contacts(store, platform, platform_id=request.customer_platform_id, email=request.email)
    key = _request_key(platform, request.request_id or f"delivery-{delivery.id}")
    _lock(store)
    if any(e.get("id") == key for e in _entries(store)):
        log.info("shop privacy request: data request known already", extra={"store_id": store.id, "request": key})
        return None
    entry = {
        "id": key,
        "platform": platform,
        "request_id": request.request_id,
        "customer_platform_id": request.customer_platform_id,
        "contact_ids": [c.id for c in contacts],
        "order_platform_ids": request.order_platform_ids[:MAX_ORDER_IDS],
        "received_at": utcnow().isoformat(),
    }
    waiting = [entry] + pending_data_requests(store)
    if len(waiting) > MAX_DATA_REQUESTS:
        log.warning("shop privacy request: oldest data requests dropped unanswered",
                    extra={"store_id": store.id, "dropped": [e.get("id") for e in waiting[MAX_DATA_REQUESTS:]]})
        waiting = waiting[:MAX_DATA_REQUESTS]
    _save_data_requests(store, waiting, answered_data_requests(store))
    db.session.flush()
    admins = db.session.scalars(select(Agent.id).where(Agent.role == Role.ADMIN, Agent.active.is_(True))).all()
    events.data_request_received(store, entry, admins)
    log.info("shop privacy request: data request recorded",
             extra={"store_id": store.id, "platform": platform, "request": key, "contacts": len(contacts)})
    return entry


@action
def dismiss_data_request(store, request_key, *, by):
    """An admin answered the data request ``request_key`` (sent the export to the shop owner,
    or told them the helpdesk holds nothing): it is listed as answered, by them, now. Admins
    only; 404 for an unknown request, 409 for one answered already (an erasure may have
    answered it while the page was open). Emits nothing; logs who."""
    require_privacy_admin(by)
    _lock(store)
    entry = next((e for e in _entries(store) if e.get("id") == request_key), None)
    if entry is None:
        raise NotFound("No such data request.")
    if entry.get("answered"):
        raise Conflict("This data request was answered already.")
    waiting = [e for e in pending_data_requests(store) if e.get("id") != request_key]
    _save_data_requests(store, waiting, answered_data_requests(store) + [
        _answer(entry, ANSWERED_BY_ADMIN, by, utcnow())])
    db.session.flush()
    log.info("data request answered", extra={"store_id": store.id, "request": request_key,
                                             "by_agent_id": by.id if by is not None else None})


def holding_data(contact_ids):
    """Those of ``contact_ids`` that still hold a customer's data: neither erased nor gone (one
    merged into another since stands for the one it was merged into)."""
    holding = set()
    for contact in db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
        root = _root(contact)
        if root is not None and not root.erasure:
            holding.add(contact.id)
    return holding


def answer_data_requests_by_erasure(store_id, *, by, at, platform=None, customer_platform_id=None):
    """Waiting data requests of the store that erasures left nothing to answer with: every
    contact they matched is erased now (``holding_data``) -- and, for a shop platform's erasure
    of ``customer_platform_id``, those of that customer that matched no contact at all. Each is
    answered (``ANSWERED_BY_ERASURE``, by ``by``, at ``at``): the shop owner can only tell the
    customer that the helpdesk holds nothing about them any more, and the page must not keep
    asking for exports of erased placeholders. Called by ``erase_contact`` (in its
    transaction, after the erasure) and by ``redact_customer``. Returns how many; emits
    nothing (the page shows it when next loaded); logs."""
    store = db.session.get(Store, store_id)

    def concerned(entry):
        if entry.get("contact_ids"):
            return True
        return bool(customer_platform_id) and (entry.get("platform"), entry.get("customer_platform_id")) == (
            platform, customer_platform_id)

    # Nothing waiting that an erasure could answer (nearly always): no lock, no other read.
    if store is None or not any(concerned(e) for e in pending_data_requests(store)):
        return 0
    _lock(store)
    waiting = [e for e in pending_data_requests(store) if concerned(e)]
    holding = holding_data({i for e in waiting for i in e.get("contact_ids") or ()})
    done = [e for e in waiting if not holding & set(e.get("contact_ids") or ())]
    if not done:
        return 0
    keys = {e.get("id") for e in done}
    _save_data_requests(store, [e for e in pending_data_requests(store) if e.get("id") not in keys],
                        answered_data_requests(store) + [_answer(e, ANSWERED_BY_ERASURE, by, at) for e in done])
    db.session.flush()
    log.info("data requests answered by erasure", extra={"store_id": store_id, "requests": sorted(keys),
                                                         "by_agent_id": by.id if by is not None else None})
    return len(done)


# ---- shop redaction -------------------------------------------------------------------------

def begin_shop_redaction(connector, delivery):
    """A platform's ``shop/redact`` (the shop uninstalled the app 48 hours ago): disconnect the
    connector now -- secret cleared, inactive, so nothing more from that shop is accepted --
    drop its deliveries not processed yet (they would bring customers back after the erasure),
    and queue the erasure itself (an outbox row: ``workers.privacy_jobs``), which runs in
    batches after the commit. Emits nothing here."""
    connector.active = False
    connector.secret = ""
    connector.previous_secret = None
    connector.api_token = None
    db.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.connector_id == connector.id, WebhookDelivery.status == WebhookDelivery.RECEIVED,
        WebhookDelivery.id != delivery.id,
    ).values(status=WebhookDelivery.IGNORED, body=None, error="dropped: the shop's data was erased on request")
        .execution_options(synchronize_session=False))
    outbox.add(SHOP_REDACTION, {"store_id": connector.store_id, "connector_id": connector.id,
                                "platform": connector.platform, "after_id": 0},
               subject_ref=f"connector:{connector.id}")
    db.session.flush()
    log.info("shop privacy request: shop redaction queued",
             extra={"store_id": connector.store_id, "connector_id": connector.id, "platform": connector.platform})


def shop_contact_ids(store_id, platform, after_id=0, limit=50):
    """Ids (ascending, above ``after_id``) of the store's contacts that the platform's webhooks
    linked: a platform id, the platform's customer record, or one of its orders. Erased
    placeholders are among them (their orders stay linked); ``redact_shop_contacts`` skips them."""
    linked = union(
        select(ContactIdentity.contact_id).where(ContactIdentity.store_id == store_id,
                                                 ContactIdentity.platform == platform),
        select(CommerceCustomer.contact_id).where(CommerceCustomer.store_id == store_id,
                                                  CommerceCustomer.platform == platform,
                                                  CommerceCustomer.contact_id.is_not(None)),
        select(Order.contact_id).where(Order.store_id == store_id, Order.platform == platform,
                                       Order.contact_id.is_not(None)),
    )
    return db.session.scalars(select(Contact.id).where(Contact.store_id == store_id, Contact.id.in_(linked),
                                                       Contact.id > after_id).order_by(Contact.id).limit(limit)).all()


def _detach_from_shop(people, platform):
    """A customer who also wrote to the store keeps their conversations and profile; the
    shop's data about them goes: platform id, the platform's customer record, the link (and
    the address) of its orders. ``people``: the contact and the duplicates merged into it.
    Emits ``contact.updated``."""
    contact, ids = people[0], [p.id for p in people]
    quiet = {"synchronize_session": False}
    customers = select(CommerceCustomer.id).where(CommerceCustomer.contact_id.in_(ids),
                                                  CommerceCustomer.platform == platform)
    theirs = (Order.store_id == contact.store_id) & (Order.platform == platform) & or_(
        Order.contact_id.in_(ids), Order.customer_id.in_(customers))
    anonymise_orders(theirs)
    db.session.execute(update(Order).where(Order.store_id == contact.store_id, Order.platform == platform,
                                           Order.contact_id.in_(ids))
                       .values(contact_id=None).execution_options(**quiet))
    db.session.execute(delete(CommerceCustomer).where(CommerceCustomer.contact_id.in_(ids),
                                                      CommerceCustomer.platform == platform).execution_options(**quiet))
    db.session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id.in_(ids),
                                                     ContactIdentity.platform == platform).execution_options(**quiet))
    for person in people:
        if platform in (person.platform_ids or {}):
            person.platform_ids = {k: v for k, v in person.platform_ids.items() if k != platform}
    db.session.flush()
    events.contact_updated(contact, {"platform_ids"})


@action
def redact_shop_contacts(store_id, platform, contact_ids):
    """One batch of a shop redaction, in one transaction: each contact (the one its duplicates
    were merged into) is erased (``erase_contact``, by the system) when it never wrote to the
    store, else detached from the shop (``_detach_from_shop``); erased ones are skipped, so a
    batch done twice changes nothing. (The search indexes' purge after it is one for many
    erasures: ``helpdesk.actions.contacts._request_search_purge``.)
    Returns ``(erased, detached)`` counts. Emits what those emit."""
    erased = detached = 0
    for contact_id in contact_ids:
        contact = _root(db.session.get(Contact, contact_id))
        if contact is None or contact.erasure:
            continue
        people = with_merged(contact)
        wrote = select(Ticket.id).where(Ticket.contact_id.in_([p.id for p in people])).limit(1)
        if db.session.scalar(wrote) is None:
            erase_contact(contact, by=None)
            erased += 1
        else:
            _detach_from_shop(people, platform)
            detached += 1
    return erased, detached


@action
def continue_shop_redaction(payload, after_id):
    """Queue the rest of a shop redaction (the next slice, from contact ``after_id`` on)."""
    outbox.add(SHOP_REDACTION, {**payload, "after_id": after_id}, subject_ref=f"connector:{payload['connector_id']}")


@action
def finish_shop_redaction(store_id, platform, connector_id):
    """The last step of a shop redaction, once no contact is left to erase: the shop's orders
    lose address, customer link and order-status link, the platform's remaining customer
    records and ids go (those no contact was linked to), and every raw webhook body the
    connector delivered. Idempotent. Emits nothing; logs."""
    quiet = {"synchronize_session": False}
    anonymise_orders((Order.store_id == store_id) & (Order.platform == platform))
    db.session.execute(delete(CommerceCustomer).where(CommerceCustomer.store_id == store_id,
                                                      CommerceCustomer.platform == platform).execution_options(**quiet))
    db.session.execute(delete(ContactIdentity).where(ContactIdentity.store_id == store_id,
                                                     ContactIdentity.platform == platform).execution_options(**quiet))
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.connector_id == connector_id,
                                                     WebhookDelivery.body.is_not(None))
                       .values(body=None).execution_options(**quiet))
    log.info("shop privacy request: shop data erased",
             extra={"store_id": store_id, "platform": platform, "connector_id": connector_id})
