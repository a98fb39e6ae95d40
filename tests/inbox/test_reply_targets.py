"""Reply targets in the inbox: the Store settings page (hours or minutes, readable messages for
refused values), the sidebar's overdue count, and what the inbox page hands its scripts."""
import json
import re
from datetime import datetime, timedelta, timezone

from helpdesk.actions.messages import mark_read, receive_customer_message
from inbox.queries import view_counts
from tests.factories import make_agent, make_contact, make_store
from tests.inbox.test_store_settings import base_form, field_error, settings_of, url
from tests.inbox.test_views import sign_in

TARGETS = {"reply_target_chat_first_minutes": 2, "reply_target_chat_next_minutes": 5,
           "reply_target_email_first_minutes": 240, "reply_target_email_next_minutes": 480}


def test_an_admin_sets_the_targets_in_minutes_and_hours(admin_client, store):
    form = base_form(admin_client.csrf, reply_target_chat_first_minutes="2", reply_target_chat_next_minutes="5",
                     reply_target_email_first="4", reply_target_email_first_unit="hours",
                     reply_target_email_next="90", reply_target_email_next_unit="minutes",
                     reply_target_business_hours_only="1")
    assert admin_client.post(url(store), data=form).status_code == 302
    settings = settings_of(store)
    assert {k: settings[k] for k in TARGETS} == {**TARGETS, "reply_target_email_next_minutes": 90}
    assert settings["reply_target_business_hours_only"] is True
    # Read back as typed: whole hours in hours, the rest in minutes.
    page = admin_client.get(url(store)).get_data(as_text=True)
    assert re.search(r'name="reply_target_chat_first_minutes" [^>]*value="2"', page)
    assert re.search(r'name="reply_target_email_first" [^>]*value="4"', page)
    assert re.search(r'name="reply_target_email_first_unit"[^>]*>\s*<option value="hours" selected', page)
    assert re.search(r'name="reply_target_email_next" [^>]*value="90"', page)
    assert re.search(r'<option value="minutes" selected>minutes</option>', page)
    assert re.search(r'name="reply_target_business_hours_only" value="1"[^>]*checked', page)
    # Emptied: no target.
    assert admin_client.post(url(store), data=base_form(admin_client.csrf)).status_code == 302
    assert [settings_of(store)[k] for k in TARGETS] == [0, 0, 0, 0]


def test_refused_targets_are_explained_at_their_fields_and_nothing_is_saved(admin_client, store):
    form = base_form(admin_client.csrf, reply_target_chat_first_minutes="5000", reply_target_chat_next_minutes="two",
                     reply_target_email_first="15", reply_target_email_first_unit="hours",
                     reply_target_email_next="400", reply_target_email_next_unit="hours")
    response = admin_client.post(url(store), data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved: correct the fields marked below." in page
    assert field_error(page, "reply_target_chat_first_minutes") == "Use 0 (no target) up to 1440 minutes (24 hours)."
    assert field_error(page, "reply_target_chat_next_minutes") == "Not a valid integer."
    assert field_error(page, "reply_target_email_next") == "Use 0 (no target) up to 20160 minutes (14 days)."
    # What was typed stays in the form, to be corrected.
    assert re.search(r'name="reply_target_email_next" [^>]*value="400"', page)
    assert settings_of(store) == {}


def test_the_sidebar_counts_the_overdue_tickets(client, monkeypatch):
    store, elsewhere = make_store("Linen Lane", **TARGETS), make_store("Elsewhere", **TARGETS)
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    monkeypatch.setattr("helpdesk.actions.messages.utcnow", lambda: past)
    late = [receive_customer_message(s, make_contact(s), "chat", "Hello?")[0] for s in (store, store, elsewhere)]
    monkeypatch.undo()
    receive_customer_message(store, make_contact(store), "email", "Not yet due")
    agent = make_agent(name="Rita", stores=[store])
    assert view_counts(agent)["overdue"] == {"total": 2, "unread": 2}
    mark_read(late[0].ticket, "agent", late[0].id)
    assert view_counts(agent)["overdue"] == {"total": 2, "unread": 1}
    assert view_counts(make_agent(name="Ada", role="admin"))["overdue"]["total"] == 3
    assert view_counts(agent, "pending")["overdue"]["total"] == 0  # as the status filter says
    sign_in(client, agent)
    assert client.get("/inbox/api/counts").get_json()["views"]["overdue"] == {"total": 2, "unread": 1}


def test_the_inbox_page_gives_the_queue_each_stores_targets(client):
    store = make_store("Linen Lane", **TARGETS)
    agent = make_agent(name="Rita", stores=[store])
    sign_in(client, agent)
    page = client.get("/inbox/").get_data(as_text=True)
    boot = json.loads(re.search(r'<script type="application/json" id="inbox-data">(.*?)</script>', page, re.S).group(1))
    (mine,) = boot["stores"]
    assert mine["reply_targets"] == {"chat": {"first": 2, "next": 5}, "chat_offline": {"first": 240, "next": 480},
                                     "email": {"first": 240, "next": 480}, "form": {"first": 240, "next": 480},
                                     "api": None}
    # The queue's order and its Overdue view are offered, in words.
    assert '<option value="due">Reply due soonest</option>' in page
    strings = json.loads(re.search(r'<script type="application/json" id="inbox-strings">(.*?)</script>',
                                   page, re.S).group(1))
    assert strings["view_overdue"] == "Overdue" and strings["reply_overdue_by"] == "Overdue by %(time)s"

