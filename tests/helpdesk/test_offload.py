"""Password checks and pictures run off the server's event loop (helpdesk.offload, wired by
helpdesk.entry): an agent signing in, somebody guessing passwords or a shopper sending a
photo must not stop every live chat of the process for the tenth of a second it takes."""
import os
import re
import subprocess
import sys

import pytest

from helpdesk import offload
from helpdesk.extensions import db
from helpdesk.models.people import decoy_password_check
from tests.factories import PASSWORD, make_agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Run in a fresh interpreter: the test process itself is never monkey-patched. The hub
# ticks every 5 ms in a green thread while the main green thread checks a password; the
# ticks it manages meanwhile, and whether the check ran on another OS thread, are printed.
LOOP_DURING_CHECK = """
import sys, threading
from helpdesk.entry import patch
patch(sys.argv[1])
from helpdesk import offload
from helpdesk.models.people import Agent
agent = Agent(email="loop@example.test", name="Loop")
agent.set_password("correct horse battery")
if sys.argv[1] == "eventlet":
    import eventlet as green
else:
    import gevent as green
ticks = []
def tick():
    while True:
        green.sleep(0.005)
        ticks.append(1)
green.spawn(tick)
green.sleep(0.02)
before = len(ticks)
assert agent.check_password("correct horse battery") and not agent.check_password("wrong")
print("ticks", len(ticks) - before)
print("other_thread", offload.run(threading.get_native_id) != threading.get_native_id())
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_the_event_loop_runs_on_while_a_password_is_checked(mode):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", LOOP_DURING_CHECK, mode], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    ticks = int(re.search(r"ticks (\d+)", done.stdout).group(1))
    # Two scrypt checks take a few hundred milliseconds: a loop blocked by them ticks 0
    # times; one left running ticks dozens of times.
    assert ticks >= 5, done.stdout
    assert "other_thread True" in done.stdout


def test_without_a_server_loop_the_check_runs_where_it_is():
    import threading

    assert offload._runner is None
    assert offload.run(threading.get_native_id) == threading.get_native_id()


@pytest.fixture
def recorded_checks():
    """Every call made through helpdesk.offload (run for real), by function name."""
    calls = []

    def runner(fn, *args):
        calls.append(fn.__name__)
        return fn(*args)

    offload.use(runner)
    yield calls
    offload.use(None)


def sign_in(client, email, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_every_sign_in_attempt_makes_one_password_check(client, recorded_checks):
    """A refusal costs the same check whether or not the address is an agent's (or an
    active one): its timing does not tell which addresses have accounts."""
    agent = make_agent()
    gone = make_agent()
    gone.active = False
    db.session.commit()
    decoy_password_check("warm the decoy hash up")  # made once per process; not part of a sign-in
    del recorded_checks[:]
    for email, password, status in ((agent.email, "not the password", 401), ("nobody@example.test", PASSWORD, 401),
                                    (gone.email, PASSWORD, 401), (agent.email, PASSWORD, 302)):
        assert sign_in(client, email, password).status_code == status, email
        assert recorded_checks == ["check_password_hash"], email
        del recorded_checks[:]
        client.post("/logout")


def test_an_account_without_a_password_matches_nothing(app):
    agent = make_agent()
    agent.password_hash = ""
    assert not agent.check_password("") and not agent.check_password(PASSWORD)
    assert decoy_password_check(PASSWORD) is False


def image_bytes(size=(1200, 900)):
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_pictures_are_drawn_through_the_offload_runner(app, recorded_checks):
    """A shopper's photo thumbnail and an agent's profile photo are Pillow work of the same
    order as a password check: drawn off the loop too, with the same results."""
    import os

    from PIL import Image

    from helpdesk.actions.attachments import store_upload
    from helpdesk.actions.profile import set_photo
    from tests.factories import make_store

    store = make_store()
    attachment = store_upload(store.id, "visitor:offload", "parcel.png", image_bytes(), "image/png")
    assert recorded_checks == ["_draw_thumbnail"]
    with Image.open(os.path.join(app.config["UPLOAD_FOLDER"], attachment.thumbnail_path)) as thumb:
        assert max(thumb.size) == 320
    # Bytes that sniff as PNG but do not decode: no thumbnail, the upload itself kept.
    broken = image_bytes()[:200]
    assert store_upload(store.id, "visitor:offload", "broken.png", broken, "image/png").thumbnail_path is None

    del recorded_checks[:]
    agent = make_agent()
    set_photo(agent, image_bytes((800, 600)), "image/png")
    assert "_square_jpeg" in recorded_checks
    with Image.open(os.path.join(app.config["UPLOAD_FOLDER"], agent.avatar_path)) as photo:
        assert photo.size[0] == photo.size[1] and photo.format == "JPEG"
    # Refusals raised on the runner's side reach the caller as the same ActionError.
    from helpdesk.actions import ActionError

    with pytest.raises(ActionError) as refused:
        set_photo(agent, broken, "image/png")
    assert refused.value.status == 415
