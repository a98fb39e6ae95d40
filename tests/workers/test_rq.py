"""rq mode against a real Redis: jobs go to the queue and a worker delivers them."""
import os
import subprocess
import sys

import pytest
from redis import Redis
from rq import Queue

from helpdesk.actions import action
from helpdesk.extensions import db
from helpdesk.models import OutboxItem
from tests.conftest import need, redis_url
from workers import enqueue_in, outbox
from workers.queue import QUEUE_NAME
from workers.worker import make_worker


@pytest.fixture
def rq_mode(app, monkeypatch):
    url = redis_url()
    need(url, "Redis (set TEST_REDIS_URL)")
    connection = Redis.from_url(url)
    queue = Queue(QUEUE_NAME, connection=connection)
    _clear(queue)
    runner = app.extensions["helpdesk_jobs"]
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setattr(runner, "_rq_queue", None)
    try:
        yield queue
    finally:
        _clear(queue)
        connection.close()


def _clear(queue):
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)


@action
def queue_mail(subject):
    return outbox.add("email", {"to": "dana@example.test", "subject": subject, "text": "Hello from rq."})


def test_enqueue_after_commit_goes_to_the_rq_queue_and_a_worker_delivers(app, rq_mode, smtp_server):
    item = queue_mail("via rq")
    assert rq_mode.count == 1
    (job,) = rq_mode.jobs
    assert job.func_name == "workers.jobs.deliver_outbox" and job.args == (item.id,)
    assert job.retries_left == 5  # workers.queue.RETRY_MAX
    assert smtp_server.messages == []  # nothing ran in this process

    worker = make_worker(app, rq_mode.connection, fork=False)
    assert worker.work(burst=True)
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "via rq"
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).status == OutboxItem.SENT
    assert rq_mode.count == 0


def test_rolled_back_action_enqueues_nothing_in_redis(rq_mode):
    @action
    def failing():
        outbox.add("email", {"to": "x@example.test", "subject": "never", "text": ""})
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        failing()
    assert rq_mode.count == 0
    assert db.session.query(OutboxItem).count() == 0


def test_delayed_jobs_go_to_rqs_scheduler(rq_mode):
    db.session.commit()
    enqueue_in(60, "workers.jobs.sweep_outbox")
    assert rq_mode.count == 0
    assert len(rq_mode.scheduled_job_registry.get_job_ids()) == 1


def test_redis_down_at_enqueue_keeps_the_row_for_the_sweep(app, rq_mode, monkeypatch, smtp_server):
    from tests.conftest import free_port

    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    item = queue_mail("after outage")  # the commit succeeds; the enqueue error is logged
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).status == OutboxItem.PENDING
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url())
    monkeypatch.setattr(app.extensions["helpdesk_jobs"], "_rq_queue", None)
    assert outbox.sweep() == 1
    assert rq_mode.count == 1
    make_worker(app, rq_mode.connection, fork=False).work(burst=True)
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["after outage"]


def test_helpdesk_worker_command_delivers(app, rq_mode, smtp_server, database_url, tmp_path):
    item = queue_mail("via helpdesk worker")
    assert rq_mode.count == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPDESK_", "TEST_"))}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url(),
        "SMTP_URL": smtp_server.url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path),
        "HELPDESK_ENV": "development",
    })
    # The helpdesk console script lives beside this interpreter.
    script = os.path.join(os.path.dirname(sys.executable), "helpdesk")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "helpdesk.entry"]
    done = subprocess.run(command + ["worker", "--burst"], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "via helpdesk worker"
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).status == OutboxItem.SENT
