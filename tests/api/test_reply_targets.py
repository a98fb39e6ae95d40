"""Reply targets through the API: the store's settings (refused values answered with field
messages), ``reply_due_at`` in ticket JSON, and the queue by reply due (``sort=due``) and its
overdue tickets (``overdue``), on whichever database the suite runs on."""
from datetime import datetime, timedelta, timezone

import pytest

from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import Store
from tests.api.conftest import api_for
from tests.factories import make_agent, make_contact, make_store

TARGETS = {"reply_target_chat_first_minutes": 2, "reply_target_chat_next_minutes": 5,
           "reply_target_email_first_minutes": 240, "reply_target_email_next_minutes": 480}


def test_an_admin_sets_reply_targets_and_agents_read_them(admin_api, api, store):
    response = admin_api.patch(f"/stores/{store.id}/settings",
                               {**TARGETS, "reply_target_business_hours_only": True})
    assert response.status_code == 200, response.get_json()
    body = api.get(f"/stores/{store.id}/settings").get_json()
    assert {key: body[key] for key in TARGETS} == TARGETS and body["reply_target_business_hours_only"] is True
    # null and 0 both say "no target", stored one way.
    response = admin_api.patch(f"/stores/{store.id}/settings", {"reply_target_chat_next_minutes": None})
    assert response.get_json()["reply_target_chat_next_minutes"] == 0
    db.session.expire_all()
    assert db.session.get(Store, store.id).settings["reply_target_chat_next_minutes"] == 0
    # Until set, a store has none.
    fresh = api.get(f"/stores/{make_store().id}/settings").get_json()
    assert [fresh[key] for key in TARGETS] == [0, 0, 0, 0] and fresh["reply_target_business_hours_only"] is False


@pytest.mark.parametrize("body, field, message", [
    ({"reply_target_chat_first_minutes": -1}, "reply_target_chat_first_minutes",
     "Use 0 (no target) up to 1440 minutes (24 hours)."),
    ({"reply_target_chat_next_minutes": 1441}, "reply_target_chat_next_minutes",
     "Use 0 (no target) up to 1440 minutes (24 hours)."),
    ({"reply_target_email_first_minutes": 20161}, "reply_target_email_first_minutes",
     "Use 0 (no target) up to 20160 minutes (14 days)."),
    ({"reply_target_email_next_minutes": "8h"}, "reply_target_email_next_minutes", "Not a valid integer."),
    ({"reply_target_business_hours_only": "sometimes"}, "reply_target_business_hours_only", "Not a valid boolean."),
])
def test_bad_reply_targets_are_refused_with_the_field_and_change_nothing(admin_api, store, body, field, message):
    admin_api.patch(f"/stores/{store.id}/settings", TARGETS)
    response = admin_api.patch(f"/stores/{store.id}/settings", {**body, "reply_target_chat_first_minutes": 3}
                               if field != "reply_target_chat_first_minutes" else body)
    assert response.status_code == 422
    assert response.get_json()["errors"][field] == [message]
    db.session.expire_all()
    assert {k: db.session.get(Store, store.id).settings[k] for k in TARGETS} == TARGETS


def test_only_admins_change_reply_targets(api, store):
    assert api.patch(f"/stores/{store.id}/settings", TARGETS).status_code == 403


# ---- the queue by reply due -------------------------------------------------------------------

@pytest.fixture
def queue(monkeypatch):
    """Five tickets: two overdue (the older first), one due in four hours, one answered and an
    API one (no target): ``{name: ticket id}``."""
    store = make_store("Linen Lane", **TARGETS)
    agent = make_agent(name="Sam Carter")
    now = datetime.now(timezone.utc)
    written = {}

    def write(name, minutes_ago, channel="chat"):
        monkeypatch.setattr("helpdesk.actions.messages.utcnow", lambda: now - timedelta(minutes=minutes_ago))
        message, _ = receive_customer_message(store, make_contact(store, email=f"{name}@example.test"), channel,
                                              f"Question from {name}")
        written[name] = message.ticket_id
        return message.ticket

    write("late", 60)            # due 58 minutes ago
    write("later", 61)           # due 59 minutes ago: the most overdue
    write("soon", 0, "email")    # due in 4 hours
    reply(write("answered", 30), agent, "Done!")
    write("api", 5, "api")
    monkeypatch.undo()
    return store, written


def walk(api, query, limit=2):
    """Every page of the list: ``[[names...], ...]``."""
    pages, cursor = [], None
    while True:
        response = api.get("/tickets", query={**query, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([item["contact"]["email"].split("@")[0] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_ticket_json_says_when_the_reply_is_due(api, queue):
    _store, ids = queue
    late = api.get(f"/tickets/{ids['late']}").get_json()
    assert datetime.fromisoformat(late["reply_due_at"]) < datetime.now(timezone.utc)
    assert api.get(f"/tickets/{ids['answered']}").get_json()["reply_due_at"] is None
    assert api.get(f"/tickets/{ids['api']}").get_json()["reply_due_at"] is None


def test_sort_by_due_lists_the_soonest_first_then_the_rest_page_by_page(api, queue):
    assert walk(api, {"sort": "due", "status": "open"}) == [["later", "late"], ["soon", "answered"], ["api"]]
    assert walk(api, {"sort": "due"}, limit=1) == [["later"], ["late"], ["soon"], ["answered"], ["api"]]


def test_overdue_lists_the_tickets_past_their_due_time(api, queue):
    assert walk(api, {"overdue": "1", "sort": "due"}) == [["later", "late"]]
    assert sorted(sum(walk(api, {"overdue": "false"}), [])) == ["answered", "api", "soon"]
    # By activity, as the queue is by default: the newest first.
    assert walk(api, {"overdue": "true"}, limit=5) == [["late", "later"]]


def test_a_cursor_of_another_order_is_refused(api, queue):
    first = api.get("/tickets", query={"limit": 1}).get_json()["next_cursor"]
    response = api.get("/tickets", query={"sort": "due", "cursor": first})
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
    assert api.get("/tickets", query={"sort": "soonest"}).status_code == 422


def test_a_search_stays_in_activity_order(api, queue):
    assert walk(api, {"sort": "due", "q": "Question from"}, limit=10) == [["soon", "api", "answered", "late", "later"]]


def test_a_store_the_agent_cannot_see_stays_out_of_the_overdue_list(app, queue):
    store, _ids = queue
    other = make_store("Elsewhere")
    outsider = make_agent(name="Ola Outsider", stores=[other])
    assert api_for(app, outsider).get("/tickets", query={"overdue": "1"}).get_json()["items"] == []
