"""The rq worker ``helpdesk worker`` runs, and the periodic outbox sweep beside it.

Every job runs inside a fresh app context of the worker's app (``create_app(main=False)``:
events go out through the Redis message queue, nothing is served), with its own database
session that is removed afterwards.
"""
import logging
import threading

from rq import SimpleWorker, Worker

from helpdesk.extensions import db
from workers.queue import QUEUE_NAME

log = logging.getLogger(__name__)


class _AppJobs:
    flask_app = None

    def __init__(self, queues, *args, app, **kwargs):
        super().__init__(queues, *args, **kwargs)
        self.flask_app = app

    def _before_job(self):
        pass

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            self._before_job()
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


class ForkingWorker(_AppJobs, Worker):
    """rq's default: each job runs in a forked work horse (a stuck job can be killed)."""

    def _before_job(self):
        # The horse inherited the parent's connection pool; sharing those sockets across
        # processes corrupts both sides. Start a fresh pool without closing the parent's.
        db.engine.dispose(close=False)


class InlineWorker(_AppJobs, SimpleWorker):
    """Runs jobs in the worker's own process (tests, platforms without fork)."""


def make_worker(app, connection, *, fork=True):
    from rq import Queue

    cls = ForkingWorker if fork else InlineWorker
    return cls([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app)


def sweep_once(app):
    """One sweep (outbox rows, stale webhook and email deliveries, IMAP polls) in its own app
    context; errors are logged, never raised."""
    from inbox.routing import offer_waiting_chats
    from workers import commerce_jobs, email_jobs, outbox

    with app.app_context():
        try:
            # Quiet live chats: check-in prompts and ends for inactivity (own transactions).
            from helpdesk.actions.inactivity import sweep as sweep_inactivity

            sweep_inactivity()
        except Exception:  # noqa: BLE001 -- the next sweep tries again
            log.exception("inactivity sweep failed")
            db.session.rollback()
        try:
            # Inbound webhook deliveries and emails whose job was lost are swept with the
            # outbox; IMAP mailboxes are polled on the same beat.
            return (outbox.sweep() + commerce_jobs.sweep_deliveries() + email_jobs.poll_all_mailboxes()
                    + offer_waiting_chats())
        except Exception:  # noqa: BLE001 -- the next sweep tries again
            log.exception("outbox sweep failed")
            return 0
        finally:
            db.session.remove()


def start_sweeper(app, interval, sleep=None, spawn=None):
    """Sweep the outbox every ``interval`` seconds in the background.

    ``sleep``/``spawn`` let ``helpdesk serve`` use Socket.IO's cooperative primitives
    (green threads under eventlet); by default a daemon thread.
    """
    import time

    sleep = sleep or time.sleep

    def loop():
        while True:
            sleep(interval)
            sweep_once(app)

    if spawn is not None:
        return spawn(loop)
    thread = threading.Thread(target=loop, name="outbox-sweep", daemon=True)
    thread.start()
    return thread
