"""Test fixtures: one app per session, a clean database per test, real services.

* ``TEST_DATABASE_URL`` (PostgreSQL) runs the suite there; default a SQLite file.
* ``TEST_REDIS_URL`` enables tests that need Redis (rq, Socket.IO message queue).
* ``HELPDESK_REQUIRE_SERVICES=1`` (set by .ci/run) turns "service missing" skips into
  failures, so CI always runs them.
"""
import os
import socket
import threading
import time

# Set before the app is imported: every payload a test builds is dumped both ways and
# compared (helpdesk.dumps), so the suite checks the compiled schemas against marshmallow.
os.environ.setdefault("HELPDESK_CHECK_DUMPS", "1")

import pytest  # noqa: E402
from sqlalchemy import text

from helpdesk.events import event_sent
from helpdesk.extensions import db

REQUIRE_SERVICES = os.environ.get("HELPDESK_REQUIRE_SERVICES") == "1"


def need(condition, reason):
    """Skip (or, in CI, fail) when a real service the test needs is missing."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return None
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        return None
    return url


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from helpdesk import create_app

    os.environ.setdefault("HELPDESK_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    app = create_app({
        "HELPDESK_ENV": "testing",
        "DATABASE_URL": database_url,
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "JOBS_MODE": "sync",
        "REDIS_URL": None,
        "SMTP_URL": None,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def _truncate():
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.exc import OperationalError

        statement = text("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{t.name}"' for t in tables)))
        for attempt in range(5):
            try:
                db.session.execute(statement)
                db.session.commit()
                return
            except OperationalError as exc:
                # The live server may still be finishing a request of the test that just
                # ended (a browser closing its socket); TRUNCATE, locking table by table,
                # can deadlock with it. PostgreSQL picks one to abort: when it is this one,
                # the server's transaction goes on, and the next attempt finds it done.
                db.session.rollback()
                if "deadlock detected" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    else:
        for table in tables:
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture(autouse=True)
def _clean_db(request, app):
    ctx = app.app_context()
    ctx.push()
    from helpdesk.extensions import limiter

    limiter.reset()
    app.config["JOBS_MODE"] = "sync"
    try:
        yield
    finally:
        db.session.rollback()
        db.session.remove()
        _truncate()
        db.session.remove()
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sent_events():
    """Every (event, room, namespace, payload) emitted after commit during the test."""
    seen = []

    def record(name, payload, room, namespace):
        seen.append({"event": name, "room": room, "namespace": namespace, "payload": payload})

    event_sent.connect(record, weak=False)
    try:
        yield seen
    finally:
        event_sent.disconnect(record)


@pytest.fixture
def live_server(app):
    """The app served for real (Socket.IO threading server) on a free loopback port."""
    from helpdesk.extensions import socketio

    port = free_port()
    thread = threading.Thread(
        target=lambda: socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True,
                                    use_reloader=False, log_output=False),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (Debian's) for the whole session, driven by Playwright."""
    from tests.browser import ARGS, CHROMIUM

    need(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        need(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()
