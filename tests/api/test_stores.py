"""/api/v1/stores: an agent lists the stores they work in; agents of a store read its widget
settings and invitation rules, admins change them through the same actions as the settings
page; bad input is 422 with the field at fault and changes nothing."""
from helpdesk.actions.profile import set_signature
from helpdesk.extensions import db
from helpdesk.models import Store
from tests.api.conftest import api_for
from tests.factories import make_agent, make_store

SETTINGS = {
    "domain": "linen.example.com", "widget_position": "left", "greeting": "Hi <b>there</b>",
    "offline_message": "We answer by email.", "timezone": "Europe/Kyiv",
    "prechat": {"enabled": True, "fields": {"name": "optional", "email": "required", "order_number": "off",
                                            "topic": "optional"}, "topics": ["Sizes", "Returns", "Sizes"]},
    "business_hours": [{"days": [0, 1, 2, 3, 4], "open": "09:00", "close": "18:00"},
                       {"days": [5], "open": "09:00", "close": "18:00"}],
    "inactivity_checkin_minutes": 5, "inactivity_close_minutes": 15,
}
RULE = {"id": "sizes-help", "url_contains": "/products/", "min_seconds_on_page": 20, "message": "Need a <size>?"}


def _stored(store_id):
    db.session.expire_all()
    return db.session.get(Store, store_id)


def test_an_agent_lists_only_the_stores_they_work_in_with_the_install_tag(app, store):
    other = make_store("Other shop")
    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    items = agent_api.get("/stores").get_json()["items"]
    assert [s["name"] for s in items] == ["Main shop"]
    assert items[0]["widget_key"] == store.widget_key
    assert f'data-key="{store.widget_key}"' in items[0]["install_snippet"]
    assert items[0]["signature"] == ""  # neither the store nor Olena has one
    assert agent_api.get(f"/stores/{other.id}/settings").status_code == 404
    assert agent_api.get(f"/stores/{other.id}/invitations").status_code == 404


def test_each_store_lists_what_ends_my_email_replies_there(app, store):
    other = make_store("Other shop", signature="{agent_name}\nThe {store_name} team")
    olena = make_agent("Olena", stores=[store, other])
    items = {s["name"]: s["signature"] for s in api_for(app, olena).get("/stores").get_json()["items"]}
    assert items == {"Main shop": "", "Other shop": "Olena\nThe Other shop team"}
    set_signature(olena, "Olena K.")
    items = {s["name"]: s["signature"] for s in api_for(app, olena).get("/stores").get_json()["items"]}
    assert items == {"Main shop": "Olena K.", "Other shop": "Olena K."}  # mine comes first


def test_an_admin_changes_the_widget_settings_and_agents_read_them(app, admin_api, store, sent_events):
    response = admin_api.patch(f"/stores/{store.id}/settings", SETTINGS)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["widget_position"] == "left" and body["domain"] == "linen.example.com"
    assert body["greeting"] == "Hi <b>there</b>"  # plain text as written; every page escapes it
    assert body["prechat"]["topics"] == ["Sizes", "Returns"]  # the repeated topic once
    # Days with the same times are kept as one entry.
    assert body["business_hours"] == [{"days": [0, 1, 2, 3, 4, 5], "open": "09:00", "close": "18:00"}]
    stored = _stored(store.id)
    assert stored.domain == "linen.example.com" and stored.setting("timezone") == "Europe/Kyiv"
    assert 'data-position="left"' in admin_api.get("/stores").get_json()["items"][0]["install_snippet"]
    # Open widgets hear that the store's hours changed, after the commit.
    assert any(e["event"] == "store.online" for e in sent_events)

    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    assert agent_api.get(f"/stores/{store.id}/settings").get_json() == body
    refused = agent_api.patch(f"/stores/{store.id}/settings", {"greeting": "Mine now"})
    assert refused.status_code == 403
    assert _stored(store.id).setting("greeting") == "Hi <b>there</b>"


def test_only_the_fields_sent_change(admin_api, store):
    admin_api.patch(f"/stores/{store.id}/settings", SETTINGS)
    response = admin_api.patch(f"/stores/{store.id}/settings", {"greeting": "Hello again"})
    assert response.status_code == 200
    stored = _stored(store.id)
    assert stored.setting("greeting") == "Hello again" and stored.setting("widget_position") == "left"
    assert stored.setting("inactivity_close_minutes") == 15


def test_bad_settings_are_refused_with_the_field_and_change_nothing(admin_api, store):
    admin_api.patch(f"/stores/{store.id}/settings", SETTINGS)
    for body, field in [
        ({"widget_position": "top"}, "widget_position"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"domain": "https://shop.example.com/path"}, "domain"),
        ({"business_hours": [{"days": [7], "open": "09:00", "close": "18:00"}]}, "business_hours"),
        ({"business_hours": [{"days": [1], "open": "9am", "close": "18:00"}]}, "business_hours"),
        ({"inactivity_checkin_minutes": 10, "inactivity_close_minutes": 5}, "inactivity_close_minutes"),
        ({"inactivity_close_minutes": "15"}, "inactivity_close_minutes"),
        ({"greeting": "x" * 501}, "greeting"),
        ({"colour": "red"}, "colour"),
    ]:
        response = admin_api.patch(f"/stores/{store.id}/settings", body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())
    stored = _stored(store.id)
    assert stored.setting("widget_position") == "left" and stored.setting("timezone") == "Europe/Kyiv"
    assert stored.domain == "linen.example.com"


def test_an_admin_adds_replaces_and_removes_invitation_rules(app, admin_api, store):
    base = f"/stores/{store.id}/invitations"
    created = admin_api.post(base, RULE)
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {**RULE, "min_pages_viewed": 0, "min_seconds_on_product": 0}
    assert admin_api.post(base, RULE).status_code == 422  # the same name twice

    replaced = admin_api.put(f"{base}/sizes-help", {**RULE, "id": "fit-help", "message": "Which fit?"})
    assert replaced.status_code == 200 and replaced.get_json()["id"] == "fit-help"
    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    assert [r["message"] for r in agent_api.get(base).get_json()["items"]] == ["Which fit?"]
    assert agent_api.delete(f"{base}/fit-help").status_code == 403
    assert admin_api.put(f"{base}/sizes-help", RULE).status_code == 404  # renamed away

    assert admin_api.delete(f"{base}/fit-help").status_code == 204
    assert admin_api.delete(f"{base}/fit-help").status_code == 404
    assert admin_api.get(base).get_json()["items"] == []
    assert _stored(store.id).setting("proactive_rules") == []


def test_bad_rules_are_refused_with_the_field(admin_api, store):
    base = f"/stores/{store.id}/invitations"
    for body, field in [
        ({**RULE, "id": "Sizes Help"}, "id"),
        ({**RULE, "url_contains": "/products/*"}, "url_contains"),
        ({**RULE, "min_seconds_on_page": -1}, "min_seconds_on_page"),
        ({**RULE, "message": ""}, "message"),
        ({k: v for k, v in RULE.items() if k != "message"}, "message"),
    ]:
        response = admin_api.post(base, body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())
    for n in range(20):
        assert admin_api.post(base, {**RULE, "id": f"rule-{n}"}).status_code == 201
    full = admin_api.post(base, {**RULE, "id": "one-more"})
    assert full.status_code == 422 and "id" in full.get_json()["errors"]
    assert len(_stored(store.id).setting("proactive_rules")) == 20


def test_an_admin_sets_the_email_signature_and_unknown_placeholders_are_refused(app, admin_api, store):
    base = f"/stores/{store.id}/settings"
    assert admin_api.get(base).get_json()["signature"] == ""
    response = admin_api.patch(base, {"signature": "{agent_name}\r\nThe {store_name} team  "})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["signature"] == "{agent_name}\nThe {store_name} team"
    for body in ({"signature": "{agent_name} of {shop}"}, {"signature": "{0.__class__}"},
                 {"signature": "x" * 1001}, {"signature": None}, {"signature": 5}):
        refused = admin_api.patch(base, body)
        assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["signature"], body
    assert "{shop}" in admin_api.patch(base, {"signature": "{shop}"}).get_json()["errors"]["signature"][0]
    assert _stored(store.id).setting("signature") == "{agent_name}\nThe {store_name} team"
    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    assert agent_api.patch(base, {"signature": "Mine"}).status_code == 403
