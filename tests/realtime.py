"""Real Socket.IO clients against the live server: a shopper (widget) and an agent (inbox)."""
import queue
import re

import requests
import socketio

from tests.factories import PASSWORD


class Recorder:
    """A socketio.Client that records every event it receives, per event name."""

    def __init__(self, base_url, namespace, auth=None, headers=None):
        self.base_url = base_url
        self.namespace = namespace
        self.auth = auth
        self.headers = headers or {}
        self.client = socketio.Client(reconnection=False)
        self.inbox = queue.Queue()
        self.client.on("*", self._record, namespace=namespace)
        # Recorded like an event: ("disconnect", reason), e.g. Client.reason.SERVER_DISCONNECT.
        self.client.on("disconnect", lambda reason=None: self._record("disconnect", reason), namespace=namespace)

    def _record(self, event, data=None):
        self.inbox.put((event, data))

    def received(self):
        """Every event recorded and not yet taken by ``wait_for``."""
        seen = []
        while True:
            try:
                seen.append(self.inbox.get_nowait())
            except queue.Empty:
                return seen

    def connect(self):
        self.client.connect(self.base_url, namespaces=[self.namespace], auth=self.auth, headers=self.headers,
                            transports=["websocket"], wait_timeout=5)
        return self

    def call(self, event, data=None, timeout=5):
        return self.client.call(event, data, namespace=self.namespace, timeout=timeout)

    def wait_for(self, name, predicate=lambda data: True, timeout=5):
        """The next ``name`` event matching ``predicate`` (others stay unseen)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name!r} event within {timeout}s")
            try:
                event, data = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if event == name and predicate(data):
                return data

    def disconnect(self):
        """Leave the namespace and drop the transport without waiting for the server's
        close handshake (the threading test server takes seconds to answer it)."""
        if self.client.connected:
            from socketio import packet

            self.client._send_packet(self.client.packet_class(packet.DISCONNECT, namespace=self.namespace))
            self.cut()

    def cut(self):
        """Simulate a dropped network: the transport dies, no goodbye is sent."""
        ws = getattr(self.client.eio, "ws", None)
        if ws is not None:
            ws.shutdown()
        self.client.eio.disconnect(abort=True)


def visitor_session(base_url, store, token=None):
    resp = requests.post(f"{base_url}/widget/api/session", json={"key": store.widget_key, "token": token,
                                                                 "page": {"url": "https://shop.test/p/1",
                                                                          "title": "Shirt"}}, timeout=5)
    resp.raise_for_status()
    return resp.json()


def visitor_client(base_url, token):
    return Recorder(base_url, "/widget", auth={"token": token}).connect()


UA = "helpdesk-tests/1.0"


def agent_cookie(base_url, agent):
    s = requests.Session()
    s.headers["User-Agent"] = UA
    page = s.get(f"{base_url}/login", timeout=5).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(f"{base_url}/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": csrf},
               allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def agent_client(base_url, agent):
    return Recorder(base_url, "/inbox", headers={"Cookie": agent_cookie(base_url, agent), "User-Agent": UA}).connect()


class in_process_client:
    """Flask-SocketIO's in-process test client on ``namespace`` (``with ... as sc``), and
    afterwards the Socket.IO server as it was: the test client replaces the server's packet
    senders and makes its handlers synchronous, which would leave the live server of any
    later test unable to answer a real client."""

    _PATCHED = ("_send_packet", "_send_eio_packet", "async_handlers")

    def __init__(self, app, namespace, flask_test_client, **kwargs):
        self.app, self.namespace, self.flask_test_client, self.kwargs = app, namespace, flask_test_client, kwargs

    def __enter__(self):
        from helpdesk.extensions import socketio

        self.server = socketio.server
        self.saved = {name: self.server.__dict__[name] for name in self._PATCHED if name in self.server.__dict__}
        self.saved_eio = self.server.eio.async_handlers
        self.sc = socketio.test_client(self.app, namespace=self.namespace, flask_test_client=self.flask_test_client,
                                       **self.kwargs)
        return self.sc

    def __exit__(self, *exc):
        try:
            if self.sc.is_connected(self.namespace):
                self.sc.disconnect(namespace=self.namespace)
        finally:
            for name in self._PATCHED:
                if name in self.saved:
                    setattr(self.server, name, self.saved[name])
                else:
                    self.server.__dict__.pop(name, None)
            self.server.eio.async_handlers = self.saved_eio
