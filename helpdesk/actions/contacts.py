"""Contacts: find or create, update, merge, block; export and erase a customer's data on
request (the right of access and the right to erasure)."""
import logging
from contextlib import contextmanager

from sqlalchemy import bindparam, case, delete, func, or_, select, update

from helpdesk import events
from helpdesk.actions import ActionError, Conflict, Forbidden, action, insert_loaded
from helpdesk.extensions import db
from helpdesk.models import (
    Appointment,
    AppointmentStatus,
    AssistRequest,
    Attachment,
    CommerceCustomer,
    Contact,
    ContactIdentity,
    EmailAutoReply,
    EmailHeader,
    Handoff,
    InboundEmail,
    Message,
    MessageKind,
    Order,
    OutboxItem,
    PageView,
    RecurringQuestionsReport,
    Ticket,
    Visitor,
    WebhookDelivery,
    utcnow,
)
from helpdesk.models.people import ERASED, ERASED_KEY
from helpdesk.models.search import has_search_tables, purge_deleted_terms
from helpdesk.prepared import prepare
from helpdesk.text import clean_text, text_to_html
from workers import outbox

log = logging.getLogger(__name__)

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
    """Edit a contact's details. Emits ``contact.updated`` to the store's agents. An erased
    customer's placeholder is refused (409): it must not start holding personal data again."""
    if contact.erasure:
        raise Conflict("This customer's data was erased: the placeholder cannot be edited.", "contact_id")
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
    if target.erasure or source.erasure:
        # An erased placeholder holds nothing to merge, and must not start holding data again.
        raise Conflict("An erased customer cannot be merged.", "source_id")
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


# ---- a customer's data: export and erasure ---------------------------------------------------

def require_privacy_admin(agent):
    """Refuse (403) anyone but an admin: a customer's data leaves the helpdesk, or is erased,
    as the shop's answer to the customer's request, not in day-to-day support. ``None`` is the
    system (CLI, tests)."""
    if agent is not None and not agent.is_admin:
        raise Forbidden("Only admins export or erase a customer's data.")


def with_merged(contact):
    """``contact`` and every contact merged into it, at any depth (their history is its now)."""
    people, frontier = [contact], [contact.id]
    while frontier:
        found = db.session.scalars(select(Contact).where(Contact.merged_into_id.in_(frontier))
                                   .order_by(Contact.id)).all()
        found = [c for c in found if c not in people]
        people += found
        frontier = [c.id for c in found]
    return people


def _people_of(contact):
    """``contact``, every contact merged into it, and the anonymous contacts their chats began
    as: a shopper who chats first and gives an address or logs in later is linked to the known
    contact and their tickets move (``helpdesk.actions.visitors._link``), but the first,
    nameless-but-for-the-pre-chat-form contact stays the author of what they wrote."""
    people = with_merged(contact)
    ids = [p.id for p in people]
    aliases = db.session.scalars(select(Contact).where(
        Contact.id.in_(select(Message.author_contact_id).where(Message.ticket_id.in_(_tickets_of(ids)))),
        Contact.id.not_in(ids), Contact.email.is_(None),
        ~select(Ticket.id).where(Ticket.contact_id == Contact.id).exists(),
        ~select(ContactIdentity.id).where(ContactIdentity.contact_id == Contact.id).exists(),
    ).order_by(Contact.id)).all()
    return people + list(aliases)


def _tickets_of(ids):
    return select(Ticket.id).where(Ticket.contact_id.in_(ids))


def _visitors_of(ids):
    """The browsers that are the customer's: linked to them, or anonymous ones their chats
    came from. One linked to somebody else since (a shared computer) is that person's."""
    used = select(Ticket.visitor_id).where(Ticket.contact_id.in_(ids), Ticket.visitor_id.is_not(None))
    return db.session.scalars(select(Visitor).where(or_(
        Visitor.contact_id.in_(ids), Visitor.contact_id.is_(None) & Visitor.id.in_(used))).order_by(Visitor.id)).all()


def _email_addresses(people):
    """``{address: {"failing", "seen_in"}}`` of every address the helpdesk knows for them."""
    ids = [p.id for p in people]
    known = {}

    def seen(address, where, failing=False):
        address = normalise_email(address)
        if address:
            entry = known.setdefault(address, {"address": address, "failing": False, "seen_in": []})
            entry["failing"] = entry["failing"] or failing
            if where not in entry["seen_in"]:
                entry["seen_in"].append(where)

    for person in people:
        seen(person.email, "profile", person.email_failing)
    for address in db.session.scalars(select(EmailHeader.sender).where(
            EmailHeader.contact_id.in_(ids), EmailHeader.direction == EmailHeader.IN).distinct()):
        seen(address, "email")
    for address in db.session.scalars(select(Order.email).where(Order.contact_id.in_(ids)).distinct()):
        seen(address, "order")
    for address in db.session.scalars(select(CommerceCustomer.email).where(CommerceCustomer.contact_id.in_(ids))):
        seen(address, "shop_customer")
    return known


def _held_mail(store_id, addresses):
    """Inbound mail from these addresses that is not (or not yet) part of a conversation."""
    if not addresses:
        return select(InboundEmail).where(False)
    return select(InboundEmail).where(
        InboundEmail.store_id == store_id, func.lower(InboundEmail.sender).in_(sorted(addresses)),
        InboundEmail.status.in_((InboundEmail.QUARANTINED, InboundEmail.REFUSED, InboundEmail.PENDING)))


def export_contact_data(contact, *, by=None):
    """Everything the helpdesk holds about ``contact`` (and the duplicates merged into it or
    the anonymous contacts it began as, ``_people_of``), as
    one JSON-ready document (``helpdesk.contact_export``): profile, platform ids, the email
    addresses known and whether mail to them fails, every conversation with the messages the
    customer wrote or was sent and their attachments (names and signed download links),
    ratings, widget sessions with the pages viewed, orders and the shop platform's customer
    records, in-store visits, and mail from their addresses held out of the conversations.

    Agents' internal notes (on conversations, on the contact, in handoffs and on visits) and
    timeline events are left out: they are the shop's own working records, never shown to the
    customer (helpdesk.contact_export says more).

    Admins only (``by``; None is the system). Reads only, emits nothing; logs who exported whom."""
    from helpdesk.contact_export import FORMAT, ContactExportSchema

    require_privacy_admin(by)
    people = _people_of(contact)
    ids = [p.id for p in people]
    tickets = db.session.scalars(select(Ticket).where(Ticket.contact_id.in_(ids))
                                 .order_by(Ticket.created_at, Ticket.id)).all()
    messages = {}
    # What the customer saw: messages, never notes or events; a blocked customer's hidden
    # messages too (they wrote them).
    for message in db.session.scalars(select(Message).where(
            Message.ticket_id.in_(_tickets_of(ids)), Message.kind == MessageKind.MESSAGE).order_by(Message.id)):
        messages.setdefault(message.ticket_id, []).append(message)
    sessions = [{"visitor": v, "pages": db.session.scalars(
        select(PageView).where(PageView.visitor_id == v.id).order_by(PageView.viewed_at, PageView.id)).all()}
        for v in _visitors_of(ids)]
    addresses = _email_addresses(people)
    document = {
        "format": FORMAT,
        "exported_at": utcnow(),
        "store": {"id": contact.store.id, "name": contact.store.name},
        "contact": contact,
        "merged_contacts": people[1:],
        "platform_ids": db.session.scalars(select(ContactIdentity).where(ContactIdentity.contact_id.in_(ids))
                                           .order_by(ContactIdentity.platform, ContactIdentity.id)).all(),
        "email_addresses": list(addresses.values()),
        "tickets": [{"ticket": t, "messages": messages.get(t.id, [])} for t in tickets],
        "ratings": [t for t in tickets if t.rating is not None],
        "visitor_sessions": sessions,
        "orders": db.session.scalars(select(Order).where(Order.contact_id.in_(ids))
                                     .order_by(Order.placed_at, Order.id)).all(),
        "shop_customer_records": db.session.scalars(select(CommerceCustomer).where(
            CommerceCustomer.contact_id.in_(ids)).order_by(CommerceCustomer.id)).all(),
        "appointments": db.session.scalars(select(Appointment).where(Appointment.contact_id.in_(ids))
                                           .order_by(Appointment.starts_at, Appointment.id)).all(),
        "inbound_emails": db.session.scalars(_held_mail(contact.store_id, addresses)
                                             .order_by(InboundEmail.id)).all(),
    }
    log.info("contact exported", extra={"contact_id": contact.id, "store_id": contact.store_id,
                                         "by_agent_id": by.id if by is not None else None})
    return ContactExportSchema().dump(document)


#: Timeline event details that say what agents did (who was assigned, which status), kept on an
#: erased customer's conversations; everything else in an event (a transfer's note, an
#: auto-reply's sender and text, a bounce's diagnostic) goes.
_EVENT_META_KEPT = frozenset({
    "event", "claimed", "assignee_id", "assignee_name", "to_agent_id", "to_agent_name", "to_team_id",
    "to_team_name", "previous", "status", "snoozed_until", "minutes", "appointment_id", "starts_at",
    "location", "agent_name",
})


@contextmanager
def _overwriting_deleted_content():
    """SQLite keeps deleted content in free pages until they are reused; with secure_delete
    it overwrites it with zeros. Set for this transaction's connection only, then put back."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA secure_delete").scalar()
    connection.exec_driver_sql("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA secure_delete = {int(previous or 0)}")


def _hold(ids):
    """Lock these contacts' rows until this transaction ends, before the erasure reads
    anything of theirs. A customer's message may be on its way meanwhile (their widget's
    socket, a mail in the intake): its INSERT names the contact (a foreign key), so on
    PostgreSQL it waits for this lock, or this lock waits for it; SQLite has one write lock,
    taken here by a write (to the same value). Either the message commits first, and the
    erasure that follows finds and erases it with the rest, or it is written after the
    erasure committed and refused there (``helpdesk.actions.messages``: an erased customer's
    conversation takes no new words)."""
    table = Contact.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(table).where(table.c.id.in_(ids)).values(id=table.c.id))
    else:
        db.session.execute(select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update())


def erased_now(contact_id):
    """Whether the contact's data is erased, read under a lock on its row, for a write that
    would put words back into their conversations (a rating's comment, an agent's reply). An
    erasure running now holds that lock (``_hold``) until it commits, so this waits for it and
    then reads what it committed; an erasure that starts after this waits for the caller's
    transaction instead, and erases what it wrote with the rest."""
    table = Contact.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        # One write lock for the whole file, taken here by a write of the same values (its
        # updated_at too, which would otherwise be stamped).
        db.session.execute(update(table).where(table.c.id == contact_id)
                           .values(id=table.c.id, updated_at=table.c.updated_at))
        query = select(table.c.platform_ids).where(table.c.id == contact_id)
    else:
        # Shared: customers' messages and other ratings of the same contact do not queue on it.
        query = select(table.c.platform_ids).where(table.c.id == contact_id).with_for_update(read=True)
    platform_ids = db.session.scalar(query)
    return bool((platform_ids or {}).get(ERASED_KEY))


#: The outbox kind of the search indexes' purge after erasures (``workers.privacy_jobs``).
SEARCH_PURGE = "search_purge"


def _request_search_purge():
    """Have the search indexes rewritten without what this transaction erased, after it
    commits (SQLite only: ``purge_deleted_terms``, in steps, as outbox work). Search stops
    finding the erased words at the commit already (the indexes' triggers delete each row's
    entries); the purge takes their remains out of the file. One purge covers every erasure
    committed before it begins: a request not begun yet (nor failed: its retry may be hours
    away) is enough for this one too. (Read while this transaction holds SQLite's write lock:
    that request cannot begin before this commits.)"""
    if not has_search_tables(db.session.connection()):
        return
    waiting = db.session.scalars(select(OutboxItem.payload).where(
        OutboxItem.kind == SEARCH_PURGE, OutboxItem.status == OutboxItem.PENDING, OutboxItem.attempts == 0))
    if not any(not (payload or {}).get("begun") for payload in waiting):
        outbox.add(SEARCH_PURGE, {"begun": False}, subject_ref="search")


@action
def erase_contact(contact, *, by):
    """Erase a customer's personal data on their request, for good: the contact (and every
    duplicate merged into it, and the anonymous contacts it began as: ``_people_of``) becomes
    an anonymous placeholder, "Erased customer #<id>", so
    the foreign keys, counts and reports that point at it keep working.

    Removed or anonymised:

    * the profile: name, email, phone, language, platform ids and their lookup rows, agents'
      notes on the contact, the block;
    * every text on their conversations, replaced with ``ERASED`` ("[erased]"): their messages
      and their email HTML, and also agents' replies, internal notes, handoff notes and
      timeline event texts. Agents quote and paraphrase the customer ("Dana at 5 Rue X says the
      parcel..."), and nobody can read thousands of replies to find which do: like a
      helpdesk's "permanently delete" (not a one-message redaction), the whole conversation's
      words go, the structure stays. Subjects and queue previews, rating comments, detected
      languages, message metadata (email headers, form fields, cards, delivery addresses) too;
    * attachments, by anyone, on those conversations, and their uploads not yet sent: the
      rows now, the files on disk right after the commit (an outbox row, so a crash cannot
      keep them; a file another attachment still uses stays);
    * their widget sessions (browser, user agent, time zone, pages viewed, attributes): the
      visitor rows go, so the token in their browser resumes nothing;
    * email threading rows (Message-IDs, senders), mail from their addresses kept as raw MIME
      (quarantine, deliveries), the automatic-answer log, outgoing mail and webhooks about
      those conversations still queued or kept in the outbox, writing-assist drafts on them;
      raw shop webhook bodies that name one of their addresses;
    * the shop platform's customer records; orders keep no address; visits keep no notes,
      and booked future visits are cancelled (nobody can be told any more);
    * examples quoted from their conversations in stored recurring-questions reports;
    * search: SQLite's FTS5 indexes follow the rows through their triggers (the erased words
      cannot be found once this commits; the cost is the customer's rows, not the index's),
      and right after the commit a background purge rewrites them without the old entries,
      deleted pages overwritten (``_request_search_purge``); PostgreSQL's trigram indexes
      follow the rows (VACUUM reclaims old row versions).

    Kept, because the shop needs them and they no longer say who the customer was: ticket
    rows (channel, status, timestamps, assignee, team, tags), message rows (who wrote when:
    response times), rating scores and their reasons (codes), orders and their lines and
    amounts and sales attribution (accounting; linked to the placeholder), visits' times and
    places.

    Afterwards new mail from the same address, or a chat with the same shop login, starts a
    fresh contact: nothing leads back to the placeholder.

    A message from them on its way meanwhile is erased with the rest or refused (``_hold``).
    A shop platform's data request whose every contact is erased now is answered by this
    erasure (``helpdesk.actions.privacy.answer_data_requests_by_erasure``).

    Admins only (``by``; None is the system). Refused (409) for a contact merged into another
    (erase that one) and for one already erased. Records who erased and when (never what) on
    the placeholder (``Contact.erasure``) and in the log. Emits ``contact.erased`` to the
    store's agents and its outgoing webhook subscribers (ids only) and ends the customer's
    widget sockets (after the commit: a message sent on one before that is refused, one sent
    after finds no connection); appointment.updated for visits it cancels."""
    from helpdesk.actions.privacy import answer_data_requests_by_erasure  # privacy imports this module

    require_privacy_admin(by)
    people = _people_of(contact)
    ids = [p.id for p in people]
    _hold(ids)
    # Read again under the lock: another admin (or a shop's request) may have just erased it.
    db.session.refresh(contact)
    if contact.merged_into_id:
        raise Conflict("This contact was merged into another one: erase that one.", "contact_id")
    if contact.erasure:
        raise Conflict("This customer's data was already erased.", "contact_id")
    tickets = _tickets_of(ids)
    ticket_ids = list(db.session.scalars(tickets))
    addresses = set(_email_addresses(people))
    visitors = _visitors_of(ids)
    visitor_ids, uids = [v.id for v in visitors], [v.uid for v in visitors]
    now = utcnow()
    quiet = {"synchronize_session": False}  # the session is expired below, before it is read again
    with _overwriting_deleted_content():
        messages = select(Message.id).where(or_(Message.ticket_id.in_(tickets), Message.author_contact_id.in_(ids)))
        _erase_attachments(messages, uids)
        _erase_texts(messages, tickets, quiet)
        db.session.execute(delete(PageView).where(PageView.visitor_id.in_(visitor_ids)).execution_options(**quiet))
        db.session.execute(update(Ticket).where(Ticket.visitor_id.in_(visitor_ids)).values(visitor_id=None)
                           .execution_options(**quiet))
        db.session.execute(delete(Visitor).where(Visitor.id.in_(visitor_ids)).execution_options(**quiet))
        _erase_mail(contact.store_id, ids, tickets, messages, addresses, quiet)
        db.session.execute(delete(AssistRequest).where(AssistRequest.ticket_id.in_(tickets)).execution_options(**quiet))
        _erase_commerce(contact.store_id, ids, addresses, quiet)
        cancelled = list(db.session.scalars(select(Appointment.id).where(
            Appointment.contact_id.in_(ids), Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > now)))
        db.session.execute(update(Appointment).where(Appointment.id.in_(cancelled))
                           .values(status=AppointmentStatus.CANCELLED, cancelled_at=now).execution_options(**quiet))
        db.session.execute(update(Appointment).where(Appointment.contact_id.in_(ids)).values(notes="")
                           .execution_options(**quiet))
        _erase_report_examples(set(ticket_ids))
        db.session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id.in_(ids))
                           .execution_options(**quiet))
        # The statements above went around the session: what it had loaded is stale now.
        db.session.flush()
        db.session.expire_all()
        record = {"at": now.isoformat(), "by_agent_id": by.id if by is not None else None}
        for person in people:
            person.name = f"Erased customer #{person.id}"
            person.email = person.phone = person.locale = None
            person.notes = ""
            person.platform_ids = {ERASED_KEY: record}
            person.blocked, person.blocked_at, person.blocked_by_id = False, None, None
            person.email_failing = False
        db.session.flush()
    answer_data_requests_by_erasure(contact.store_id, by=by, at=now)
    _request_search_purge()
    for appointment in db.session.scalars(select(Appointment).where(Appointment.id.in_(cancelled))):
        events.appointment_changed(appointment, "cancelled")
    events.contact_erased(contact, ticket_ids, uids)
    log.info("contact erased", extra={"contact_id": contact.id, "store_id": contact.store_id,
                                      "by_agent_id": record["by_agent_id"], "tickets": len(ticket_ids)})
    return contact


def _erase_attachments(messages, uids):
    """Their conversations' attachments and their uploads not yet sent: rows now, files after commit."""
    from helpdesk.actions.attachments import forget_files

    uploaded = [f"visitor:{uid}" for uid in uids]
    where = or_(Attachment.message_id.in_(messages),
                Attachment.message_id.is_(None) & Attachment.uploaded_by.in_(uploaded))
    paths = [p for row in db.session.execute(select(Attachment.storage_path, Attachment.thumbnail_path).where(where))
             for p in row]
    db.session.execute(delete(Attachment).where(where).execution_options(synchronize_session=False))
    forget_files(paths)


def _erase_texts(messages, tickets, quiet):
    """Every word on their conversations: messages, notes, events, handoff notes, subjects."""
    # The HTML beside it too: the inbox shows a message's HTML (chat text escaped and linkified).
    db.session.execute(update(Message).where(Message.id.in_(messages)).values(
        body_text=case((Message.body_text == "", ""), else_=ERASED),
        body_html=case((Message.body_text == "", ""), else_=text_to_html(ERASED)),
        language=None).execution_options(**quiet))
    db.session.execute(update(Message).where(Message.id.in_(messages), Message.kind != MessageKind.EVENT)
                       .values(meta={}).execution_options(**quiet))
    for message_id, meta in db.session.execute(select(Message.id, Message.meta).where(
            Message.id.in_(messages), Message.kind == MessageKind.EVENT)).all():
        kept = {k: v for k, v in (meta or {}).items() if k in _EVENT_META_KEPT}
        if kept != meta:
            db.session.execute(update(Message).where(Message.id == message_id).values(meta=kept)
                               .execution_options(**quiet))
    db.session.execute(update(Handoff).where(Handoff.ticket_id.in_(tickets)).values(note="")
                       .execution_options(**quiet))
    db.session.execute(update(Ticket).where(Ticket.id.in_(tickets)).values(
        subject=case((Ticket.subject == "", ""), else_=ERASED),
        last_message_preview=case((Ticket.last_message_preview == "", ""), else_=ERASED),
        rating_comment=None, language=None).execution_options(**quiet))


def _erase_mail(store_id, ids, tickets, messages, addresses, quiet):
    """Threading rows, raw mail, the automatic-answer log, and the outbox's copies of mail and
    webhooks about their conversations (queued ones are not sent any more)."""
    db.session.execute(delete(EmailHeader).where(or_(EmailHeader.ticket_id.in_(tickets),
                                                     EmailHeader.contact_id.in_(ids))).execution_options(**quiet))
    held = or_(InboundEmail.ticket_id.in_(tickets), InboundEmail.message_id.in_(messages))
    if addresses:
        held = or_(held, (InboundEmail.store_id == store_id)
                   & func.lower(InboundEmail.sender).in_(sorted(addresses)))
        db.session.execute(delete(EmailAutoReply).where(EmailAutoReply.store_id == store_id,
                                                        EmailAutoReply.address.in_(sorted(addresses)))
                           .execution_options(**quiet))
    db.session.execute(delete(InboundEmail).where(held).execution_options(**quiet))
    payload = OutboxItem.payload
    db.session.execute(delete(OutboxItem).where(or_(
        (OutboxItem.kind == "email") & payload["ticket_id"].as_integer().in_(tickets),
        (OutboxItem.kind == "webhook") & or_(payload[("data", "ticket", "id")].as_integer().in_(tickets),
                                             payload[("data", "message", "ticket_id")].as_integer().in_(tickets)),
    )).execution_options(**quiet))


def _erase_commerce(store_id, ids, addresses, quiet):
    """The platform's customer records go; orders stay for the accounts, without an address.
    Raw webhook bodies already processed that name one of their addresses lose the body."""
    customers = select(CommerceCustomer.id).where(CommerceCustomer.contact_id.in_(ids))
    anonymise_orders(or_(Order.contact_id.in_(ids), Order.customer_id.in_(customers)))
    db.session.execute(delete(CommerceCustomer).where(CommerceCustomer.contact_id.in_(ids))
                       .execution_options(**quiet))
    forget_webhook_bodies(store_id, addresses)


def anonymise_orders(where):
    """Orders (``where``) stay for the accounts -- amounts, lines, refunds, the sale credited to
    an agent, the link to the contact or its placeholder -- but lose what names or reaches the
    customer: the address, the platform's customer record, and the order-status link (Shopify's
    opens the customer's order page, shipping address included, to whoever holds it)."""
    db.session.execute(update(Order).where(where).values(email=None, url=None, customer_id=None)
                       .execution_options(synchronize_session=False))


def forget_webhook_bodies(store_id, needles, *, connector_id=None):
    """Raw bodies of the store's shop webhooks already processed (or failed for good) that
    contain one of ``needles`` (addresses, platform ids) are dropped: they were kept only to
    troubleshoot. Still to be processed (received) they keep it: the job needs it, and what it
    brings is the shop's own (current) data about the customer, which starts a fresh contact."""
    needles = sorted({n for n in needles if n})
    if not needles:
        return
    where = [WebhookDelivery.store_id == store_id,
             WebhookDelivery.status.in_((WebhookDelivery.PROCESSED, WebhookDelivery.FAILED)),
             WebhookDelivery.body.is_not(None),
             or_(*(WebhookDelivery.body.icontains(n, autoescape=True) for n in needles))]
    if connector_id is not None:
        where.append(WebhookDelivery.connector_id == connector_id)
    db.session.execute(update(WebhookDelivery).where(*where).values(body=None)
                       .execution_options(synchronize_session=False))


@action
def purge_erased_search_terms(*, begin):
    """One step of the search purge ``erase_contact`` asks for (``purge_deleted_terms``), in a
    transaction of its own, deleted pages overwritten; True while there is more to do.
    ``begin``: the purge's first step. Emits nothing."""
    with _overwriting_deleted_content():
        return purge_deleted_terms(db.session.connection(), start=begin)


@action
def continue_search_purge():
    """Queue the rest of a search purge that is under way (its next slice)."""
    outbox.add(SEARCH_PURGE, {"begun": True}, subject_ref="search")


def _erase_report_examples(ticket_ids):
    """Stored recurring-questions reports quote one opening message per topic."""
    if not ticket_ids:
        return
    for report in db.session.scalars(select(RecurringQuestionsReport).where(
            RecurringQuestionsReport.status == RecurringQuestionsReport.DONE)):
        result = report.result or {}
        topics = [dict(t, example=ERASED) if t.get("example_ticket_id") in ticket_ids else t
                  for t in result.get("topics") or ()]
        if topics != (result.get("topics") or []):
            report.result = {**result, "topics": topics}
