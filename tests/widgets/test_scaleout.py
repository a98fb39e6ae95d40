"""Two real server processes share rooms through Redis (the Socket.IO message queue):
a shopper on one and an agent on the other chat both ways."""
import os
import secrets
import subprocess
import sys
import time
import uuid

import pytest
import requests
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


def _agent(base):
    import re

    s = requests.Session()
    s.headers["User-Agent"] = UA
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base}/login", timeout=5).text).group(1)
    r = s.post(f"{base}/login", data={"email": "scale@example.test", "password": PASSWORD, "csrf_token": csrf},
               allow_redirects=False, timeout=5)
    assert r.status_code == 302
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
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
