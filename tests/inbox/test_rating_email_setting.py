"""The store's "Ask for a rating by email" setting: on by default, turned off and on again on
the store settings page (a check box) and through ``PATCH /api/v1/stores/<id>/settings``;
only admins change it; what it turns off (helpdesk.actions.ratings)."""
from sqlalchemy import select

from helpdesk.actions.tickets import update_ticket
from helpdesk.extensions import db
from helpdesk.models import Message, MessageKind, Store
from tests.api.conftest import api_for
from tests.factories import make_agent, make_store, make_ticket
from tests.inbox.test_store_settings import base_form, url
from tests.inbox.test_views import sign_in

CHECKBOX = '<input type="checkbox" name="rating_email" value="1" aria-describedby="ss-rating-email-help"'


def _setting(store):  # noqa: F811
    db.session.expire_all()
    return db.session.get(Store, store.id).setting("rating_email")


def _asked(ticket):
    return db.session.scalar(select(Message.id).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.EVENT,
        Message.meta["event"].as_string() == "rating_requested")) is not None


def test_the_settings_page_shows_it_on_and_an_admin_turns_it_off_and_on(client, store, admin):  # noqa: F811
    token = sign_in(client, admin)
    page = client.get(url(store)).get_data(as_text=True)
    assert CHECKBOX + " checked>" in page
    assert 'id="ss-rating-email-help"' in page and "Ask for a rating by email" in page

    # An unticked box is not sent at all.
    assert client.post(url(store), data=base_form(token)).status_code == 302
    assert _setting(store) is False
    page = client.get(url(store)).get_data(as_text=True)
    assert CHECKBOX + " >" in page

    resolved = make_ticket(store, channel="email")
    update_ticket(resolved, admin, status="resolved")
    assert not _asked(resolved)

    assert client.post(url(store), data=base_form(token, rating_email="1")).status_code == 302
    assert _setting(store) is True


def test_a_refused_form_keeps_the_box_as_it_was_ticked(client, store, admin):  # noqa: F811
    token = sign_in(client, admin)
    response = client.post(url(store), data=base_form(token, timezone="Mars/Olympus"))
    assert response.status_code == 422
    assert CHECKBOX + " >" in response.get_data(as_text=True)  # unticked, as sent
    assert _setting(store) is True  # nothing saved


def test_the_api_reads_and_changes_it_admins_only(app):
    shop = make_store("Main shop")
    admin_api = api_for(app, make_agent("Ada", role="admin"))
    agent_api = api_for(app, make_agent("Olena", stores=[shop]))
    settings = f"/stores/{shop.id}/settings"
    assert agent_api.get(settings).get_json()["rating_email"] is True
    assert agent_api.patch(settings, {"rating_email": False}).status_code == 403
    refused = admin_api.patch(settings, {"rating_email": "sometimes"})
    assert refused.status_code == 422 and "rating_email" in refused.get_json()["errors"]
    assert _setting(shop) is True

    response = admin_api.patch(settings, {"rating_email": False})
    assert response.status_code == 200 and response.get_json()["rating_email"] is False
    assert _setting(shop) is False
    assert admin_api.patch(settings, {"rating_email": True}).get_json()["rating_email"] is True
    spec = admin_api.get("/openapi.json").get_json()
    assert "rating_email" in spec["components"]["schemas"]["StoreSettingsArgs"]["properties"]
