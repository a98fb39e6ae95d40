"""/api/v1/stores/<id>/locations: agents of the store list and read, admins write; bad input
is 422 with the field at fault, never a 500; DELETE deactivates and keeps booked visits."""
import json

import pytest

from helpdesk.extensions import db
from helpdesk.models import StoreLocation
from tests.api.conftest import api_for, count
from tests.factories import make_agent, make_location, make_store

NEW = {"name": "Flagship", "address": "12 Market Street", "timezone": "America/New_York",
       "opening_hours": {"mon": [["09:00", "12:30"], ["13:30", "18:00"]], "sat": [["10:00", "16:00"]]},
       "appointment_minutes": 45}


def test_an_admin_creates_reads_changes_and_deactivates_a_location(admin_api, store):
    created = admin_api.post(f"/stores/{store.id}/locations", NEW)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {k: body[k] for k in NEW} == NEW and body["active"] is True and body["store_id"] == store.id
    url = f"/stores/{store.id}/locations/{body['id']}"

    assert admin_api.get(url).get_json()["name"] == "Flagship"
    changed = admin_api.patch(url, {"name": "Flagship (Main St)", "opening_hours": {"tue": [["10:00", "12:00"]]}})
    assert changed.status_code == 200 and changed.get_json()["opening_hours"] == {"tue": [["10:00", "12:00"]]}

    assert admin_api.delete(url).status_code == 204
    db.session.expire_all()
    assert db.session.get(StoreLocation, body["id"]).active is False  # kept, not deleted
    listed = admin_api.get(f"/stores/{store.id}/locations").get_json()["items"]
    assert [(loc["name"], loc["active"]) for loc in listed] == [("Flagship (Main St)", False)]
    assert admin_api.patch(url, {"active": True}).get_json()["active"] is True


def test_agents_list_and_read_but_never_write(app, store):
    location = make_location(store, "Downtown")
    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    base = f"/stores/{store.id}/locations"
    assert [loc["name"] for loc in agent_api.get(base).get_json()["items"]] == ["Downtown"]
    assert agent_api.get(f"{base}/{location.id}").status_code == 200
    for response in (agent_api.post(base, NEW), agent_api.patch(f"{base}/{location.id}", {"name": "Mine"}),
                     agent_api.delete(f"{base}/{location.id}"),
                     agent_api.post(base, {"name": 5})):  # no validation detail before the 403
        assert response.status_code == 403 and response.get_json()["message"] == "Only admins manage locations."
    db.session.expire_all()
    assert count(StoreLocation) == 1 and db.session.get(StoreLocation, location.id).active


def test_other_stores_and_their_locations_are_not_found(app, store, admin_api):
    other = make_store("Other shop")
    theirs = make_location(other, "Far away")
    outsider = api_for(app, make_agent("Rita", stores=[store]))
    assert outsider.get(f"/stores/{other.id}/locations").status_code == 404
    # A location asked for under the wrong store is not found, even for an admin.
    assert admin_api.get(f"/stores/{store.id}/locations/{theirs.id}").status_code == 404
    assert admin_api.patch(f"/stores/{store.id}/locations/{theirs.id}", {"name": "x"}).status_code == 404
    assert admin_api.delete(f"/stores/{store.id}/locations/{theirs.id}").status_code == 404
    assert admin_api.post("/stores/999999/locations", NEW).status_code == 404


@pytest.mark.parametrize("patch, field, message", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone Mars/Olympus."),
    ({"opening_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "opening_hours",
     "Opening hours on mon overlap."),
    ({"opening_hours": {"mon": [["18:00", "09:00"]]}}, "opening_hours",
     "Opening hours on mon must be HH:MM–HH:MM, opening before closing."),
    ({"appointment_minutes": 600}, "appointment_minutes", "Visits last between 5 minutes and 8 hours."),
    ({"appointment_minutes": "30"}, "appointment_minutes", "Not a valid integer."),
    ({"name": ""}, "name", "Length must be between 1 and 120."),
    ({"name": "x" * 121}, "name", "Length must be between 1 and 120."),
    ({"name": "   "}, "name", "Name the location."),
    ({"address": "x" * 1001}, "address", "Longer than maximum length 1000."),
    ({"email": "not-an-address"}, "email", "Not a valid email address."),
    ({"colour": "red"}, "colour", "Unknown field."),
])
def test_bad_settings_are_422_with_the_field_message(admin_api, store, patch, field, message):
    response = admin_api.post(f"/stores/{store.id}/locations", {**NEW, **patch})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {field: [message]}
    assert count(StoreLocation) == 0


def test_required_fields_and_empty_patches_are_named(admin_api, store):
    assert admin_api.post(f"/stores/{store.id}/locations", data=b"").get_json()["errors"] == {
        "_schema": ["Send a JSON object."], "name": ["Missing data for required field."]}
    location = make_location(store)
    response = admin_api.patch(f"/stores/{store.id}/locations/{location.id}", {})
    assert response.status_code == 422 and response.get_json()["errors"] == {"_schema": ["Nothing to change."]}


ODD = ["", "\u0000", "x" * 5000, 10**30, -1, None, [], {}, True, 1.5, [[["09:00"]]], {"mon": None},
       {"mon": [[None, None]]}, {"mon": [["09:00", "\u0000"]]}, {"\u0000": []}]


def test_garbage_never_makes_a_500(admin_api, store):
    location = make_location(store)
    base = f"/stores/{store.id}/locations"
    for raw in (b"{", b"\xff\xfe", b"[]", b"null", b'"x"', b"[" * 10_000):
        for method, url in (("POST", base), ("PATCH", f"{base}/{location.id}")):
            response = admin_api.request(method, url, data=raw)
            assert response.status_code in (400, 422) and response.is_json, (method, raw[:20])
    for field in ("name", "address", "timezone", "opening_hours", "appointment_minutes", "email", "active"):
        for value in ODD:
            for method, url in (("POST", base), ("PATCH", f"{base}/{location.id}")):
                response = admin_api.request(method, url, data=json.dumps({**NEW, field: value}).encode())
                assert response.status_code < 500 and response.is_json, (method, field, value, response.status_code)
    for bad in ("0", "99999999999999999999", "-1", "abc"):
        assert admin_api.get(f"{base}/{bad}").status_code == 404
