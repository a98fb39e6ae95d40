"""Rating and recurring-questions reports over /api/v1: validated query parameters, agents'
own numbers, admins only for recurring questions, queued reports for large ranges."""
from datetime import date, datetime, timedelta, timezone

import pytest

from helpdesk import topics
from helpdesk.actions.tickets import assign
from helpdesk.actions.visitors import rate_ticket
from helpdesk.extensions import db
from tests.factories import make_agent, make_ticket, make_visitor


def rate(store, agent, stars, reasons):
    visitor = make_visitor(store)
    ticket = make_ticket(store, visitor=visitor)
    assign(ticket, agent, agent)
    rate_ticket(visitor, ticket, stars, reasons)
    ticket.resolved_at = datetime.now(timezone.utc)
    db.session.commit()


def test_rating_report_for_admin_and_agent(api, admin_api, agent, store):
    other = make_agent(name="Other")
    rate(store, agent, 5, ["friendly"])
    rate(store, agent, 1, ["unfriendly", "slow_answer"])
    rate(store, other, 4, ["other"])
    everyone = admin_api.get("/reports/ratings", query={"period": "month"}).json
    assert {t["group"]["name"]: t["count"] for t in everyone["totals"]} == {"Olena Agent": 2, "Other": 1}
    assert everyone["from"] == (date.today() - timedelta(days=29)).isoformat() and everyone["to"] == date.today().isoformat()
    mine = api.get("/reports/ratings", query={"by": "total", "period": "day"}).json
    assert [(r["count"], r["average"]) for r in mine["rows"]] == [(2, 3.0)]
    assert mine["rows"][0]["reasons"]["slow_answer"] == 1 and mine["rows"][0]["distribution"]["5"] == 1
    assert api.get("/reports/ratings", query={"agent": str(other.id)}).status_code == 403


def test_rating_report_query_is_validated(api):
    body = api.get("/reports/ratings", query={"by": "planet", "period": "year", "date_from": "2026-02-30"}).json
    assert body["status"] == 422 and set(body["errors"]) == {"by", "period", "date_from"}
    body = api.get("/reports/ratings", query={"date_from": "2026-05-01", "date_to": "2026-04-01"}).json
    assert body["status"] == 422 and list(body["errors"]) == ["date_from"]
    body = api.get("/reports/ratings", query={"date_from": "2020-01-01", "date_to": "2026-01-01"}).json
    assert body["status"] == 422 and list(body["errors"]) == ["date_from"]


@pytest.mark.parametrize("path", ["/reports/ratings", "/reports/recurring-questions"])
@pytest.mark.parametrize("query, field", [
    ({"date_to": "9999-12-31"}, "date_to"),
    ({"date_from": "9999-12-30", "date_to": "9999-12-31"}, "date_to"),
    ({"date_to": "0001-01-05"}, "date_to"),
    ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
])
def test_days_at_the_ends_of_the_calendar_are_422(admin_api, path, query, field):
    body = admin_api.get(path, query=query).json
    assert body["status"] == 422 and field in body["errors"]


def test_recurring_questions_for_admins_only(api, admin_api, store):
    for text in ("Where is my order #1?", "Where is my order? No tracking yet", "Tracking for my order 3 is stuck",
                 "Do you sell gift cards?"):
        make_ticket(store, text=text)
    assert api.get("/reports/recurring-questions").status_code == 403
    body = admin_api.get("/reports/recurring-questions", query={"store": str(store.id)}).json
    assert body["status"] == "done" and body["id"] is None
    result = body["result"]
    assert result["messages"] == 4 and [t["count"] for t in result["topics"]] == [3]
    assert result["topics"][0]["missing_saved_reply"] is True and "order" in result["topics"][0]["terms"]
    assert admin_api.get("/reports/recurring-questions", query={"threshold": "2"}).status_code == 422


def test_large_ranges_are_queued_and_polled(admin_api, api, store, monkeypatch):
    monkeypatch.setattr(topics, "SYNC_LIMIT", 1)
    make_ticket(store, text="Where is my order?")
    make_ticket(store, text="Where is my order, please?")
    queued = admin_api.get("/reports/recurring-questions").json
    # A report row was queued (it has an id); JOBS_MODE=sync ran the job right after the
    # request's commit, so the answer and the poll already find it done.
    assert queued["id"] and queued["status"] in ("queued", "done")
    polled = admin_api.get(f"/reports/recurring-questions/{queued['id']}").json
    assert polled["status"] == "done" and polled["result"]["messages"] == 2
    assert api.get(f"/reports/recurring-questions/{queued['id']}").status_code == 403
    assert admin_api.get("/reports/recurring-questions/999").status_code == 404
