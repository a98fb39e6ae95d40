"""What building an event or a page payload costs: ``schema.dump`` against the compiled dump
of the same schema (``helpdesk.dumps``), for the payloads every chat message and email builds
and for a page of the queue, on rows of a fresh SQLite database.

    python bench/payloads.py
    python bench/payloads.py --number 5000

Times are the best of five repeats (warm caches: a lower bound for both). The last line is
machine-comparable:

    ticket_us=… ticket_compiled_us=… message_us=… message_compiled_us=… page_ms=… page_compiled_ms=…
"""
import argparse
import os
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))


def best(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="dumps per repeat (default %(default)s)")
    parser.add_argument("--page", type=int, default=50, help="tickets on the queue page (default %(default)s)")
    args = parser.parse_args()

    import chat_path  # its fresh app: a migrated SQLite database with a store and an agent

    app, _tokens, _ids = chat_path.make_app(1)
    from helpdesk.actions.agents import create_agent
    from helpdesk.actions.messages import receive_customer_message, reply
    from helpdesk.actions.tickets import update_ticket
    from helpdesk.api.pagination import TicketPageSchema
    from helpdesk.dumps import compiled
    from helpdesk.extensions import db
    from helpdesk.models import Contact, Store, Ticket
    from helpdesk.schemas import MessageSchema, PublicMessageSchema, TicketSchema

    with app.app_context():
        store = db.session.get(Store, 1)
        agent = create_agent("payloads@bench.test", "Sam Carter", "bench-password-123")
        for i in range(args.page):
            contact = Contact(store_id=store.id, name=f"Shopper {i}", email=f"shopper{i}@example.com")
            db.session.add(contact)
            db.session.commit()
            message, _new = receive_customer_message(store, contact, "chat",
                                                     f"Hello, where is my order {1000 + i}? It is late.")
        ticket = message.ticket
        update_ticket(ticket, agent, tags=["refund", "vip"], assignee_id=agent.id)
        answer = reply(ticket, agent, "It left the warehouse this morning.")
        db.session.refresh(ticket)
        page = {"items": db.session.query(Ticket).order_by(Ticket.id).limit(args.page).all(), "next_cursor": "x"}

        results = {}
        cases = [("ticket", TicketSchema(), ticket, 1e6), ("message", MessageSchema(), message, 1e6),
                 ("agent_message", MessageSchema(), answer, 1e6), ("public_message", PublicMessageSchema(), message, 1e6),
                 ("page", TicketPageSchema(), page, 1e3)]
        for name, schema, obj, scale in cases:
            fast = compiled(schema)
            if fast(obj) != schema.dump(obj):
                raise SystemExit(f"{name}: the compiled dump differs from marshmallow's")
            number = max(1, args.number // (args.page if name == "page" else 1))
            results[name] = best(lambda: schema.dump(obj), number) * scale
            results[name + "_compiled"] = best(lambda: fast(obj), number) * scale
            unit = "ms" if name == "page" else "us"
            sys.stderr.write(f"{name:16s} marshmallow {results[name]:8.2f} {unit}   compiled "
                             f"{results[name + '_compiled']:8.2f} {unit}   x{results[name] / results[name + '_compiled']:.1f}\n")
    print(" ".join([f"ticket_us={results['ticket']:.1f}", f"ticket_compiled_us={results['ticket_compiled']:.1f}",
                    f"message_us={results['message']:.1f}", f"message_compiled_us={results['message_compiled']:.1f}",
                    f"page_ms={results['page']:.2f}", f"page_compiled_ms={results['page_compiled']:.2f}"]))


if __name__ == "__main__":
    main()
