"""Search's rare-term phase on SQLite, with and without the FTS5 trigram indexes
(helpdesk.models.search), timed interleaved A/B on one database.

    python bench/search_sqlite.py                    # 100,000 tickets, 500,000 messages
    python bench/search_sqlite.py --tickets 20000    # a smaller seed

The seed (same shape as bench/inbox_query.py's, which needs PostgreSQL) is kept in --db and
reused when its size matches. "scan" is the same code with the index reported missing, as
on a database without it. The last line is machine-comparable:

    fts_p50_ms=… scan_p50_ms=… tickets=…
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inbox_query import CONTACTS_PER_TICKET, FIRST, LAST, RARE, STORES, WORDS  # noqa: E402

#: How SQLAlchemy stores datetimes in SQLite (naive UTC).
STAMP = "%Y-%m-%d %H:%M:%S.%f"
SEARCHES = [("rare word", RARE[0], {}), ("rare word 2", RARE[2], {}), ("rare + open", RARE[1], {"status": "open"}),
            ("phrase", "tracking quokka", {}), ("contact name", "Olga Novak", {}), ("email", "marta.12", {})]


def seed(db, n_tickets, per_ticket, rng):
    from sqlalchemy import text

    from helpdesk.actions.agents import create_agent
    from helpdesk.models.search import create_search_tables, drop_search_tables

    now = datetime.now(timezone.utc)
    db.drop_all()
    db.create_all()
    for s in range(1, STORES + 1):
        db.session.execute(text("INSERT INTO stores (name, slug, widget_key, identity_secret, settings, created_at) "
                                "VALUES (:n, :s, :k, :i, '{}', :at)"),
                           {"n": f"Store {s}", "s": f"store-{s}", "k": f"wk_bench{s}", "i": "x" * 64, "at": now})
    db.session.commit()
    agent_id = create_agent("admin@bench.test", "Admin", "bench-password-123", role="admin").id
    n_contacts = max(1, int(n_tickets * CONTACTS_PER_TICKET))
    with db.engine.begin() as connection:
        drop_search_tables(connection)  # load first, index once (the 'rebuild' below)
        raw = connection.connection.driver_connection
        raw.executemany(
            "INSERT INTO contacts (id, store_id, name, email, platform_ids, notes, blocked, email_failing, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, '{}', '', 0, 0, ?, ?)",
            ((c, 1 + c % STORES, name, f"{name.split()[0].lower()}.{c}@example.test", now.strftime(STAMP), now.strftime(STAMP))
             for c in range(1, n_contacts + 1) for name in [f"{rng.choice(FIRST)} {rng.choice(LAST)}"]))
        t0 = now - timedelta(days=730)
        starts = sorted(rng.random() * 730 * 86400 for _ in range(n_tickets))
        statuses = rng.choices(["open", "pending", "resolved", "closed"], [8, 5, 37, 50], k=n_tickets)
        tickets, messages, mid = [], [], 0
        for i in range(1, n_tickets + 1):
            contact = 1 + (i * 7919) % n_contacts
            created = t0 + timedelta(seconds=starts[i - 1])
            last = min(created + timedelta(minutes=rng.randint(1, 600) * per_ticket), now)
            channel = rng.choice(["chat", "chat", "email", "form"])
            subject = "" if channel == "chat" else f"Order #{100000 + i} {rng.choice(WORDS)}"
            tickets.append((i, 1 + contact % STORES, contact, channel, statuses[i - 1], agent_id, subject,
                            " ".join(rng.choices(WORDS, k=8)), last.strftime(STAMP), created.strftime(STAMP), last.strftime(STAMP)))
            for m in range(per_ticket):
                mid += 1
                words = rng.choices(WORDS, k=rng.randint(4, 14))
                if rng.random() < 0.0005:
                    words.insert(rng.randrange(len(words)), rng.choice(RARE))
                body = " ".join(words)
                messages.append((mid, i, "contact" if m % 2 == 0 else "agent", body, body, created.strftime(STAMP)))
        raw.executemany(
            "INSERT INTO tickets (id, store_id, contact_id, channel, status, assignee_id, subject, offline, "
            "last_message_preview, last_customer_message_at, created_at, last_activity_at, is_practice) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0)", tickets)
        raw.executemany(
            "INSERT INTO messages (id, ticket_id, author_type, kind, body_text, body_html, meta, hidden, created_at) "
            "VALUES (?, ?, ?, 'message', ?, ?, '{}', 0, ?)", messages)
        create_search_tables(connection)
        connection.exec_driver_sql("ANALYZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="/tmp/helpdesk_search_bench.db", help="SQLite file (default %(default)s)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per search and variant")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HELPDESK_ENV", "development")
    from sqlalchemy import func, select

    from helpdesk import create_app
    from helpdesk.api.tickets import ticket_query
    from helpdesk.extensions import db
    from helpdesk.models import Agent, Message, Ticket
    from inbox import queries

    app = create_app({"DATABASE_URL": "sqlite:///" + args.db, "JOBS_MODE": "sync", "REDIS_URL": None,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(Ticket)) if os.path.exists(args.db) else None
        if args.reseed or have != args.tickets:
            sys.stderr.write(f"seeding {args.tickets:,} tickets into {args.db}\n")
            db.session.rollback()
            seed(db, args.tickets, args.messages_per_ticket, random.Random(4))
        print(f"tickets={db.session.scalar(select(func.count()).select_from(Ticket)):,} "
              f"messages={db.session.scalar(select(func.count()).select_from(Message)):,}")
        agent = db.session.scalar(select(Agent).order_by(Agent.id))
        with_index = queries.has_search_tables

        def search(variant, q, view):
            queries.has_search_tables = with_index if variant == "fts" else (lambda connection: False)
            try:
                started = time.perf_counter()
                rows = queries.search_tickets(ticket_query(agent, {"limit": 25, **view}), q, 26)
                return (time.perf_counter() - started) * 1000, [t.id for t in rows]
            finally:
                queries.has_search_tables = with_index
                db.session.rollback()

        print(f"{'phase-two search':<22}{'fts p50':>9}{'scan p50':>10}{'matches':>9}   (ms, interleaved A/B)")
        all_ms = {"fts": [], "scan": []}
        for name, q, view in SEARCHES:
            a, b = search("fts", q, view)[1], search("scan", q, view)[1]
            assert a == b, (name, a, b)  # the index never changes the answer
            ms = {"fts": [], "scan": []}
            for run in range(args.runs):
                for variant in (("fts", "scan") if run % 2 == 0 else ("scan", "fts")):
                    ms[variant].append(search(variant, q, view)[0])
            for variant in ms:
                all_ms[variant] += ms[variant]
            print(f"{name + ' ' + repr(q):<22}{statistics.median(ms['fts']):>9.2f}{statistics.median(ms['scan']):>10.2f}"
                  f"{len(a):>9}")
    print(f"fts_p50_ms={statistics.median(all_ms['fts']):.2f} scan_p50_ms={statistics.median(all_ms['scan']):.2f} "
          f"tickets={args.tickets}")


if __name__ == "__main__":
    main()
