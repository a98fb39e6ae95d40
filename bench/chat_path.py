"""Where a chat message's server time goes: the widget's ``message`` handler, in process, phase
by phase, run back to back (hot) and after a pause (cold), next to what the same writes cost
below the ORM.

    python bench/chat_path.py
    python bench/chat_path.py --messages 2000 --pause-ms 10

``bench/chat_latency.py`` measures a shopper's message end to end at 0.5 messages per second
per shopper: the server handles each message after a pause of milliseconds. On this kind of
machine the same code then takes 1.5 to 2.3 times as long as back to back, some phases three
times (the pause is a busy wait here, so the processor never idles: what is lost is the
caches' content). This script shows it phase by phase for the real handler (through
Flask-SocketIO's test client, SQLite), then times the handler's reads and writes for an
ongoing conversation written two lower ways, after the same pause:

* ``core``: one flat SQLAlchemy Core SELECT (visitor, contact, continuable ticket, agent
  availability, resend check, webhook subscribers), the message INSERT, the ticket UPDATE,
  COMMIT;
* ``driver``: the same SQL, compiled once, on the session connection's DB-API cursor.

Neither is a path of the product; they bound what a path written at that level could save.
The last line is machine-comparable:

    hot_ms=… cold_ms=… core_cold_ms=… driver_cold_ms=…
"""
import argparse
import collections
import logging
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def pause(seconds):
    """A busy wait: the processor stays busy, only the caches lose what the handler used."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def timed(module, name, label, totals):
    """Replace ``module.name`` with a wrapper adding its wall time to ``totals[label]``."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started

    setattr(module, name, wrapper)


def make_app(visitors):
    workdir = tempfile.mkdtemp(prefix="chat-path-")
    os.environ.update(HELPDESK_INSTANCE_PATH=workdir, SECRET_KEY=secrets.token_hex(32), LOG_LEVEL="WARNING",
                      DATABASE_URL=f"sqlite:///{workdir}/bench.db")
    logging.disable(logging.INFO)  # the migrations' progress
    from helpdesk import create_app
    from helpdesk.actions.agents import create_agent, set_availability
    from helpdesk.cli import upgrade_database
    from helpdesk.extensions import db
    from helpdesk.models import Store, Visitor
    from widgets.tokens import issue

    app = create_app({"JOBS_MODE": "sync"})
    with app.app_context():
        upgrade_database()
        store = Store(name="Bench store", slug="bench", settings={})
        db.session.add(store)
        db.session.commit()
        set_availability(create_agent("bench@bench.test", "Bench", "bench-password-123"), "available")
        rows = [Visitor(store_id=store.id, attributes={}) for _ in range(visitors)]
        db.session.add_all(rows)
        db.session.commit()
        return app, [issue(v) for v in rows], [v.id for v in rows]


def handler_phases(app, tokens, messages, pauses):
    """For each pause (seconds, waited before each message): per-message milliseconds of the
    real handler and of its phases."""
    import widgets.sockets as sockets
    from helpdesk import events
    from helpdesk.actions import messages as actions
    from helpdesk.extensions import socketio

    sockets.FLOOD_MAX_MESSAGES = 10**9  # one test client per shopper sends far faster than a person
    totals = collections.defaultdict(float)
    clients = [socketio.test_client(app, namespace="/widget", auth={"token": t}) for t in tokens]

    def send(i):
        client = clients[i % len(clients)]
        ack = client.emit("message", {"client_id": uuid.uuid4().hex, "body": f"Is the blue one in stock? ({i})"},
                          namespace="/widget", callback=True)
        if not ack.get("ok"):
            raise SystemExit(f"message refused: {ack}")
        client.get_received("/widget")

    for i in range(200):  # every shopper has a contact and an open chat: the common case
        send(i)
    phases = ((sockets, "_visitor", "visitor, contact, store, ticket loaded"),
              (sockets, "receive_customer_message", "receive_customer_message (action, commit)"),
              (actions, "_store_message", "  message INSERT (insert_loaded)"),
              (actions, "_touch_ticket", "  ticket UPDATE"),
              (actions, "detect_language", "  language detection"),
              (events, "message_created", "  message.created payloads"),
              (events, "ticket_updated", "  ticket.updated payload"))
    for module, name, label in phases:
        timed(module, name, label, totals)
    from sqlalchemy.orm import Session

    commit = Session.commit
    labels = [label for _m, _n, label in phases] + ["  COMMIT (with the emits)"]

    def timed_commit(self):
        started = time.perf_counter()
        try:
            return commit(self)
        finally:
            totals["  COMMIT (with the emits)"] += time.perf_counter() - started

    Session.commit = timed_commit
    results = []
    for pause_s in pauses:
        totals.clear()
        whole = 0.0
        for i in range(messages):
            pause(pause_s)
            started = time.perf_counter()
            send(i)
            whole += time.perf_counter() - started
        results.append((whole * 1000 / messages, {k: totals[k] * 1000 / messages for k in labels}))
    Session.commit = commit
    for client in clients:
        client.disconnect(namespace="/widget")
    return results


def lower_bounds(app, visitor_ids, messages, pause_s):
    """Median cold milliseconds of the ongoing-conversation reads and writes, Core and driver."""
    from sqlalchemy import bindparam, select

    from connectors.webhooks_out import subscribed
    from helpdesk.actions import _insert_of
    from helpdesk.actions.messages import _MESSAGES, _TOUCH_TICKET_BY_CUSTOMER, continuable_id, stored_by_contact
    from helpdesk.extensions import db
    from helpdesk.i18n import detect_language
    from helpdesk.models import Channel, Contact, Ticket, Visitor, utcnow
    from helpdesk.text import preview, text_to_html
    from inbox.presence import available_exists

    visitors, contacts, tickets = Visitor.__table__, Contact.__table__, Ticket.__table__
    flat = (select(visitors.c.contact_id, visitors.c.store_id, visitors.c.uid, contacts.c.name, contacts.c.blocked,
                   tickets.c.id, tickets.c.status, tickets.c.assignee_id, tickets.c.offline,
                   available_exists(visitors.c.store_id).label("available"),
                   stored_by_contact(visitors.c.contact_id).label("stored"),
                   subscribed(visitors.c.store_id).label("webhooks"))
            .select_from(visitors.join(contacts, contacts.c.id == visitors.c.contact_id)
                         .outerjoin(tickets, tickets.c.id == continuable_id(visitors.c.contact_id,
                                                                             Channel.CHAT.value)))
            .where(visitors.c.id == bindparam("visitor_id")))
    insert = _insert_of(_MESSAGES)
    columns = [c.key for c in _MESSAGES.columns if not c.primary_key]

    def message_row(contact_id, ticket_id, body, now):
        row = dict.fromkeys(columns)
        row.update(ticket_id=ticket_id, author_type="contact", author_contact_id=contact_id, body_text=body,
                   body_html=text_to_html(body), client_id=uuid.uuid4().hex, meta={},
                   language=detect_language(body), hidden=False, created_at=now, kind="message")
        return row

    times = collections.defaultdict(list)
    with app.app_context():
        engine = db.engine
        # The driver level: the SELECT compiled once with its two parameters as placeholders,
        # the INSERT and UPDATE compiled once; values are given as the SQLite driver takes them.
        literal = str(flat.params(visitor_id=-7770777, client_id="client-id-placeholder").compile(
            engine, compile_kwargs={"literal_binds": True, "render_postcompile": True}))
        placeholder = re.compile(r"-7770777|'client-id-placeholder'")
        flat_order = [m.group(0) for m in placeholder.finditer(literal)]
        flat_sql = placeholder.sub("?", literal)
        compiled_insert = insert.compile(engine, column_keys=columns)
        compiled_touch = _TOUCH_TICKET_BY_CUSTOMER.compile(engine)
        for i in range(messages):
            visitor_id = visitor_ids[i % len(visitor_ids)]
            body = f"Is the blue one in stock? (bound {i})"

            pause(pause_s)
            started = time.perf_counter()
            row = db.session.execute(flat, {"visitor_id": visitor_id, "client_id": uuid.uuid4().hex}).first()
            now = utcnow()
            db.session.execute(insert, message_row(row.contact_id, row.id, body, now))
            db.session.execute(_TOUCH_TICKET_BY_CUSTOMER, {"ticket_id": row.id, "at": now, "customer_at": now,
                                                           "due": None, "preview": preview(body, 200)})
            db.session.commit()
            times["core"].append(time.perf_counter() - started)

            pause(pause_s)
            started = time.perf_counter()
            cursor = db.session.connection().connection.dbapi_connection.cursor()
            given = {"-7770777": visitor_id, "'client-id-placeholder'": uuid.uuid4().hex}
            cursor.execute(flat_sql, [given[k] for k in flat_order])
            found = cursor.fetchone()
            contact_id, ticket_id = found[0], found[5]
            now = utcnow()
            values = message_row(contact_id, ticket_id, body, now)
            values.update(meta="{}", created_at=now.strftime("%Y-%m-%d %H:%M:%S.%f"))
            cursor.execute(str(compiled_insert), [values[k] for k in compiled_insert.positiontup])
            stamp = values["created_at"]
            touch = {"at": stamp, "customer_at": stamp, "due": None, "preview": preview(body, 200), "ticket_id": ticket_id}
            # With the statement's own binds (the erased-owner check's JSON path), as the
            # driver takes them.
            processors = compiled_touch._bind_processors
            touch = {k: processors[k](v) if k not in touch and k in processors else v
                     for k, v in compiled_touch.construct_params(touch).items()}
            cursor.execute(str(compiled_touch), [touch[k] for k in compiled_touch.positiontup])
            db.session.commit()
            times["driver"].append(time.perf_counter() - started)
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000, help="per measurement")
    parser.add_argument("--pause-ms", type=float, default=10.0,
                        help="before each cold message (chat_latency's 200 shoppers at 0.5/s: 10 ms apart)")
    parser.add_argument("--visitors", type=int, default=20)
    args = parser.parse_args()

    app, tokens, visitor_ids = make_app(args.visitors)
    (hot, hot_phases), (cold, cold_phases) = handler_phases(app, tokens, args.messages, (0.0, args.pause_ms / 1000))
    bounds = lower_bounds(app, visitor_ids, max(200, args.messages // 2), args.pause_ms / 1000)

    print(f"per message, ms (mean)                       hot    cold (after {args.pause_ms:g} ms)")
    print(f"{'whole handler (test client included)':42} {hot:6.3f}  {cold:6.3f}")
    for label in hot_phases:
        print(f"{label:42} {hot_phases[label]:6.3f}  {cold_phases[label]:6.3f}")
    print(f"ongoing conversation's SQL, cold (median): Core {bounds['core']:.3f} ms, "
          f"driver cursor {bounds['driver']:.3f} ms")
    print(f"hot_ms={hot:.3f} cold_ms={cold:.3f} core_cold_ms={bounds['core']:.3f} "
          f"driver_cold_ms={bounds['driver']:.3f}")


if __name__ == "__main__":
    main()
