"""Rating reports: grouped in the database by period and agent/team/store, with stars,
distribution and reasons; agents only ever see their own ratings."""
from datetime import date, datetime, timezone

import pytest

from helpdesk.actions import Forbidden
from helpdesk.actions.tickets import assign
from helpdesk.actions.visitors import rate_ticket
from helpdesk.extensions import db
from helpdesk.models import Ticket
from inbox.rating_reports import rating_report
from tests.factories import make_agent, make_store, make_team, make_ticket, make_visitor


def rated(store, agent, stars, reasons, day, hour=12):
    """A chat assigned to ``agent``, rated by its shopper, resolved on ``day`` (UTC)."""
    visitor = make_visitor(store)
    ticket = make_ticket(store, visitor=visitor)
    if agent is not None:
        assign(ticket, agent, agent)
    rate_ticket(visitor, ticket, stars, reasons)
    # No action backdates a resolution; the report reads when the ticket was resolved.
    ticket.resolved_at = datetime(*map(int, day.split("-")), hour, tzinfo=timezone.utc)
    db.session.commit()
    return ticket


@pytest.fixture
def world():
    north, south = make_store("North"), make_store("South")
    team = make_team("Chat team")
    ann = make_agent(name="Ann", teams=[team])
    bob = make_agent(name="Bob", stores=[south])
    admin = make_agent(name="Ada", role="admin")
    rated(north, ann, 5, ["fast_answer", "solved"], "2026-03-02", hour=0)
    rated(north, ann, 2, ["slow_answer"], "2026-03-04", hour=23)
    rated(south, bob, 4, ["wrong_info"], "2026-03-10")
    rated(north, ann, 3, ["not_solved", "other"], "2026-04-01")
    rated(north, ann, 1, ["unfriendly"], "2026-05-20")  # outside the range asked for below
    make_ticket(north)  # never rated: not counted
    return north, south, team, ann, bob, admin


RANGE = {"date_from": date(2026, 3, 1), "date_to": date(2026, 4, 30)}


def test_per_agent_per_week(world):
    _, _, _, ann, bob, admin = world
    report = rating_report(admin, by="agent", period="week", **RANGE)
    got = [(r["period"], r["group"]["name"], r["count"], r["average"]) for r in report["rows"]]
    assert got == [("2026-03-02", "Ann", 2, 3.5), ("2026-03-09", "Bob", 1, 4.0), ("2026-03-30", "Ann", 1, 3.0)]
    first = report["rows"][0]
    assert first["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    # "solved" is counted once: the "not_solved" of another ticket is a different word.
    assert {k: v for k, v in first["reasons"].items() if v} == {"fast_answer": 1, "solved": 1, "slow_answer": 1}
    totals = {t["group"]["id"]: (t["count"], t["average"]) for t in report["totals"]}
    assert totals == {ann.id: (3, 3.33), bob.id: (1, 4.0)}


def test_per_month_team_store_and_total(world):
    north, south, team, ann, bob, admin = world
    months = rating_report(admin, by="store", period="month", **RANGE)["rows"]
    assert [(r["period"], r["group"]["id"], r["count"]) for r in months] == [
        ("2026-03-01", north.id, 2), ("2026-03-01", south.id, 1), ("2026-04-01", north.id, 1)]
    teams = rating_report(admin, by="team", period="month", **RANGE)["rows"]
    assert [(r["period"], r["group"]["name"], r["count"]) for r in teams] == [
        ("2026-03-01", "Chat team", 2), ("2026-04-01", "Chat team", 1)]
    total = rating_report(admin, by="total", period="day", **RANGE)
    assert [(r["period"], r["count"]) for r in total["rows"]] == [
        ("2026-03-02", 1), ("2026-03-04", 1), ("2026-03-10", 1), ("2026-04-01", 1)]
    assert total["totals"][0]["count"] == 4
    assert total["totals"][0]["reasons"]["other"] == 1 and total["totals"][0]["reasons"]["not_solved"] == 1


def test_filters_by_store_agent_and_team(world):
    north, south, team, ann, bob, admin = world
    assert rating_report(admin, store_id=south.id, **RANGE)["totals"][0]["group"]["id"] == bob.id
    assert [t["group"]["id"] for t in rating_report(admin, team_id=team.id, **RANGE)["totals"]] == [ann.id]
    assert [t["group"]["id"] for t in rating_report(admin, agent_id=bob.id, **RANGE)["totals"]] == [bob.id]


def test_agents_see_only_their_own_ratings(world):
    north, _, _, ann, bob, _ = world
    report = rating_report(bob, by="agent", period="month", **RANGE)
    assert [(r["group"]["id"], r["count"]) for r in report["totals"]] == [(bob.id, 1)]
    with pytest.raises(Forbidden):
        rating_report(bob, agent_id=ann.id, **RANGE)
    # A store Bob cannot see adds nothing rather than someone else's numbers.
    assert rating_report(bob, store_id=north.id, **RANGE)["totals"] == []


def test_default_range_is_the_last_30_days(world):
    _, _, _, ann, _, admin = world
    ticket = rated(make_store(), ann, 5, [], datetime.now(timezone.utc).date().isoformat())
    assert db.session.get(Ticket, ticket.id).rating == 5
    report = rating_report(admin)
    assert [t["count"] for t in report["totals"]] == [1]


# ---- the report pages ---------------------------------------------------------------------

def test_ratings_page_shows_totals_and_reasons(client, world):
    from tests.inbox.test_views import sign_in

    _, _, _, ann, bob, admin = world
    sign_in(client, bob)
    page = client.get("/inbox/reports/ratings?date_from=2026-03-01&date_to=2026-04-30&period=month")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Wrong information: 1" in html and "Bob" in html and "Ann" not in html
    assert client.get("/inbox/reports/ratings?period=year").status_code == 400
    assert client.get("/inbox/reports/recurring-questions").status_code == 403


def test_recurring_questions_page_for_admins(client, world):
    from tests.inbox.test_views import sign_in

    north, _, _, _, _, admin = world
    for text in ("Where is my order #5?", "Where is my order? Tracking is empty", "My order tracking is stuck"):
        make_ticket(north, text=text)
    sign_in(client, admin)
    html = client.get("/inbox/reports/recurring-questions").get_data(as_text=True)
    assert "Missing saved reply" in html and "order, tracking" in html
    assert 'href="/inbox/reports/recurring-questions"' in client.get("/inbox/reports/").get_data(as_text=True)
