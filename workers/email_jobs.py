"""Email jobs: parse stored deliveries, poll IMAP mailboxes, re-run what a crash left pending."""
import logging
from datetime import timedelta

from workers.jobs import job

log = logging.getLogger(__name__)

#: A pending delivery older than this was lost by its job (worker crash, Redis down).
STALE_AFTER = timedelta(minutes=5)


@job
def process_inbound(inbound_id):
    """Parse one stored delivery (provider webhook, raw endpoint) into a ticket."""
    from helpdesk.actions.email import process_delivery

    result = process_delivery(inbound_id)
    return result.outcome if result is not None else None


@job
def poll_mailbox(mailbox_id):
    """Import what is new in one IMAP mailbox. A connection error is logged on the mailbox
    (``last_error``) and the next poll tries again."""
    from connectors.email import imap
    from helpdesk.extensions import db
    from helpdesk.models import Mailbox

    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None or not mailbox.polls_imap:
        return None
    try:
        return imap.poll(mailbox)
    except Exception as exc:  # noqa: BLE001
        log.warning("IMAP poll failed", extra={"mailbox_id": mailbox_id, "error": type(exc).__name__})
        return None


@job
def poll_all_mailboxes():
    """Enqueue a poll of every active IMAP mailbox, and re-enqueue stale pending deliveries."""
    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.models import InboundEmail, Mailbox, utcnow
    from workers import enqueue

    ids = db.session.scalars(select(Mailbox.id).where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None))).all()
    stale = db.session.scalars(select(InboundEmail.id).where(
        InboundEmail.status == InboundEmail.PENDING, InboundEmail.created_at < utcnow() - STALE_AFTER)
        .limit(500)).all()
    db.session.rollback()
    for mailbox_id in ids:
        enqueue("workers.email_jobs.poll_mailbox", mailbox_id)
    for inbound_id in stale:
        enqueue("workers.email_jobs.process_inbound", inbound_id)
    return len(ids)
