"""End-to-end chat latency: real Socket.IO visitors sending to agents on the inbox namespace.

For each message: visitor emit -> server commits -> ``message.created`` reaches an agent.
The same load then runs against a bare Flask-SocketIO relay with no database (the floor).

    python bench/chat_latency.py --visitors 200 --rate 0.5 --duration 30 --async-mode eventlet

The last line is machine-comparable:
    p50_ms=… p99_ms=… floor_p50_ms=… floor_p99_ms=… msgs_per_s=…
"""
import argparse
import asyncio
import atexit
import gc
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PASSWORD = "bench-password-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def prepare(env, visitors, agents):
    """Schema, a store, available agents and visitor tokens, made in this process."""
    os.environ.update(env)
    from helpdesk import create_app
    from helpdesk.actions.agents import create_agent, set_availability
    from helpdesk.cli import upgrade_database
    from helpdesk.extensions import db
    from helpdesk.models import Store, Visitor
    from widgets.tokens import issue

    app = create_app({"JOBS_MODE": "sync"})
    with app.app_context():
        upgrade_database()
        store = Store(name="Bench store", slug=f"bench-{secrets.token_hex(3)}", settings={})
        db.session.add(store)
        db.session.commit()
        emails = []
        for i in range(agents):
            agent = create_agent(f"bench{i}-{secrets.token_hex(3)}@bench.test", f"Bench {i}", PASSWORD)
            set_availability(agent, "available")
            emails.append(agent.email)
        rows = [Visitor(store_id=store.id, attributes={}) for _ in range(visitors)]
        db.session.add_all(rows)
        db.session.commit()
        tokens = [issue(v) for v in rows]
    return emails, tokens


async def login(base, email, ua):
    import re

    import aiohttp

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"User-Agent": ua}) as http:
        page = await (await http.get(f"{base}/login")).text()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resp = await http.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf},
                               allow_redirects=False)
        assert resp.status == 302, await resp.text()
        return "; ".join(f"{c.key}={c.value}" for c in jar)


async def run_load(base, agent_cookies, tokens, rate, duration, warmup, server_proc=None):
    """Returns latencies, delivered messages per second, failed and total acknowledgements
    of the measured window, and the server's CPU seconds over that window (or None)."""
    import socketio

    ua = "chat-latency-bench"
    sent_at = {}
    latencies = []
    acks = []
    received = [0]
    measuring = [False]

    agents = []
    for cookie in agent_cookies:
        client = socketio.AsyncClient(reconnection=False)

        async def on_message(data):
            body = (data.get("message") or {}).get("body_text") or ""
            t0 = sent_at.get(body)
            if t0 is not None:
                received[0] += 1
                if measuring[0]:
                    latencies.append((time.perf_counter() - t0) * 1000)
                sent_at.pop(body, None)  # first agent to receive counts

        client.on("message.created", on_message, namespace="/inbox")
        await client.connect(base, namespaces=["/inbox"], headers={"Cookie": cookie, "User-Agent": ua},
                             transports=["websocket"])
        agents.append(client)

    visitors = []
    for i in range(0, len(tokens), 50):
        batch = []
        for token in tokens[i:i + 50]:
            client = socketio.AsyncClient(reconnection=False)
            batch.append(client.connect(base, namespaces=["/widget"], auth={"token": token},
                                        transports=["websocket"]))
            visitors.append(client)
        await asyncio.gather(*batch)

    # The load generator's own full garbage collections would stall all its clients at once
    # and show up as server latency: freeze the connected clients out of the collector and
    # leave full passes until the run is over (young garbage is still collected).
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 1_000_000)

    async def visitor_loop(client):
        interval = 1.0 / rate
        await asyncio.sleep(random.random() * interval)
        end = time.perf_counter() + warmup + duration
        while time.perf_counter() < end:
            body = f"bench {uuid.uuid4().hex}"
            sent_at[body] = time.perf_counter()
            t0 = time.perf_counter()
            try:
                ack = await client.call("message", {"client_id": uuid.uuid4().hex, "body": body},
                                        namespace="/widget", timeout=30)
            except socketio.exceptions.TimeoutError:
                ack = None  # counted as a failed acknowledgement
            if measuring[0]:
                acks.append(((time.perf_counter() - t0) * 1000, bool(ack and ack.get("ok"))))
            await asyncio.sleep(max(0.0, interval * random.uniform(0.8, 1.2) - (time.perf_counter() - t0)))

    cpu_at_switch = []

    async def switch():
        await asyncio.sleep(warmup)
        measuring[0] = True
        received[0] = 0
        if server_proc is not None:
            cpu_at_switch.append(cpu_seconds(server_proc))

    started = time.perf_counter()
    await asyncio.gather(switch(), *(visitor_loop(v) for v in visitors))
    await asyncio.sleep(1.0)  # let the last deliveries arrive
    elapsed = time.perf_counter() - started - warmup
    cpu_used = None
    if server_proc is not None and cpu_at_switch and cpu_at_switch[0] is not None:
        cpu_used = cpu_seconds(server_proc) - cpu_at_switch[0]
    for client in visitors + agents:
        await client.disconnect()
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    failed = sum(1 for _ms, ok in acks if not ok)
    return latencies, received[0] / max(elapsed, 0.001), failed, len(acks), cpu_used


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def cpu_seconds(proc):
    """User + system CPU seconds the process has used so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def start(cmd, env):
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.5, help="messages per second per visitor")
    parser.add_argument("--duration", type=float, default=30, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--async-mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="chat-bench-")
    atexit.register(shutil.rmtree, workdir, True)  # its database grows by tens of MB a run
    env = dict(os.environ)
    env.update({
        "HELPDESK_INSTANCE_PATH": workdir,
        "SECRET_KEY": secrets.token_hex(32),
        "SOCKETIO_ASYNC_MODE": args.async_mode,
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": args.database_url or f"sqlite:///{workdir}/bench.db",
    })
    env.pop("REDIS_URL", None)
    emails, tokens = prepare({k: env[k] for k in ("HELPDESK_INSTANCE_PATH", "SECRET_KEY", "DATABASE_URL")},
                             args.visitors, args.agents)

    port = free_port()
    server = start([sys.executable, "-m", "helpdesk.entry", "serve", "--async-mode", args.async_mode,
                    "--port", str(port), "--no-seed"], env)
    try:
        wait_port(port, server)
        base = f"http://127.0.0.1:{port}"

        async def helpdesk_run():
            cookies = [await login(base, e, "chat-latency-bench") for e in emails]
            return await run_load(base, cookies, tokens, args.rate, args.duration, args.warmup, server)

        lat, mps, failed, total, server_cpu = asyncio.run(helpdesk_run())
    finally:
        server.terminate()
        server.wait(10)

    floor, floor_total, floor_cpu = [], 0, None
    if not args.skip_floor:
        fport = free_port()
        relay = start([sys.executable, os.path.join(ROOT, "bench", "_relay_server.py"), str(fport), args.async_mode],
                      env)
        try:
            wait_port(fport, relay)
            fbase = f"http://127.0.0.1:{fport}"
            floor, _fmps, _ffailed, floor_total, floor_cpu = asyncio.run(
                run_load(fbase, [""] * args.agents, [""] * args.visitors, args.rate, args.duration, args.warmup,
                         relay))
        finally:
            relay.terminate()
            relay.wait(10)

    print(f"mode={args.async_mode} visitors={args.visitors} agents={args.agents} rate={args.rate}/s "
          f"duration={args.duration}s database={'sqlite' if not args.database_url else args.database_url.split(':')[0]}")
    # The server's CPU per message over the measured window: what saturates first.
    server_cpu = f" server_cpu_ms_per_msg={server_cpu * 1000 / total:.2f}" if server_cpu is not None and total else ""
    print(f"helpdesk: delivered={len(lat)} acks={total} failed_acks={failed} "
          f"mean_ms={statistics.fmean(lat) if lat else float('nan'):.2f}{server_cpu}")
    if floor:
        floor_cpu = (f" server_cpu_ms_per_msg={floor_cpu * 1000 / floor_total:.2f}"
                     if floor_cpu is not None and floor_total else "")
        print(f"floor:    delivered={len(floor)} mean_ms={statistics.fmean(floor):.2f}{floor_cpu}")
    print(f"p50_ms={pct(lat, 50):.2f} p99_ms={pct(lat, 99):.2f} floor_p50_ms={pct(floor, 50):.2f} "
          f"floor_p99_ms={pct(floor, 99):.2f} msgs_per_s={mps:.1f}")


if __name__ == "__main__":
    main()
