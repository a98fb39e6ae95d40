"""Academy practice chats never count anywhere real: each check puts a practice chat next to a
real one and expects only the real one in reports, queues, badges, attribution, webhooks and
the store's realtime room. Only the trainee who owns the practice chat sees it in the queue."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.base import LineRecord, OrderRecord
from helpdesk.actions import action
from helpdesk.actions.academy import accept_policies, complete_intro, practice_store_ids, start_practice
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import create_webhook_subscription, upsert_order
from helpdesk.actions.messages import reply
from helpdesk.actions.tickets import change_status, claim
from helpdesk.extensions import db
from helpdesk.models import Attribution, OutboxItem, Store, Ticket, utcnow
from helpdesk.reports import archive_query, last_months, metrics
from helpdesk.topics import opening_messages
from inbox.home import chats_waiting, home_panel
from inbox.queries import messages_after, view_counts
from inbox.rating_reports import rating_report
from tests.factories import make_agent, make_store, make_ticket, make_token


@action
def put_order(store, email, number, total="50.00"):
    record = OrderRecord(platform_id=number, number=number, currency="EUR", total=Decimal(total),
                         placed_at=utcnow() + timedelta(minutes=5), email=email,
                         lines=[LineRecord(title="Sweater", quantity=1, unit_price=Decimal(total),
                                           total=Decimal(total))])
    order = upsert_order(store, "generic", record)
    return attribute_order(order)


def practising(name):
    """A new agent at the practice chat, having claimed and answered it."""
    trainee = make_agent(name=name, academy=False)
    complete_intro(trainee)
    accept_policies(trainee, [])
    ticket = start_practice(trainee)
    claim(ticket, trainee)
    reply(ticket, trainee, "Hello Sam, happy to help!")
    return trainee, db.session.get(Ticket, ticket.id)


@action
def rate(ticket, stars):
    # The practice shopper has no widget to rate from; the columns are what reports read.
    ticket.rating = stars
    ticket.rating_reasons = []
    return ticket


@pytest.fixture
def world():
    """One real chat (answered, rated 4, resolved) and one practice chat (rated 5, resolved)."""
    store = make_store("Knit & Purl")
    admin = make_agent(name="Ada Admin", role="admin")
    real = make_ticket(store, text="Do you ship to Norway?")
    claim(real, admin)
    reply(real, admin, "Yes, we do.")
    rate(real, 4)
    change_status(real, "resolved", admin)
    trainee, practice = practising("Nina New")
    rate(practice, 5)
    change_status(practice, "resolved", trainee)
    return store, admin, trainee, db.session.get(Ticket, real.id), db.session.get(Ticket, practice.id)


def test_reports_count_only_real_chats(world):
    store, admin, trainee, real, practice = world
    month = last_months(1)[0]
    rows = metrics(admin, [month], by="total")["rows"]
    assert len(rows) == 1
    assert (rows[0]["chats"], rows[0]["customers"], rows[0]["first_response"]["count"]) == (1, 1, 1)
    assert rows[0]["rating"]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    # The trainee's own report (agents see themselves) is empty: practice is not work.
    assert metrics(trainee, [month], by="agent")["rows"] == []

    today = date.today()
    ratings = rating_report(admin, date_from=today - timedelta(days=1), date_to=today + timedelta(days=1),
                            by="total", period="day")
    assert [r["count"] for r in ratings["totals"]] == [1]
    assert rating_report(trainee, date_from=today - timedelta(days=1), date_to=today + timedelta(days=1),
                         by="total", period="day")["totals"] == []

    archived = db.session.scalars(archive_query(admin)).all()
    assert [t.id for t in archived] == [real.id]
    assert db.session.scalars(archive_query(trainee)).all() == []

    openings = opening_messages(None, today - timedelta(days=1), today + timedelta(days=1))
    assert [ticket_id for ticket_id, _ in openings] == [real.id]


def test_the_queue_shows_a_practice_chat_to_its_trainee_only(client, world):
    store, admin, nina, real, practice = world
    change_status(practice, "open", nina)  # a running practice chat
    olga, olgas = practising("Olga New")

    def listed(agent, **query):
        response = client.get("/api/v1/tickets", query_string=query,
                              headers={"Authorization": f"Bearer {make_token(agent)}"})
        assert response.status_code == 200
        return {item["id"] for item in response.get_json()["items"]}

    assert listed(admin) == {real.id}  # an admin sees every store, the practice one included
    assert listed(nina) == {real.id, practice.id}
    assert listed(olga) == {real.id, olgas.id}
    assert listed(admin, q="sweater") == set()  # search runs on the same queue
    assert listed(nina, q="sweater") == {practice.id}

    assert view_counts(admin)["all"]["total"] == 1
    assert view_counts(nina)["all"]["total"] == 2
    assert view_counts(olga)["mine"]["total"] == 1
    practice_store = practice_store_ids()[0]
    assert view_counts(admin).get(f"store:{practice_store}") is None
    assert view_counts(olga)[f"store:{practice_store}"]["total"] == 1  # Olga's own, not Nina's

    # A reconnecting agent's replay skips other trainees' practice messages.
    replayed = {m["ticket_id"] for m in messages_after(admin, 0)}
    assert replayed == {real.id}
    assert {m["ticket_id"] for m in messages_after(olga, 0)} == {real.id, olgas.id}


def test_home_panel_leaves_out_practice(world):
    store, admin, nina, real, practice = world
    waiting_trainee = make_agent(name="Wes New", academy=False)
    complete_intro(waiting_trainee)
    accept_policies(waiting_trainee, [])
    start_practice(waiting_trainee)  # open and unclaimed: would be "waiting"
    practice_store = practice_store_ids()[0]
    assert chats_waiting([store.id, practice_store]) == {}
    panel = home_panel(admin)
    assert [s["name"] for s in panel["stores"]] == ["Knit & Purl"]
    assert panel["chats_waiting"] == 0


def test_practice_chats_are_never_attributed(world):
    store, admin, nina, real, practice = world
    practice_store = db.session.get(Store, practice_store_ids()[0])
    # The practice shopper "orders" right after the trainee's answer: no credit.
    assert put_order(practice_store, practice.contact.email, "P-1") is None
    # The same order for the real shopper is credited: the rule itself still works.
    credited = put_order(store, real.contact.email, "R-1")
    assert credited is not None and credited.agent_id == admin.id
    assert db.session.scalars(select(Attribution.ticket_id)).all() == [real.id]


def test_no_webhooks_for_practice_even_when_the_store_subscribes(world, sent_events):
    store, admin, nina, real, practice = world
    practice_store = db.session.get(Store, practice_store_ids()[0])
    create_webhook_subscription(practice_store, "https://hooks.example.test/in",
                                ["ticket", "message", "attribution"])
    before = db.session.query(OutboxItem).filter_by(kind="webhook").count()
    sent_events.clear()
    olga, olgas = practising("Olga New")
    assert db.session.query(OutboxItem).filter_by(kind="webhook").count() == before
    # The ticket events of the practice chat went to Olga's devices (and the open
    # conversation), never to the practice store's room where every admin listens.
    ticket_rooms = sorted({(e["event"], e["room"]) for e in sent_events
                           if e["event"] in ("ticket.created", "ticket.updated")})
    assert ticket_rooms == [("ticket.created", f"agent:{olga.id}"), ("ticket.updated", f"agent:{olga.id}"),
                            ("ticket.updated", f"ticket:{olgas.id}")]
    assert not any(e["room"] == f"store:{practice_store.id}:agents" for e in sent_events)
