"""How long agents signing in and shoppers sending photos stop everything else the server does.

A password check (scrypt) and a phone photo's thumbnail (Pillow) each take about a tenth of
a second of processor. This starts the server (the chosen Socket.IO mode, SQLite), signs an
agent in again and again -- right and wrong passwords, as a shift starting or somebody
guessing would -- then uploads photos through the widget, and meanwhile asks ``/healthz``
every 10 ms on another connection: under eventlet or gevent work done on the event loop holds
those answers (and every live chat) back for as long as it runs.

    python bench/loop_stall.py
    python bench/loop_stall.py --async-mode gevent --logins 8 --uploads 4

The last line is machine-comparable:
    login_p50_ms=… upload_p50_ms=… healthz_p50_ms=… healthz_p99_ms=… healthz_max_ms=… idle_healthz_max_ms=…
"""
import argparse
import asyncio
import atexit
import io
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_latency import PASSWORD, free_port, pct, prepare, start, wait_port  # noqa: E402


def phone_photo():
    """A 12-megapixel JPEG of noise, about 5 MB: what a phone sends of a damaged parcel."""
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((4000, 3000), 40).convert("RGB").save(out, "JPEG", quality=70)
    return out.getvalue()


async def measure(base, email, token, logins, uploads, idle_seconds):
    import aiohttp

    async with aiohttp.ClientSession() as probe:
        async def probe_for(seconds=None, stop=None):
            """Milliseconds of each /healthz answer, one request every 10 ms."""
            times = []
            end = time.perf_counter() + seconds if seconds else None
            while (stop is None or not stop.is_set()) and (end is None or time.perf_counter() < end):
                started = time.perf_counter()
                async with probe.get(f"{base}/healthz") as resp:
                    await resp.read()
                times.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.01)
            return times

        idle = await probe_for(idle_seconds)
        stop = asyncio.Event()
        busy = asyncio.ensure_future(probe_for(stop=stop))
        login_ms = []
        for i in range(logins):
            # Half right, half wrong: a refusal costs the same check as a sign-in.
            password = PASSWORD if i % 2 == 0 else "not-the-password"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                page = await (await http.get(f"{base}/login")).text()
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                started = time.perf_counter()
                resp = await http.post(f"{base}/login", data={"email": email, "password": password,
                                                               "csrf_token": csrf}, allow_redirects=False)
                login_ms.append((time.perf_counter() - started) * 1000)
                expected = 302 if password == PASSWORD else 401
                if resp.status != expected:
                    raise SystemExit(f"sign-in answered {resp.status}, expected {expected}")
        photo = phone_photo() if uploads else b""
        upload_ms = []
        async with aiohttp.ClientSession() as http:
            for i in range(uploads):
                form = aiohttp.FormData()
                form.add_field("file", photo, filename=f"parcel-{i}.jpg", content_type="image/jpeg")
                started = time.perf_counter()
                resp = await http.post(f"{base}/widget/api/uploads", data=form, headers={"X-Visitor-Token": token})
                upload_ms.append((time.perf_counter() - started) * 1000)
                if resp.status != 201:
                    raise SystemExit(f"upload answered {resp.status}: {await resp.text()}")
        stop.set()
        return idle, await busy, login_ms, upload_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--async-mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    parser.add_argument("--logins", type=int, default=8, help="at most 10: the sign-in form's rate limit")
    parser.add_argument("--uploads", type=int, default=4, help="photos sent through the widget")
    parser.add_argument("--idle-seconds", type=float, default=2, help="/healthz alone first, for comparison")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="login-bench-")
    atexit.register(shutil.rmtree, workdir, True)
    env = dict(os.environ)
    env.update({"HELPDESK_INSTANCE_PATH": workdir, "SECRET_KEY": secrets.token_hex(32),
                "SOCKETIO_ASYNC_MODE": args.async_mode, "LOG_LEVEL": "WARNING",
                "DATABASE_URL": f"sqlite:///{workdir}/bench.db"})
    env.pop("REDIS_URL", None)
    (email,), (token,) = prepare({k: env[k] for k in ("HELPDESK_INSTANCE_PATH", "SECRET_KEY", "DATABASE_URL")},
                                 1, 1)
    port = free_port()
    server = start([sys.executable, "-m", "helpdesk.entry", "serve", "--async-mode", args.async_mode,
                    "--port", str(port), "--no-seed"], env)
    try:
        wait_port(port, server)
        idle, busy, login_ms, upload_ms = asyncio.run(measure(f"http://127.0.0.1:{port}", email, token, args.logins,
                                                              args.uploads, args.idle_seconds))
    finally:
        server.terminate()
        server.wait(10)
    print(f"mode={args.async_mode} logins={len(login_ms)} uploads={len(upload_ms)} "
          f"healthz_requests: idle={len(idle)} during={len(busy)}")
    print(f"login_p50_ms={statistics.median(login_ms) if login_ms else float('nan'):.1f} "
          f"upload_p50_ms={statistics.median(upload_ms) if upload_ms else float('nan'):.1f} healthz_p50_ms={pct(busy, 50):.1f} "
          f"healthz_p99_ms={pct(busy, 99):.1f} healthz_max_ms={max(busy):.1f} idle_healthz_max_ms={max(idle):.1f}")


if __name__ == "__main__":
    main()
