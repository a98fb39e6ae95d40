"""The visitor Socket.IO namespace ``/widget``.

Every handler answers through the Socket.IO acknowledgement: ``{"ok": true, ...}`` or
``{"ok": false, "error": {"message", "field"}}``. A chat message is acknowledged only
after it is committed; a resend with the same ``client_id`` gets the same acknowledgement.
"""
import threading
import time
from collections import defaultdict, deque

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_socketio import join_room
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, with_expression

from helpdesk import events
from connectors.webhooks_out import known_subscribed, subscribed
from helpdesk.actions.messages import (
    continuable_id,
    known_continuable,
    known_stored,
    mark_read,
    receive_customer_message,
    stored_by_contact,
    with_continuable_ticket,
)
from helpdesk.actions.visitors import (
    end_chat,
    ensure_contact,
    identify,
    rate_ticket,
    record_page_view,
    set_attributes,
)
from helpdesk.extensions import db, socketio
from helpdesk.models import Channel, Store, Ticket, Visitor
from helpdesk.prepared import prepare
from helpdesk.socket_handlers import error, handler_factory, is_id
from inbox.presence import available_exists, store_is_online
from widgets import history
from widgets.tokens import visitor_from_token

NS = events.WIDGET_NS

#: A visitor may send this many messages per window; more get a visible "slow down".
FLOOD_MAX_MESSAGES = 20
FLOOD_WINDOW_SECONDS = 30

_connections = {}  # sid -> visitor id (this process)
_recent = defaultdict(deque)
_recent_lock = threading.Lock()


def _flooding(uid):
    now = time.monotonic()
    with _recent_lock:
        q = _recent[uid]
        while q and now - q[0] > FLOOD_WINDOW_SECONDS:
            q.popleft()
        if len(q) >= FLOOD_MAX_MESSAGES:
            return True
        q.append(now)
        return False


# The visitor with their contact and store in one statement, built once: every widget event
# needs them. What a chat message needs besides comes along, each an indexed lookup that
# costs the other events next to nothing and saves a message a round trip: whether an agent
# is available, whether the message's client_id was stored already (a resend), and whether
# the store has webhook subscribers.
_VISITOR = prepare(select(Visitor, stored_by_contact(Visitor.contact_id).label("stored_id"),
                          subscribed(Visitor.store_id).label("webhooks"))
                   .where(Visitor.id == bindparam("visitor_id"))
                   .options(joinedload(Visitor.contact), joinedload(Visitor.store),
                            with_expression(Visitor.agents_available, available_exists(Visitor.store_id))))


# A chat message also needs the conversation it joins: the contact's continuable chat
# ticket (with its tags, for the agents' payload) comes along as well. Only for messages:
# typing and page views would load a ticket they never read.
_CHATTING_VISITOR = with_continuable_ticket(
    _VISITOR.add_columns(Ticket).outerjoin(Ticket, Ticket.id == continuable_id(Visitor.contact_id,
                                                                                 Channel.CHAT.value)))


def _visitor(data=None, statement=_VISITOR):
    visitor_id = _connections.get(request.sid)
    if not visitor_id:
        return None
    client_id = data.get("client_id") if isinstance(data, dict) else None
    client_id = client_id if isinstance(client_id, str) else None
    row = db.session.execute(statement, {"visitor_id": visitor_id, "client_id": client_id}).unique().first()
    if row is None:
        return None
    visitor = row[0]
    known_subscribed(visitor.store_id, row.webhooks)
    if visitor.contact_id is not None:
        known_stored(visitor.contact_id, client_id, row.stored_id)
        if statement is _CHATTING_VISITOR:
            known_continuable(visitor.contact_id, Channel.CHAT, row.Ticket)
    return visitor


def _chatting_visitor(data=None):
    return _visitor(data, _CHATTING_VISITOR)


handler = handler_factory(NS, _visitor, _l("Your session has ended; reload the page."),
                          language=lambda visitor: visitor.locale)


def on_connect(auth=None):
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    visitor = visitor_from_token(token)
    if visitor is None:
        return False  # refused: forged, expired or foreign token
    _connections[request.sid] = visitor.id
    join_room(events.visitor_room(visitor.uid))
    join_room(events.store_visitors_room(visitor.store_id))
    return True


def on_disconnect(reason=None):
    _connections.pop(request.sid, None)


@handler("message", resolve=_chatting_visitor)
def on_message(visitor, data):
    store = db.session.get(Store, visitor.store_id)
    body = data.get("body") if isinstance(data.get("body"), str) else ""
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        return error(_("Every message needs a client_id."), "client_id")
    attachment_ids = data.get("attachments") or []
    if not isinstance(attachment_ids, list) or not all(is_id(a) for a in attachment_ids):
        return error(_("Unknown attachment."), "attachments")
    if len(body) > current_app.config["MAX_MESSAGE_LENGTH"]:
        limit = current_app.config["MAX_MESSAGE_LENGTH"]
        return error(_("Messages are limited to %(count)s characters.", count=limit), "body", 413)
    if _flooding(visitor.uid):
        return error(_("You are sending messages very fast. Please wait a moment."), "body", 429)
    prechat = data.get("prechat") if isinstance(data.get("prechat"), dict) else {}
    contact = visitor.contact if (visitor.contact is not None and not prechat) else ensure_contact(
        store, visitor,
        name=prechat.get("name") if isinstance(prechat.get("name"), str) else None,
        email=prechat.get("email") if isinstance(prechat.get("email"), str) else None,
        order_number=prechat.get("order_number") if isinstance(prechat.get("order_number"), str) else None,
        topic=prechat.get("topic") if isinstance(prechat.get("topic"), str) else None,
    )
    offline = not store_is_online(store, available=visitor.agents_available)
    message, created = receive_customer_message(
        store, contact, "chat", body, client_id=client_id, visitor=visitor,
        subject=prechat.get("topic") if isinstance(prechat.get("topic"), str) else "",
        attachment_ids=attachment_ids, offline=offline,
    )
    return {"ok": True, "duplicate": not created, "offline": offline, "message": events.public_message(message)}


@handler("resume")
def on_resume(visitor, data):
    last_id = data.get("last_id") or 0
    if not is_id(last_id):
        return error(_("last_id must be a message id."), "last_id")
    ticket = history.current_chat(visitor)
    return {"ok": True, "messages": history.messages_after(visitor, last_id),
            "ticket": {"id": ticket.id, "status": str(ticket.status)} if ticket else None}


@handler("typing")
def on_typing(visitor, data):
    ticket = history.current_chat(visitor)
    if ticket is not None and not (visitor.contact and visitor.contact.blocked):
        events.typing(ticket, "contact", bool(data.get("typing")))
    return {"ok": True}


@handler("read")
def on_read(visitor, data):
    up_to = data.get("up_to_id")
    ticket = history.current_chat(visitor)
    if ticket is None or not is_id(up_to):
        return {"ok": True, "read": 0}
    return {"ok": True, "read": mark_read(ticket, "contact", up_to)}


@handler("page")
def on_page(visitor, data):
    record_page_view(visitor, {"url": data.get("url"), "title": data.get("title"), "referrer": data.get("referrer")})
    return {"ok": True}


@handler("attributes")
def on_attributes(visitor, data):
    set_attributes(visitor, data.get("attributes"))
    return {"ok": True}


@handler("identify")
def on_identify(visitor, data):
    store = db.session.get(Store, visitor.store_id)
    contact = identify(store, visitor, customer_id=str(data.get("customer_id") or ""),
                       signature=str(data.get("signature") or ""),
                       email=data.get("email") if isinstance(data.get("email"), str) else None,
                       name=data.get("name") if isinstance(data.get("name"), str) else None)
    return {"ok": True, "contact_id": contact.id, "messages": history.messages_after(visitor, 0)}


@handler("rate")
def on_rate(visitor, data):
    ticket_id = data.get("ticket_id")
    ticket = db.session.get(Ticket, ticket_id) if is_id(ticket_id) else None
    if ticket is None:
        return error(_("No such conversation."), "ticket_id", 404)
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list):  # a number here was iterated, and raised a TypeError
        return error(_("Unknown reason."), "reasons")
    comment = data.get("comment") or ""
    if not isinstance(comment, str):  # would be stored as the str() of a list or an object
        return error(_("The comment must be text."), "comment")
    rate_ticket(visitor, ticket, data.get("rating"), reasons, comment)
    return {"ok": True}


@handler("end")
def on_end(visitor, data):
    ticket = history.current_chat(visitor)
    if ticket is None:
        return {"ok": True, "ticket_id": None}
    end_chat(ticket)
    return {"ok": True, "ticket_id": ticket.id}


def init_app(app):
    socketio.on_event("connect", on_connect, namespace=NS)
    socketio.on_event("disconnect", on_disconnect, namespace=NS)
