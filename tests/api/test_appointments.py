"""/api/v1/appointments and /api/v1/tickets/<id>/appointments: list (filters, cursor pages),
read, book, move, cancel and assign in-store visits through the same actions and rules as the
inbox; another store's visit is not found; refusals are JSON with the field at fault, never a
500; the events sent; two colleagues taking a visit over at once: one wins, the others get 409."""
import threading
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from helpdesk.actions.agents import set_access
from helpdesk.actions.appointments import book_appointment, cancel_appointment
from helpdesk.actions.tickets import update_ticket
from helpdesk.extensions import db
from helpdesk.models import Appointment, Message, OutboxItem, utcnow
from tests.api.conftest import QueryCounter, api_for, count, login
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket
from tests.helpdesk.actions.test_appointments import _next


def _at(weekday, at=time(15, 0)):
    """A wall-clock time at the location, as a booking form sends it."""
    return _next(weekday, at).strftime("%Y-%m-%dT%H:%M")


def reload(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


@pytest.fixture
def shops():
    """Alpha and Beta, each with a location; Sam works everywhere, Bea and Max at Beta only,
    Otto at Alpha only. Dana's conversation is at Beta."""
    alpha, beta = make_store("Alpha shop"), make_store("Beta shop")
    world = {
        "alpha": alpha, "beta": beta,
        "uptown": make_location(alpha, "Uptown"), "downtown": make_location(beta, "Downtown"),
        "sam": make_agent("Sam Carter"), "bea": make_agent("Bea", stores=[beta]),
        "max": make_agent("Max", stores=[beta]), "otto": make_agent("Otto", stores=[alpha]),
        "admin": make_agent("Ada Admin", role="admin"),
    }
    world["ticket"] = make_ticket(beta, make_contact(beta, email="dana@example.test", name="Dana"))
    return world


def _book(world, agent, weekday=1, at=time(15, 0), ticket=None, location=None):
    return book_appointment(ticket or world["ticket"], agent, location=location or world["downtown"],
                            starts_at=_next(weekday, at))


def _unassigned(world, *weekdays):
    """Visits of Sam's at Beta (on ``weekdays``, default Tuesday), at 15:00, left without an
    agent: Sam no longer works there. One visit, or a list of them."""
    visits = [_book(world, world["sam"], weekday) for weekday in weekdays or (1,)]
    set_access(world["sam"], all_stores=False, stores=[world["alpha"]], by=world["admin"])
    visits = [reload(visit) for visit in visits]
    return visits if len(weekdays) > 1 else visits[0]


# ---- book ---------------------------------------------------------------------------------

def test_booking_answers_201_with_the_visit_and_tells_whom_it_should(app, shops, sent_events):
    bea, ticket = shops["bea"], shops["ticket"]
    sent_events.clear()
    response = api_for(app, bea).post(f"/tickets/{ticket.id}/appointments", {
        "location_id": shops["downtown"].id, "starts_at": _at(1), "notes": "Wedding suit"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["ticket_id"], body["store_id"], body["status"], body["sequence"]) == (ticket.id, shops["beta"].id,
                                                                                       "booked", 0)
    assert (body["agent"]["name"], body["location"]["name"], body["local_start"]) == ("Bea", "Downtown", _at(1))
    assert body["contact"]["display_name"] == "Dana" and body["notes"] == "Wedding suit"
    assert body["ends_at"] == (datetime.fromisoformat(body["starts_at"]) + timedelta(minutes=30)).isoformat()
    assert response.headers["Location"].endswith(f"/api/v1/appointments/{body['id']}")
    # The action did what booking in the inbox does: the invitation, the card, the events.
    (invite,) = db.session.scalars(select(OutboxItem)).all()
    assert invite.payload["to"] == "dana@example.test" and invite.payload["calendar"]["method"] == "REQUEST"
    rooms = sorted(e["room"] for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == [f"agent:{bea.id}", f"ticket:{ticket.id}"]
    assert {e["payload"]["change"] for e in sent_events if e["event"] == "appointment.updated"} == {"booked"}

    # For a colleague of the store: the visit is with them.
    other = api_for(app, bea).post(f"/tickets/{ticket.id}/appointments", {
        "location_id": shops["downtown"].id, "starts_at": _at(2), "agent_id": shops["max"].id})
    assert other.status_code == 201 and other.get_json()["agent"]["name"] == "Max"


@pytest.mark.parametrize("body, status, errors", [
    ({"starts_at": "2020-01-01T10:00"}, 422, {"starts_at": ["That time is in the past. Choose a time from now on."]}),
    ({"starts_at": "0001-01-01T00:00:00+14:00"}, 422,
     {"starts_at": ["That time is in the past. Choose a time from now on."]}),
    ({"starts_at": "9999-12-31T23:59:00-05:00"}, 422, {"starts_at": ["Visits can be booked at most 365 days ahead."]}),
    ({"starts_at": "soon"}, 422, {"starts_at": ["Not a valid datetime."]}),
    ({"location_id": 999999}, 404, {"location_id": ["No such location for this store."]}),
    ({"location_id": "1"}, 422, {"location_id": ["Not a valid integer."]}),
    ({"location_id": 0.5}, 422, {"location_id": ["Not a valid integer."]}),
    ({"location_id": 2**31}, 422, {"location_id": ["Must be greater than or equal to 1 and less than or equal to "
                                                   "2147483647."]}),
    ({"agent_id": 999999}, 404, {"agent_id": ["No such agent for this store."]}),
    ({"notes": "x" * 2001}, 422, {"notes": ["Longer than maximum length 2000."]}),
    ({"notes": "a\x00b"}, 422, {"notes": ["Contains a NUL character."]}),
    ({"duration": 60}, 422, {"duration": ["Unknown field."]}),
])
def test_bad_bookings_are_refused_with_the_field_at_fault(api, shops, body, status, errors):
    default = {"location_id": shops["downtown"].id, "starts_at": _at(1)}
    response = api.post(f"/tickets/{shops['ticket'].id}/appointments", {**default, **body})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["errors"] == errors
    assert count(Appointment) == 0


def test_the_inboxs_rules_refuse_closed_hours_clashes_and_other_stores(app, api, shops):
    ticket, url = shops["ticket"], f"/tickets/{shops['ticket'].id}/appointments"
    at_night = api.post(url, {"location_id": shops["downtown"].id, "starts_at": _at(3, time(22, 0))})
    assert at_night.status_code == 422 and list(at_night.get_json()["errors"]) == ["starts_at"]
    assert "is open 09:00–18:00 on Thursday" in at_night.get_json()["message"]

    _book(shops, shops["max"], 1, time(15, 0))
    clash = api.post(url, {"location_id": shops["downtown"].id, "starts_at": _at(1, time(15, 15)),
                           "agent_id": shops["max"].id})
    assert clash.status_code == 409
    assert clash.get_json()["errors"] == {"starts_at": ["Max already has a visit at that time."]}

    # Alpha's location, Alpha's agent: not this store's.
    elsewhere = api.post(url, {"location_id": shops["uptown"].id, "starts_at": _at(1)})
    assert elsewhere.status_code == 404 and list(elsewhere.get_json()["errors"]) == ["location_id"]
    outsider = api.post(url, {"location_id": shops["downtown"].id, "starts_at": _at(2),
                              "agent_id": shops["otto"].id})
    assert outsider.get_json()["errors"] == {"agent_id": ["No such agent for this store."]}
    # Otto cannot even learn that Beta's ticket exists.
    otto = api_for(app, shops["otto"]).post(url, {"location_id": shops["downtown"].id, "starts_at": _at(2)})
    assert otto.status_code == 404 and otto.get_json()["message"] == "No such ticket."

    update_ticket(ticket, shops["sam"], status="closed")
    closed = api.post(url, {"location_id": shops["downtown"].id, "starts_at": _at(4)})
    assert closed.status_code == 409 and list(closed.get_json()["errors"]) == ["status"]
    assert count(Appointment) == 1


def test_garbage_never_makes_a_500(api, shops):
    visit = _book(shops, shops["sam"])
    urls = [("POST", f"/tickets/{shops['ticket'].id}/appointments"), ("PATCH", f"/appointments/{visit.id}"),
            ("POST", f"/appointments/{visit.id}/cancel"), ("POST", f"/appointments/{visit.id}/assign")]
    for method, url in urls:
        for raw in (b"{", b"[]", b"null", b'"x"', b"[" * 10_000, b"", b'{"starts_at": 5}', b'{"agent_id": true}',
                    b'{"reason": ["x"]}', b'{"other": 1}'):
            response = api.request(method, url, data=raw)
            assert response.status_code in (400, 404, 409, 422) and response.is_json, (method, url, raw[:20],
                                                                                       response.status_code)
    for bad_id in ("0", "99999999999999999999", "abc", "-1"):
        assert api.get(f"/appointments/{bad_id}").status_code == 404
    assert reload(visit).sequence == 0 and reload(visit).status == "booked"


# ---- read and list ------------------------------------------------------------------------

def test_another_stores_visit_is_not_found_like_one_that_does_not_exist(app, shops):
    visit = _book(shops, shops["sam"])
    otto = api_for(app, shops["otto"])
    mine = api_for(app, shops["bea"]).get(f"/appointments/{visit.id}")
    assert mine.status_code == 200 and mine.get_json()["id"] == visit.id
    theirs, missing = otto.get(f"/appointments/{visit.id}"), otto.get("/appointments/999999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json() == {"message": "No such appointment.", "status": 404,
                                                         "errors": {"_schema": ["No such appointment."]}}
    for response in (otto.patch(f"/appointments/{visit.id}", {"notes": "x"}),
                     otto.post(f"/appointments/{visit.id}/cancel", {}),
                     otto.post(f"/appointments/{visit.id}/assign", {})):
        assert response.get_json() == missing.get_json()
    assert otto.get("/appointments").get_json() == {"items": [], "next_cursor": None}
    assert otto.get("/appointments", query={"ticket_id": shops["ticket"].id}).status_code == 404
    assert otto.get("/appointments", query={"store_id": shops["beta"].id}).status_code == 404
    visit = reload(visit)
    assert (visit.status, visit.sequence, visit.notes) == ("booked", 0, "")


def test_the_list_filters_combine(app, shops):
    sam, bea, beta = shops["sam"], shops["bea"], shops["beta"]
    other_ticket = make_ticket(beta, make_contact(beta, name="Eve"))
    at_alpha = _book(shops, sam, 1, time(10, 0), ticket=make_ticket(shops["alpha"]), location=shops["uptown"])
    beas = _book(shops, bea, 2)
    cancelled = cancel_appointment(_book(shops, bea, 3), bea)
    other = _book(shops, shops["max"], 4, ticket=other_ticket)
    left = _unassigned(shops, 5)
    api = api_for(app, bea)

    def ids(**query):
        response = api.get("/appointments", query=query)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    # Soonest first, and Beta's only: Bea does not see Alpha's visit.
    assert ids() == [beas.id, cancelled.id, other.id, left.id]
    assert at_alpha.id in [item["id"] for item in api_for(app, sam).get("/appointments").get_json()["items"]]
    assert ids(mine=1) == ids(mine="true") == [beas.id, cancelled.id]
    assert ids(mine=0) == ids()
    assert ids(unassigned=1) == [left.id]
    assert ids(mine=1, unassigned=1) == []
    assert ids(ticket_id=other_ticket.id) == [other.id]
    assert ids(store_id=beta.id, status="cancelled") == [cancelled.id]
    assert ids(status="booked", mine=1) == [beas.id]
    # A span: the visits that overlap it (a time without an offset is UTC).
    start = beas.starts_at
    assert ids(**{"from": start.isoformat(), "to": (start + timedelta(minutes=1)).isoformat()}) == [beas.id]
    assert ids(**{"from": (start + timedelta(minutes=29)).strftime("%Y-%m-%dT%H:%M:%S")})[0] == beas.id
    assert ids(**{"from": (start + timedelta(minutes=30)).isoformat()})[0] == cancelled.id
    assert ids(to=start.isoformat()) == []
    # A visit whose agent left and is over no longer waits for anyone.
    left.starts_at, left.ends_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(hours=1)
    db.session.commit()
    assert ids(unassigned=1) == [] and left.id in ids()


def test_pages_follow_the_cursor_and_the_query_count_stays_flat(app, shops):
    bea = shops["bea"]
    visits = [_book(shops, bea, weekday, at, ticket=make_ticket(shops["beta"], make_contact(shops["beta"])))
              for weekday in (1, 2) for at in (time(10, 0), time(11, 0), time(12, 0))]
    api = api_for(app, bea)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        body = api.get("/appointments", query=query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            break
    assert seen == [v.id for v in visits] and pages == 2

    def queries(limit):
        db.session.expire_all()
        with QueryCounter() as counter:
            assert len(api.get("/appointments", query={"limit": limit}).get_json()["items"]) == limit
        return counter.count
    assert queries(6) == queries(1)  # each visit's customer is not a query of its own


@pytest.mark.parametrize("query, field", [
    ({"mine": "maybe"}, "mine"), ({"unassigned": "2"}, "unassigned"), ({"from": "yesterday"}, "from"),
    ({"to": "9999-12-31T23:59:00-05:00"}, "to"), ({"status": "done"}, "status"), ({"store_id": "0"}, "store_id"),
    ({"ticket_id": "x"}, "ticket_id"), ({"ticket_id": str(2**31)}, "ticket_id"), ({"limit": "101"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": "eyJ0IjoieCIsImkiOjF9"}, "cursor"),
    ({"colour": "red"}, "colour"),
])
def test_bad_list_parameters_are_422_with_the_parameter_named(api, shops, query, field):
    response = api.get("/appointments", query=query)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]


# ---- move and cancel ------------------------------------------------------------------------

def test_moving_keeps_the_uid_raises_the_sequence_and_changes_only_what_is_sent(app, shops):
    visit = _book(shops, shops["bea"])
    api = api_for(app, shops["bea"])
    moved = api.patch(f"/appointments/{visit.id}", {"starts_at": _at(2, time(11, 0))})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert (body["uid"], body["sequence"], body["local_start"], body["agent"]["name"]) == (
        visit.uid, 1, _at(2, time(11, 0)), "Bea")
    # The same again: nothing changes, no new invitation.
    invites = count(OutboxItem)
    assert api.patch(f"/appointments/{visit.id}", {"starts_at": _at(2, time(11, 0))}).get_json()["sequence"] == 1
    assert count(OutboxItem) == invites
    handed = api.patch(f"/appointments/{visit.id}", {"agent_id": shops["max"].id, "notes": "Bring the fabric"})
    assert handed.get_json()["agent"]["name"] == "Max" and handed.get_json()["notes"] == "Bring the fabric"

    nothing = api.patch(f"/appointments/{visit.id}", {})
    assert nothing.status_code == 422 and nothing.get_json()["errors"] == {"_schema": ["Nothing to change."]}
    past = api.patch(f"/appointments/{visit.id}", {"starts_at": "2020-01-01T10:00"})
    assert past.status_code == 422 and list(past.get_json()["errors"]) == ["starts_at"]
    elsewhere = api.patch(f"/appointments/{visit.id}", {"location_id": shops["uptown"].id})
    assert elsewhere.status_code == 404 and list(elsewhere.get_json()["errors"]) == ["location_id"]
    assert reload(visit).sequence == 2


def test_cancelling_is_a_state_change_that_keeps_the_visit(app, shops, sent_events):
    visit = _book(shops, shops["bea"])
    api = api_for(app, shops["bea"])
    sent_events.clear()
    response = api.post(f"/appointments/{visit.id}/cancel", {"reason": "Shop closed for inventory"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["sequence"], body["notes"]) == ("cancelled", 1, "Shop closed for inventory")
    last = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    assert last.payload["calendar"]["method"] == "CANCEL"
    assert {e["payload"]["change"] for e in sent_events if e["event"] == "appointment.updated"} == {"cancelled"}
    # Again: nothing more happens.
    assert api.post(f"/appointments/{visit.id}/cancel", {}).get_json()["sequence"] == 1
    moved = api.patch(f"/appointments/{visit.id}", {"starts_at": _at(2)})
    assert moved.status_code == 409 and moved.get_json()["message"] == "This visit was cancelled; book a new one."
    assert api.get(f"/appointments/{visit.id}").get_json()["status"] == "cancelled"


# ---- assign ----------------------------------------------------------------------------------

def test_a_colleague_takes_over_or_gives_a_visit_without_an_agent(app, shops, sent_events):
    beta = shops["beta"]
    visit, other = _unassigned(shops, 1, 2)
    bea, max_ = api_for(app, shops["bea"]), api_for(app, shops["max"])
    assert [i["id"] for i in bea.get("/appointments", query={"unassigned": 1}).get_json()["items"]] == [visit.id,
                                                                                                      other.id]

    sent_events.clear()
    taken = bea.post(f"/appointments/{visit.id}/assign", {})
    assert taken.status_code == 200, taken.get_json()
    assert (taken.get_json()["agent"]["name"], taken.get_json()["sequence"]) == ("Bea", visit.sequence)
    rooms = sorted(e["room"] for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == [f"store:{beta.id}:agents", f"ticket:{visit.ticket_id}"]
    assert not [e for e in sent_events if e["room"].startswith("visitor:")]  # the shopper hears nothing

    late = max_.post(f"/appointments/{visit.id}/assign", {})
    assert late.status_code == 409
    assert late.get_json()["errors"] == {"agent_id": ["Bea is the agent of this visit already."]}
    assert [i["id"] for i in bea.get("/appointments", query={"unassigned": 1}).get_json()["items"]] == [other.id]

    # Given to a colleague: only one of the store, free then.
    outsider = bea.post(f"/appointments/{other.id}/assign", {"agent_id": shops["otto"].id})
    assert outsider.status_code == 404 and outsider.get_json()["errors"] == {
        "agent_id": ["No such agent for this store."]}
    _book(shops, shops["max"], weekday=2, at=time(15, 15))
    busy = bea.post(f"/appointments/{other.id}/assign", {"agent_id": shops["max"].id})
    assert busy.status_code == 409 and busy.get_json()["errors"] == {"starts_at": ["Max already has a visit at that time."]}
    given = bea.post(f"/appointments/{other.id}/assign", {"agent_id": shops["admin"].id})
    assert given.status_code == 200 and given.get_json()["agent"]["name"] == "Ada Admin"
    event = db.session.scalars(select(Message).where(Message.ticket_id == other.ticket_id)
                               .order_by(Message.id.desc())).first()
    assert event.body_text.startswith("Bea gave the visit at Downtown on ") and event.body_text.endswith(
        " to Ada Admin.")


def test_moving_a_visit_without_an_agent_to_a_colleague_tells_the_stores_agents(app, shops, sent_events):
    """Its agent changes from none to Max: every agent of the store must stop listing it."""
    visit = _unassigned(shops)
    sent_events.clear()
    moved = api_for(app, shops["bea"]).patch(f"/appointments/{visit.id}", {"agent_id": shops["max"].id})
    assert moved.status_code == 200 and moved.get_json()["agent"]["name"] == "Max"
    rooms = sorted(e["room"] for e in sent_events if e["event"] == "appointment.updated")
    assert rooms == [f"store:{shops['beta'].id}:agents", f"ticket:{visit.ticket_id}"]


def test_colleagues_taking_it_over_at_the_same_moment_one_wins_the_others_get_409(app, shops):
    visit = _unassigned(shops)
    takers = [shops["bea"], shops["max"]] + [make_agent(f"Taker {n}", stores=[shops["beta"]]) for n in range(2)]
    clients = [api_for(app, agent) for agent in takers]
    for client in clients:  # each token's first use is written now, not during the race
        assert client.get(f"/appointments/{visit.id}").status_code == 200
    barrier, answers = threading.Barrier(len(clients)), []

    def take(client):
        barrier.wait()
        response = client.post(f"/appointments/{visit.id}/assign", {})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=take, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in answers) == [200, 409, 409, 409], answers
    (winner,) = [body["agent"]["name"] for status, body in answers if status == 200]
    assert {body["message"] for status, body in answers if status == 409} == {
        f"{winner} is the agent of this visit already."}
    assert reload(visit).agent.name == winner
    assert count(Message, Message.ticket_id == visit.ticket_id, Message.body_text.like("% took over the visit %")) == 1


# ---- session, OpenAPI ------------------------------------------------------------------------

def test_from_the_inbox_session_a_change_needs_the_csrf_token(client, shops):
    visit = _unassigned(shops)
    token = login(client, shops["bea"])
    url = f"/api/v1/appointments/{visit.id}/assign"
    assert client.post(url, json={}).status_code == 400
    assert reload(visit).agent_id is None
    assert client.post(url, json={}, headers={"X-CSRFToken": token}).status_code == 200
    assert client.get("/api/v1/appointments?mine=1").get_json()["items"][0]["id"] == visit.id


def test_the_openapi_document_lists_the_appointment_operations(api):
    spec = api.get("/openapi.json").get_json()
    paths = spec["paths"]
    operations = {(path, method) for path, ops in paths.items() if "appointments" in path for method in ops}
    assert operations == {
        ("/api/v1/appointments", "get"), ("/api/v1/appointments/{appointment_id}", "get"),
        ("/api/v1/appointments/{appointment_id}", "patch"), ("/api/v1/appointments/{appointment_id}/cancel", "post"),
        ("/api/v1/appointments/{appointment_id}/assign", "post"), ("/api/v1/tickets/{ticket_id}/appointments", "post"),
    }
    query = {p["name"] for p in paths["/api/v1/appointments"]["get"]["parameters"] if p["in"] == "query"}
    assert query == {"mine", "unassigned", "ticket_id", "store_id", "status", "from", "to", "limit", "cursor"}
    book = paths["/api/v1/tickets/{ticket_id}/appointments"]["post"]
    assert {"201", "404", "409", "422"} <= set(book["responses"]) and book["tags"] == ["appointments"]
    assert {"409", "404"} <= set(paths["/api/v1/appointments/{appointment_id}/assign"]["post"]["responses"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["AppointmentArgs"]["required"]) == {"location_id", "starts_at"}
    assert {"Appointment", "AppointmentPage", "AppointmentUpdateArgs", "AppointmentCancelArgs",
            "AppointmentAssignArgs"} <= set(schemas)
    assert schemas["AppointmentPage"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Appointment"}


def test_times_are_answered_in_utc_with_the_shops_wall_clock_beside(api, shops):
    visit = _book(shops, shops["sam"], 1, time(15, 0))
    body = api.get(f"/appointments/{visit.id}").get_json()
    starts = datetime.fromisoformat(body["starts_at"])
    assert starts.utcoffset() == timedelta(0) and starts == visit.starts_at.astimezone(timezone.utc)
    assert body["local_start"] == _at(1, time(15, 0)) and body["location"]["timezone"] == "Europe/Paris"
