"""A real OpenAI-compatible chat-completions server on loopback, for the assist tests.

``POST /v1/chat/completions`` answers like the real API (``choices[0].message.content``),
records every request it got (body and headers), and can be switched to misbehave:

* ``mode = "answer"``   200 with ``answer`` (a str, or a callable of the request body)
* ``mode = "sleep"``    waits ``sleep`` seconds before answering (past the client's timeout)
* ``mode = "garbage"``  200 with a body that is not the chat-completions shape (``garbage``)
* ``mode = "error"``    HTTP ``status`` (500 by default) with an error body
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AssistServer:
    def __init__(self):
        self.mode = "answer"
        self.answer = "Suggested reply."
        self.sleep = 3.0
        self.garbage = b"<html>not json</html>"
        self.status = 500
        self.requests = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="assist-server", daemon=True)

    @property
    def base_url(self):
        host, port = self._httpd.server_address
        return f"http://{host}:{port}/v1"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status, body, content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/v1/chat/completions":
                    return self._send(404, b'{"error": {"message": "not found"}}')
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._send(400, b'{"error": {"message": "bad json"}}')
                server.requests.append({"body": body, "headers": dict(self.headers)})
                if server.mode == "sleep":
                    time.sleep(server.sleep)
                if server.mode == "garbage":
                    return self._send(200, server.garbage)
                if server.mode == "error":
                    return self._send(server.status, b'{"error": {"message": "model exploded"}}')
                answer = server.answer(body) if callable(server.answer) else server.answer
                reply = {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                return self._send(200, json.dumps(reply).encode("utf-8"))

        return Handler


# ---- fixtures (import them into a test module) -------------------------------------------

import pytest  # noqa: E402

API_KEY = "sk-test-do-not-log-0123456789"


@pytest.fixture
def assist_server():
    server = AssistServer().start()
    try:
        yield server
    finally:
        server.stop()


def _configure(app, **values):
    keys = ("ASSIST_BASE_URL", "ASSIST_MODEL", "ASSIST_API_KEY", "ASSIST_TIMEOUT")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(values)
    return saved


@pytest.fixture
def provider(app, assist_server):
    """The app talks to ``assist_server`` (1 s timeout, so the timeout test is quick)."""
    saved = _configure(app, ASSIST_BASE_URL=assist_server.base_url, ASSIST_MODEL="test-model",
                       ASSIST_API_KEY=API_KEY, ASSIST_TIMEOUT=1.0)
    try:
        yield assist_server
    finally:
        app.config.update(saved)


@pytest.fixture
def no_provider(app):
    saved = _configure(app, ASSIST_BASE_URL=None, ASSIST_API_KEY=None)
    try:
        yield
    finally:
        app.config.update(saved)
