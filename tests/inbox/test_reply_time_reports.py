"""Reply-time reports from known replies: per agent, team, store and in total, per day, week and
month; replies with a target, in time, the share and the median time to a first reply. Through
the report function, the API and the inbox page."""
from datetime import date, datetime, timezone

import pytest

from helpdesk.actions import Forbidden
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import Ticket
from inbox.reply_time_reports import reply_time_report
from tests.api.conftest import api_for, login
from tests.factories import make_agent, make_contact, make_store, make_team

UTC = timezone.utc
RANGE = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}


class Clock:
    now = None


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("helpdesk.actions.messages.utcnow", lambda: clock.now)
    return clock


def at(clock, day, hhmm, seconds=0):
    clock.now = datetime(2026, 3, day, *map(int, hhmm.split(":")), seconds, tzinfo=UTC)
    return clock.now


def customer(clock, store, contact, day, hhmm, channel="chat"):
    at(clock, day, hhmm)
    ticket = receive_customer_message(store, contact, channel, "Is it in stock?")[0].ticket
    if ticket.created_at > clock.now:
        # No action backdates the opening of a ticket; the time to a first reply counts from it.
        ticket.created_at = clock.now
        db.session.commit()
    return db.session.get(Ticket, ticket.id)


def answer(clock, ticket, agent, day, hhmm, seconds=0):
    at(clock, day, hhmm, seconds)
    return reply(db.session.get(Ticket, ticket.id), agent, "It is.")


@pytest.fixture
def world(clock):
    north = make_store("North", reply_target_chat_first_minutes=2, reply_target_chat_next_minutes=5,
                       reply_target_email_first_minutes=240)
    south = make_store("South", reply_target_chat_first_minutes=2)
    plain = make_store("No targets")
    team = make_team("Chat team")
    ann = make_agent(name="Ann", teams=[team])
    bob = make_agent(name="Bob", stores=[south, north])
    admin = make_agent(name="Ada", role="admin")

    # North, a chat on Monday 2 March: Ann answers in a minute (in time), then 7 minutes after
    # the shopper's next message, with 5 allowed (late). Her note in between counts for nothing.
    dana = make_contact(north, email="dana@example.test")
    chat = customer(clock, north, dana, 2, "10:00")
    answer(clock, chat, ann, 2, "10:01")
    customer(clock, north, dana, 2, "10:05")
    at(clock, 2, "10:06")
    add_note(db.session.get(Ticket, chat.id), ann, "Checking the warehouse")
    answer(clock, chat, ann, 2, "10:12")
    # North, an email on Tuesday: Bob answers after 6 hours, with 4 allowed (late).
    email = customer(clock, north, make_contact(north, email="eve@example.test"), 3, "09:00", channel="email")
    answer(clock, email, bob, 3, "15:00")
    # South, a chat the next Monday: Bob answers in 90 seconds (in time).
    south_chat = customer(clock, south, make_contact(south, email="ira@example.test"), 9, "12:00")
    answer(clock, south_chat, bob, 9, "12:01", 30)
    # A store without targets: its replies are not counted.
    quiet = customer(clock, plain, make_contact(plain, email="oli@example.test"), 4, "08:00")
    answer(clock, quiet, ann, 4, "09:00")
    # Answered on 1 April, outside the range asked for below.
    april = customer(clock, south, make_contact(south, email="late@example.test"), 31, "23:59")
    clock.now = datetime(2026, 4, 1, 0, 1, tzinfo=UTC)
    reply(db.session.get(Ticket, april.id), bob, "Still here.")
    return north, south, team, ann, bob, admin


def figures(row):
    return (row["replies"], row["in_time"], row["in_time_rate"], row["first_reply"]["count"],
            row["first_reply"]["median_seconds"])


def test_per_agent_per_week(world):
    north, south, team, ann, bob, admin = world
    report = reply_time_report(admin, by="agent", period="week", **RANGE)
    assert [(r["period"], r["group"]["name"], *figures(r)) for r in report["rows"]] == [
        ("2026-03-02", "Ann", 2, 1, 0.5, 1, 60.0),
        ("2026-03-02", "Bob", 1, 0, 0.0, 1, 21600.0),
        ("2026-03-09", "Bob", 1, 1, 1.0, 1, 90.0),
    ]
    totals = {r["group"]["id"]: figures(r) for r in report["totals"]}
    assert totals == {ann.id: (2, 1, 0.5, 1, 60.0), bob.id: (2, 1, 0.5, 2, 10845.0)}


def test_per_store_per_day_and_in_total(world):
    north, south, team, ann, bob, admin = world
    stores = reply_time_report(admin, by="store", period="day", **RANGE)["rows"]
    assert [(r["period"], r["group"]["id"], *figures(r)) for r in stores] == [
        ("2026-03-02", north.id, 2, 1, 0.5, 1, 60.0),
        ("2026-03-03", north.id, 1, 0, 0.0, 1, 21600.0),
        ("2026-03-09", south.id, 1, 1, 1.0, 1, 90.0),
    ]
    total = reply_time_report(admin, by="total", period="month", **RANGE)
    assert [(r["period"], *figures(r)) for r in total["rows"]] == [("2026-03-01", 4, 2, 0.5, 3, 90.0)]
    assert figures(total["totals"][0]) == (4, 2, 0.5, 3, 90.0)  # the median of 60, 90 and 21,600 s
    # April's reply is in April's report.
    april = reply_time_report(admin, by="total", date_from=date(2026, 4, 1), date_to=date(2026, 4, 30))
    assert figures(april["totals"][0]) == (1, 1, 1.0, 1, 120.0)


def test_per_team_and_the_filters(world):
    north, south, team, ann, bob, admin = world
    teams = reply_time_report(admin, by="team", period="week", **RANGE)["totals"]
    assert [(r["group"]["name"], r["replies"]) for r in teams] == [("Chat team", 2)]
    assert [r["group"]["id"] for r in reply_time_report(admin, store_id=south.id, **RANGE)["totals"]] == [bob.id]
    assert [r["group"]["id"] for r in reply_time_report(admin, agent_id=ann.id, **RANGE)["totals"]] == [ann.id]


def test_agents_see_only_their_own_replies(world):
    north, south, team, ann, bob, admin = world
    assert [r["group"]["id"] for r in reply_time_report(bob, **RANGE)["totals"]] == [bob.id]
    with pytest.raises(Forbidden):
        reply_time_report(bob, agent_id=ann.id, **RANGE)


def test_the_api_answers_the_same_figures(app, world):
    north, south, team, ann, bob, admin = world
    api = api_for(app, admin)
    response = api.get("/reports/reply-times", query={"by": "store", "period": "week", "date_from": "2026-03-01",
                                                      "date_to": "2026-03-31"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["by"], body["period"]) == ("2026-03-01", "2026-03-31", "store", "week")
    north_row = next(r for r in body["totals"] if r["group"]["id"] == north.id)
    assert (north_row["group"]["name"], north_row["replies"], north_row["in_time"], north_row["in_time_rate"],
            north_row["first_reply"]) == ("North", 3, 1, 0.3333, {"count": 2, "median_seconds": 10830.0})
    assert api.get("/reports/reply-times", query={"period": "year"}).status_code == 422
    assert api_for(app, bob).get("/reports/reply-times", query={"agent": ann.id}).status_code == 403


def test_the_page_shows_the_figures(client, world):
    north, south, team, ann, bob, admin = world
    login(client, admin)
    page = client.get("/inbox/reports/reply-times?by=store&period=week&date_from=2026-03-01&date_to=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    totals = html.split('id="reply-time-totals"')[1].split("</table>")[0]
    assert "North" in totals and "33.3 %" in totals and "3 h 1 min" in totals, totals  # 10,830 s
    assert 'aria-current="page">Reply times' in html
    # The navigation of every report page leads here.
    assert 'href="/inbox/reports/reply-times"' in client.get("/inbox/reports/ratings").get_data(as_text=True)
    assert client.get("/inbox/reports/reply-times?period=year").status_code == 400
