"""Admins' store settings page (inbox/store_settings.py): each section saves in the shape the
widget and the rest of the code read, invalid input changes nothing, only admins get in."""
import html
import re

import pytest
from markupsafe import escape

from helpdesk.extensions import db
from helpdesk.models import Store
from tests.factories import make_agent, make_store
from tests.inbox.test_views import sign_in


@pytest.fixture
def store():
    return make_store("Main shop")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


def url(store, rest=""):
    return f"/inbox/settings/stores/{store.id}{rest}"


def base_form(token, **changes):
    """The settings form as the page sends it for a store with the default settings."""
    form = {"csrf_token": token, "domain": "", "widget_position": "right", "greeting": "", "offline_message": "",
            "prechat_enabled": "1", "prechat_name": "optional", "prechat_email": "required",
            "prechat_order_number": "off", "prechat_topic": "off", "prechat_topics": "", "timezone": "UTC",
            "hours_mode": "always", "inactivity_checkin_minutes": "5", "inactivity_close_minutes": "15",
            "signature": ""}
    for day in range(7):
        form[f"hours_{day}_open"] = form[f"hours_{day}_close"] = ""
    form.update(changes)
    return form


def settings_of(store):
    db.session.expire_all()
    return dict(db.session.get(Store, store.id).settings or {})


def field_error(page, input_id_part):
    """The message of field ``input_id_part`` (its id ss-<name>-error), checked to be linked
    from the field with aria-describedby."""
    found = re.search(rf'<p id="(ss-{input_id_part}-error|rule-{input_id_part}-error)" class="error field-error">([^<]+)</p>', page)
    assert found, f"no error for {input_id_part}"
    assert re.search(rf'aria-describedby="[^"]*{found.group(1)}', page)
    return html.unescape(found.group(2))


# ---- saving each section -------------------------------------------------------------------

def test_admin_saves_the_widget_section(client, store, admin):
    token = sign_in(client, admin)
    response = client.post(url(store), data=base_form(
        token, widget_position="left", greeting="  Hi there!  ", offline_message="Back at 9.",
        prechat_enabled="", prechat_order_number="required", prechat_topic="optional",
        prechat_topics="Shipping\n\nReturns\nShipping\n", domain="Shop.Example.com"))
    assert response.status_code == 302
    settings = settings_of(store)
    assert settings["widget_position"] == "left"
    assert settings["greeting"] == "Hi there!" and settings["offline_message"] == "Back at 9."
    assert settings["prechat"] == {"enabled": False, "topics": ["Shipping", "Returns"],
                                   "fields": {"name": "optional", "email": "required",
                                              "order_number": "required", "topic": "optional"}}
    assert db.session.get(Store, store.id).domain == "shop.example.com"
    page = client.get(url(store)).get_data(as_text=True)
    assert "Store settings saved." in page
    assert f'data-key="{store.widget_key}" data-position="left"' in html.unescape(page)


def test_admin_saves_business_hours(client, store, admin, sent_events):
    token = sign_in(client, admin)
    form = base_form(token, timezone="Europe/Paris", hours_mode="set")
    for day in range(5):
        form[f"hours_{day}_open"], form[f"hours_{day}_close"] = "09:00", "18:00"
    form["hours_5_open"], form["hours_5_close"] = "10:00", "00:00"  # closing at midnight
    assert client.post(url(store), data=form).status_code == 302
    settings = settings_of(store)
    assert settings["timezone"] == "Europe/Paris"
    assert settings["business_hours"] == [{"days": [0, 1, 2, 3, 4], "open": "09:00", "close": "18:00"},
                                          {"days": [5], "open": "10:00", "close": "24:00"}]
    # Open widgets hear whether the store is online under the new hours.
    assert [e["room"] for e in sent_events if e["event"] == "store.online"] == [f"store:{store.id}:visitors"]
    # The page reads them back; "always open" again is the empty list.
    page = client.get(url(store)).get_data(as_text=True)
    assert 'name="hours_0_open" value="09:00"' in page and 'name="hours_6_open" value=""' in page
    assert client.post(url(store), data=base_form(token, timezone="Europe/Paris")).status_code == 302
    assert settings_of(store)["business_hours"] == []


def test_admin_saves_inactivity_minutes(client, store, admin):
    token = sign_in(client, admin)
    assert client.post(url(store), data=base_form(token, inactivity_checkin_minutes="0",
                                                  inactivity_close_minutes="30")).status_code == 302
    settings = settings_of(store)
    assert settings["inactivity_checkin_minutes"] == 0 and settings["inactivity_close_minutes"] == 30


def test_the_widget_reads_what_was_saved(client, store, admin):
    token = sign_in(client, admin)
    client.post(url(store), data=base_form(token, greeting="Welcome to Main shop", widget_position="left",
                                           prechat_enabled=""))
    client.post(url(store, "/rules"), data={"csrf_token": token, "id": "sizes", "url_contains": "/products/",
                                            "min_seconds_on_page": "20", "min_pages_viewed": "2",
                                            "min_seconds_on_product": "", "message": "Need a size?"})
    config = client.post("/widget/api/session", json={"key": store.widget_key}).get_json()["store"]
    assert config["greeting"] == "Welcome to Main shop" and config["position"] == "left"
    assert config["prechat"]["enabled"] is False
    ping = client.post("/widget/api/ping", data='{"key": "%s"}' % store.widget_key, content_type="text/plain")
    assert ping.get_json()["rules"] == [{"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 20,
                                         "min_pages_viewed": 2, "min_seconds_on_product": 0, "message": "Need a size?"}]


def test_invitation_rules_add_edit_delete(client, store, admin):
    token = sign_in(client, admin)
    rule = {"csrf_token": token, "id": "sizes", "url_contains": "/products/", "min_seconds_on_page": "20",
            "min_pages_viewed": "0", "min_seconds_on_product": "0", "message": "Need a size?"}
    assert client.post(url(store, "/rules"), data=rule).status_code == 302
    assert client.post(url(store, "/rules"), data={**rule, "id": "cart", "url_contains": "/cart"}).status_code == 302
    # The same name twice is refused.
    again = client.post(url(store, "/rules"), data=rule)
    assert again.status_code == 422 and field_error(again.get_data(as_text=True), "id") == "Another rule has this name."
    page = client.get(url(store, "?rule=sizes")).get_data(as_text=True)
    assert 'name="replaces" value="sizes"' in page and 'value="/products/"' in page
    edited = {**rule, "replaces": "sizes", "id": "size-help", "message": "Which size?"}
    assert client.post(url(store, "/rules"), data=edited).status_code == 302
    assert [r["id"] for r in settings_of(store)["proactive_rules"]] == ["size-help", "cart"]
    assert settings_of(store)["proactive_rules"][0]["message"] == "Which size?"
    assert client.post(url(store, "/rules/cart/delete"), data={"csrf_token": token}).status_code == 302
    assert [r["id"] for r in settings_of(store)["proactive_rules"]] == ["size-help"]
    assert client.post(url(store, "/rules/cart/delete"), data={"csrf_token": token}).status_code == 302  # gone: a message
    assert "That rule no longer exists." in client.get(url(store)).get_data(as_text=True)


# ---- who may ---------------------------------------------------------------------------------

def test_a_store_that_does_not_exist_is_404_even_past_32_bits(client, admin):
    sign_in(client, admin)
    for store_id in (999999, 2**31, 2**40):
        assert client.get(f"/inbox/settings/stores/{store_id}").status_code == 404


def test_only_admins_get_in(client, store):
    other = make_store("Other shop")
    agent = make_agent("Rita", stores=[store])
    token = sign_in(client, agent)
    assert "/inbox/settings/stores" not in client.get("/inbox/").get_data(as_text=True)
    assert client.get("/inbox/settings/stores").status_code == 403
    for target in (store, other):  # neither the agent's own store nor another one
        assert client.get(url(target)).status_code == 403
        assert client.post(url(target), data=base_form(token, greeting="hacked")).status_code == 403
        assert client.post(url(target, "/rules"), data={"csrf_token": token, "id": "x", "message": "x"}).status_code == 403
    assert settings_of(store) == {} and settings_of(other) == {}


def test_signed_out_is_sent_to_sign_in(client, store):
    assert client.get(url(store)).status_code == 302


def test_picker_lists_stores_and_admins_see_the_link(client, store, admin):
    sign_in(client, admin)
    assert "/inbox/settings/stores" in client.get("/inbox/").get_data(as_text=True)
    assert client.get("/inbox/settings/stores").headers["Location"].endswith(url(store))  # one store: straight there
    other = make_store("Other shop")
    page = client.get("/inbox/settings/stores").get_data(as_text=True)
    assert url(store) in page and url(other) in page
    assert client.get(f"/inbox/settings/stores?store={other.id}").headers["Location"].endswith(url(other))
    assert client.get("/inbox/settings/stores/999999").status_code == 404


# ---- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field, message", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"hours_mode": "set", "hours_2_open": "18:00", "hours_2_close": "09:00"}, "hours_2_close",
     "Closing time must be after opening time."),
    ({"hours_mode": "set", "hours_1_open": "9am", "hours_1_close": "18:00"}, "hours_1_open", "Use a time like 09:00."),
    ({"hours_mode": "set"}, "hours_mode", "at least one day"),
    ({"inactivity_checkin_minutes": "-5"}, "inactivity_checkin_minutes", "greater than or equal to 0"),
    ({"inactivity_close_minutes": "soon"}, "inactivity_close_minutes", "Not a valid integer."),
    ({"inactivity_checkin_minutes": "20", "inactivity_close_minutes": "10"}, "inactivity_close_minutes", "later than"),
    ({"widget_position": "middle"}, "widget_position", "Must be one of"),
    ({"prechat_email": "maybe"}, "prechat_email", "Must be one of"),
    ({"domain": "https://shop.example.com/"}, "domain", "domain only"),
    ({"greeting": "x" * 501}, "greeting", "Longer than maximum length 500."),
    ({"signature": "{agent} at {store_name} {Store}"}, "signature",
     "Unknown placeholder {agent}, {Store}. Use {agent_name} or {store_name}."),
    ({"signature": "x" * 1001}, "signature", "Longer than maximum length 1000."),
])
def test_invalid_settings_change_nothing_and_say_why(client, store, admin, changes, field, message):
    token = sign_in(client, admin)
    # Valid changes alongside the bad one are not saved either.
    response = client.post(url(store), data=base_form(token, **{"greeting": "New greeting", **changes}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in field_error(page, field)
    assert "Nothing was saved" in page
    if "greeting" not in changes:
        assert ">New greeting</textarea>" in page  # what was typed is kept
    for key, value in changes.items():
        if key not in ("widget_position", "prechat_email") and len(value) < 100:  # choices show their options
            assert html.escape(value) in page
    assert settings_of(store) == {}


@pytest.mark.parametrize("changes, field", [
    ({"url_contains": "/products/*"}, "url_contains"),
    ({"url_contains": "/my page"}, "url_contains"),
    ({"id": "Big Sale!"}, "id"),
    ({"message": "  "}, "message"),
    ({"min_seconds_on_page": "-1"}, "min_seconds_on_page"),
])
def test_a_bad_rule_changes_nothing(client, store, admin, changes, field):
    token = sign_in(client, admin)
    rule = {"csrf_token": token, "id": "sizes", "url_contains": "/products/", "min_seconds_on_page": "20",
            "min_pages_viewed": "0", "min_seconds_on_product": "0", "message": "Need a size?", **changes}
    response = client.post(url(store, "/rules"), data=rule)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, field)
    assert html.escape(changes[field]) in page  # kept as typed
    assert "proactive_rules" not in settings_of(store)


def test_a_post_without_the_csrf_token_is_refused(client, store, admin):
    token = sign_in(client, admin)
    form = base_form(token, greeting="No token")
    del form["csrf_token"]
    assert client.post(url(store), data=form).status_code == 400
    assert client.post(url(store, "/rules"), data={"id": "x", "message": "x"}).status_code == 400
    assert settings_of(store) == {}


def test_html_in_the_greeting_is_stored_as_text_and_shown_escaped(client, store, admin):
    token = sign_in(client, admin)
    greeting = '<script>alert("hi")</script><b>Hello</b>'
    assert client.post(url(store), data=base_form(token, greeting=greeting)).status_code == 302
    assert settings_of(store)["greeting"] == greeting
    client.post(url(store, "/rules"), data={"csrf_token": token, "id": "x", "message": "<img src=x onerror=alert(1)>"})
    page = client.get(url(store)).get_data(as_text=True)
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert str(escape(greeting)) in page


def test_admin_saves_the_email_signature_and_it_is_shown_back_as_text(client, store, admin):
    token = sign_in(client, admin)
    signature = "{agent_name}\r\nThe {store_name} team <script>alert(1)</script>\r\n"
    assert client.post(url(store), data=base_form(token, signature=signature)).status_code == 302
    assert settings_of(store)["signature"] == "{agent_name}\nThe {store_name} team <script>alert(1)</script>"
    page = client.get(url(store)).get_data(as_text=True)
    assert 'for="ss-signature"' in page and 'aria-describedby="ss-signature-help"' in page
    assert "<script>alert(1)" not in page and "team &lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in page
    # Emptied, the store has none.
    assert client.post(url(store), data=base_form(token)).status_code == 302
    assert settings_of(store)["signature"] == ""
