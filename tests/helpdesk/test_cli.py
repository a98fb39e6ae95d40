"""The ``helpdesk`` console script, run for real in subprocesses on a fresh instance folder."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from helpdesk.config import SETTINGS
from tests.conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGIN_LINE = re.compile(r"Agent login:\s+(\S+@\S+) / (\S+)")


def helpdesk_command():
    script = os.path.join(os.path.dirname(sys.executable), "helpdesk")
    if os.path.exists(script):  # the installed console script, as a user runs it
        return [script]
    return [sys.executable, "-m", "helpdesk.entry"]


@pytest.fixture
def instance(tmp_path):
    """Environment for a fresh install: its own instance folder and SQLite file."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith(("HELPDESK_", "TEST_"))}
    env.pop("FLASK_RUN_FROM_CLI", None)
    # The code under test, whichever checkout the console script was installed from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    env["HELPDESK_INSTANCE_PATH"] = str(tmp_path / "instance")
    env["DATABASE_URL"] = "sqlite:///" + str(tmp_path / "helpdesk.db")
    env["PYTHONUNBUFFERED"] = "1"
    return {"env": env, "db": tmp_path / "helpdesk.db", "path": tmp_path}


def run(instance, *args, timeout=120):
    return subprocess.run(helpdesk_command() + list(args), env=instance["env"], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=str(instance["path"]))


def tables(db_path):
    with sqlite3.connect(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_db_upgrade_creates_the_schema_on_a_fresh_sqlite_file(instance):
    assert not instance["db"].exists()
    done = run(instance, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    created = tables(instance["db"])
    assert {"alembic_version", "stores", "agents", "tickets", "messages", "outbox"} <= created
    again = run(instance, "db", "upgrade")  # idempotent
    assert again.returncode == 0, again.stderr


def test_seed_demo_prints_a_login_once_and_is_idempotent(instance):
    assert run(instance, "db", "upgrade").returncode == 0
    first = run(instance, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "Demo store 'Demo Store'" in first.stdout
    login = LOGIN_LINE.search(first.stdout)
    assert login and login.group(1) == "admin@demo.store" and len(login.group(2)) >= 10
    second = run(instance, "seed-demo")
    assert second.returncode == 0, second.stderr
    assert "Demo store 'Demo Store'" in second.stdout
    assert not LOGIN_LINE.search(second.stdout)
    with sqlite3.connect(instance["db"]) as conn:
        assert conn.execute("SELECT count(*) FROM stores WHERE slug = 'demo'").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM agents").fetchone()[0] == 1


def test_create_agent_creates_an_agent_and_rejects_a_short_password(instance):
    assert run(instance, "db", "upgrade").returncode == 0
    made = run(instance, "create-agent", "--email", "Kim@Example.test", "--name", "Kim", "--password",
               "long enough password", "--admin")
    assert made.returncode == 0, made.stderr
    assert "Created admin kim@example.test" in made.stdout
    short = run(instance, "create-agent", "--email", "lee@example.test", "--name", "Lee", "--password", "short")
    assert short.returncode != 0
    assert "Error: Passwords need at least 10 characters." in short.stderr
    assert "Traceback" not in short.stderr
    dup = run(instance, "create-agent", "--email", "kim@example.test", "--name", "Kim", "--password",
              "long enough password")
    assert dup.returncode != 0 and "already exists" in dup.stderr
    with sqlite3.connect(instance["db"]) as conn:
        rows = conn.execute("SELECT email, role FROM agents ORDER BY id").fetchall()
    assert rows == [("kim@example.test", "admin")]


def test_production_without_a_secret_key_refuses_to_start_with_a_clear_error(instance):
    instance["env"]["HELPDESK_ENV"] = "production"
    done = run(instance, "db", "upgrade")
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr
    assert not instance["db"].exists()


def test_worker_without_redis_explains_itself(instance):
    done = run(instance, "worker", "--burst")
    assert done.returncode != 0 and "REDIS_URL is not set" in done.stderr


# ---- serve ---------------------------------------------------------------------------

class Server:
    """``helpdesk serve`` in a subprocess; its output is collected as it arrives."""

    def __init__(self, instance, *args):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            helpdesk_command() + ["serve", "--port", str(self.port), *args], env=instance["env"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            cwd=str(instance["path"]), start_new_session=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self):
        return "".join(self.lines)

    def get(self, path, timeout=5):
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_until_serving(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reader.join(5)
                pytest.fail(f"helpdesk serve exited with {self.proc.returncode}:\n{self.output}")
            try:
                return self.get("/healthz", timeout=2)
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"helpdesk serve did not answer within {timeout}s:\n{self.output}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._reader.join(5)


@pytest.fixture
def serve(instance):
    servers = []

    def start(*args):
        server = Server(instance, *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _check_serving(server):
    status, body = server.wait_until_serving()
    assert status == 200, body
    assert '"database":"ok"' in body.replace(" ", "")
    out = server.output
    assert f"Inbox:           {server.base}/inbox" in out
    assert f"Demo storefront: {server.base}/demo" in out
    login = LOGIN_LINE.search(out)
    assert login and login.group(1) == "admin@demo.store"
    status, page = server.get("/login")
    assert status == 200 and "<form" in page
    return login.group(2)


def test_serve_threading_migrates_seeds_prints_urls_and_serves(serve, instance):
    server = serve("--async-mode", "threading")
    _check_serving(server)
    assert "alembic_version" in tables(instance["db"])
    assert "Traceback" not in server.output


def test_serve_on_eventlet_by_default(serve, instance):
    server = serve()
    _check_serving(server)
    assert "Traceback" not in server.output


def test_only_serve_monkey_patches(instance):
    from helpdesk.entry import _serve_async_mode

    assert _serve_async_mode(["serve"]) == "eventlet"
    assert _serve_async_mode(["serve", "--async-mode", "threading"]) == "threading"
    assert _serve_async_mode(["serve", "--async-mode=gevent"]) == "gevent"
    assert _serve_async_mode(["worker"]) is None and _serve_async_mode(["db", "upgrade"]) is None
    code = ("import sys\nfrom helpdesk.entry import main\n"
            "try:\n    main(['db', 'upgrade'])\nexcept SystemExit:\n    pass\n"
            "patched = 'eventlet.patcher' in sys.modules and sys.modules['eventlet.patcher'].is_monkey_patched('socket')\n"
            "print('patched', patched)")
    done = subprocess.run([sys.executable, "-c", code], env=instance["env"], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=str(instance["path"]))
    assert done.returncode == 0, done.stderr
    assert "patched False" in done.stdout


def test_second_serve_does_not_seed_again(serve, instance):
    first = serve("--async-mode", "threading")
    _check_serving(first)
    first.stop()
    second = serve("--async-mode", "threading")
    status, _ = second.wait_until_serving()
    assert status == 200
    time.sleep(0.3)
    assert not LOGIN_LINE.search(second.output)
    assert "Agent login:     admin@demo.store (password printed on first run" in second.output


def test_server_runs_full_garbage_collections_from_its_timer_only():
    """The serve command freezes what it has loaded, stops the interpreter's own full
    collections (their pauses were the chat's p99 delay) and runs one on a timer instead."""
    import gc

    from helpdesk import cli

    class Loop:
        """Stands in for the Socket.IO server's task API: records the task, runs one turn."""

        def __init__(self):
            self.task = None
            self.slept = []

        def start_background_task(self, fn):
            self.task = fn

        def sleep(self, seconds):
            self.slept.append(seconds)
            if len(self.slept) > 1:
                raise StopIteration  # end the endless loop after one full collection

    before = gc.get_threshold()
    loop = Loop()
    try:
        cli._tune_garbage_collector(loop)
        assert gc.get_threshold()[2] >= 1_000_000
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_freeze_count() > 0
        full_passes = []
        gc.callbacks.append(lambda phase, info: phase == "stop" and full_passes.append(info["generation"]))
        with pytest.raises(StopIteration):
            loop.task()
        assert loop.slept == [cli.FULL_COLLECTION_SECONDS, cli.FULL_COLLECTION_SECONDS]
        assert 2 in full_passes
    finally:
        gc.callbacks.pop()
        gc.set_threshold(*before)
        gc.unfreeze()
