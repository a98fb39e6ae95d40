"""Inbound email throughput: messages per second parsed, threaded and stored by one worker.

    python bench/email_ingest.py                      # new mail: the corpus, 20 rounds, fresh database
    python bench/email_ingest.py --replies            # replies into 1,000,000 tickets / 5,000,000 messages
    python bench/email_ingest.py --replies --tickets 100000

New mail: every message of tests/fixtures/email (59 real-world-shaped ones: bounces,
auto-replies, attachments, inline images, charsets, malformed MIME) goes through
``connectors.email.imap.import_fetched``, as the IMAP poller imports what one fetch brings
(``FETCH_BATCH`` messages of a mailbox in one transaction with the folder's read mark;
``--fetch 1``: a transaction per message, as the webhook job's), once per round, with Message-IDs renamed per round so each round is new mail (and the replies
inside the corpus thread onto that round's tickets). Outcomes of the first
round are checked against the corpus manifest; a mismatch or an exception is a failure.

Replies (PostgreSQL): the inbox benchmark's generator seeds 1,000,000 tickets and 5,000,000
messages (kept between runs), plus the Message-ID map of every email ticket's messages.
Then each corpus message is sent again as a reply from a ticket's contact, its In-Reply-To
naming one of our messages on that ticket; every threading lookup must use an index
(EXPLAIN is printed), and the rate must not fall. The last line is machine-comparable:

    msgs_per_s=… messages=… failures=…
"""
import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CORPUS = os.path.join(ROOT, "tests", "fixtures", "email")
DEFAULT_REPLIES_URL = os.environ.get("BENCH_EMAIL_DATABASE_URL", "postgresql://postgres@127.0.0.1/helpdesk_email_bench")

_HEADER_NAMES = re.compile(rb"^(message-id|in-reply-to|references|from)\s*:", re.IGNORECASE)
_ID = re.compile(rb"<([^<>\s]+)>")


def load_corpus():
    with open(os.path.join(CORPUS, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    names = sorted(manifest["messages"])
    return [(n, open(os.path.join(CORPUS, n), "rb").read(), manifest["messages"][n]) for n in names], manifest


def split(raw):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return raw[:i], raw[i:]
    return raw, b""


def header_lines(head):
    """Header block -> [[first line, continuation...], ...] (bytes)."""
    out = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and out:
            out[-1].append(line)
        else:
            out.append([line])
    return out


def rename_ids(raw, prefix):
    """Every Message-ID in the id headers gets ``prefix``: the same corpus, new mail."""
    head, body = split(raw)
    lines = []
    for block in header_lines(head):
        joined = b"\n".join(block)
        if re.match(rb"^(message-id|in-reply-to|references)\s*:", joined, re.IGNORECASE):
            joined = _ID.sub(lambda m: b"<" + prefix + m.group(1) + b">", joined)
        lines.append(joined)
    return b"\n".join(lines) + body


def as_reply(raw, *, sender, in_reply_to, message_id):
    """The message as a reply from ``sender`` to our message ``in_reply_to``."""
    head, body = split(raw)
    lines = [b"\n".join(block) for block in header_lines(head) if not _HEADER_NAMES.match(block[0])]
    lines = [f"From: {sender}".encode(), f"Message-ID: <{message_id}>".encode(),
             f"In-Reply-To: <{in_reply_to}>".encode(), f"References: <{in_reply_to}>".encode()] + lines
    return b"\n".join(lines) + body


class Folders:
    """Each mailbox's INBOX as the IMAP poller keeps it (``connectors.email.imap``): its
    row, and the UIDs handed out so far, so the benchmark's transactions are the poller's."""

    def __init__(self):
        self.ids, self.uids = {}, {}

    def __call__(self, mailbox):
        """``folder_id``; the folder's row exists once this has been called."""
        from connectors.email.imap import _folder_state

        if mailbox.id not in self.ids:
            state = _folder_state(mailbox, "INBOX")
            self.ids[mailbox.id], self.uids[mailbox.id] = state.id, state.last_uid or 0
        return self.ids[mailbox.id]

    def next_uid(self, mailbox):
        self.uids[mailbox.id] += 1
        return self.uids[mailbox.id]


def run(messages, mailbox_for, db, fetch):
    """Ingest ``[(name, raw, expected_outcome or None, mailbox key)]`` as the IMAP poller
    does: each mailbox's new mail in fetches of ``fetch`` messages, each fetch imported by
    ``imap.import_fetched`` (one transaction with the folder's read mark). Returns timings,
    failures."""
    from connectors.email.imap import import_fetched
    from helpdesk.actions.email import Fetched

    failures, outcomes = [], {}
    folders = run.folders = getattr(run, "folders", None) or Folders()
    by_mailbox = {}
    for message in messages:
        by_mailbox.setdefault(mailbox_for(message[3]).id, []).append(message)
    for queue in by_mailbox.values():
        folders(mailbox_for(queue[0][3]))  # the folder's row exists before the clock starts, as in a poll
    cpu = time.process_time()
    started = time.perf_counter()
    for queue in by_mailbox.values():
        mailbox = mailbox_for(queue[0][3])
        folder_id = folders(mailbox)
        for at in range(0, len(queue), fetch):
            batch = queue[at:at + fetch]
            fetched = [(folders.next_uid(mailbox), Fetched(raw)) for _name, raw, _exp, _key in batch]
            try:
                intakes = import_fetched(mailbox, folder_id, fetched)
            except Exception as exc:  # noqa: BLE001 -- counted, the run goes on
                db.session.rollback()
                failures += [f"{name}: {type(exc).__name__}: {exc}" for name, *_rest in batch]
                continue
            for (name, _raw, expected, _key), result in zip(batch, intakes):
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
                if expected is not None and result.outcome != expected:
                    failures.append(f"{name}: {result.outcome} != {expected}")
    elapsed = time.perf_counter() - started
    run.cpu_seconds = getattr(run, "cpu_seconds", 0.0) + time.process_time() - cpu
    return elapsed, failures, outcomes


def make_app(url, uploads):
    os.environ.setdefault("HELPDESK_ENV", "development")
    from helpdesk import create_app
    from helpdesk.i18n import detect_language

    detect_language("warming up the language model")  # as `helpdesk worker` does at start
    return create_app({"DATABASE_URL": url, "JOBS_MODE": "sync", "REDIS_URL": None, "LOG_LEVEL": "ERROR",
                       "UPLOAD_FOLDER": uploads, "SMTP_URL": None})


# ---- new mail ---------------------------------------------------------------------------

def new_mail(args):
    corpus, manifest = load_corpus()
    workdir = tempfile.mkdtemp(prefix="email-bench-")
    url = args.database_url or "sqlite:///" + os.path.join(workdir, "bench.db")
    if url.startswith(("postgres://", "postgresql")):
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        import inbox_query

        inbox_query._create_database(url)
    app = make_app(url, os.path.join(workdir, "uploads"))
    from helpdesk.actions.email import create_mailbox, mailbox_session
    from helpdesk.extensions import db
    from helpdesk.models import Store

    with app.app_context():
        # A scratch database: the schema straight from the models.
        db.drop_all()
        db.create_all()
        store = Store(name="Linen & Co", slug="bench")
        db.session.add(store)
        db.session.commit()
        mailbox = create_mailbox(store, manifest["mailbox"])
        rates, failures, outcomes_all = [], [], {}
        total = 0
        for round_no in range(args.rounds):
            prefix = f"r{round_no}.".encode()
            messages = [(n, rename_ids(raw, prefix), exp["outcome"] if round_no == 0 else None, None)
                        for n, raw, exp in corpus]
            with mailbox_session(mailbox):
                elapsed, failed, outcomes = run(messages, lambda _k: mailbox, db, args.fetch)
            rates.append(len(messages) / elapsed)
            failures += failed
            total += len(messages)
            for k, v in outcomes.items():
                outcomes_all[k] = outcomes_all.get(k, 0) + v
        sys.stderr.write(f"outcomes: {json.dumps(outcomes_all, sort_keys=True)}\n")
        for failure in failures[:20]:
            sys.stderr.write(f"FAILED {failure}\n")
        sys.stderr.write(f"per-round msgs/s: min {min(rates):.0f} median {statistics.median(rates):.0f} "
                         f"max {max(rates):.0f} ({db.engine.dialect.name}); this process's CPU: "
                         f"{run.cpu_seconds / total * 1000:.2f} ms/message\n")
    shutil.rmtree(workdir, ignore_errors=True)
    return statistics.median(rates), total, len(failures)


# ---- replies into a big database ---------------------------------------------------------

def missing_columns(db):
    """``table.column`` of the models that the database lacks (tables included)."""
    from sqlalchemy import inspect

    found = inspect(db.engine)
    missing = []
    for table in db.metadata.sorted_tables:
        if not found.has_table(table.name):
            missing.append(table.name)
            continue
        have = {c["name"] for c in found.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing


def seed_headers(db):
    """The Message-ID map of every email ticket's messages (what years of email leave)."""
    from sqlalchemy import text

    have = db.session.scalar(text("SELECT count(*) FROM email_headers"))
    if have:
        return have
    started = time.monotonic()
    db.session.execute(text(
        "INSERT INTO email_headers (store_id, ticket_id, message_id, contact_id, direction, rfc_message_id, "
        "sender, sent_at, dedupe_key, created_at) "
        "SELECT t.store_id, m.ticket_id, m.id, t.contact_id, "
        "CASE WHEN m.author_type = 'contact' THEN 'in' ELSE 'out' END, "
        "'bench.' || m.id || '@mail.example.test', '', m.created_at, md5(m.id::text) || md5(m.ticket_id::text), "
        "m.created_at FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.channel = 'email'"))
    db.session.commit()
    db.session.execute(text("ANALYZE email_headers"))
    db.session.commit()
    count = db.session.scalar(text("SELECT count(*) FROM email_headers"))
    sys.stderr.write(f"email_headers: {count:,} rows in {time.monotonic() - started:.1f}s\n")
    return count


def explain(db, query, **params):
    """EXPLAIN (ANALYZE) of ``query`` with ``params`` for its bind parameters. A statement
    the intake runs prepared (helpdesk.prepared) is explained as PostgreSQL runs it after a
    few executions: its generic plan, which knows no parameter's value."""
    from sqlalchemy import text

    from helpdesk.prepared import rewrite

    if params:
        query = query.params(**params)
    if query.get_execution_options().get("helpdesk_prepare"):
        expanded = query.compile(db.engine).construct_expanded_state()
        body, args = rewrite(expanded.statement)
        cursor = db.session.connection().connection.dbapi_connection.cursor()
        cursor.execute("PREPARE bench_explain AS " + body)
        try:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            execute = f"EXECUTE bench_explain({args})" if args else "EXECUTE bench_explain"
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + execute, expanded.parameters)
            rows = [r[0] for r in cursor.fetchall()]
        finally:
            cursor.execute("DEALLOCATE bench_explain")
            cursor.execute("RESET plan_cache_mode")
        return "\n".join("    " + r for r in ["(prepared: the generic plan)"] + rows)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True, "render_postcompile": True})
    rows = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
    return "\n".join("    " + r for r in rows)


def explain_intake(db, sample):
    """The plans of the statements the intake runs for every message, on ``sample`` (one of
    our messages on an email ticket): each must be an index scan."""
    from connectors.email import threading as email_threading
    from helpdesk.actions import contacts

    plans = {
        "deduplication and threading by In-Reply-To/References, with the ticket and the sender's contact": explain(
            db, email_threading._SEEN_OR_NAMED, store_id=sample.store_id, dedupe_key="0" * 64,
            keys=[sample.rfc_message_id, "unknown@mail.example.test"], sender=sample.email),
        "deduplication (mail naming no earlier mail)": explain(
            db, email_threading._SEEN, store_id=sample.store_id, dedupe_key="0" * 64),
        "sender's contact": explain(db, contacts._BY_EMAIL, store_id=sample.store_id, email=sample.email),
        "threading by reply token / subject tag": explain(db, email_threading._BY_TICKET_ID, ids=[sample.ticket_id]),
        "bounce: the message that bounced": explain(
            db, email_threading.header_query(sample.store_id, sample.rfc_message_id)),
    }
    return "".join(f"{name} plan:\n{plan}\n" for name, plan in plans.items())


def replies(args):
    corpus, manifest = load_corpus()
    url = args.database_url or DEFAULT_REPLIES_URL
    if not url.startswith(("postgres://", "postgresql")):
        raise SystemExit("--replies needs PostgreSQL")
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import random

    import inbox_query
    from sqlalchemy import func, select, text

    inbox_query._create_database(url)
    workdir = tempfile.mkdtemp(prefix="email-bench-")
    app = make_app(url, os.path.join(workdir, "uploads"))
    from connectors.email import threading as email_threading
    from helpdesk.actions.email import create_mailbox, mailbox_session
    from helpdesk.extensions import db
    from helpdesk.models import EmailHeader, InboundEmail, Mailbox, Message, Store, Ticket

    with app.app_context():
        try:
            have = db.session.scalar(select(func.count()).select_from(Ticket))
            seeded = db.session.scalar(select(func.count()).select_from(EmailHeader)) > 0
        except Exception:  # noqa: BLE001 -- no schema yet
            db.session.rollback()
            have, seeded = None, False
        drift = missing_columns(db) if have is not None else []
        # End the counts' transaction: drop_all below runs on another connection, and would
        # wait for this one's locks on the tables it drops.
        db.session.rollback()
        if drift:
            # A seed from before a schema change: the intake would fail on it.
            sys.stderr.write(f"the seed lacks {', '.join(drift[:5])}: seeding again\n")
        if args.reseed or have is None or have < args.tickets or not seeded or drift:
            sys.stderr.write(f"seeding {args.tickets:,} tickets and {args.tickets * 5:,} messages\n")
            # A benchmark database: the schema straight from the models, then the inbox generator.
            db.drop_all()
            db.create_all()
            inbox_query.seed(db, args.tickets, 5, random.Random(4))
            inbox_query.ensure_indexes(db, trigram=False)
        seed_headers(db)
        # Leftovers of an earlier run: keep the big seed, drop what the benchmark added.
        db.session.execute(text("DELETE FROM email_headers WHERE rfc_message_id LIKE 'reply.%' "
                                "OR rfc_message_id LIKE 'r%.%' AND rfc_message_id NOT LIKE 'bench.%'"))
        db.session.execute(text("DELETE FROM inbound_emails"))
        db.session.commit()
        mailboxes = {}
        for store in db.session.scalars(select(Store)):
            mailboxes[store.id] = db.session.scalar(select(Mailbox).where(Mailbox.store_id == store.id)) \
                or create_mailbox(store, f"support@{store.slug}.example.test")
        # Our messages on open email tickets: what the replies answer.
        targets = db.session.execute(text(
            "SELECT DISTINCT ON (h.ticket_id) h.ticket_id, h.rfc_message_id, c.email, t.store_id "
            "FROM email_headers h JOIN tickets t ON t.id = h.ticket_id JOIN contacts c ON c.id = t.contact_id "
            "WHERE h.direction = 'out' AND t.status IN ('open', 'pending', 'resolved') AND t.channel = 'email' "
            "AND h.rfc_message_id LIKE 'bench.%' ORDER BY h.ticket_id DESC, h.id DESC LIMIT :n"),
            {"n": len(corpus) * args.rounds}).all()
        db.session.commit()
        store_ids = {row.ticket_id: row.store_id for row in targets}
        sys.stderr.write(explain_intake(db, targets[0]))
        db.session.rollback()

        rates, failures, outcomes_all, total = [], [], {}, 0
        for round_no in range(args.rounds):
            chunk = targets[round_no * len(corpus):(round_no + 1) * len(corpus)]
            messages = []
            for (name, raw, exp), target in zip(corpus, chunk):
                kind = exp["outcome"]
                if kind in ("created", "threaded") and not exp.get("defects") and name != "40-no-message-id.eml":
                    raw = as_reply(raw, sender=target.email, in_reply_to=target.rfc_message_id,
                                   message_id=f"reply.{round_no}.{name}@mail.example.test")
                    auto = exp.get("auto") or ""
                    # An auto-reply naming our message is an event on its ticket, not a message.
                    expected = "auto_reply" if auto and not auto.startswith("list") else "threaded"
                else:
                    raw = rename_ids(raw, f"r{round_no}.".encode())
                    expected = None  # bounces, duplicates, quarantine: their own outcome
                messages.append((name, raw, expected, target.ticket_id))
            with mailbox_session(*mailboxes.values()):
                elapsed, failed, outcomes = run(messages, lambda key: mailboxes[store_ids[key]], db, args.fetch)
            rates.append(len(messages) / elapsed)
            failures += failed
            total += len(messages)
            for k, v in outcomes.items():
                outcomes_all[k] = outcomes_all.get(k, 0) + v
        sizes = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                 for m in (Ticket, Message, EmailHeader, InboundEmail)}
        sys.stderr.write(f"database: {json.dumps(sizes)}\noutcomes: {json.dumps(outcomes_all, sort_keys=True)}\n")
        for failure in failures[:20]:
            sys.stderr.write(f"FAILED {failure}\n")
        sys.stderr.write(f"per-round msgs/s: min {min(rates):.0f} median {statistics.median(rates):.0f} "
                         f"max {max(rates):.0f}; this process's CPU: {run.cpu_seconds / total * 1000:.2f} ms/message\n")
        del email_threading
    shutil.rmtree(workdir, ignore_errors=True)
    return statistics.median(rates), total, len(failures)


def main():
    from connectors.email.imap import FETCH_BATCH

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", action="store_true", help="reply mode on a large PostgreSQL database")
    parser.add_argument("--database-url", help="default: a temporary SQLite file (new mail), "
                        f"{DEFAULT_REPLIES_URL} (replies; env BENCH_EMAIL_DATABASE_URL). Its tables are emptied.")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the corpus (default %(default)s)")
    parser.add_argument("--fetch", type=int, default=FETCH_BATCH,
                        help="messages per IMAP fetch, imported in one transaction (default %(default)s)")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="replies: tickets to seed (default %(default)s)")
    parser.add_argument("--reseed", action="store_true", help="replies: rebuild the seed even if its size matches")
    args = parser.parse_args()
    rate, messages, failures = replies(args) if args.replies else new_mail(args)
    print(f"msgs_per_s={rate:.1f} messages={messages} failures={failures}")


if __name__ == "__main__":
    main()
