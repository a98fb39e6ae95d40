"""In-store appointments: visits agents book from a conversation at a store's locations
(configured in ``helpdesk.actions.locations``).

Booking, moving and cancelling a visit each: validate the time in the location's own zone
(not in the past, inside opening hours, the agent free), write the row, put an event on
the ticket's timeline, tell the shopper in the chat (a customer-facing message with an
appointment card, in the shopper's language) and by email with an iCalendar invitation
(outbox), and tell the agents involved (``appointment.updated``).

The visit's emails go to the contact it was booked for (``Appointment.contact``), which a
merge of tickets does not change: after ticket A (contact X) is merged into ticket B
(contact Y), a change to a visit booked on A still emails X.

Who hosts a visit is the staff's business: an agent who loses the store or their account
leaves their upcoming visits unassigned (``unassign_appointments``), and a colleague takes
one over (``assign_appointment``). Neither changes anything the shopper was promised
(time, place), so neither writes to the shopper; the next real change does, naming the
agent then.
"""
from datetime import time, timedelta, timezone

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from helpdesk import calendar, events
from helpdesk.actions import ActionError, Conflict, NotFound, action
from helpdesk.actions.locations import (check_bookable, create_location, location_of_store,  # noqa: F401
                                        update_location)
from helpdesk.actions.tickets import add_event, touch_preview
from helpdesk.extensions import db
from helpdesk.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    AuthorType,
    Message,
    MessageKind,
    StoreLocation,
    TicketStatus,
    agent_stores,
    utcnow,
)
from helpdesk.models.appointments import WEEKDAYS
from helpdesk.text import clean_text, text_to_html

#: How far ahead a visit may be booked.
MAX_DAYS_AHEAD = 365


# ---- validation ------------------------------------------------------------------------------

def _day_name(local_dt):
    from babel.dates import format_date

    return format_date(local_dt.date(), "EEEE", locale=str(get_locale() or "en"))


def resolve_start(location, starts_at):
    """``starts_at`` as an aware UTC datetime. A naive value is wall-clock time at the
    location; one that does not exist there (skipped by a DST change) is refused, and an
    ambiguous one (the repeated hour) means its first occurrence."""
    # Far-off years would overflow the zone arithmetic below: refuse them with the same
    # messages as any other time too early or too late.
    if starts_at.year < 1971:
        raise ActionError(_("That time is in the past. Choose a time from now on."), "starts_at", status=422)
    if starts_at.year > 9000:
        raise ActionError(_("Visits can be booked at most %(days)d days ahead.", days=MAX_DAYS_AHEAD),
                          "starts_at", status=422)
    tz = calendar.zone(location.timezone)
    if starts_at.tzinfo is None:
        local = starts_at.replace(tzinfo=tz, fold=0)
        if local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != starts_at:
            raise ActionError(_("%(time)s does not exist in %(zone)s: the clocks change that night. "
                                "Choose another time.", time=starts_at.strftime("%H:%M"), zone=location.timezone),
                              "starts_at", status=422)
        return local.astimezone(timezone.utc)
    return starts_at.astimezone(timezone.utc)


def _parse_hhmm(value):
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def check_slot(location, start, end, *, now=None):
    """Refuse a visit in the past, too far ahead, or outside the location's opening hours
    (compared in the location's zone, so DST moves nothing). Raises ActionError (422)."""
    now = now or utcnow()
    if start <= now:
        raise ActionError(_("That time is in the past. Choose a time from now on."), "starts_at", status=422)
    if start > now + timedelta(days=MAX_DAYS_AHEAD):
        raise ActionError(_("Visits can be booked at most %(days)d days ahead.", days=MAX_DAYS_AHEAD),
                          "starts_at", status=422)
    tz = calendar.zone(location.timezone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    intervals = (location.opening_hours or {}).get(WEEKDAYS[local_start.weekday()]) or []
    if not intervals:
        raise ActionError(_("%(location)s is closed on %(day)s. Choose another day.",
                            location=location.name, day=_day_name(local_start)), "starts_at", status=422)
    same_day = local_end.date() == local_start.date()
    for opens, closes in intervals:
        if same_day and _parse_hhmm(opens) <= local_start.time() and local_end.time() <= _parse_hhmm(closes):
            return
    hours = ", ".join(f"{o}–{c}" for o, c in intervals)
    raise ActionError(_("%(location)s is open %(hours)s on %(day)s (%(zone)s time): a visit of %(minutes)d "
                        "minutes must fit inside those hours.", location=location.name, hours=hours,
                        day=_day_name(local_start), zone=location.timezone,
                        minutes=location.appointment_minutes), "starts_at", status=422)


def _check_agent_free(agent, start, end, exclude_id=None):
    query = select(Appointment.id).where(
        Appointment.agent_id == agent.id, Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at < end, Appointment.ends_at > start)
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise Conflict(_("%(agent)s already has a visit at that time.", agent=agent.name), "starts_at")


def _agent_for(store_id, agent):
    if agent is None or not agent.active or not agent.can_access_store(store_id):
        raise NotFound(_("No such agent for this store."), "agent_id")
    return agent


def booking_args(store_id, args):
    """The keyword arguments of ``book_appointment``, ``reschedule_appointment`` or
    ``assign_appointment`` for ``args`` loaded with ``AppointmentArgs``, ``AppointmentUpdateArgs``
    or ``AppointmentAssignArgs`` (helpdesk.schemas): the ids named become rows, a location of
    another store or an agent that does not exist is NotFound with the field. The inbox and the
    REST API both read a request through here, so they refuse the same input the same way."""
    changes = {key: args[key] for key in ("starts_at", "notes") if key in args}
    if "location_id" in args:
        # A deactivated one is passed on: the action refuses it with its name where it must.
        changes["location"] = location_of_store(store_id, db.session.get(StoreLocation, args["location_id"]))
    if args.get("agent_id") is not None:
        # Whether they may host a visit in this store is the action's to say (``_agent_for``).
        agent = db.session.get(Agent, args["agent_id"])
        if agent is None:
            raise NotFound(_("No such agent for this store."), "agent_id")
        changes["agent"] = agent
    return changes


# ---- actions ---------------------------------------------------------------------------------

@action
def book_appointment(ticket, by_agent, *, location, starts_at, agent=None, notes=""):
    """Book a visit for the ticket's contact at ``location`` (``starts_at``: aware, or
    wall-clock time there) with ``agent`` (default: ``by_agent``).

    Changes: a new Appointment (sequence 0), an ``appointment_booked`` event and a message
    to the shopper on the ticket, an invitation email (METHOD:REQUEST) in the outbox.
    Emits ``message.created`` (agents and the shopper's widget) and ``appointment.updated``
    (the agent's devices and the open conversation)."""
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict(_("This ticket is closed; reopen it to book a visit."), "status")
    location = check_bookable(ticket.store_id, location)
    agent = _agent_for(ticket.store_id, agent or by_agent)
    start = resolve_start(location, starts_at)
    end = start + timedelta(minutes=location.appointment_minutes)
    check_slot(location, start, end)
    _check_agent_free(agent, start, end)
    now = utcnow()
    appointment = Appointment(
        store_id=ticket.store_id, ticket_id=ticket.id, contact_id=ticket.contact_id, location_id=location.id,
        agent_id=agent.id, starts_at=start, ends_at=end, status=AppointmentStatus.BOOKED, sequence=0,
        notes=clean_text(notes, 2000), created_by_id=by_agent.id, created_at=now, updated_at=now,
    )
    db.session.add(appointment)
    db.session.flush()
    db.session.refresh(appointment, ["location", "agent", "contact", "ticket"])
    _record(appointment, "booked", by_agent)
    return appointment


@action
def reschedule_appointment(appointment, by_agent, *, starts_at=None, location=None, agent=None, notes=None):
    """Move a booked visit (time, location and/or agent). The uid stays, the sequence goes
    up by one so calendars replace their copy. Without ``agent`` the visit keeps its agent,
    or stays unassigned.

    Changes: the Appointment, an ``appointment_rescheduled`` event and a message to the
    shopper, an updated invitation (METHOD:REQUEST) in the outbox. Emits
    ``message.created`` and ``appointment.updated`` (old and new agent, or the store's agents
    when it had or has none; the conversation)."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(_("This visit was cancelled; book a new one."), "status")
    previous_agent_id = appointment.agent_id
    location = location or appointment.location
    if location.id != appointment.location_id or starts_at is not None:
        # A new time or place is a new booking there; notes or the agent may still change
        # on a visit at a location that has since been deactivated.
        check_bookable(appointment.store_id, location)
    # Without a new agent the visit keeps its own, none included: an unassigned visit moved
    # to another time stays unassigned rather than falling silently to whoever moved it.
    agent = agent or appointment.agent
    if agent is not None:
        _agent_for(appointment.store_id, agent)
    agent_id = agent.id if agent is not None else None
    start = resolve_start(location, starts_at) if starts_at is not None else appointment.starts_at
    end = start + timedelta(minutes=location.appointment_minutes)
    if (start, location.id, agent_id) == (appointment.starts_at, appointment.location_id, appointment.agent_id) \
            and (notes is None or clean_text(notes, 2000) == appointment.notes):
        return appointment  # nothing changes: no new invitation
    check_slot(location, start, end)
    if agent is not None:
        _check_agent_free(agent, start, end, exclude_id=appointment.id)
    appointment.location_id, appointment.agent_id = location.id, agent_id
    appointment.starts_at, appointment.ends_at = start, end
    if notes is not None:
        appointment.notes = clean_text(notes, 2000)
    appointment.sequence += 1
    appointment.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(appointment, ["location", "agent"])
    _record(appointment, "rescheduled", by_agent, previous_agent_id, was_unassigned=previous_agent_id is None)
    return appointment


@action
def cancel_appointment(appointment, by_agent, *, reason=""):
    """Cancel a booked visit. The sequence goes up; the shopper's calendar gets a
    METHOD:CANCEL with the same uid.

    Changes: the Appointment (status cancelled), an ``appointment_cancelled`` event and a
    message to the shopper, the cancellation email in the outbox. Emits ``message.created``
    and ``appointment.updated``."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    appointment.status = AppointmentStatus.CANCELLED
    appointment.sequence += 1
    appointment.cancelled_at = appointment.updated_at = utcnow()
    if reason:
        appointment.notes = clean_text(f"{appointment.notes}\n{reason}".strip(), 2000)
    db.session.flush()
    _record(appointment, "cancelled", by_agent)
    return appointment


@action
def unassign_appointments(agent, by, store_ids=None):
    """Take ``agent`` off their visits still to come (not yet ended) in ``store_ids`` (None:
    every store), because they lost that store or their account (``agents._release``).

    The visits stay booked as they are (time, place, uid, sequence): the shopper hears
    nothing, since nothing they were promised changed. They become unassigned: listed for
    the store's agents (``unassigned_for``) until one takes them over. Visits that have
    ended keep their agent: history says who received the shopper.

    Changes: each visit's agent, an ``appointment_unassigned`` event on its ticket (agents
    only). Emits ``message.created`` (the event) and ``appointment.updated`` (change
    ``unassigned``) to the store's agents and the open conversation, not to the agent who
    left: they no longer see that store. Returns the visits."""
    query = select(Appointment).where(
        Appointment.agent_id == agent.id, Appointment.status == AppointmentStatus.BOOKED,
        Appointment.ends_at > utcnow())
    if store_ids is not None:
        query = query.where(Appointment.store_id.in_(store_ids))
    appointments = db.session.scalars(query.order_by(Appointment.starts_at, Appointment.id)).all()
    for appointment in appointments:
        appointment.agent = None
        appointment.updated_at = utcnow()
        db.session.flush()
        local = calendar.local_start(appointment)
        add_event(appointment.ticket, "appointment_unassigned", by, appointment_id=appointment.id,
                  previous_agent_id=agent.id, starts_at=appointment.starts_at.isoformat(),
                  location=appointment.location.name,
                  text=_("%(agent)s no longer works at this store: the visit at %(location)s on %(when)s "
                         "(%(zone)s) needs another agent. The customer's visit stays booked.",
                         agent=agent.name, location=appointment.location.name,
                         when=local.strftime("%Y-%m-%d %H:%M"), zone=appointment.location.timezone))
        events.appointment_changed(appointment, "unassigned")
    return appointments


@action
def assign_appointment(appointment, by_agent, *, agent=None):
    """Give an unassigned visit an agent: ``agent`` (an active agent of the store), or
    ``by_agent`` taking it over. The same clash rule as booking: the agent must be free then.

    Refused: a cancelled visit, one that has ended, one that has an agent already (two
    colleagues taking it at the same moment: the second gets a Conflict naming the first).
    To hand a visit from one agent to another, move it (``reschedule_appointment``).

    Changes: the visit's agent, an ``appointment_assigned`` event on its ticket (agents only).
    The shopper hears nothing (the time and place stay). Emits ``message.created`` (the
    event) and ``appointment.updated`` (change ``assigned``) to the store's agents (the new
    agent among them) and the open conversation."""
    agent = _agent_for(appointment.store_id, agent or by_agent)
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(_("This visit was cancelled; book a new one."), "status")
    if appointment.ends_at <= utcnow():
        raise Conflict(_("This visit is over."), "status")
    if appointment.agent is not None:
        raise Conflict(_("%(agent)s is the agent of this visit already.", agent=appointment.agent.name), "agent_id")
    _check_agent_free(agent, appointment.starts_at, appointment.ends_at, exclude_id=appointment.id)
    # Only while it has no agent: of two colleagues taking it over at once, one wins (the
    # other's UPDATE waits for that COMMIT, then matches no row).
    claimed = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id, Appointment.agent_id.is_(None),
                                  Appointment.status == AppointmentStatus.BOOKED)
        .values(agent_id=agent.id, updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(appointment)
    if not claimed:
        if appointment.agent is not None:
            raise Conflict(_("%(agent)s is the agent of this visit already.", agent=appointment.agent.name),
                           "agent_id")
        raise Conflict(_("This visit was cancelled; book a new one."), "status")
    local = calendar.local_start(appointment)
    values = {"by": by_agent.name, "agent": agent.name, "location": appointment.location.name,
              "when": local.strftime("%Y-%m-%d %H:%M"), "zone": appointment.location.timezone}
    text = (_("%(agent)s took over the visit at %(location)s on %(when)s (%(zone)s).", **values)
            if agent.id == by_agent.id else
            _("%(by)s gave the visit at %(location)s on %(when)s (%(zone)s) to %(agent)s.", **values))
    add_event(appointment.ticket, "appointment_assigned", by_agent, appointment_id=appointment.id,
              agent_id=agent.id, agent_name=agent.name, starts_at=appointment.starts_at.isoformat(),
              location=appointment.location.name, text=text)
    events.appointment_changed(appointment, "assigned")
    return appointment


# ---- what each change tells whom -------------------------------------------------------------

def _record(appointment, change, by_agent, previous_agent_id=None, was_unassigned=False):
    ticket = appointment.ticket
    local = calendar.local_start(appointment)
    add_event(ticket, f"appointment_{change}", by_agent, appointment_id=appointment.id,
              text=_agent_event_text(appointment, change, by_agent, local),
              starts_at=appointment.starts_at.isoformat(), location=appointment.location.name,
              agent_name=appointment.agent.name if appointment.agent else None)
    _tell_shopper(appointment, change, by_agent)
    _email_invite(appointment, change)
    ticket.last_activity_at = utcnow()
    events.appointment_changed(appointment, change, previous_agent_id=previous_agent_id,
                               was_unassigned=was_unassigned)


def _agent_event_text(appointment, change, by_agent, local):
    when = local.strftime("%Y-%m-%d %H:%M")
    values = {"agent": by_agent.name, "location": appointment.location.name, "when": when,
              "zone": appointment.location.timezone}
    if change == "booked":
        return _("%(agent)s booked a visit at %(location)s on %(when)s (%(zone)s).", **values)
    if change == "rescheduled":
        return _("%(agent)s moved the visit at %(location)s to %(when)s (%(zone)s).", **values)
    return _("%(agent)s cancelled the visit at %(location)s on %(when)s (%(zone)s).", **values)


def shopper_locale(appointment):
    contact, ticket = appointment.contact, appointment.ticket
    # After a merge the ticket (and its browser) may be another contact's: their widget's
    # language says nothing about the shopper the visit was booked for.
    own_ticket = ticket.contact_id == appointment.contact_id
    visitor_locale = ticket.visitor.locale if own_ticket and ticket.visitor_id and ticket.visitor is not None \
        else None
    languages = ticket.store.setting("languages") or ["en"]
    return calendar.babel_locale(contact.locale, visitor_locale, languages[0])


def appointment_card(appointment, change, locale):
    """What the shopper sees of a visit (in ``locale``): already-translated labels, so the
    widget holds no English."""
    agent = appointment.agent
    when = calendar.describe_time(appointment, locale)
    headings = {"booked": _("Visit booked"), "rescheduled": _("Visit moved"), "cancelled": _("Visit cancelled")}
    return {
        "id": appointment.id,
        "status": str(appointment.status),
        "change": change,
        "heading": headings[change],
        "date": when["date"],
        "time": when["time"],
        "timezone": when["timezone"],
        "location": appointment.location.name,
        "address": appointment.location.address,
        "agent": {"name": agent.name, "title": agent.title or ""} if agent else None,
        "labels": {"when": _("When"), "where": _("Where"), "with": _("With")},
        "starts_at": appointment.starts_at.isoformat(),
    }


def _shopper_text(card):
    values = {"date": card["date"], "time": card["time"], "zone": card["timezone"], "location": card["location"],
              "agent": card["agent"]["name"] if card["agent"] else ""}
    if card["change"] == "cancelled":
        return _("Your visit to %(location)s on %(date)s, %(time)s is cancelled.", **values)
    if not card["agent"]:
        # An unassigned visit moved before a colleague took it over: no name to give.
        if card["change"] == "booked":
            return _("Your visit to %(location)s is booked for %(date)s, %(time)s (%(zone)s time).", **values)
        return _("Your visit to %(location)s is now on %(date)s, %(time)s (%(zone)s time).", **values)
    if card["change"] == "booked":
        return _("Your visit to %(location)s is booked for %(date)s, %(time)s (%(zone)s time) with %(agent)s.",
                 **values)
    return _("Your visit to %(location)s is now on %(date)s, %(time)s (%(zone)s time) with %(agent)s.", **values)


def _tell_shopper(appointment, change, by_agent):
    """A customer-facing message on the ticket: the chat shows it as a card, history keeps it."""
    locale = shopper_locale(appointment)
    with force_locale(str(locale)):
        card = appointment_card(appointment, change, locale)
        text = _shopper_text(card)
    message = Message(ticket_id=appointment.ticket_id, author_type=AuthorType.AGENT, author_agent_id=by_agent.id,
                      kind=MessageKind.MESSAGE, body_text=text, body_html=text_to_html(text),
                      meta={"appointment": card}, created_at=utcnow(), attachments=[])
    db.session.add(message)
    db.session.flush()
    touch_preview(appointment.ticket, text)
    events.message_created(message)
    return message


def _email_invite(appointment, change):
    """The invitation (or its update or cancellation) to the address of the contact the
    visit was booked for (not the ticket's, which a merge may have changed), through the
    outbox. Skipped when there is no usable address."""
    from helpdesk.actions.email import queue_ticket_email, ticket_mailbox

    contact, ticket = appointment.contact, appointment.ticket
    if not contact.email or contact.email_failing or contact.blocked:
        return None
    store = ticket.store
    mailbox = ticket_mailbox(ticket)
    organizer = appointment.location.email or (mailbox.address if mailbox else current_app.config["MAIL_FROM"])
    method = calendar.CANCEL if change == "cancelled" else calendar.REQUEST
    locale = shopper_locale(appointment)
    with force_locale(str(locale)):
        card = appointment_card(appointment, change, locale)
        agent_name = appointment.agent.name if appointment.agent else store.name
        summary = _("Visit to %(location)s with %(agent)s", location=appointment.location.name, agent=agent_name)
        description = _shopper_text(card)
        ics = calendar.build_invite(appointment, method=method, organizer_email=organizer,
                                    organizer_name=store.name, summary=summary, description=description)
    when = {"summary": summary, "date": card["date"], "time": card["time"]}
    subjects = {
        "booked": lambda: _("Invitation: %(summary)s, %(date)s %(time)s", **when),
        "rescheduled": lambda: _("Updated invitation: %(summary)s, %(date)s %(time)s", **when),
        "cancelled": lambda: _("Cancelled: %(summary)s, %(date)s %(time)s", **when),
    }
    template = "email/appointment_cancelled" if change == "cancelled" else "email/appointment_invite"
    return queue_ticket_email(
        ticket, template=template, agent=appointment.agent, contact=contact,
        context={"appointment": appointment, "card": card},
        subject=subjects[change], subject_ref=f"appointment:{appointment.id}",
        calendar={"method": method, "ics": ics, "filename": "invite.ics"},
    )


# ---- reads -----------------------------------------------------------------------------------

def upcoming_for(agent, days=14, now=None):
    """The agent's booked visits from now to ``days`` ahead, soonest first."""
    now = now or utcnow()
    return db.session.scalars(
        select(Appointment).where(Appointment.agent_id == agent.id, Appointment.status == AppointmentStatus.BOOKED,
                                  Appointment.ends_at > now, Appointment.starts_at < now + timedelta(days=days))
        .order_by(Appointment.starts_at, Appointment.id)).all()


def unassigned_for(agent, now=None, limit=200):
    """Visits still to come without an agent in the stores ``agent`` sees, soonest first:
    each waits for someone to take it over, however far ahead it is."""
    query = find_appointments(agent, unassigned=True, now=now)
    return db.session.scalars(query.order_by(Appointment.starts_at, Appointment.id).limit(limit)).all()


def find_appointments(agent, *, mine=False, unassigned=False, ticket_id=None, store_id=None, status=None,
                      starts_from=None, until=None, now=None):
    """The visits in the stores ``agent`` sees (a query, not yet ordered), narrowed by each
    filter given: ``mine`` (``agent`` hosts them), ``unassigned`` (booked, without an agent
    and not over: what a colleague may still take over), a ticket, a store, a status, and
    ``starts_from``/``until`` (aware): the visits that overlap that span."""
    query = select(Appointment)
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        query = query.where(Appointment.store_id.in_(store_ids))
    if mine:
        query = query.where(Appointment.agent_id == agent.id)
    if unassigned:
        query = query.where(Appointment.agent_id.is_(None), Appointment.status == AppointmentStatus.BOOKED,
                            Appointment.ends_at > (now or utcnow()))
    if ticket_id is not None:
        query = query.where(Appointment.ticket_id == ticket_id)
    if store_id is not None:
        query = query.where(Appointment.store_id == store_id)
    if status is not None:
        query = query.where(Appointment.status == status)
    if starts_from is not None:
        query = query.where(Appointment.ends_at > starts_from)
    if until is not None:
        query = query.where(Appointment.starts_at < until)
    return query


def agents_for_store(store_id):
    """The active agents who may host a visit in ``store_id`` (as ``_agent_for`` checks), by name."""
    restricted = select(agent_stores.c.agent_id).where(agent_stores.c.store_id == store_id)
    return db.session.scalars(select(Agent).where(
        Agent.active.is_(True), or_(Agent.all_stores.is_(True), Agent.role == "admin", Agent.id.in_(restricted)))
        .order_by(Agent.name, Agent.id)).all()


def agent_or_none(agent_id):
    return db.session.get(Agent, agent_id) if agent_id else None


def as_local_naive(appointment):
    """Wall-clock start at the location, for a datetime-local input."""
    return calendar.local_start(appointment).replace(tzinfo=None)

