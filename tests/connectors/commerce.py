"""Helpers for the shop connector tests: fixture payloads, signing, posting, reading rows.

One fixture file per real payload shape lives in tests/fixtures/<platform>/; the tests sign
those exact bytes the way the platform does and post them to /webhooks/<platform>/<key>.
"""
import base64
import hashlib
import hmac
import json
import os
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from helpdesk.extensions import db

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def fixture_bytes(platform, name):
    with open(os.path.join(FIXTURES, platform, name), "rb") as f:
        return f.read()


def fixture(platform, name):
    return json.loads(fixture_bytes(platform, name), parse_float=Decimal)


def fixture_names(platform, suffix=".json"):
    return sorted(n for n in os.listdir(os.path.join(FIXTURES, platform)) if n.endswith(suffix))


def hmac_b64(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


class FakeApi:
    """A real HTTP server on loopback answering GETs from a {path: (status, json)} table and
    recording what it was asked (path, query, headers); POSTs are recorded and answered from
    ``post_status`` (a list consumed in order, then the last one)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.post_status = [200]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self, body=b""):
                outer.requests.append({"method": self.command, "path": self.path,
                                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})

            def do_GET(self):
                self._record()
                path = self.path
                status, payload = outer.routes.get(path, outer.routes.get(path.split("?")[0], (404, {"status": 404})))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._record(body)
                status = outer.post_status.pop(0) if len(outer.post_status) > 1 else outer.post_status[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
