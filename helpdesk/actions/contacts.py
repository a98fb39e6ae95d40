"""Contacts: find or create, update, merge, block."""
from sqlalchemy import bindparam, select, update

from helpdesk import events
from helpdesk.actions import ActionError, action, insert_loaded
from helpdesk.extensions import db
from helpdesk.models import Contact, ContactIdentity, Ticket, Visitor, utcnow
from helpdesk.prepared import prepare
from helpdesk.text import clean_text

# Built once: every inbound email and contact-form message looks its sender up by address.
_BY_EMAIL = prepare(
    select(Contact)
    .where(Contact.store_id == bindparam("store_id"), Contact.email == bindparam("email"),
           Contact.merged_into_id.is_(None))
    .order_by(Contact.id).limit(1)
)


#: ``find_or_create_contact(by_email=...)`` default: the contact is looked up here.
LOOK_UP = object()


def normalise_email(email):
    email = clean_text(email).lower()
    return email or None


@action
def find_or_create_contact(store, *, email=None, name=None, phone=None, platform=None, platform_id=None,
                           locale=None, by_email=LOOK_UP):
    """Return the store's contact with this platform id, email or (given no email) phone,
    creating it if new.

    ``by_email``: what ``_BY_EMAIL`` finds for ``email`` (a Contact, or None for nobody),
    read by the caller earlier in this transaction (the email intake reads it with its
    threading lookup); saves reading it again.

    Changes: inserts a Contact or fills its missing name/phone. Emits nothing (the ticket
    or message that follows carries the contact).
    """
    email = normalise_email(email)
    contact = None
    if platform and platform_id:
        contact = db.session.scalar(
            select(Contact).join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(ContactIdentity.store_id == store.id, ContactIdentity.platform == platform,
                   ContactIdentity.platform_id == str(platform_id))
        )
        while contact is not None and contact.merged_into_id:
            contact = db.session.get(Contact, contact.merged_into_id)
    if contact is None and email:
        if by_email is LOOK_UP:
            contact = db.session.scalar(_BY_EMAIL, {"store_id": store.id, "email": email})
        else:
            contact = by_email
    if contact is None and phone and not email:
        # Shops send phone-only customers (SMS checkout); match the number as stored.
        contact = db.session.scalar(
            select(Contact).where(Contact.store_id == store.id, Contact.phone == clean_text(phone, 40),
                                  Contact.merged_into_id.is_(None)).order_by(Contact.id).limit(1)
        )
    if contact is None:
        # One INSERT, the id known at once: the message or ticket that follows needs it.
        contact = insert_loaded(Contact, store_id=store.id, email=email, platform_ids={},
                                name=clean_text(name, 255) if name else "",
                                phone=clean_text(phone, 40) if phone else None,
                                locale=clean_text(locale, 16) if locale else None)
    else:
        # Changes to a known contact are written with the transaction's next flush; nothing
        # needs them earlier, and a flush for nothing still costs a unit-of-work pass.
        if name and not contact.name:
            contact.name = clean_text(name, 255)
        if phone and not contact.phone:
            contact.phone = clean_text(phone, 40)
        if locale and not contact.locale:
            contact.locale = clean_text(locale, 16)
        if email and not contact.email:
            contact.email = email
    if platform and platform_id and (contact.platform_ids or {}).get(platform) != str(platform_id):
        _add_identity(contact, platform, platform_id)
    return contact


def _add_identity(contact, platform, platform_id):
    exists = db.session.scalar(select(ContactIdentity).where(
        ContactIdentity.store_id == contact.store_id, ContactIdentity.platform == platform,
        ContactIdentity.platform_id == str(platform_id)))
    if exists is None:
        db.session.add(ContactIdentity(store_id=contact.store_id, platform=platform,
                                       platform_id=str(platform_id), contact_id=contact.id))
    ids = dict(contact.platform_ids or {})
    ids[platform] = str(platform_id)
    contact.platform_ids = ids
    db.session.flush()


@action
def update_contact(contact, by_agent, **changes):
    """Edit a contact's details. Emits ``contact.updated`` to the store's agents."""
    changed = set()
    for key in ("name", "phone", "notes"):
        if key in changes and changes[key] is not None:
            value = clean_text(changes[key], 10000 if key == "notes" else 255)
            if value != getattr(contact, key):
                setattr(contact, key, value)
                changed.add(key)
    if "email" in changes:
        email = normalise_email(changes["email"])
        if email != contact.email:
            contact.email = email
            contact.email_failing = False
            changed.add("email")
    if "blocked" in changes and changes["blocked"] is not None and changes["blocked"] != contact.blocked:
        set_blocked(contact, by_agent, changes["blocked"])
        changed.add("blocked")
    if changed:
        db.session.flush()
        events.contact_updated(contact, changed)
    return contact


@action
def set_blocked(contact, by_agent, blocked=True):
    """Block (or unblock) a shopper. The shopper is not told; their messages are kept
    for audit but no longer reach agents. Emits ``contact.updated``."""
    contact.blocked = bool(blocked)
    contact.blocked_at = utcnow() if blocked else None
    contact.blocked_by_id = by_agent.id if (blocked and by_agent) else None
    db.session.flush()
    events.contact_updated(contact, {"blocked"})
    return contact


@action
def merge_contacts(target, source, by_agent):
    """Fold ``source`` into ``target``: tickets and visitors move, missing details and
    platform ids are filled in, ``source`` is kept as merged (for audit). Emits
    ``contact.updated`` for the target."""
    if target.id == source.id:
        raise ActionError("A contact cannot be merged into itself.", "source_id")
    if target.store_id != source.store_id:
        raise ActionError("Contacts of different stores cannot be merged.", "source_id")
    if source.merged_into_id:
        raise ActionError("That contact was already merged.", "source_id", status=409)
    db.session.execute(update(Ticket).where(Ticket.contact_id == source.id).values(contact_id=target.id))
    db.session.execute(update(Visitor).where(Visitor.contact_id == source.id).values(contact_id=target.id))
    db.session.execute(update(ContactIdentity).where(ContactIdentity.contact_id == source.id)
                       .values(contact_id=target.id))
    for key in ("name", "email", "phone", "locale"):
        if not getattr(target, key) and getattr(source, key):
            setattr(target, key, getattr(source, key))
    ids = dict(source.platform_ids or {})
    ids.update(target.platform_ids or {})
    target.platform_ids = ids
    if source.notes:
        target.notes = (target.notes + "\n\n" + source.notes).strip()
    target.blocked = target.blocked or source.blocked
    source.merged_into_id = target.id
    source.email = None  # the address now belongs to the target only
    db.session.flush()
    events.contact_updated(target, {"merged"})
    return target
