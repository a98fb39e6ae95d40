"""The agents' Socket.IO namespace ``/inbox``.

Agents authenticate with their session cookie. On connect each device joins the agent's
own room and one room per store they may see, so every device of an agent receives every
event. Reconnecting clients call ``resume`` with the last message id they saw.

Rooms are chosen here only, at connect. When an agent's access changes (deactivated, new role
or stores) the server ends all their sockets on every process
(``helpdesk.events.agent_access_changed``, ``helpdesk.socket_manager``); the inbox reconnects
and this handler chooses again -- or refuses a deactivated agent (the user loader does).
"""
import threading
from collections import Counter

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_socketio import join_room, leave_room, rooms
from sqlalchemy import select

from helpdesk import events
from helpdesk.actions import ActionError
from helpdesk.actions.agents import visible_store_ids
from helpdesk.actions.messages import add_note, mark_read, reply
from helpdesk.actions.routing import pass_offer
from helpdesk.dumps import compiled
from helpdesk.extensions import db, socketio
from helpdesk.models import Agent, Ticket
from helpdesk.schemas import MessageSchema
from helpdesk.socket_handlers import error, handler_factory, is_id
from helpdesk.text import clean_text
from inbox import queries

NS = events.INBOX_NS

_MESSAGE = compiled(MessageSchema())  # an agent's reply is acknowledged with it
_sid_agent = {}  # sid -> agent id (this process)
_devices = Counter()  # agent id -> connected devices (this process)
_lock = threading.Lock()


def connected_devices(agent_id):
    return _devices.get(agent_id, 0)


def _agent(data=None):
    agent_id = _sid_agent.get(request.sid)
    agent = db.session.get(Agent, agent_id) if agent_id else None
    return agent if agent is not None and agent.active else None


handler = handler_factory(NS, _agent, _l("Sign in again."))


def on_connect(auth=None):
    if not current_user.is_authenticated:
        return False
    agent_id = current_user.id
    own = events.agent_room(agent_id)
    for _attempt in range(3):
        # The agent's own room first: from here on a change of their access ends this socket
        # too. Then the access is read in a new transaction, not from a snapshot taken before
        # such a change committed (the session cookie's user was loaded in this one).
        join_room(own)
        db.session.rollback()
        agent = db.session.get(Agent, agent_id)
        if agent is None or not agent.active:
            return False
        for store_id in visible_store_ids(agent):
            join_room(events.store_room(store_id))
        if own in rooms():
            break
        # The access changed while this socket chose its rooms and the change took it out of
        # them (a socket still connecting cannot be disconnected): the rooms it joined since
        # may be the old ones. Out of them all, and choose again.
        for room in rooms():
            if room != request.sid:
                leave_room(room)
    else:
        return False
    _sid_agent[request.sid] = agent.id
    with _lock:
        _devices[agent.id] += 1
    return True


def on_disconnect(reason=None):
    agent_id = _sid_agent.pop(request.sid, None)
    if agent_id is None:
        return
    with _lock:
        _devices[agent_id] -= 1
        last = _devices[agent_id] <= 0
        if last:
            del _devices[agent_id]
    _left_conversations(agent_id)
    if last:
        from inbox import routing

        routing.schedule_away_check(agent_id)


def _left_conversations(agent_id):
    """The conversations this socket had open lose it as a viewer (collision detection):
    its rooms are still known while the disconnect is handled."""
    ticket_ids = [t for t in map(events.ticket_of_room, rooms()) if t is not None]
    agent = db.session.get(Agent, agent_id) if ticket_ids else None
    if agent is None:
        return
    for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)).order_by(Ticket.id)):
        events.colleague(ticket, agent, "left", skip_sid=request.sid)


def _ticket_id(data):
    ticket_id = data.get("ticket_id")
    if not is_id(ticket_id):
        raise ActionError("ticket_id must be a ticket id.", "ticket_id")
    return ticket_id


@handler("resume")
def on_resume(agent, data):
    last_id = data.get("last_id") or 0
    if not is_id(last_id):
        return error(_("last_id must be a message id."), "last_id")
    return {"ok": True, "messages": queries.messages_after(agent, last_id)}


@handler("open")
def on_open(agent, data):
    ticket = queries.ticket_for_agent(agent, _ticket_id(data))
    join_room(events.ticket_room(ticket.id))
    # Colleagues with it open see me arrive, and answer with what they are doing.
    events.colleague(ticket, agent, "joined", skip_sid=request.sid)
    return {"ok": True, "messages": queries.messages_after(agent, 0, ticket_id=ticket.id)}


@handler("close")
def on_close(agent, data):
    ticket_id = _ticket_id(data)
    room = events.ticket_room(ticket_id)
    if room in rooms():
        leave_room(room)
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None:
            events.colleague(ticket, agent, "left", skip_sid=request.sid)
    return {"ok": True}


@handler("typing")
def on_typing(agent, data):
    ticket = queries.ticket_for_agent(agent, _ticket_id(data))
    typing = bool(data.get("typing"))
    events.typing(ticket, "agent", typing)
    if events.ticket_room(ticket.id) in rooms():
        events.colleague(ticket, agent, "replying" if typing else "viewing", skip_sid=request.sid)
    return {"ok": True}


def _what_i_do_there(agent, data):
    """``(ticket, state)`` of a ``here`` or ``still_here``: what I am doing (``viewing`` or
    ``replying``) in a conversation this socket has open."""
    ticket_id = _ticket_id(data)
    state = data.get("state")
    if state not in ("viewing", "replying"):
        raise ActionError("state must be viewing or replying.", "state")
    if events.ticket_room(ticket_id) not in rooms():
        raise ActionError("Open the conversation first.", "ticket_id")
    return queries.ticket_for_agent(agent, ticket_id), state


@handler("here")
def on_here(agent, data):
    """My answer to a colleague who just opened a conversation I have open: what I am doing
    there. Only from a socket in that conversation's room."""
    ticket, state = _what_i_do_there(agent, data)
    events.colleague(ticket, agent, state, answer=True, skip_sid=request.sid)
    return {"ok": True}


@handler("still_here")
def on_still_here(agent, data):
    """What I am doing in a conversation I have open, said again every few seconds while it
    lasts: the store's agents keep its mark on their queue row only while they hear it."""
    ticket, state = _what_i_do_there(agent, data)
    events.colleague_in_queue(ticket, agent, state, skip_sid=request.sid)
    return {"ok": True}


@handler("read")
def on_read(agent, data):
    ticket = queries.ticket_for_agent(agent, _ticket_id(data))
    up_to = data.get("up_to_id")
    if not is_id(up_to):
        return error(_("up_to_id must be a message id."), "up_to_id")
    return {"ok": True, "read": mark_read(ticket, "agent", up_to)}


@handler("decline_offer")
def on_decline_offer(agent, data):
    """The agent passes on a chat offered to them (``expired: true`` when their countdown ran out)."""
    ticket = queries.ticket_for_agent(agent, _ticket_id(data))
    pass_offer(ticket, agent.id, reason="expired" if data.get("expired") else "declined")
    return {"ok": True}


@handler("send")
def on_send(agent, data):
    """Reply or note from the inbox: ``{ticket_id, client_id, body, kind: reply|note, attachments}``."""
    ticket = queries.ticket_for_agent(agent, _ticket_id(data))
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        return error(_("Every message needs a client_id."), "client_id")
    body = data.get("body") if isinstance(data.get("body"), str) else ""
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list) or not all(is_id(a) for a in attachments):
        return error(_("Unknown attachment."), "attachments")
    if data.get("kind") == "note":
        message = add_note(ticket, agent, body, client_id=client_id)
    else:
        card = product_card(data["product_card"]) if data.get("product_card") is not None else None
        meta = {"product_card": card} if card else None
        message = reply(ticket, agent, body, client_id=client_id, attachment_ids=attachments, meta=meta)
    return {"ok": True, "message": _MESSAGE(message)}


def _link(value):
    """Only http(s) and same-site relative links may go into a card the widget renders."""
    value = clean_text(value, 1024) if isinstance(value, str) else ""
    if value.startswith(("https://", "http://")) or (value.startswith("/") and not value.startswith("//")):
        return value
    return None


def product_card(data):
    """A product card as the widget renders it: known keys only, text cleaned, links checked."""
    if not isinstance(data, dict):
        raise ActionError("A product card must be an object.", "product_card")
    title = clean_text(data.get("title"), 255) if isinstance(data.get("title"), str) else ""
    if not title:
        raise ActionError("A product card needs a title.", "product_card")
    price = data.get("price")
    if isinstance(price, (int, float)) and not isinstance(price, bool):
        price = str(price)
    price = clean_text(price, 32) if isinstance(price, str) else None
    currency = clean_text(data.get("currency"), 3).upper() if isinstance(data.get("currency"), str) else None
    return {"title": title, "price": price or None, "currency": currency or None,
            "image_url": _link(data.get("image_url")), "url": _link(data.get("url"))}


def init_app(app):
    socketio.on_event("connect", on_connect, namespace=NS)
    socketio.on_event("disconnect", on_disconnect, namespace=NS)
