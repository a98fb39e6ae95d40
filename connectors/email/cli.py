"""``helpdesk email-poll``: poll the IMAP mailboxes once, every N seconds, or with IDLE."""
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("email-poll")
@click.option("--every", type=int, default=0, help="Poll again every N seconds (default: once).")
@click.option("--idle", is_flag=True, help="Stay connected and import mail as it arrives (IMAP IDLE where "
              "the server offers it, else a poll every --every seconds, default 60).")
@with_appcontext
def email_poll(every, idle):
    """Import new mail from every active IMAP mailbox (jobs run where JOBS_MODE says)."""
    from workers import enqueue, run_pending_inline

    if idle:
        return _watch_all(every or 60)
    while True:
        enqueue("workers.email_jobs.poll_all_mailboxes")
        run_pending_inline()
        if not every:
            return
        time.sleep(every)


def _watch_all(poll_seconds):
    from sqlalchemy import select

    from connectors.email import imap
    from helpdesk.extensions import db
    from helpdesk.models import Mailbox

    app = current_app._get_current_object()
    ids = db.session.scalars(select(Mailbox.id).where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None))).all()
    db.session.rollback()
    stop = threading.Event()

    def run(mailbox_id):
        with app.app_context():
            imap.watch(mailbox_id, stop, poll_seconds=poll_seconds)

    threads = [threading.Thread(target=run, args=(i,), name=f"imap-{i}", daemon=True) for i in ids]
    for thread in threads:
        thread.start()
    click.echo(f"Watching {len(threads)} mailbox(es); Ctrl-C stops.")
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(1)
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join(5)
