"""Realtime events: who receives what, decided here and nowhere else.

Actions call the functions below while their transaction is open; each builds the
payload (so it reflects the committed state) and queues it on the session. Nothing is
sent until the transaction COMMITs; a rollback drops the queue. Rooms are identities:

* ``agent:<id>``          every device of one agent              (namespace /inbox)
* ``store:<id>:agents``   every agent who may see that store      (namespace /inbox)
* ``ticket:<id>``         agents with that conversation open      (namespace /inbox)
* ``visitor:<uid>``       every tab of one shopper's browser      (namespace /widget)

An agent's rooms are chosen when their socket connects. When their access changes
(``agent_access_changed``) the server ends every socket of theirs, on every process, after the
commit; the inbox reconnects, and joins the rooms it may join now (or is refused).

Internal notes and handoff notes are never queued for a ``visitor:`` room: visitor
payloads are only built by ``_visitor_message`` and only for ``kind == "message"``.
"""
import logging
import threading
import time
import weakref

from blinker import Namespace
from sqlalchemy import event as sa_event

from helpdesk.dumps import compiled
from helpdesk.extensions import db, socketio
from helpdesk.models import MessageKind
from helpdesk.schemas import (
    AgentSchema,
    ContactSchema,
    MessageSchema,
    PublicMessageSchema,
    TicketSchema,
)

log = logging.getLogger(__name__)

INBOX_NS = "/inbox"
WIDGET_NS = "/widget"
_PENDING = "helpdesk_events"
#: Queued like an event, but ends the sockets in its room instead of sending them anything.
#: Socket.IO reserves the name, so no real event can be mistaken for it.
DISCONNECT = "disconnect"
_GREEN = ("eventlet", "gevent")

#: Fired once per (event, room) actually emitted, after commit. Tests and metrics listen here.
signals = Namespace()
event_sent = signals.signal("event-sent")


# ---- rooms ---------------------------------------------------------------------------

def agent_room(agent_id):
    return f"agent:{agent_id}"


def store_room(store_id):
    return f"store:{store_id}:agents"


def ticket_room(ticket_id):
    return f"ticket:{ticket_id}"


def ticket_of_room(room):
    """The ticket id a ``ticket_room`` names, else None (any other room)."""
    kind, _sep, rest = room.partition(":")
    return int(rest) if kind == "ticket" and rest.isdigit() else None


def visitor_room(visitor_uid):
    return f"visitor:{visitor_uid}"


def store_visitors_room(store_id):
    return f"store:{store_id}:visitors"


def namespace_for(room):
    return WIDGET_NS if room.startswith("visitor:") or room.endswith(":visitors") else INBOX_NS


# ---- queue and flush -----------------------------------------------------------------

def _queue(name, payload, rooms):
    pending = db.session.info.setdefault(_PENDING, [])
    for room in dict.fromkeys(rooms):  # de-duplicated, order kept
        pending.append((name, payload, room))


def _flush(session):
    pending = session.info.pop(_PENDING, None)
    # One emit per event and namespace, to all its rooms at once: the payload is encoded
    # once, and an agent in both the store's and the ticket's room receives it once.
    batches = []
    for name, payload, room in pending or ():
        namespace = namespace_for(room)
        last = batches[-1] if batches else None
        if last is not None and last[0] == name and last[1] is payload and last[2] == namespace:
            last[3].append(room)
        else:
            batches.append((name, payload, namespace, [room]))
    for name, payload, namespace, rooms in batches:
        try:
            if name == DISCONNECT:
                for room in rooms:
                    socketio.server.manager.disconnect_room(room, namespace)
            else:
                socketio.emit(name, payload, to=rooms if len(rooms) > 1 else rooms[0], namespace=namespace)
        except Exception:  # a broken socket layer must not undo a committed change
            log.exception("emit failed", extra={"event": name, "rooms": rooms})
        for room in rooms:
            event_sent.send(name, payload=payload, room=room, namespace=namespace)
    if batches and socketio.server is not None and socketio.async_mode in _GREEN:
        # An emit only queues the packet; each connection's writer sends it when this
        # greenlet yields, which on eventlet/gevent would be at the end of the whole
        # request (building its answer included). Yield now: agents see the message sooner.
        # (Threads need no nudge: a writer thread runs when it gets the GIL.)
        socketio.sleep(0)


def _discard(session, transaction):
    # After ``after_commit`` has sent them, or when the outermost transaction rolls back or
    # closes: what is still queued describes changes that never committed. A rolled-back
    # savepoint keeps the queue (the outer transaction may still commit).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def init_app(app):
    if not getattr(db.session, "_helpdesk_events_bound", False):
        sa_event.listen(db.session, "after_commit", _flush)
        sa_event.listen(db.session, "after_transaction_end", _discard)
        db.session._helpdesk_events_bound = True


# ---- payloads ------------------------------------------------------------------------
# Built once: a schema instance deep-copies its fields, which costs more than a dump; and
# compiled (helpdesk.dumps), since every chat message and email is dumped two or three times.
_PUBLIC_MESSAGE_SCHEMA = PublicMessageSchema()
_TICKET = compiled(TicketSchema())
_MESSAGE = compiled(MessageSchema())
_PUBLIC_MESSAGE = compiled(_PUBLIC_MESSAGE_SCHEMA)
_CONTACT = compiled(ContactSchema())


# The shopper's view of each message built by message_created, for the widget's
# acknowledgement of that message (public_message): dumped once, not again for the answer.
_public_views = weakref.WeakKeyDictionary()


def _visitor_message(message, agents_view=None):
    if agents_view is not None:
        view = _public_views[message] = _PUBLIC_MESSAGE_SCHEMA.from_agents_view(agents_view, message)
        return view
    return _PUBLIC_MESSAGE(message)


def public_message(message):
    """What the shopper sees of ``message`` (the widget's acknowledgement of it): the view
    its ``message.created`` event carried, or a dump (a resend, a blocked contact's message)."""
    view = _public_views.pop(message, None)
    return view if view is not None else _PUBLIC_MESSAGE(message)


def _agent_message(message):
    return _MESSAGE(message)


def _webhooks(store_id, name, payload, ticket=None):
    """The store's outgoing webhook subscribers: outbox rows in this same transaction
    (connectors.webhooks_out picks the subscribers of the event's topic). A practice chat of
    the onboarding academy never leaves the helpdesk, whatever its store subscribes to."""
    from connectors.webhooks_out import queue_event

    if ticket is not None and ticket.is_practice:
        return
    queue_event(store_id, name, payload)


def _practice_trainee(ticket):
    """The agent whose academy practice chat ``ticket`` is (None: nobody's any more)."""
    from sqlalchemy import select

    from helpdesk.models import AcademyProgress

    return db.session.scalar(select(AcademyProgress.agent_id)
                             .where(AcademyProgress.practice_ticket_id == ticket.id).limit(1))


def _agents_rooms(ticket):
    """Where the agents who may work ``ticket`` hear of it: the store's agents; for a practice
    chat only the trainee's own devices, so it shows in no other agent's queue or badges."""
    if ticket.is_practice:
        trainee = _practice_trainee(ticket)
        return [agent_room(trainee)] if trainee is not None else []
    return [store_room(ticket.store_id)]


# ---- events --------------------------------------------------------------------------

def ticket_created(ticket):
    payload = {"ticket": _TICKET(ticket)}
    _queue("ticket.created", payload, _agents_rooms(ticket))
    _webhooks(ticket.store_id, "ticket.created", payload, ticket)


def ticket_updated(ticket, changes):
    """``changes``: the names of what changed (status, assignee, team, tags, subject, ...)."""
    payload = {"ticket": _TICKET(ticket), "changes": sorted(changes)}
    rooms = _agents_rooms(ticket) + [ticket_room(ticket.id)]
    _queue("ticket.updated", payload, rooms)
    _webhooks(ticket.store_id, "ticket.rated" if "rating" in changes else "ticket.updated", payload, ticket)
    # A merged ticket was closed, but its conversation goes on elsewhere: its shopper hears
    # where (ticket_merged), not that the chat ended.
    if ticket.visitor_id and "status" in changes and ticket.merged_into_id is None:
        _queue("conversation.status", {"ticket_id": ticket.id, "status": str(ticket.status)},
               [visitor_room(ticket.visitor.uid)])


def ticket_merged(source, target):
    """``source`` was merged into ``target`` (both have had their ``ticket.updated``). The
    store's agents and both tickets' rooms: the inbox drops the duplicate from its tabs and
    shows the target, whose timeline now holds older messages than it has seen (a resume
    from the last id would miss them), so it loads it again. The duplicate's shopper: their
    widget follows the conversation to the target (its messages are the same ones)."""
    payload = {"ticket_id": source.id, "into_ticket_id": target.id, "ticket": _TICKET(target)}
    _queue("ticket.merged", payload, _agents_rooms(target) + [ticket_room(source.id), ticket_room(target.id)])
    if source.visitor_id:
        _queue("conversation.merged", {"ticket_id": source.id, "into_ticket_id": target.id,
                                       "status": str(target.status)}, [visitor_room(source.visitor.uid)])


def message_created(message):
    ticket = message.ticket
    if message.hidden:
        # A blocked contact's message: stored for audit, shown to nobody live.
        return
    agents_view = _agent_message(message)
    _queue("message.created", {"message": agents_view}, _agents_rooms(ticket) + [ticket_room(ticket.id)])
    if message.kind == MessageKind.MESSAGE:
        public = {"message": _visitor_message(message, agents_view)}
        if ticket.visitor_id is not None:
            _queue("message.created", public, [visitor_room(ticket.visitor.uid)])
        # Outside systems get what the shopper may see: never notes or timeline events.
        _webhooks(ticket.store_id, "message.created", public, ticket)


def message_updated(message, changes):
    """A stored message changed after the fact (e.g. the delivery state of its email copy).
    Agents only: what changes here is internal bookkeeping."""
    if message.hidden:
        return
    ticket = message.ticket
    _queue("message.updated", {"message": _agent_message(message), "changes": sorted(changes)},
           _agents_rooms(ticket) + [ticket_room(ticket.id)])


def message_read(ticket, up_to_id, reader):
    """``reader`` is "agent" or "contact"; read receipts go to the other side."""
    payload = {"ticket_id": ticket.id, "up_to_id": up_to_id, "reader": reader}
    if reader == "agent":
        if ticket.visitor_id is not None:
            _queue("message.read", payload, [visitor_room(ticket.visitor.uid)])
    else:
        _queue("message.read", payload, _agents_rooms(ticket) + [ticket_room(ticket.id)])


def handoff_received(ticket, handoff, from_agent):
    """The receiving agent (or team's agents through the store room) learns of a transfer
    with the personal note meant for them."""
    payload = {
        "ticket": _TICKET(ticket),
        "handoff": {
            "id": handoff.id,
            "from_agent": AgentSchema(only=("id", "name")).dump(from_agent) if from_agent else None,
            "to_agent_id": handoff.to_agent_id,
            "to_team_id": handoff.to_team_id,
            "note": handoff.note,
        },
    }
    rooms = [agent_room(handoff.to_agent_id)] if handoff.to_agent_id else _agents_rooms(ticket)
    _queue("handoff.received", payload, rooms)


def chat_offered(ticket, agent_id, expires_at):
    """A waiting chat is offered to one agent (every device of theirs) until ``expires_at``."""
    _queue("chat.offered", {"ticket": _TICKET(ticket), "expires_at": expires_at.isoformat()},
           [agent_room(agent_id)])


def offer_withdrawn(ticket_id, agent_id, reason):
    """The offer to ``agent_id`` ended (declined, expired, claimed elsewhere): its devices drop it."""
    _queue("offer.withdrawn", {"ticket_id": ticket_id, "reason": reason}, [agent_room(agent_id)])


def agent_mentioned(agent_id, message):
    _queue("note.mention", {"message": _agent_message(message)}, [agent_room(agent_id)])


def contact_updated(contact, changes):
    _queue("contact.updated", {"contact": _CONTACT(contact), "changes": sorted(changes)},
           [store_room(contact.store_id)])


def contact_erased(contact, ticket_ids, visitor_uids):
    """A customer's personal data was erased (``helpdesk.actions.contacts.erase_contact``).
    The store's agents (and whoever has one of the conversations open) get the anonymous
    placeholder and the ids of its conversations, so the views they have open drop what they
    show: the inbox loads those conversations again. The shopper's widget sockets are ended:
    their token names a visitor that no longer exists, so they resume nothing.

    Outgoing webhooks (topic ``contact``) get ids and the time only, never who it was: the
    store's own systems that keep a copy keyed by the contact's id erase theirs too. (Queued
    after the erasure deleted the queued webhooks about the conversations, so it stays.)"""
    ticket_ids = sorted(ticket_ids)
    payload = {"contact": _CONTACT(contact), "ticket_ids": ticket_ids}
    _queue("contact.erased", payload, [store_room(contact.store_id)] + [ticket_room(t) for t in ticket_ids])
    for uid in visitor_uids:
        _queue(DISCONNECT, None, [visitor_room(uid)])
    erasure = contact.erasure or {}
    _webhooks(contact.store_id, "contact.erased",
              {"contact_id": contact.id, "store_id": contact.store_id, "erased_at": erasure.get("at")})


def data_request_received(store, request, admin_ids):
    """A shop platform passed on a customer's request for their data
    (``helpdesk.actions.privacy.record_data_request``): every active admin's devices, since
    only admins export a customer's data; agents never hear of it. ``request`` holds ids
    only (the stored entry), never the customer's address."""
    payload = {"store_id": store.id, "store_name": store.name, "request": request}
    _queue("privacy.data_request", payload, [agent_room(a) for a in sorted(admin_ids)])


def agent_availability_changed(agent, store_ids):
    payload = {"agent": AgentSchema(only=("id", "name", "availability")).dump(agent)}
    _queue("agent.availability", payload, [agent_room(agent.id)] + [store_room(s) for s in store_ids])


def store_agents_online_changed(store_id, online):
    """Tells the store's widgets whether someone can answer live (offline fallback)."""
    _queue("store.online", {"store_id": store_id, "online": bool(online)}, [store_visitors_room(store_id)])


def _emit_now(name, payload, room, skip_sid=None):
    """An ephemeral event: sent at once (through the message queue when scaled out), tied to
    no transaction; ``skip_sid`` (the sender's own socket) is left out."""
    socketio.emit(name, payload, to=room, namespace=namespace_for(room), skip_sid=skip_sid)
    event_sent.send(name, payload=payload, room=room, namespace=namespace_for(room))


def typing(ticket, who, is_typing):
    """Typing indicators are ephemeral: sent at once, not tied to a transaction."""
    payload = {"ticket_id": ticket.id, "who": who, "typing": bool(is_typing)}
    if who == "agent":
        if ticket.visitor_id is not None:
            _emit_now("typing", payload, visitor_room(ticket.visitor.uid))
    else:
        for room in _agents_rooms(ticket) + [ticket_room(ticket.id)]:
            _emit_now("typing", payload, room)


#: What a colleague with the same conversation open is doing (``colleague``).
COLLEAGUE_STATES = ("joined", "viewing", "replying", "left")


def colleague(ticket, agent, state, *, answer=False, skip_sid=None):
    """Collision detection: the agents with a conversation open see who else has it open
    and who is writing a reply, so two of them do not answer the same customer. ``state``:
    ``joined`` (just opened it: those already there answer with their own state,
    ``answer=True``, which nobody answers again), ``viewing``, ``replying`` or ``left``.
    Ephemeral like ``typing``: sent at once, tied to no transaction; the sender's own socket
    (``skip_sid``) is left out. Never reaches a shopper. The store's agents see it on the
    ticket's queue row (``colleague_in_queue``); an answer tells them nothing new."""
    payload = {"ticket_id": ticket.id, "agent": {"id": agent.id, "name": agent.name}, "state": state,
               "answer": bool(answer)}
    _emit_now("colleague", payload, ticket_room(ticket.id), skip_sid)
    if not answer:
        colleague_in_queue(ticket, agent, "viewing" if state == "joined" else state, skip_sid=skip_sid)


#: At most one ``replying`` queue mark per agent and ticket in this many seconds: every agent
#: of the store hears each one, and a reply box starts and stops "typing" often.
REPLYING_MARK_SECONDS = 5
_replying_marked = {}  # (agent id, ticket id) -> time.monotonic() of the last one sent (this process)
_replying_lock = threading.Lock()


def _replying_throttled(key):
    now = time.monotonic()
    with _replying_lock:
        last = _replying_marked.get(key)
        if last is not None and now - last < REPLYING_MARK_SECONDS:
            return True
        if len(_replying_marked) >= 1024:  # forget those past their window, now and then
            for old, at in list(_replying_marked.items()):
                if now - at >= REPLYING_MARK_SECONDS:
                    del _replying_marked[old]
        _replying_marked[key] = now
        return False


def colleague_in_queue(ticket, agent, state, *, skip_sid=None):
    """Collision detection in the queue (``ticket.colleague``): every agent of the store sees
    on the ticket's row who is ``viewing`` it or ``replying`` to it, until ``left``, so one
    scanning the queue does not open and answer it too. Ephemeral like ``colleague``, and the
    inbox keeps no mark it has not heard again for a while: each page re-announces what its
    agent is doing (``still_here``), so the mark of a crashed tab fades before the server
    notices its socket is gone. ``replying`` goes out at most every REPLYING_MARK_SECONDS per
    agent and ticket (counted per server process). A practice chat is in no colleague's
    queue; a shopper never hears of it."""
    if ticket.is_practice:
        return
    key = (agent.id, ticket.id)
    if state == "replying" and _replying_throttled(key):
        return
    if state == "left":
        with _replying_lock:
            _replying_marked.pop(key, None)  # back in it, their first reply is news again
    payload = {"ticket_id": ticket.id, "agent": {"id": agent.id, "name": agent.name}, "state": state}
    _emit_now("ticket.colleague", payload, store_room(ticket.store_id), skip_sid)


def visitor_updated(visitor):
    """Context panel data (pages, device, attributes) for the store's agents."""
    from helpdesk.schemas import VisitorSchema

    _queue("visitor.updated", {"visitor": VisitorSchema().dump(visitor)}, [store_room(visitor.store_id)])


def rating_requested(ticket):
    if ticket.visitor_id is not None:
        _queue("rating.requested", {"ticket_id": ticket.id}, [visitor_room(ticket.visitor.uid)])


def attribution_changed(attribution, created):
    """A sale credited to an agent (or its value changed): that agent's devices, the store's
    agents for the live reports, and the outgoing webhooks."""
    from helpdesk.schemas import AttributionSchema

    name = "attribution.created" if created else "attribution.updated"
    payload = {"attribution": AttributionSchema().dump(attribution)}
    rooms = [store_room(attribution.store_id)]
    if attribution.agent_id:
        rooms.insert(0, agent_room(attribution.agent_id))
    _queue(name, payload, rooms)
    _webhooks(attribution.store_id, name, payload)


def post_published(post, agent_ids=None):
    """A new announcement reaches the agents it is meant for: a store's agents through the
    store room, a team's members (``agent_ids``, resolved by the action) or every active
    agent (``agent_ids`` again) through their own rooms, so nobody gets it twice."""
    from helpdesk.schemas import PostSchema

    payload = {"post": PostSchema(exclude=("read",)).dump(post)}
    if post.audience == "store":
        rooms = [store_room(post.store_id)]
    else:
        rooms = [agent_room(agent_id) for agent_id in sorted(agent_ids or ())]
    _queue("post.published", payload, rooms)


def assist_result(request):
    """A writing-assist suggestion (or its failure) for the agent who asked: their devices
    only. It is a draft for them to review; no colleague, ticket room or shopper sees it."""
    from helpdesk.assist.api import request_json

    payload = {"request": request_json(request)}
    _queue("assist.result", payload, [agent_room(request.agent_id)])


def academy_progress(agent_id, progress):
    """An agent's onboarding academy changed (a step done, a policy accepted, exempted): their
    devices tick it off live. ``progress`` is ``helpdesk.actions.academy.progress_payload``."""
    from helpdesk.schemas import AcademyProgressSchema

    _queue("academy.progress", {"progress": AcademyProgressSchema().dump(progress)}, [agent_room(agent_id)])


def policy_updated(policy):
    """A store policy is new or its text changed: the store's agents must accept this version."""
    payload = {"policy": {"id": policy.id, "store_id": policy.store_id, "title": policy.title,
                          "version": policy.version}}
    _queue("policy.updated", payload, [store_room(policy.store_id)])


def chat_inactive(ticket, minutes):
    """The shopper of the assigned agent's chat has been quiet for ``minutes``: prompt that
    agent (every device) to check in. Agents only; the shopper sees nothing."""
    payload = {"ticket_id": ticket.id, "minutes": minutes, "contact_name": ticket.contact.display_name}
    _queue("chat.inactive", payload, [agent_room(ticket.assignee_id)])


def appointment_changed(appointment, change, previous_agent_id=None, was_unassigned=False):
    """A visit was booked, moved or cancelled (``change``): the agent it is with (and the one
    it was with, when it moved to another) for "My upcoming appointments", and the agents with
    the conversation open. The shopper learns of it through the message the action adds.
    A visit without an agent (``unassigned``: its agent left the store), one that had none
    until now (``was_unassigned``: moved to a named agent) or just ``assigned`` one goes to the
    store's agents instead: each of their pages lists it under "Visits without an agent", or
    must stop listing it (its new agent is among them)."""
    from helpdesk.schemas import AppointmentSchema

    payload = {"appointment": AppointmentSchema().dump(appointment), "change": change}
    if appointment.agent_id is None or was_unassigned or change == "assigned":
        rooms = [store_room(appointment.store_id)]
    else:
        rooms = [agent_room(a) for a in (appointment.agent_id, previous_agent_id) if a]
    _queue("appointment.updated", payload, rooms + [ticket_room(appointment.ticket_id)])


def agent_profile_changed(agent, store_ids):
    """An agent's name, title or photo changed: their own devices (the top bar) and the
    agents of their stores (transfer lists). Shoppers see the new values on the next message."""
    payload = {"agent": AgentSchema(only=("id", "name", "title", "avatar_url")).dump(agent)}
    _queue("agent.updated", payload, [agent_room(agent.id)] + [store_room(s) for s in store_ids])


def signature_changed(*, agent=None, store=None):
    """What ends an agent's email replies changed: their own signature (``agent``: their
    devices) or a store's (``store``: its agents, for those without one of their own). The
    text differs per agent and store, so the payload only says that it changed; the open
    inbox reads ``GET /api/v1/stores`` again and its reply box shows the new line."""
    if agent is not None:
        _queue("signature.changed", {"store_id": None}, [agent_room(agent.id)])
    if store is not None:
        _queue("signature.changed", {"store_id": store.id}, [store_room(store.id)])


def agent_access_changed(agent):
    """``agent`` was deactivated, changed role or stores: every socket of theirs on /inbox is
    ended by the server, on every process (``helpdesk.socket_manager``), once the change is
    committed. Their rooms were chosen at connect; without this a tab left open would keep
    receiving the events of stores they no longer see. The inbox reconnects at once and joins
    the rooms it may join now; a deactivated agent is refused and sent to sign in."""
    _queue(DISCONNECT, None, [agent_room(agent.id)])
