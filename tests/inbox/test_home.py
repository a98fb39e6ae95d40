"""The home panel: shoppers online and chats waiting per store, the nudge when shoppers
browse and nobody is available (gone once someone is), and the agent's recent sales
formatted for their locale."""
from datetime import timedelta
from decimal import Decimal

from connectors.base import LineRecord, OrderRecord
from helpdesk.actions import action
from helpdesk.actions.agents import set_availability
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import upsert_order
from helpdesk.actions.messages import reply
from helpdesk.actions.tickets import assign
from helpdesk.extensions import db
from helpdesk.models import utcnow
from inbox.home import ONLINE_SECONDS, home_panel, shoppers_online
from tests.factories import make_agent, make_contact, make_store, make_ticket, make_visitor
from tests.inbox.test_views import sign_in
from tests.sql import big_table_stats, query_plans


@action
def put_order(store, contact, number, total, currency="EUR", placed_in=timedelta(hours=1)):
    record = OrderRecord(platform_id=number, number=number, currency=currency, total=Decimal(total),
                         placed_at=utcnow() + placed_in, email=contact.email,
                         lines=[LineRecord(title="Shirt", quantity=1, unit_price=Decimal(total), total=Decimal(total))])
    order = upsert_order(store, "generic", record)
    attribute_order(order)
    return order


def browsing(store, seconds_ago=10):
    visitor = make_visitor(store)
    # Last heard from the widget this long ago (start_session/record_page_view set it to now).
    visitor.last_seen_at = utcnow() - timedelta(seconds=seconds_ago)
    db.session.commit()
    return visitor


def test_counts_per_store_and_the_nudge(client):
    north, south = make_store("North"), make_store("South")
    agent = make_agent(name="Ann", stores=[north, south])
    make_agent(name="Bob", stores=[south])
    browsing(north), browsing(north), browsing(south)
    browsing(north, seconds_ago=ONLINE_SECONDS + 60)  # left a while ago: not counted
    make_ticket(north)  # an unclaimed open chat
    claimed = make_ticket(north)
    assign(claimed, agent, agent)
    make_ticket(north, channel="email")  # not a chat

    panel = home_panel(agent)
    rows = {r["name"]: r for r in panel["stores"]}
    assert (rows["North"]["shoppers_online"], rows["North"]["chats_waiting"]) == (2, 1)
    assert (rows["South"]["shoppers_online"], rows["South"]["chats_waiting"]) == (1, 0)
    assert panel["nudge"] is True and panel["nudge_stores"] == ["North", "South"]

    # A colleague available for South takes South out of the nudge; North still needs someone.
    bob = db.session.scalar(db.select(type(agent)).where(type(agent).name == "Bob"))
    set_availability(bob, "available")
    panel = home_panel(agent)
    assert panel["nudge_stores"] == ["North"]
    # Going available (what the nudge's button does) ends the nudge.
    set_availability(agent, "available")
    assert home_panel(agent)["nudge"] is False


def test_no_nudge_without_shoppers():
    store = make_store()
    agent = make_agent(stores=[store])
    assert home_panel(agent)["nudge"] is False and home_panel(agent)["stores"][0]["shoppers_online"] == 0


def test_restricted_agent_sees_only_their_stores():
    mine, theirs = make_store("Mine"), make_store("Theirs")
    agent = make_agent(stores=[mine])
    browsing(theirs)
    make_ticket(theirs)
    panel = home_panel(agent)
    assert [r["name"] for r in panel["stores"]] == ["Mine"]
    assert panel["shoppers_online"] == 0 and panel["chats_waiting"] == 0


def test_recent_sales_are_summed_and_formatted_for_the_agents_locale():
    store = make_store()
    agent = make_agent(name="Ann")
    agent.locale = "de"
    db.session.commit()
    for n, total in enumerate(("1234.50", "65.00")):
        contact = make_contact(store)
        ticket = make_ticket(store, contact=contact)
        reply(ticket, agent, "Happy to help!")
        put_order(store, contact, f"#{n}", total)
    old = make_contact(store)
    reply(make_ticket(store, contact=old), agent, "Hi")
    put_order(store, old, "#old", "10.00", placed_in=timedelta(days=-31))  # outside the 30 days

    sales = home_panel(agent)["sales"]
    assert sales["count"] == 2
    assert sales["totals"] == [{"currency": "EUR", "amount": "1299.50", "count": 2, "formatted": "1.299,50\xa0€"}]
    assert [i["formatted"] for i in sales["items"]] == ["65,00\xa0€", "1.234,50\xa0€"]
    assert [i["order_number"] for i in sales["items"]] == ["#1", "#0"]


def test_endpoint_needs_sign_in_and_answers_json(client):
    store = make_store()
    agent = make_agent(stores=[store])
    browsing(store)
    assert client.get("/inbox/api/home").status_code == 401
    sign_in(client, agent)
    body = client.get("/inbox/api/home").get_json()
    assert body["stores"][0]["shoppers_online"] == 1 and body["nudge"] is True


def test_shoppers_online_are_counted_by_a_range_of_the_store_index():
    """Only the visitors seen in the last minutes are read, not every browser the store had."""
    store = make_store("North")
    browsing(store)
    many = ("visitors", "ix_visitors_store_seen", "1000000 200000 2")
    with big_table_stats(many), query_plans() as plans:
        assert shoppers_online([store.id]) == {store.id: 1}
    counted = [steps for sql, steps in plans if "FROM visitors" in sql]
    assert counted or not plans, plans
    for steps in counted:
        assert any("last_seen_at>" in step for step in steps), steps
