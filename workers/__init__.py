"""Background jobs: one facade, ``enqueue()``, over rq (with Redis) or an in-process runner.

Jobs are named by dotted path (``"workers.jobs.deliver_outbox"``) so rq workers import
them without importing a web app, and are sent only after the caller's transaction
commits: a job never reads a row that is not there yet.
"""
from workers.queue import enqueue, enqueue_in, init_app, run_pending_inline  # noqa: F401
