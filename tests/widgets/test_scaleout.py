"""Two real server processes share rooms through Redis (the Socket.IO message queue):
a shopper on one and an agent on the other chat both ways; an agent deactivated through one
loses their sockets on the other."""
import os
import re
import secrets
import subprocess
import sys
import time
import uuid

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from tests.conftest import free_port, need, redis_url
from tests.realtime import UA, Recorder, visitor_client

PASSWORD = "scale-out-password"


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "helpdesk.entry", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=True)


@pytest.fixture
def two_servers(tmp_path):
    url = redis_url()
    need(url, "Redis is not reachable (set TEST_REDIS_URL)")
    env = dict(os.environ)
    env.update({
        "HELPDESK_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/scale.db",
        "REDIS_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "JOBS_MODE": "sync",
        "LOG_LEVEL": "WARNING",
    })
    _cli(["db", "upgrade"], env)
    _cli(["seed-demo"], env)
    _cli(["create-agent", "--email", "scale@example.test", "--name", "Scale Agent", "--password", PASSWORD], env)
    _cli(["create-agent", "--email", "boss@example.test", "--name", "Scale Admin", "--password", PASSWORD, "--admin"],
         env)
    procs, bases = [], []
    for _ in range(2):
        port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "helpdesk.entry", "serve", "--async-mode", "threading", "--no-seed",
             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, f"{base} did not start"
                time.sleep(0.2)
        engine = create_engine(env["DATABASE_URL"])
        with engine.connect() as conn:
            key = conn.execute(text("SELECT widget_key FROM stores WHERE slug = 'demo'")).scalar_one()
        engine.dispose()
        yield bases, key
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _signed_in(base, email="scale@example.test"):
    s = requests.Session()
    s.headers["User-Agent"] = UA
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base}/login", timeout=5).text).group(1)
    r = s.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf},
               allow_redirects=False, timeout=5)
    assert r.status_code == 302
    return s


def _agent(base, email="scale@example.test", session=None):
    session = session or _signed_in(base, email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return Recorder(base, "/inbox", headers={"Cookie": cookie, "User-Agent": UA}).connect()


def test_shopper_and_agent_on_different_processes_chat_both_ways(two_servers):
    (base_a, base_b), key = two_servers
    resp = requests.post(f"{base_a}/widget/api/session", json={"key": key}, timeout=5)
    assert resp.status_code == 200, resp.text
    session = resp.json()
    shopper = visitor_client(base_a, session["token"])
    agent = _agent(base_b)
    try:
        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "hello from process A"})
        assert ack["ok"]
        got = agent.wait_for("message.created", lambda d: d["message"]["id"] == ack["message"]["id"], timeout=10)
        sent = agent.call("send", {"ticket_id": got["message"]["ticket_id"], "client_id": uuid.uuid4().hex,
                                   "body": "hello from process B"})
        assert sent["ok"]
        seen = shopper.wait_for("message.created", lambda d: d["message"]["id"] == sent["message"]["id"], timeout=10)
        assert seen["message"]["body_text"] == "hello from process B"
    finally:
        shopper.disconnect()
        agent.disconnect()


def test_an_agent_deactivated_through_one_process_is_disconnected_on_the_other(two_servers):
    """Only process A knows the agent's sockets; the admin's request runs on B. B publishes
    the request to end them (helpdesk.socket_manager) and A ends them itself, so even a client
    that ignores its DISCONNECT hears nothing more."""
    (base_a, base_b), key = two_servers
    agent_session = _signed_in(base_a)
    agent = _agent(base_a, session=agent_session)
    rogue = _agent(base_a, session=agent_session)
    rogue.client._handle_disconnect = lambda namespace: None  # a modified client: it does not let go
    boss = _signed_in(base_b, "boss@example.test")
    watcher = _agent(base_a, session=boss)  # an admin on A: every store's events
    shopper = None
    try:
        page = boss.get(f"{base_b}/inbox/settings/team", timeout=5).text
        agent_id = re.search(r'id="agent-(\d+)"[^>]*>\s*<h2 class="mail-title">Scale Agent<', page).group(1)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = boss.post(f"{base_b}/inbox/settings/team/{agent_id}/active",
                             data={"csrf_token": csrf, "active": "0"}, allow_redirects=False, timeout=5)
        assert response.status_code == 302

        assert agent.wait_for("disconnect", timeout=10) == socketio.Client.reason.SERVER_DISCONNECT
        # Its reconnect (the same session cookie) is refused.
        with pytest.raises(socketio.exceptions.ConnectionError):
            _agent(base_a, session=agent_session)
        # A new chat reaches the admin on A; the deactivated agent's modified client hears nothing.
        session = requests.post(f"{base_b}/widget/api/session", json={"key": key}, timeout=5).json()
        shopper = visitor_client(base_b, session["token"])
        ack = shopper.call("message", {"client_id": uuid.uuid4().hex, "body": "anyone there?"})
        assert ack["ok"]
        watcher.wait_for("message.created", lambda d: d["message"]["id"] == ack["message"]["id"], timeout=10)
        time.sleep(0.3)
        assert [name for name, _ in rogue.received() if name.startswith(("message.", "ticket."))] == []
    finally:
        for client in (agent, watcher, shopper):
            if client is not None:
                client.disconnect()
        rogue.cut()
