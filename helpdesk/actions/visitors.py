"""Visitors: widget sessions, pages viewed, identification, pre-chat details, ratings."""
import hashlib
import hmac

from flask_babel import gettext as _
from sqlalchemy import select

from helpdesk import events
from helpdesk.actions import ActionError, Forbidden, action
from helpdesk.actions.contacts import find_or_create_contact
# The reasons live with the ratings; imported from here by code written before they moved.
from helpdesk.actions.ratings import NEGATIVE_REASONS, POSITIVE_REASONS, record_rating  # noqa: F401
from helpdesk.extensions import db
from helpdesk.models import ENDED_STATUSES, Contact, PageView, Ticket, TicketStatus, Visitor, utcnow
from helpdesk.text import clean_text

#: How many attributes a shop may set on a visitor, and how long each value may be.
MAX_ATTRIBUTES = 30
MAX_ATTRIBUTE_LENGTH = 500
#: Page views kept per visitor (older ones are dropped when new ones arrive).
MAX_PAGE_VIEWS = 200


def _parse_user_agent(ua):
    if not ua:
        return None, None, None
    try:
        from ua_parser import parse

        result = parse(ua)
        browser = result.user_agent.family if result.user_agent else None
        os_name = result.os.family if result.os else None
        device = result.device.family if result.device else None
    except Exception:  # noqa: BLE001 -- a strange UA string is not worth an error
        return None, None, None
    if device in (None, "Other"):
        device = "Mobile" if "Mobi" in ua else "Desktop"
    return browser, os_name, device


@action
def start_session(store, visitor=None, *, user_agent=None, locale=None, timezone=None, page=None):
    """Create the visitor on first contact or refresh a returning one; record the page.
    Emits ``visitor.updated`` to the store's agents."""
    if visitor is None or visitor.store_id != store.id:
        visitor = Visitor(store_id=store.id, attributes={})
        db.session.add(visitor)
    if user_agent and user_agent != visitor.user_agent:
        visitor.user_agent = clean_text(user_agent, 512)
        visitor.browser, visitor.os, visitor.device = _parse_user_agent(visitor.user_agent)
    if locale:
        visitor.locale = clean_text(locale, 16)
        if visitor.contact is not None and visitor.contact.locale != visitor.locale:
            # Automatic emails follow the language the shopper chats in now.
            visitor.contact.locale = visitor.locale
    if timezone:
        visitor.timezone = clean_text(timezone, 64)
    visitor.last_seen_at = utcnow()
    db.session.flush()
    if page:
        record_page_view(visitor, page)
    return visitor


@action
def record_page_view(visitor, page):
    url = clean_text(page.get("url"), 2048)
    if not url:
        return visitor
    title = clean_text(page.get("title"), 512)
    if page.get("referrer") and not visitor.referrer:
        visitor.referrer = clean_text(page.get("referrer"), 2048)
    if visitor.current_url != url:
        db.session.add(PageView(visitor_id=visitor.id, url=url, title=title))
    visitor.current_url, visitor.current_title = url, title
    visitor.last_seen_at = utcnow()
    db.session.flush()
    events.visitor_updated(visitor)
    return visitor


def identity_signature(store, customer_id):
    """What the shop's server computes for a logged-in shopper: HMAC-SHA256 (hex) of its
    customer id with the store's identity secret."""
    return hmac.new(store.identity_secret.encode(), str(customer_id).encode(), hashlib.sha256).hexdigest()


def verify_identity(store, customer_id, signature):
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    given = str(signature or "").encode("utf-8", "replace")
    return hmac.compare_digest(identity_signature(store, customer_id).encode(), given)


@action
def identify(store, visitor, *, customer_id, signature, email=None, name=None):
    """Link the visitor to the shop's logged-in customer, so one shopper on two devices is one
    contact. Refused unless the HMAC matches. Moves the visitor's anonymous tickets along."""
    if not verify_identity(store, customer_id, signature):
        raise Forbidden("The identity signature does not match.", "signature")
    contact = find_or_create_contact(store, platform="identify", platform_id=str(customer_id), email=email,
                                     name=name)
    _link(visitor, contact)
    return contact


def _link(visitor, contact):
    previous = visitor.contact
    visitor.contact_id = contact.id
    if previous is not None and previous.id != contact.id and not previous.email and not previous.platform_ids:
        # An anonymous contact made for this browser: its conversations now belong to the known one.
        for ticket in db.session.scalars(select(Ticket).where(Ticket.contact_id == previous.id)):
            ticket.contact_id = contact.id
    db.session.flush()
    events.visitor_updated(visitor)


@action
def set_attributes(visitor, attributes):
    """Attributes the shop sets from the page (cart value, order number...). Shown to agents."""
    if not isinstance(attributes, dict):
        raise ActionError("Attributes must be an object.", "attributes")
    merged = dict(visitor.attributes or {})
    for key, value in attributes.items():
        key = clean_text(key, 64)
        if not key:
            continue
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, (str, int, float, bool)):
            merged[key] = clean_text(value, MAX_ATTRIBUTE_LENGTH) if isinstance(value, str) else value
        else:
            raise ActionError("Attribute values must be text, numbers or booleans.", f"attributes.{key}")
    if len(merged) > MAX_ATTRIBUTES:
        raise ActionError(_("At most %(count)s attributes.", count=MAX_ATTRIBUTES), "attributes")
    visitor.attributes = merged
    db.session.flush()
    events.visitor_updated(visitor)
    return visitor


@action
def ensure_contact(store, visitor, *, name=None, email=None, order_number=None, topic=None, locale=None):
    """The contact behind a visitor: the pre-chat details (or an anonymous contact) make one.
    An email that matches a known contact links this browser to that contact's history."""
    contact = visitor.contact
    if email:
        known = find_or_create_contact(store, email=email, name=name, locale=locale or visitor.locale)
        if contact is None or contact.id != known.id:
            if contact is not None and not contact.email:
                # Fill the anonymous contact instead of splitting the history in two.
                contact.email = known.email if known.id == contact.id else None
            _link(visitor, known)
        contact = known
    elif contact is None:
        contact = Contact(store_id=store.id, name=clean_text(name, 255), locale=locale or visitor.locale,
                          platform_ids={})
        db.session.add(contact)
        db.session.flush()
        visitor.contact_id = contact.id
    if name and not contact.name:
        contact.name = clean_text(name, 255)
    attrs = {}
    if order_number:
        attrs["order_number"] = clean_text(order_number, 64)
    if topic:
        attrs["topic"] = clean_text(topic, 120)
    if attrs:
        visitor.attributes = {**(visitor.attributes or {}), **attrs}
    db.session.flush()
    return contact


@action
def rate_ticket(visitor, ticket, rating, reasons=(), comment=""):
    """1-5 stars. 5 takes optional positive reasons; 4 or fewer needs at least one
    negative/constructive reason. Emits ``ticket.updated`` to agents."""
    if ticket.visitor_id != visitor.id and (visitor.contact_id is None or ticket.contact_id != visitor.contact_id):
        raise ActionError("No such conversation.", "ticket_id", status=404)
    # The rules and the storing are shared with ratings from email (helpdesk.actions.ratings).
    return record_rating(ticket, rating, reasons, comment)


@action
def end_chat(ticket, *, by_agent=None, by_visitor=None):
    """Either side ends the chat: the ticket is resolved and the shopper is asked to rate
    (``change_status`` asks, as for any chat that ends)."""
    from helpdesk.actions.tickets import change_status

    if ticket.status in ENDED_STATUSES:
        return ticket
    change_status(ticket, TicketStatus.RESOLVED, by_agent)
    return ticket


@action
def record_invitation(visitor, rule_id):
    """A proactive invitation was shown: start the frequency-cap window. Emits
    ``visitor.updated`` so agents see the shopper was invited."""
    visitor.last_invited_at = utcnow()
    visitor.attributes = {**(visitor.attributes or {}), "invited_by_rule": clean_text(rule_id, 64)}
    db.session.flush()
    events.visitor_updated(visitor)
    return visitor
