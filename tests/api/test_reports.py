"""Reports: monthly metrics (own vs everyone's, per agent/team/store/total, CSV) and the chat
archive (own vs all, search, the "sale" and "top-rated" tabs), through the API and the pages."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from connectors.base import OrderRecord
from helpdesk.actions import action
from helpdesk.actions.attribution import attribute_order
from helpdesk.actions.commerce import upsert_order
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.actions.tickets import change_status
from helpdesk.actions.visitors import rate_ticket
from helpdesk.extensions import db
from helpdesk.models import utcnow
from helpdesk.reports import month_label
from tests.api.conftest import api_for, login
from tests.factories import make_agent, make_contact, make_store, make_team, make_visitor
from tests.sql import big_table_stats, query_plans, scans


def format_month(when):
    """A month as an English-speaking agent reads it in the charts and table: "November 2026"."""
    return when.strftime("%B %Y")


@action
def place_order(store, contact, platform_id, total, currency, *, cancelled=False):
    record = OrderRecord(platform_id=platform_id, number=f"#{platform_id}", currency=currency, total=Decimal(total),
                         placed_at=utcnow() + timedelta(seconds=5), email=contact.email, cancelled=cancelled)
    order = upsert_order(store, "generic", record)
    attribute_order(order)
    return order


def chat(store, agent, email, text, *, rating=None, slow=False):
    contact = make_contact(store, email=email)
    visitor = make_visitor(store, contact)
    message, _ = receive_customer_message(store, contact, "chat", text, visitor=visitor)
    ticket = message.ticket
    if slow:  # the shopper waited a minute for the first answer
        ticket.created_at = utcnow() - timedelta(seconds=60)
        db.session.commit()
    reply(ticket, agent, "Happy to help!")
    if rating is not None:
        rate_ticket(visitor, ticket, rating, [] if rating == 5 else ["slow_answer"])
    change_status(ticket, "resolved", agent)
    return contact, ticket


@pytest.fixture
def world():
    store = make_store("Linen & Co")
    team = make_team("Sales")
    ola = make_agent("Ola", teams=[team])
    sam = make_agent("Sam")
    admin = make_agent("Ada", role="admin")
    c1, t1 = chat(store, ola, "one@example.test", "Do you have the linen shirt in blue?", rating=5)
    c2, t2 = chat(store, ola, "two@example.test", "Which size for 180 cm?", rating=3, slow=True)
    c3, t3 = chat(store, sam, "three@example.test", "Do you ship to Norway?")
    place_order(store, c1, "1001", "100.00", "USD")
    place_order(store, c2, "1002", "50.00", "EUR")
    place_order(store, c3, "1003", "30.00", "USD")
    place_order(store, c3, "1003", "30.00", "USD", cancelled=True)
    return {"store": store, "team": team, "ola": ola, "sam": sam, "admin": admin, "tickets": (t1, t2, t3)}


def rows_by_name(body):
    return {row["group"]["name"]: row for row in body["rows"]}


def test_an_agent_sees_their_own_metrics(app, world):
    body = api_for(app, world["ola"]).get("/reports/metrics").get_json()
    assert body["first_response_target_seconds"] == 30 and body["months"][-1] == month_label(utcnow())
    (row,) = body["rows"]
    assert row["group"] == {"type": "agent", "id": world["ola"].id, "name": "Ola"}
    assert (row["customers"], row["chats"], row["sales_count"]) == (2, 2, 2)
    assert row["sales_value"] == {"EUR": "50.00", "USD": "100.00"}
    assert row["conversion_rate"] == 1.0
    assert row["first_response"]["count"] == 2 and row["first_response"]["within_target"] == 1
    assert row["first_response"]["average_seconds"] >= 30
    assert row["rating"] == {"count": 2, "average": 4.0, "distribution": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}}


def test_first_responses_are_found_per_ticket_not_by_reading_every_message(app, world):
    """The first answer of each chat in the months shown is looked up by ticket: a GROUP BY
    over all agent messages made SQLite read every message for each report."""
    with big_table_stats(), query_plans() as plans:
        assert api_for(app, world["admin"]).get("/reports/metrics").status_code == 200
    assert not scans([(sql, steps) for sql, steps in plans if "first_response_at" in sql], "messages"), plans


def test_an_agent_may_not_read_someone_elses_metrics(app, world):
    response = api_for(app, world["ola"]).get("/reports/metrics", query={"agent": world["sam"].id})
    assert response.status_code == 403


def test_admins_see_everyone(app, world):
    admin = api_for(app, world["admin"])
    rows = rows_by_name(admin.get("/reports/metrics").get_json())
    assert set(rows) == {"Ola", "Sam"}
    sam = rows["Sam"]
    # Sam's sale was cancelled: it no longer counts.
    assert (sam["customers"], sam["chats"], sam["sales_count"], sam["sales_value"], sam["conversion_rate"]) == (
        1, 1, 0, {}, 0.0)
    only_sam = admin.get("/reports/metrics", query={"agent": world["sam"].id}).get_json()["rows"]
    assert [r["group"]["name"] for r in only_sam] == ["Sam"]


def test_per_team_store_and_total(app, world):
    admin = api_for(app, world["admin"])
    (team,) = admin.get("/reports/metrics", query={"by": "team"}).get_json()["rows"]
    assert team["group"]["name"] == "Sales" and team["sales_value"] == {"EUR": "50.00", "USD": "100.00"}
    (store,) = admin.get("/reports/metrics", query={"by": "store"}).get_json()["rows"]
    assert store["group"]["name"] == "Linen & Co" and (store["customers"], store["chats"]) == (3, 3)
    (total,) = admin.get("/reports/metrics", query={"by": "total"}).get_json()["rows"]
    assert total["sales_count"] == 2 and round(total["conversion_rate"], 4) == round(2 / 3, 4)
    assert admin.get("/reports/metrics", query={"team": world["team"].id}).get_json()["rows"][0]["group"]["name"] == "Ola"


def test_month_range_and_validation(app, world):
    admin = api_for(app, world["admin"])
    this_month = month_label(utcnow())
    body = admin.get("/reports/metrics", query={"month_from": "2020-01", "month_to": "2020-03"}).get_json()
    assert body["months"] == ["2020-01", "2020-02", "2020-03"] and body["rows"] == []
    assert len(admin.get("/reports/metrics", query={"month_to": this_month}).get_json()["rows"]) == 2
    assert admin.get("/reports/metrics", query={"month_from": "2024-13"}).status_code == 422
    assert admin.get("/reports/metrics", query={"by": "galaxy"}).status_code == 422


def test_a_month_in_the_right_format_but_out_of_range_is_a_field_error(admin_api):
    # "0000-01" matched the pattern and reached parse_month, whose ValueError was a 500.
    for month_from, month_to in (("0000-01", "2024-01"), ("2024-01", "5772-05"), ("1999-12", None)):
        query = {"month_from": month_from, **({"month_to": month_to} if month_to else {})}
        response = admin_api.get("/reports/metrics", query=query)
        assert response.status_code == 422, (query, response.get_data(as_text=True))
        bad = {k for k, v in query.items() if not "2000-01" <= v <= "2999-12"}
        assert set(response.get_json()["errors"]) == bad
    messages = admin_api.get("/reports/metrics", query={"month_to": "0000-01"}).get_json()["errors"]["month_to"]
    assert messages == ["Must be greater than or equal to 2000-01 and less than or equal to 2999-12."]
    # Text that is no month at all gets only the format's message.
    assert admin_api.get("/reports/metrics", query={"month_to": "soon"}).get_json()["errors"] == {
        "month_to": ["Use YYYY-MM."]}
    for edge in ("2000-01", "2999-12"):
        assert admin_api.get("/reports/metrics", query={"month_from": edge, "month_to": edge}).status_code == 200


def test_csv_export(app, world):
    response = api_for(app, world["admin"]).get("/reports/metrics", query={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    ola = next(r for r in rows if r["group_name"] == "Ola")
    assert (ola["chats"], ola["sales_count"], ola["sales_value"], ola["rating_average"]) == (
        "2", "2", "EUR 50.00; USD 100.00", "4.0")


def test_the_csv_answer_is_documented(admin_api):
    # The OpenAPI document named only application/json for the metrics' success answer.
    spec = admin_api.get("/openapi.json").get_json()
    content = spec["paths"]["/api/v1/reports/metrics"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert admin_api.get("/reports/metrics", query={"format": "csv"}).mimetype in content


# ---- archive ---------------------------------------------------------------------------------

def archive(app, viewer, **query):
    response = api_for(app, viewer).get("/reports/archive", query=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(body):
    return [item["ticket"]["id"] for item in body["items"]]


def test_agents_see_their_own_conversations_admins_all(app, world):
    t1, t2, t3 = world["tickets"]
    assert sorted(ids(archive(app, world["ola"]))) == sorted([t1.id, t2.id])
    assert sorted(ids(archive(app, world["sam"]))) == [t3.id]
    assert sorted(ids(archive(app, world["admin"]))) == sorted([t1.id, t2.id, t3.id])
    assert sorted(ids(archive(app, world["admin"], agent=world["sam"].id))) == [t3.id]
    forbidden = api_for(app, world["ola"]).get("/reports/archive", query={"agent": world["sam"].id})
    assert forbidden.status_code == 403


def test_the_sales_tab_shows_the_sale_value(app, world):
    t1, t2, t3 = world["tickets"]
    body = archive(app, world["admin"], tab="sales")
    sales = {item["ticket"]["id"]: item["sale"] for item in body["items"]}
    assert sales == {t1.id: {"orders": 1, "value": {"USD": "100.00"}}, t2.id: {"orders": 1, "value": {"EUR": "50.00"}}}


def test_the_top_rated_tab(app, world):
    t1, _, _ = world["tickets"]
    assert ids(archive(app, world["admin"], tab="top_rated")) == [t1.id]


def test_search_and_pages(app, world):
    t1, t2, t3 = world["tickets"]
    assert ids(archive(app, world["admin"], q="Norway")) == [t3.id]
    assert ids(archive(app, world["ola"], q="Norway")) == []
    first = archive(app, world["admin"], limit=2)
    second = archive(app, world["admin"], limit=2, cursor=first["next_cursor"])
    assert len(ids(first)) == 2 and len(ids(second)) == 1 and second["next_cursor"] is None
    assert set(ids(first) + ids(second)) == {t1.id, t2.id, t3.id}


def test_open_conversations_are_not_in_the_archive(app, world):
    store = world["store"]
    receive_customer_message(store, make_contact(store), "chat", "Still talking")
    assert len(ids(archive(app, world["admin"]))) == 3


# ---- the pages ---------------------------------------------------------------------------------

def test_the_metrics_page_draws_monthly_charts_and_links_the_csv(app, world):
    client = app.test_client()
    login(client, world["ola"])
    page = client.get("/inbox/reports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<svg") == 5 and 'data-series="sales_count"' in html
    assert "format=csv" in html and "USD 100.00" in html and "Sam" not in html
    exported = client.get("/inbox/reports/?format=csv")
    assert exported.mimetype == "text/csv" and "Ola" in exported.get_data(as_text=True)
    assert client.get(f"/inbox/reports/?agent={world['sam'].id}").status_code == 403


def _last_bar(html, series):
    """The ``<title>`` of a chart's last bar (this month): "November 2026: 4.0"."""
    figure = html.split(f'data-series="{series}"', 1)[1].split("</figure>", 1)[0]
    return figure.rsplit("<title>", 1)[1].split("</title>", 1)[0]


def test_the_charts_weigh_rates_by_what_they_are_made_of(app, world):
    # Per agent: Ola has two ratings (5 and 3), Sam none. The month's average rating is 4.0,
    # not (4.0 + 0) / 2; its first response is the mean over the three answered chats.
    client = app.test_client()
    login(client, world["admin"])
    html = client.get("/inbox/reports/?by=agent").get_data(as_text=True)
    month = format_month(utcnow())
    assert _last_bar(html, "rating") == f"{month}: 4.0"
    assert _last_bar(html, "chats") == f"{month}: 3"
    rows = api_for(app, world["admin"]).get("/reports/metrics?by=agent").get_json()["rows"]
    # Ola converted both her customers, Sam not his one: 2 of 3, not the mean of 100 % and 0 %.
    assert {r["group"]["name"]: (r["customers"], r["conversion_rate"]) for r in rows} == {
        "Ola": (2, 1.0), "Sam": (1, 0.0)}
    assert _last_bar(html, "conversion_rate") == f"{month}: 66.7"
    answered = [(r["first_response"]["average_seconds"], r["first_response"]["count"]) for r in rows]
    expected = round(sum(avg * n for avg, n in answered) / sum(n for _avg, n in answered), 1)
    assert _last_bar(html, "first_response") == f"{month}: {expected}"


def test_an_agent_without_chats_gets_the_table_and_no_empty_charts(app, world):
    client = app.test_client()
    login(client, make_agent("Nia"))
    html = client.get("/inbox/reports/").get_data(as_text=True)
    assert "<svg" not in html and "Nothing in these months yet." in html


def test_the_archive_page_has_the_sale_and_top_rated_tabs(app, world):
    client = app.test_client()
    login(client, world["admin"])
    html = client.get("/inbox/reports/archive?tab=sales").get_data(as_text=True)
    assert "Resulted in a sale" in html and "Top-rated" in html
    assert "USD 100.00" in html and "EUR 50.00" in html and "Norway" not in html
    assert client.get("/inbox/reports/archive?tab=nope").status_code == 400


def test_the_pages_need_sign_in(client):
    assert client.get("/inbox/reports/").status_code == 302
