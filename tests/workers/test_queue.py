"""The enqueue() facade: jobs leave only after COMMIT, in every mode."""
import threading

import pytest
from sqlalchemy import select

from helpdesk.actions import action
from helpdesk.extensions import db
from helpdesk.models import Store
from workers import enqueue, enqueue_in, run_pending_inline

#: (job name, details) for every run of the jobs below.
RAN = []


def record(tag):
    RAN.append(("record", tag, threading.current_thread().name))


def store_visible(store_id):
    """Runs in its own app context and session: sees only what was committed."""
    found = db.session.scalar(select(Store.id).where(Store.id == store_id))
    RAN.append(("store_visible", store_id, found is not None))


@pytest.fixture(autouse=True)
def _reset():
    RAN.clear()
    yield
    RAN.clear()


class Boom(Exception):
    pass


@action
def _open_store_and_enqueue(name, fail=False):
    store = Store(name=name, slug=name.lower(), settings={})
    db.session.add(store)
    db.session.flush()
    enqueue("tests.workers.test_queue.store_visible", store.id)
    if fail:
        raise Boom()
    return store


@action
def _enqueue_first_then_fail():
    # Nothing has touched the database yet: no transaction is open when enqueue() runs.
    enqueue("tests.workers.test_queue.record", "leaked")
    raise Boom()


@action
def _touch_something():
    db.session.add(Store(name="Other", slug="other", settings={}))


def test_job_runs_after_commit_and_sees_the_committed_row():
    store = _open_store_and_enqueue("Shop")
    assert RAN == [("store_visible", store.id, True)]


def test_job_enqueued_in_an_action_that_fails_never_runs():
    with pytest.raises(Boom):
        _open_store_and_enqueue("Broken", fail=True)
    assert RAN == []
    assert db.session.scalar(select(Store.id)) is None
    _touch_something()  # a later, unrelated commit must not carry the dropped job
    assert RAN == []


def test_job_enqueued_before_any_database_work_in_a_failing_action_never_runs():
    db.session.commit()  # no transaction open, as at the start of a request
    assert not db.session().in_transaction()
    with pytest.raises(Boom):
        _enqueue_first_then_fail()
    assert RAN == []
    _touch_something()
    assert RAN == []


def test_rolled_back_savepoint_keeps_the_outer_transactions_jobs():
    @action
    def outer():
        enqueue("tests.workers.test_queue.record", "outer")
        savepoint = db.session.begin_nested()
        db.session.add(Store(name="Inner", slug="inner", settings={}))
        savepoint.rollback()

    outer()
    assert [r[:2] for r in RAN] == [("record", "outer")]


def test_enqueue_outside_a_transaction_runs_at_once():
    db.session.commit()
    enqueue("tests.workers.test_queue.record", "now")
    assert [r[:2] for r in RAN] == [("record", "now")]


def test_thread_mode_runs_jobs_in_the_background_thread(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    store = _open_store_and_enqueue("Threaded")
    enqueue("tests.workers.test_queue.record", "bg")
    run_pending_inline()
    assert ("store_visible", store.id, True) in RAN
    assert ("record", "bg", "helpdesk-jobs-main") in RAN


def wait_for(seconds):
    threading.Event().wait(seconds)
    RAN.append(("wait_for", seconds, threading.current_thread().name))


def test_thread_mode_runs_slow_lane_jobs_beside_the_others(app, monkeypatch):
    """A job that waits on an outside service (a writing-assist request) must not hold up
    outgoing email: it has a thread of its own."""
    from workers import queue

    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    monkeypatch.setattr(queue, "SLOW_LANE", ("tests.workers.test_queue.wait_for",))
    db.session.commit()
    enqueue("tests.workers.test_queue.wait_for", 1.0)
    enqueue("tests.workers.test_queue.record", "mail")
    for _ in range(60):
        if RAN:
            break
        threading.Event().wait(0.01)
    assert RAN and RAN[0] == ("record", "mail", "helpdesk-jobs-main")  # did not wait the second out
    run_pending_inline()
    assert ("wait_for", 1.0, "helpdesk-jobs-slow") in RAN


def test_thread_mode_runs_delayed_jobs_later(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    db.session.commit()
    enqueue_in(0.2, "tests.workers.test_queue.record", "later")
    assert RAN == []
    deadline = threading.Event()
    for _ in range(100):
        if RAN:
            break
        deadline.wait(0.05)
    run_pending_inline()
    assert [r[:2] for r in RAN] == [("record", "later")]


def test_a_failing_job_is_logged_and_does_not_stop_the_runner(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    db.session.commit()
    enqueue("tests.workers.test_queue.no_such_job")
    enqueue("tests.workers.test_queue.record", "after")
    run_pending_inline()
    assert [r[:2] for r in RAN] == [("record", "after")]
    assert any(r.getMessage() == "job failed" and r.job == "tests.workers.test_queue.no_such_job"
               for r in caplog.records)
