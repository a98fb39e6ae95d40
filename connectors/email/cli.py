"""``helpdesk email-poll``: poll the IMAP mailboxes once, or every N seconds."""
import time

import click
from flask.cli import with_appcontext


@click.command("email-poll")
@click.option("--every", type=int, default=0, help="Poll again every N seconds (default: once).")
@with_appcontext
def email_poll(every):
    """Import new mail from every active IMAP mailbox (jobs run where JOBS_MODE says)."""
    from workers import enqueue, run_pending_inline

    while True:
        enqueue("workers.email_jobs.poll_all_mailboxes")
        run_pending_inline()
        if not every:
            return
        time.sleep(every)
