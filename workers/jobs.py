"""Job functions. Each is importable without an app: under rq, the first job of a worker
process builds one (``create_app(main=False)``) and every job runs inside its context."""
import functools
import logging

from flask import has_app_context

log = logging.getLogger(__name__)
_app = None


def _worker_app():
    global _app
    if _app is None:
        from helpdesk import create_app

        _app = create_app(main=False)
    return _app


def job(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return fn(*args, **kwargs)
        from helpdesk.extensions import db

        with _worker_app().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


@job
def deliver_outbox(item_id):
    from workers import outbox

    outbox.deliver(item_id)


@job
def sweep_outbox():
    from workers import outbox

    return outbox.sweep()
