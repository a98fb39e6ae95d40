"""The queue facade.

Modes (``JOBS_MODE``):
* ``rq``     -- jobs go to Redis; ``helpdesk worker`` runs them (with rq's scheduler for
                delayed jobs).
* ``thread`` -- the embedded default: a daemon thread in the server process runs jobs
                in order, inside an app context; delayed jobs wait on a timer. Jobs that
                wait seconds on an outside service by design (SLOW_LANE) have a thread of
                their own, so email and webhooks never queue behind them.
* ``sync``   -- jobs run right after commit in the committing thread (tests, scripts).
"""
import importlib
import logging
import queue as _queue_mod
import threading
import time
from datetime import timedelta

from sqlalchemy import event as sa_event

from helpdesk.extensions import db

log = logging.getLogger(__name__)
_PENDING = "helpdesk_jobs"

#: The rq queue every job goes to (``helpdesk worker`` listens on it).
QUEUE_NAME = "helpdesk"

#: Default retry policy for rq jobs: attempts after the first, seconds between them.
RETRY_MAX = 5
RETRY_INTERVALS = [10, 30, 120, 600, 1800]


#: In-process mode: job paths (prefixes) run by a second thread. A writing-assist request
#: waits up to ASSIST_TIMEOUT on its provider; outgoing email must not wait with it.
SLOW_LANE = ("workers.assist_jobs.",)


def resolve(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class _Runner:
    def __init__(self, app):
        self.app = app
        self._lanes = {}  # name -> (queue, thread)
        self._rq_queue = None
        self._lock = threading.Lock()

    @property
    def mode(self):
        return self.app.config["JOBS_MODE"]

    # rq -------------------------------------------------------------------------------
    def rq_queue(self):
        if self._rq_queue is None:
            from redis import Redis
            from rq import Queue

            # Short timeouts: enqueueing happens after a commit, inside a request; a Redis
            # outage must cost a logged error (the sweep re-enqueues), not a hung request.
            connection = Redis.from_url(self.app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
            self._rq_queue = Queue(QUEUE_NAME, connection=connection)
        return self._rq_queue

    # thread ---------------------------------------------------------------------------
    def _lane(self, path):
        """The queue of the lane ``path`` runs in, its thread started if need be."""
        name = "slow" if path.startswith(SLOW_LANE) else "main"
        with self._lock:
            q, thread = self._lanes.get(name, (None, None))
            if thread is None or not thread.is_alive():
                q = q or _queue_mod.Queue()
                thread = threading.Thread(target=self._loop, args=(q,), name=f"helpdesk-jobs-{name}", daemon=True)
                thread.start()
                self._lanes[name] = (q, thread)
            return q

    def _loop(self, q):
        while True:
            path, args, kwargs = q.get()
            self.run_now(path, args, kwargs)
            q.task_done()

    def run_now(self, path, args, kwargs):
        with self.app.app_context():
            try:
                resolve(path)(*args, **kwargs)
            except Exception:
                log.exception("job failed", extra={"job": path})
            finally:
                db.session.remove()

    def submit(self, path, args, kwargs, delay=None):
        if self.mode == "rq":
            from rq import Retry

            q = self.rq_queue()
            retry = Retry(max=RETRY_MAX, interval=RETRY_INTERVALS)
            if delay:
                q.enqueue_in(timedelta(seconds=delay), path, *args, retry=retry, **kwargs)
            else:
                q.enqueue(path, *args, retry=retry, **kwargs)
        elif self.mode == "sync":
            if delay:
                return  # the periodic sweep picks delayed work up again
            self.run_now(path, args, kwargs)
        else:
            q = self._lane(path)
            if delay:
                timer = threading.Timer(delay, q.put, args=((path, args, kwargs),))
                timer.daemon = True
                timer.start()
            else:
                q.put((path, args, kwargs))

    def drain(self, timeout=10):
        """Wait until the in-process queues are empty (tests)."""
        deadline = time.monotonic() + timeout
        for q, _thread in list(self._lanes.values()):
            while q.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.01)


def _runner():
    from flask import current_app

    return current_app.extensions["helpdesk_jobs"]


def enqueue(path, *args, **kwargs):
    """Run job ``path`` after the current transaction commits (at once if none is open)."""
    _defer(path, args, kwargs, None)


def enqueue_in(seconds, path, *args, **kwargs):
    _defer(path, args, kwargs, seconds)


def _defer(path, args, kwargs, delay):
    from helpdesk.actions import _IN_ACTION

    session = db.session()  # the scoped session's current Session (has in_transaction())
    in_action = session.info.get(_IN_ACTION)
    if in_action or session.in_transaction():
        if not session.in_transaction():
            # An action may enqueue before it touches the database. Without a transaction
            # its rollback would fire no event and the job would leak into the next commit.
            session.begin()
        session.info.setdefault(_PENDING, []).append((path, args, kwargs, delay))
    else:
        _runner().submit(path, args, kwargs, delay)


def _after_commit(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    runner = _runner()
    for path, args, kwargs, delay in pending:
        try:
            runner.submit(path, args, kwargs, delay)
        except Exception:
            # Redis down: the outbox row is committed, the sweep will enqueue it again.
            log.exception("enqueue failed", extra={"job": path})


def _after_transaction_end(session, transaction):
    # Runs after ``after_commit`` (which has taken the jobs already) and on rollback or
    # close of the outermost transaction: whatever is still pending belongs to work that
    # was never committed. A rolled-back savepoint keeps them; their rows may still commit.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def run_pending_inline():
    """Wait for in-process jobs to finish (used by tests and the CLI)."""
    _runner().drain()


def init_app(app):
    app.extensions["helpdesk_jobs"] = _Runner(app)
    if not getattr(db.session, "_helpdesk_jobs_bound", False):
        sa_event.listen(db.session, "after_commit", _after_commit)
        sa_event.listen(db.session, "after_transaction_end", _after_transaction_end)
        db.session._helpdesk_jobs_bound = True
