"""Jobs of erasures: a shop redaction (Shopify's ``shop/redact``), which may erase thousands of
contacts, so it does not run in the webhook's request or in one transaction; and the search
indexes' purge after erasures on SQLite, which rewrites the whole index, so it does not run in
the erasure's transaction either.

It is outbox work (``helpdesk.actions.privacy.SHOP_REDACTION`` rows, written in the
transaction that processed the request): the row is there before any job, the outbox's job
claims it so no twin runs it at the same time, a failure is retried with backoff and the sweep
picks a row up again after Redis or a worker went away. The handler erases in batches of
``BATCH`` contacts, one transaction each, so whatever was done stays done; contacts already
erased or detached are skipped, so running it again resumes where it stopped. A slice stops
after ``SLICE_SECONDS`` (well inside the outbox's claim) and queues the rest as a new row.
"""
import logging
import time

from helpdesk.extensions import db
from workers.outbox import CLAIM_SECONDS, handler

log = logging.getLogger(__name__)

#: Contacts per transaction: one search-index rewrite each, a lock held for seconds at most.
BATCH = 25
#: How long one job works on a redaction before it hands the rest to the next row.
SLICE_SECONDS = CLAIM_SECONDS // 3


@handler("shop_redaction")
def redact_shop(item):
    """Outbox handler: erase (or detach) the shop's contacts, batch after batch, then finish
    (``helpdesk.actions.privacy.finish_shop_redaction``)."""
    from helpdesk.actions.privacy import (
        continue_shop_redaction,
        finish_shop_redaction,
        redact_shop_contacts,
        shop_contact_ids,
    )

    payload = dict(item.payload)
    store_id, platform, connector_id = payload["store_id"], payload["platform"], payload["connector_id"]
    after_id = int(payload.get("after_id") or 0)
    started = time.monotonic()
    erased = detached = 0
    while True:
        ids = shop_contact_ids(store_id, platform, after_id, BATCH)
        db.session.rollback()  # nothing held between batches
        if not ids:
            break
        done = redact_shop_contacts(store_id, platform, ids)
        erased, detached = erased + done[0], detached + done[1]
        after_id = ids[-1]
        if time.monotonic() - started > SLICE_SECONDS:
            continue_shop_redaction(payload, after_id)
            log.info("shop redaction continues", extra={"store_id": store_id, "connector_id": connector_id,
                                                        "erased": erased, "detached": detached})
            return
    finish_shop_redaction(store_id, platform, connector_id)
    log.info("shop redaction done", extra={"store_id": store_id, "connector_id": connector_id,
                                           "erased": erased, "detached": detached})


@handler("search_purge")
def purge_search(item):
    """Outbox handler (``helpdesk.actions.contacts._request_search_purge``): take what erasures
    removed out of SQLite's search indexes, a step (``PURGE_STEP_PAGES``, tens of
    milliseconds) per transaction, so chat messages and other writes get the database between
    steps. A slice stops after ``SLICE_SECONDS`` and queues the rest (``begun``: it goes on
    with the merge under way rather than begins another). A retry after a failure begins
    again: harmless, only longer."""
    from helpdesk.actions.contacts import continue_search_purge, purge_erased_search_terms

    begun = bool((item.payload or {}).get("begun"))
    started, steps = time.monotonic(), 0
    while purge_erased_search_terms(begin=not begun):
        begun, steps = True, steps + 1
        if time.monotonic() - started > SLICE_SECONDS:
            continue_search_purge()
            log.info("search purge continues", extra={"steps": steps})
            return
    log.info("search purge done", extra={"steps": steps, "seconds": round(time.monotonic() - started, 3)})
