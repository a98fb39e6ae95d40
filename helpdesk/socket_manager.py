"""Socket.IO client managers that can end every connection in a room, on every process.

Why this exists: an agent's access (active, role, stores) is decided when their socket
connects -- it joins ``agent:<id>`` and one room per store it may see. When an admin takes
access away, the server must drop that agent's open sockets at once, or a tab left open keeps
receiving the events of a store it no longer sees. python-socketio cannot do that across
processes by itself: ``Server.disconnect(sid)`` is forwarded through the message queue to the
process that owns the sid, but which sids belong to one agent is known only to the process
they are connected to (rooms live in each process; ``get_participants`` is local).

So every process must look in its own rooms. ``disconnect_room(room, namespace)`` asks each
of them to end the connections it holds in ``room``:

* without a message queue (one process) it does so directly;
* with Redis it publishes a ``close_room`` message carrying one more key, on the queue's own
  channel. Every server process's listener hands ``close_room`` messages to
  ``_handle_close_room``, overridden here to end the room's connections before closing it.
  On the queue's channel the request stays in order with the events around it: an event
  published after it cannot overtake it and reach the socket. A worker (write-only) publishes
  it like any emit. A process running code without this override still closes the room, so
  the agent's sockets at least leave ``agent:<id>``.

Ending the connections is done by the server, never asked of the client: a modified client
cannot stay in the rooms.
"""
import socketio

#: The extra key of a ``close_room`` message that asks for the room's connections to end.
_END_CONNECTIONS = "helpdesk_disconnect"
#: Flask-SocketIO's channel name: workers and every server process must use the same.
CHANNEL = "flask-socketio"


class _EndsConnections:
    def _end_connections(self, namespace, room):
        """End this process's connections in ``room``. They leave every room right away (no
        handler runs, only the manager's own tables change), so nothing more reaches them even
        if another event is handled before they are gone; the disconnects themselves (the
        DISCONNECT packet and the namespace's ``disconnect`` handler) run in a background
        task: the caller may be a request's after-commit hook, where a nested request context
        for the socket's handler has no business running."""
        sids = [sid for sid, _eio_sid in self.get_participants(namespace, room)]
        for sid in sids:
            # A copy: other threads join rooms meanwhile. Room None marks the connection
            # (``is_connected``) and a socket's own room goes with it: both stay until the end.
            for name, members in list(self.rooms.get(namespace, {}).items()):
                if name is not None and name != sid and sid in members:
                    self.basic_leave_room(sid, namespace, name)
        if sids:
            self.server.start_background_task(self._disconnect, sids, namespace)
        return sids

    def _disconnect(self, sids, namespace):
        for sid in sids:
            try:
                # ignore_queue: these sids are this process's own (already looked up here).
                self.server.disconnect(sid, namespace=namespace, ignore_queue=True)
            except Exception:  # one broken socket must not keep the others connected
                self._get_logger().exception("disconnect failed")


class LocalManager(_EndsConnections, socketio.Manager):
    """One process, no message queue."""

    def disconnect_room(self, room, namespace):
        self._end_connections(namespace, room)


class RedisManager(_EndsConnections, socketio.RedisManager):
    """Several processes (and write-only workers) sharing rooms through Redis."""

    def disconnect_room(self, room, namespace):
        message = {"method": "close_room", "room": room, "namespace": namespace,
                   "host_id": self.host_id, _END_CONNECTIONS: True}
        self._handle_close_room(message)  # this process (its listener skips its own messages)
        self._publish(message)  # the others

    def _handle_close_room(self, message):
        if message.get(_END_CONNECTIONS):
            self._end_connections(message.get("namespace"), message.get("room"))
        super()._handle_close_room(message)


def client_manager(redis_url, *, write_only=False):
    """The manager for ``socketio.init_app(client_manager=...)``."""
    if redis_url:
        return RedisManager(redis_url, channel=CHANNEL, write_only=write_only)
    return LocalManager()
