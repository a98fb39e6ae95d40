"""A customer's data over the API: GET /contacts/<id>/export (a JSON file) and
POST /contacts/<id>/erase (``{"confirm": true}``), admins only, refusals with field errors."""
import pytest

from helpdesk.actions.contacts import merge_contacts
from helpdesk.actions.messages import add_note
from helpdesk.extensions import db
from helpdesk.models import Contact, Message
from helpdesk.models.people import ERASED
from tests.api.conftest import api_for, login
from tests.factories import make_agent, make_contact, make_store, make_ticket


@pytest.fixture
def shopper(store):
    contact = make_contact(store, email="vera@example.test", name="Vera Lind", phone="+46 70 123 45 67")
    ticket = make_ticket(store, contact, text="My address is Storgatan 5, please change it")
    return contact, ticket


def test_admin_downloads_the_export_as_a_json_file(admin_api, agent, shopper):
    contact, ticket = shopper
    add_note(ticket, agent, "Vera called twice, internal only")
    response = admin_api.get(f"/contacts/{contact.id}/export")
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="contact-{contact.id}-export.json"'
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["contact"]["email"] == "vera@example.test"
    assert [m["text"] for m in body["tickets"][0]["messages"]] == ["My address is Storgatan 5, please change it"]
    assert "internal only" not in response.get_data(as_text=True)


def test_agents_get_403_and_other_stores_404(app, api, admin_api, store, shopper):
    contact, _ticket = shopper
    # An all-stores agent sees the contact, but is no admin.
    for response in (api.get(f"/contacts/{contact.id}/export"),
                     api.post(f"/contacts/{contact.id}/erase", {"confirm": True})):
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["status"] == 403
    # Refused before the body is read: validation tells a non-admin nothing either.
    assert api.post(f"/contacts/{contact.id}/erase", {"confirm": "maybe"}).status_code == 403
    # An agent of another store does not learn that the contact exists.
    elsewhere = api_for(app, make_agent(stores=[make_store()]))
    assert elsewhere.get(f"/contacts/{contact.id}/export").status_code == 404
    assert elsewhere.post(f"/contacts/{contact.id}/erase", {"confirm": True}).status_code == 404
    assert admin_api.get("/contacts/424242/export").status_code == 404
    assert admin_api.post("/contacts/424242/erase", {"confirm": True}).status_code == 404
    assert db.session.get(Contact, contact.id).email == "vera@example.test"


@pytest.mark.parametrize("body", [{}, {"confirm": False}, {"confirm": "true"}, {"confirm": 1}, {"confirm": None}])
def test_erase_needs_confirm_true(admin_api, shopper, body):
    contact, _ticket = shopper
    response = admin_api.post(f"/contacts/{contact.id}/erase", body)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == ["confirm"]
    assert db.session.get(Contact, contact.id).email == "vera@example.test"


def test_erase_refuses_unknown_fields(admin_api, shopper):
    contact, _ticket = shopper
    response = admin_api.post(f"/contacts/{contact.id}/erase", {"confirm": True, "keep_orders": False})
    assert response.status_code == 422 and "keep_orders" in response.get_json()["errors"]


def test_erase_answers_the_placeholder_then_refuses_again(admin_api, shopper):
    contact, ticket = shopper
    assert [t["id"] for t in admin_api.get("/tickets", query={"q": "Storgatan"}).get_json()["items"]] == [ticket.id]
    response = admin_api.post(f"/contacts/{contact.id}/erase", {"confirm": True})
    assert response.status_code == 200, response.get_json()
    placeholder = response.get_json()
    assert placeholder["name"] == placeholder["display_name"] == f"Erased customer #{contact.id}"
    assert (placeholder["email"], placeholder["phone"]) == (None, None)
    assert placeholder["platform_ids"]["erased"]["by_agent_id"] is not None
    assert db.session.query(Message.body_text).filter_by(ticket_id=ticket.id).scalar() == ERASED
    # The inbox's search (the queue's ?q=) finds neither the words nor the person.
    for q in ("Storgatan", "Vera", "vera@example"):
        assert admin_api.get("/tickets", query={"q": q}).get_json()["items"] == [], q
    again = admin_api.post(f"/contacts/{contact.id}/erase", {"confirm": True})
    assert again.status_code == 409 and "contact_id" in again.get_json()["errors"]
    # The placeholder cannot be given personal data again.
    edit = admin_api.patch(f"/contacts/{contact.id}", {"email": "vera@example.test"})
    assert edit.status_code == 409 and "contact_id" in edit.get_json()["errors"]


def test_a_merged_duplicate_is_erased_through_the_contact_it_was_merged_into(admin_api, agent, store, shopper):
    contact, _ticket = shopper
    duplicate = make_contact(store, email="vera.old@example.test", name="V. Lind")
    merge_contacts(contact, duplicate, agent)
    response = admin_api.post(f"/contacts/{duplicate.id}/erase", {"confirm": True})
    assert response.status_code == 409 and "contact_id" in response.get_json()["errors"]
    assert admin_api.post(f"/contacts/{contact.id}/erase", {"confirm": True}).status_code == 200
    assert db.session.get(Contact, duplicate.id).name == f"Erased customer #{duplicate.id}"


def test_from_the_inbox_session_the_erase_needs_the_csrf_token(client, admin, shopper):
    contact, _ticket = shopper
    token = login(client, admin)
    refused = client.post(f"/api/v1/contacts/{contact.id}/erase", json={"confirm": True})
    assert refused.status_code in (400, 403) and "CSRF" in refused.get_json()["message"]
    assert db.session.get(Contact, contact.id).email == "vera@example.test"
    assert client.get(f"/api/v1/contacts/{contact.id}/export").status_code == 200  # a GET needs none
    done = client.post(f"/api/v1/contacts/{contact.id}/erase", json={"confirm": True}, headers={"X-CSRFToken": token})
    assert done.status_code == 200, done.get_json()


def test_the_operations_are_documented(admin_api):
    spec = admin_api.get("/openapi.json").get_json()
    export = spec["paths"]["/api/v1/contacts/{contact_id}/export"]["get"]
    erase = spec["paths"]["/api/v1/contacts/{contact_id}/erase"]["post"]
    assert export["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ContactExport")
    assert {"403", "404"} <= set(export["responses"])
    assert {"403", "404", "409", "422"} <= set(erase["responses"])
    assert erase["requestBody"]["required"] is True
    assert "ExportMessage" in spec["components"]["schemas"]
