"""Inbox query time on a large PostgreSQL database: the first page of the common queue views
(the REST API's own query functions, helpdesk.api.tickets) and of search (the two-phase
inbox.queries.search_tickets; the API's current one-query search is timed for comparison,
under a statement timeout).

    python bench/inbox_query.py                       # 1,000,000 tickets, 5,000,000 messages
    python bench/inbox_query.py --tickets 100000      # a smaller seed
    python bench/inbox_query.py --explain             # also print the query plans

The seed (with a progress bar) is kept between runs and reused when its size matches; pass
--reseed to rebuild it. Targets (issue 4): list views p50 <= 10 ms and p99 <= 50 ms,
search p50 <= 100 ms. The last line is machine-comparable:

    list_p50_ms=… list_p99_ms=… search_p50_ms=… tickets=…
"""
import argparse
import csv
import io
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/helpdesk_bench")
STORES = 5
AGENTS = 40
TEAMS_PER_STORE = 2
CONTACTS_PER_TICKET = 1 / 3
CHUNK = 50_000
#: (status, share of tickets). Most of a mature queue is history.
STATUSES = [("open", 0.08), ("pending", 0.04), ("snoozed", 0.01), ("resolved", 0.37), ("closed", 0.50)]
CHANNELS = [("chat", 0.55), ("email", 0.35), ("form", 0.07), ("api", 0.03)]
WORDS = ("order parcel delivery size return refund shirt dress colour red blue black invoice tracking "
         "payment card voucher discount shipping address exchange broken late wrong missing stock "
         "hello thanks please when where how much question cotton linen wool leather sneakers belt "
         "sweater jacket coat waist length fit small medium large").split()
#: Rare words planted in a few messages, so search has selective terms too.
RARE = ["zanzibar", "quokka", "marzipan", "kilimanjaro"]
#: Tags and the share of tickets carrying each: the queue's tag filter, common to rare.
TAGS = [("refund", 0.10), ("vip", 0.02), ("damaged", 0.005), ("recall", 0.0001)]
FIRST = "Ira Max Lena Olga Dana Taras Marta Jonas Eva Noah Lea Paul Anna Ivan Sara Tom".split()
LAST = "Shopper Buyer Koval Smith Novak Weber Garcia Rossi Horvat Meyer Berg Lund".split()

#: Indexes the search relies on (PostgreSQL pg_trgm): the API searches with ILIKE '%term%'.
#: Not in the models because they need the pg_trgm extension; see the report printed below.
TRIGRAM_INDEXES = {
    "ix_bench_messages_body_trgm": "messages USING gin (body_text gin_trgm_ops)",
    "ix_bench_tickets_subject_trgm": "tickets USING gin (subject gin_trgm_ops)",
    "ix_bench_contacts_name_trgm": "contacts USING gin (name gin_trgm_ops)",
    "ix_bench_contacts_email_trgm": "contacts USING gin (email gin_trgm_ops)",
}


# ---- progress ---------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr (no dependency for a benchmark script)."""

    def __init__(self, label, total):
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if now - self.last < 0.2 and self.done < self.total:
            return
        self.last = now
        share = self.done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        rate = self.done / max(now - self.started, 1e-6)
        eta = (self.total - self.done) / rate if rate else 0
        sys.stderr.write(f"\r{self.label:<10} [{bar:<30}] {share:6.1%} {self.done:>10,}/{self.total:,} "
                         f"{rate:>9,.0f}/s eta {eta:5.0f}s")
        sys.stderr.flush()

    def close(self):
        self.update(0)
        sys.stderr.write(f"  {time.monotonic() - self.started:.1f}s\n")


# ---- seeding ----------------------------------------------------------------------------

def weighted(choices, rng, k):
    values, weights = zip(*choices)
    return rng.choices(values, weights=weights, k=k)


def copy_rows(cursor, table, columns, rows_iter, total, label):
    progress = Progress(label, total)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    pending = 0

    def flush():
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows_iter:
        writer.writerow(["\\N" if v is None else v for v in row])  # NULL; unquoted empty stays ""
        pending += 1
        if pending == CHUNK:
            flush()
            progress.update(pending)
            pending = 0
    if pending:
        flush()
        progress.update(pending)
    progress.close()


def seed(db, n_tickets, per_ticket, rng):
    """Stores, teams, agents, contacts, tickets and messages, loaded with COPY."""
    from sqlalchemy import text

    from helpdesk.actions.agents import create_agent

    now = datetime.now(timezone.utc)
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()
    for s in range(1, STORES + 1):
        db.session.execute(text("INSERT INTO stores (name, slug, widget_key, identity_secret, settings, created_at) "
                                "VALUES (:n, :s, :k, :i, '{}', now())"),
                           {"n": f"Store {s}", "s": f"store-{s}", "k": f"wk_bench{s}", "i": "x" * 64})
        for t in range(TEAMS_PER_STORE):
            db.session.execute(text("INSERT INTO teams (name, store_id, created_at) VALUES (:n, :s, now())"),
                               {"n": f"Team {s}-{t}", "s": s})
    db.session.commit()
    agents = [create_agent(f"agent{a}@bench.test", f"Agent {a}", "bench-password-123") for a in range(1, AGENTS + 1)]
    agent_ids = [a.id for a in agents]
    n_teams = STORES * TEAMS_PER_STORE

    _drop_secondary_indexes(db)  # COPY into bare tables, index once afterwards (ensure_indexes)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        n_contacts = max(1, int(n_tickets * CONTACTS_PER_TICKET))

        def contacts():
            for c in range(1, n_contacts + 1):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                yield (c, 1 + c % STORES, name, f"{name.split()[0].lower()}.{c}@example.test", "{}", "",
                       "f", "f", now.isoformat(), now.isoformat())

        copy_rows(cursor, "contacts", ["id", "store_id", "name", "email", "platform_ids", "notes", "blocked",
                                       "email_failing", "created_at", "updated_at"],
                  contacts(), n_contacts, "contacts")

        statuses = weighted(STATUSES, rng, n_tickets)
        channels = weighted(CHANNELS, rng, n_tickets)
        # Ticket ids grow with time, as in real life: activity is recent for recent tickets.
        span = timedelta(days=730).total_seconds()
        starts = sorted(rng.random() * span for _ in range(n_tickets))
        t0 = now - timedelta(days=730)
        activity = {}

        def tickets():
            for i in range(1, n_tickets + 1):
                contact = 1 + (i * 7919) % n_contacts
                store = 1 + contact % STORES
                status = statuses[i - 1]
                created = t0 + timedelta(seconds=starts[i - 1])
                last = created + timedelta(minutes=rng.randint(1, 600) * per_ticket)
                if last > now:
                    last = now - timedelta(seconds=rng.randint(0, 3600))
                activity[i] = (created, last)
                assignee = None if (status == "open" and rng.random() < 0.3) else rng.choice(agent_ids)
                team = None if rng.random() < 0.6 else 1 + ((store - 1) * TEAMS_PER_STORE) + rng.randrange(TEAMS_PER_STORE)
                subject = "" if channels[i - 1] == "chat" else f"Order #{100000 + i} {rng.choice(WORDS)}"
                preview = " ".join(rng.choices(WORDS, k=8))
                yield (i, store, contact, channels[i - 1], status, assignee, team, subject, "f",
                       preview, last.isoformat(), created.isoformat(), last.isoformat())

        copy_rows(cursor, "tickets", ["id", "store_id", "contact_id", "channel", "status", "assignee_id", "team_id",
                                      "subject", "offline", "last_message_preview", "last_customer_message_at",
                                      "created_at", "last_activity_at"],
                  tickets(), n_tickets, "tickets")

        def messages():
            mid = 0
            for i in range(1, n_tickets + 1):
                created, last = activity[i]
                step = (last - created) / max(per_ticket - 1, 1)
                recent_open = statuses[i - 1] == "open" and i > n_tickets * 0.98
                contact = 1 + (i * 7919) % n_contacts
                for m in range(per_ticket):
                    mid += 1
                    from_contact = m % 2 == 0
                    words = rng.choices(WORDS, k=rng.randint(4, 14))
                    if rng.random() < 0.0005:
                        words.insert(rng.randrange(len(words)), rng.choice(RARE))
                    body = " ".join(words)
                    at = (created + step * m).isoformat()
                    unread = from_contact and recent_open and m >= per_ticket - 2
                    yield (mid, i, "contact" if from_contact else "agent", contact if from_contact else None,
                           None if from_contact else rng.choice(agent_ids), "message", body, body, "{}", "f", at,
                           None if unread or not from_contact else at)

        copy_rows(cursor, "messages", ["id", "ticket_id", "author_type", "author_contact_id", "author_agent_id",
                                       "kind", "body_text", "body_html", "meta", "hidden", "created_at", "read_at"],
                  messages(), n_tickets * per_ticket, "messages")
        for table in ("contacts", "tickets", "messages"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()


def seed_tags(db, n_tickets, rng):
    """TAGS on the seeded tickets (each ticket draws each tag on its own)."""
    from sqlalchemy import text

    db.session.execute(text("TRUNCATE tags RESTART IDENTITY CASCADE"))
    for tag_id, (name, _share) in enumerate(TAGS, 1):
        db.session.execute(text("INSERT INTO tags (id, name) VALUES (:i, :n)"), {"i": tag_id, "n": name})
    db.session.commit()
    rows = [(ticket_id, tag_id) for ticket_id in range(1, n_tickets + 1)
            for tag_id, (_name, share) in enumerate(TAGS, 1) if rng.random() < share]
    raw = db.engine.raw_connection()
    try:
        copy_rows(raw.cursor(), "ticket_tags", ["ticket_id", "tag_id"], iter(rows), len(rows), "tags")
        raw.commit()
    finally:
        raw.close()


def _drop_secondary_indexes(db):
    """The trigram indexes and the models' non-unique indexes on the big tables."""
    from sqlalchemy import text

    from helpdesk.models import Contact, Message, Ticket

    names = list(TRIGRAM_INDEXES)
    for model in (Ticket, Message, Contact):
        names += [index.name for index in model.__table__.indexes if not index.unique]
    with db.engine.begin() as conn:
        for name in names:
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))


def ensure_indexes(db, trigram):
    """Indexes declared on the models (in case the migration lags behind them) and, for
    search, the trigram indexes of TRIGRAM_INDEXES. Then ANALYZE."""
    from sqlalchemy import text

    from helpdesk.models import Contact, Message, Ticket

    started = time.monotonic()
    for model in (Ticket, Message, Contact):
        for index in model.__table__.indexes:
            index.create(db.engine, checkfirst=True)
    with db.engine.begin() as conn:
        if trigram:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            for name, spec in TRIGRAM_INDEXES.items():
                found = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name})
                if found is not None and spec.split(" USING ")[1] not in found:
                    conn.execute(text(f"DROP INDEX {name}"))  # an older definition
                    found = None
                if found is None:
                    sys.stderr.write(f"index      {name}\n")
                    conn.execute(text(f"CREATE INDEX {name} ON {spec}"))
    # VACUUM too: index-only scans (the sidebar counts) need the visibility map that
    # autovacuum keeps in production.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    sys.stderr.write(f"indexes and VACUUM ANALYZE: {time.monotonic() - started:.1f}s\n")


# ---- timing -----------------------------------------------------------------------------

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, runs):
    for _ in range(3):
        fn()  # warm caches and statement plans
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def captured_sql(db, fn):
    """The SELECT statements ``fn`` sends, with their parameters inlined (psycopg2's mogrify)."""
    from sqlalchemy import event

    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(cursor.mogrify(statement, parameters).decode())

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def explain_sql(db, sql):
    from sqlalchemy import text

    rows = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace(":", "\\:"))).scalars().all()
    return "\n".join("    " + r for r in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL (default %(default)s; "
                        "env BENCH_DATABASE_URL). Its tables are emptied when (re)seeding.")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to seed (default %(default)s)")
    parser.add_argument("--messages-per-ticket", type=int, default=5, help="default %(default)s")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per query (default %(default)s)")
    parser.add_argument("--reseed", action="store_true", help="rebuild the seed even if its size matches")
    parser.add_argument("--no-trigram", action="store_true", help="do not create the pg_trgm search indexes")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each timed query")
    parser.add_argument("--api-search-runs", type=int, default=3,
                        help="runs of the API's current one-query search per term (0: skip; default %(default)s)")
    parser.add_argument("--api-search-timeout", type=float, default=20,
                        help="statement timeout in seconds for those runs (default %(default)s)")
    parser.add_argument("--seed", type=int, default=4, help="random seed (default %(default)s)")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql")):
        parser.error("this benchmark needs PostgreSQL")

    _create_database(args.database_url)
    os.environ.setdefault("HELPDESK_ENV", "development")
    from sqlalchemy import func, select, text

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Agent, Ticket

    app = create_app({"DATABASE_URL": args.database_url, "JOBS_MODE": "sync", "REDIS_URL": None,
                      "LOG_LEVEL": "WARNING"})
    rng = random.Random(args.seed)
    with app.app_context():
        rebuilt = _schema_from_models(db)
        have = db.session.scalar(select(func.count()).select_from(Ticket))
        db.session.commit()  # no open transaction may hold locks while indexes are (re)built
        if rebuilt or args.reseed or have != args.tickets:
            sys.stderr.write(f"seeding {args.tickets:,} tickets and {args.tickets * args.messages_per_ticket:,} "
                             f"messages into {db.engine.url.render_as_string(hide_password=True)}\n")
            seed(db, args.tickets, args.messages_per_ticket, rng)
        if not db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM ticket_tags)")):
            seed_tags(db, args.tickets, random.Random(args.seed + 1))
        ensure_indexes(db, trigram=not args.no_trigram)
        results = run(db, args, rng, Agent)
    list_all = [ms for name, kind, values in results if kind == "list" for ms in values]
    search_all = [ms for name, kind, values in results if kind == "search" for ms in values]
    api_search = [ms for name, kind, values in results if kind == "api-search" for ms in values]
    if api_search:
        print(f"api_search_p50_ms={statistics.median(api_search):.2f} (helpdesk.api.tickets._search as it is)")
    print("search = inbox.queries.search_tickets (two phases: recent window, then trigram indexes)")
    print(f"list_p50_ms={statistics.median(list_all):.2f} list_p99_ms={percentile(list_all, 99):.2f} "
          f"search_p50_ms={statistics.median(search_all):.2f} tickets={args.tickets}")


def _schema_from_models(db):
    """The benchmark database's schema is the models' (not the migrations': they may lag a
    model change by a commit). Rebuilt from scratch when a column is missing; True if so."""
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    existing = set(inspector.get_table_names())
    stale = any(table.name not in existing
                or {c.name for c in table.columns} - {c["name"] for c in inspector.get_columns(table.name)}
                for table in db.metadata.sorted_tables)
    if stale:
        sys.stderr.write("schema differs from the models: rebuilding the benchmark database\n")
        db.drop_all()
        db.create_all()
    return stale


def _create_database(url):
    """Create the benchmark database if it does not exist (connecting to ``postgres``)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from helpdesk.config import database_url

    target = make_url(database_url(url))
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def run(db, args, rng, Agent):
    from sqlalchemy import select

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from helpdesk.api.tickets import ticket_page, ticket_query
    from inbox.queries import search_tickets, view_counts

    agents = db.session.scalars(select(Agent).order_by(Agent.id)).all()
    views = [
        ("all, open", {"status": "open"}),
        ("mine, open", {"status": "open", "assignee": "me"}),
        ("unassigned, open", {"status": "open", "assignee": "none"}),
        ("team, open", {"status": "open", "team": 1}),
        ("store, open", {"status": "open", "store": 2}),
        ("all, pending", {"status": "pending"}),
        ("all, any status", {}),
        ("mine, chat, open", {"status": "open", "assignee": "me", "channel": "chat"}),
        ("tag 10%, open", {"status": "open", "tag": "refund"}),
        ("tag 0.5%, open", {"status": "open", "tag": "damaged"}),
        ("tag 0.01%", {"tag": "recall"}),
    ]
    searches = [("common word", "refund"), ("rare word", RARE[0]), ("contact name", "Olga Novak"),
                ("email", "marta.12"), ("order number", "#100042"), ("rare + open", RARE[1])]
    results = []
    print(f"{'first page of':<30}{'query p50':>10}{'p99':>9}{'max':>9}{'page p50':>10}   (ms)")

    def fetch(agent, view):
        """The SQL the list endpoint runs, through the ORM (rows, contact, assignee, tags)."""
        return db.session.scalars(ticket_query(agent, view).order_by(*_order()).limit(view["limit"] + 1)).unique().all()

    def measure(name, kind, view, runs, pick_agent, fetcher=fetch):
        query_ms = timed(lambda: fetcher(pick_agent(), view), runs)
        page_ms = []
        if fetcher is fetch:
            # The whole API answer: the same query plus cursor and JSON dump (Python time).
            page_ms = timed(lambda: ticket_page(ticket_query(pick_agent(), view), view), max(5, runs // 4))
        results.append((name, kind, query_ms))
        print(f"{kind + ': ' + name:<30}{statistics.median(query_ms):>10.2f}{percentile(query_ms, 99):>9.2f}"
              f"{max(query_ms):>9.2f}" + (f"{statistics.median(page_ms):>10.2f}" if page_ms else ""))
        if args.explain:
            for sql in captured_sql(db, lambda: fetcher(agents[0], view)):
                print(explain_sql(db, sql))

    def two_phase(agent, view):
        """inbox.queries.search_tickets: recent window first, indexes for rare terms."""
        base = {k: v for k, v in view.items() if k != "q"}
        return search_tickets(ticket_query(agent, base), view["q"], view["limit"] + 1)

    for name, view in views:
        measure(name, "list", {"limit": 25, **view}, args.runs, lambda: rng.choice(agents))
    for name, q in searches:
        view = {"limit": 25, "q": q, **({"status": "open"} if name == "rare + open" else {})}
        measure(name, "search", view, max(10, args.runs // 10), lambda: agents[0], fetcher=two_phase)
    if args.api_search_runs:
        # The REST API's current one-query search (helpdesk.api.tickets._search), for comparison;
        # a statement timeout keeps a slow plan from holding the benchmark for hours.
        print(f"-- the API's current one-query search, {args.api_search_runs} runs, "
              f"statement timeout {args.api_search_timeout}s:")
        for name, q in searches:
            view = {"limit": 25, "q": q, **({"status": "open"} if name == "rare + open" else {})}
            values = []
            for _ in range(args.api_search_runs):
                db.session.execute(text(f"SET statement_timeout = {int(args.api_search_timeout * 1000)}"))
                started = time.perf_counter()
                try:
                    fetch(agents[0], view)
                    values.append((time.perf_counter() - started) * 1000)
                except OperationalError:
                    db.session.rollback()
                    values.append(float("inf"))
                finally:
                    db.session.execute(text("RESET statement_timeout"))
            shown = " ".join("timeout" if v == float("inf") else f"{v:.0f}" for v in values)
            results.append((name, "api-search", values))
            print(f"{'api-search: ' + name:<30}{statistics.median(values):>10.2f}   runs: {shown}")
    counts = timed(lambda: view_counts(rng.choice(agents), "open"), max(10, args.runs // 10))
    print(f"{'sidebar counts (open)':<30}{statistics.median(counts):>10.2f}{percentile(counts, 99):>9.2f}"
          f"{max(counts):>9.2f}")
    return results


def _order():
    from helpdesk.models import Ticket

    return Ticket.last_activity_at.desc(), Ticket.id.desc()


if __name__ == "__main__":
    main()
