"""Erasing a customer on an SQLite helpdesk: how long the erasure's own transaction holds the
write lock, and what the background purge of the search index costs afterwards, in steps.

    python bench/erase_sqlite.py                     # 200,000 messages, 5 customers erased
    python bench/erase_sqlite.py --messages 50000 --reuse

Seeds (once, kept in ``--db``; ``--reuse`` keeps it) a store with contacts, tickets and
messages of realistic text (the FTS5 triggers index them), the index merged as a long-lived
database's is; then erases ``--customers`` customers one after another on a copy of the file,
timing ``erase_contact`` and, apart from it, the outbox job that purges the search index
(``contacts.purge_erased_search_terms``, step by step). The last line is machine-comparable:

    erase_ms=… purge_ms=… purge_step_max_ms=… messages=…
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORDS = ("parcel order delivery refund size colour shirt teapot cracked broken address street "
         "please thanks hello where when tracking number invoice discount code return exchange "
         "blue black red linen cotton wool small medium large shipping courier warehouse late "
         "week monday friday morning evening store online payment card paypal bank transfer").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + f" ref{rng.randrange(10**6)}"


def seed(url, n_messages):
    from sqlalchemy import insert, text
    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Contact, Message, Store, Ticket, utcnow

    app = create_app({"HELPDESK_ENV": "testing", "DATABASE_URL": url, "JOBS_MODE": "sync", "REDIS_URL": None,
                      "SMTP_URL": None, "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None})
    rng = random.Random(7)
    with app.app_context():
        db.drop_all()
        db.create_all()
        store = Store(name="Bench", slug="bench", settings={})
        db.session.add(store)
        db.session.commit()
        n_contacts, per_ticket = n_messages // 10, 5
        n_tickets = n_messages // per_ticket
        now = utcnow()
        db.session.execute(insert(Contact), [
            {"store_id": store.id, "email": f"c{i}@example.com", "name": f"Customer {i} {rng.choice(WORDS)}",
             "platform_ids": {}, "notes": ""} for i in range(n_contacts)])
        db.session.execute(insert(Ticket), [
            {"store_id": store.id, "contact_id": 1 + i % n_contacts, "channel": "chat", "status": "open",
             "subject": sentence(rng, 4), "last_message_preview": "x", "created_at": now,
             "last_activity_at": now} for i in range(n_tickets)])
        batch = []
        for i in range(n_messages):
            t = 1 + i // per_ticket
            batch.append({"ticket_id": t, "author_contact_id": 1 + (t - 1) % n_contacts, "kind": "message",
                          "author_type": "contact", "body_text": sentence(rng, rng.randrange(8, 40)),
                          "body_html": "", "meta": {}, "created_at": now})
            if len(batch) == 20000:
                db.session.execute(insert(Message), batch)
                batch = []
        if batch:
            db.session.execute(insert(Message), batch)
        db.session.commit()
        # As a long-lived database is: the index merged (an earlier erasure's optimize, or years
        # of automerge), then a day of new messages in small segments.
        for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
            db.session.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('optimize')"))
        db.session.commit()
    return app


def run(url, customers):
    from sqlalchemy import text
    from helpdesk import create_app
    from helpdesk.actions import contacts as contacts_mod
    from helpdesk.extensions import db
    from helpdesk.models import Contact
    from workers import outbox

    app = create_app({"HELPDESK_ENV": "testing", "DATABASE_URL": url, "JOBS_MODE": "sync", "REDIS_URL": None,
                      "SMTP_URL": None, "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None})
    steps, queued = [], []
    # Jobs are run by hand below, so the erasure's own time is measured apart from them.
    outbox.enqueue = lambda path, item_id, *a, **kw: queued.append(item_id)
    real_step = contacts_mod.purge_erased_search_terms

    def timed_step(**kw):
        t0 = time.perf_counter()
        try:
            return real_step(**kw)
        finally:
            steps.append(time.perf_counter() - t0)
    contacts_mod.purge_erased_search_terms = timed_step
    totals, purges = [], []
    with app.app_context():
        pages = db.session.execute(text("SELECT count(*) FROM messages_fts_data")).scalar()
        n = db.session.execute(text("SELECT count(*) FROM messages")).scalar()
        print(f"messages={n} messages_fts_data rows={pages} file={os.path.getsize(url[10:]) / 1e6:.0f} MB")
        for cid in customers:
            contact = db.session.get(Contact, cid)
            t0 = time.perf_counter()
            contacts_mod.erase_contact(contact, by=None)
            totals.append(time.perf_counter() - t0)
            db.session.remove()
            if queued:
                t0 = time.perf_counter()
                while queued:
                    outbox.deliver(queued.pop(0))
                    db.session.remove()
                purges.append(time.perf_counter() - t0)
        print(f"erase_contact (its transaction, lock held): median {statistics.median(totals) * 1000:.0f} ms, "
          f"max {max(totals) * 1000:.0f} ms ({len(totals)} customers)")
    steps = steps or [0.0]
    purge = statistics.median(purges) if purges else 0.0
    print(f"background purge (outbox job): median {purge * 1000:.0f} ms per erasure, "
          f"{len(steps)} steps, each (lock held) median {statistics.median(steps) * 1000:.0f} ms, "
          f"max {max(steps) * 1000:.0f} ms")
    print(f"erase_ms={statistics.median(totals) * 1000:.1f} purge_ms={purge * 1000:.1f} "
          f"purge_step_max_ms={max(steps) * 1000:.1f} messages={n}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--db", default=os.path.join(tempfile.gettempdir(), "helpdesk-erase-bench.db"))
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--customers", type=int, default=5)
    args = p.parse_args()
    if not (args.reuse and os.path.exists(args.db)):
        t0 = time.perf_counter()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(args.db + suffix):
                os.remove(args.db + suffix)
        seed(f"sqlite:///{args.db}", args.messages)
        print(f"seeded in {time.perf_counter() - t0:.0f} s")
    work = args.db + ".run"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(work + suffix):
            os.remove(work + suffix)
    shutil.copy(args.db, work)
    run(f"sqlite:///{work}", list(range(101, 101 + args.customers)))
