"""The customers' data requests a shop passed on (Shopify's ``customers/data_request``, signed
and posted for real), as admins find and answer them: the list on the store settings page with
each contact's export (the API's JSON file), marked answered by an admin, and answered by the
erasure itself once every contact it matched is erased -- through the API, by hand, or by the
shop's own ``customers/redact`` -- with who answered, when and how."""
import json
import re

import pytest
from sqlalchemy import select

from helpdesk.actions import privacy
from helpdesk.actions.contacts import merge_contacts
from helpdesk.actions.privacy import DATA_REQUESTS
from helpdesk.extensions import db
from helpdesk.models import Contact, Store
from tests.api.conftest import Api, login
from tests.connectors.commerce import fixture_bytes
from tests.connectors.shopify.conftest import connector, store  # noqa: F401 -- the shop's fixtures
from tests.connectors.shopify.test_webhooks import post
from tests.factories import make_agent, make_contact, make_ticket, make_token

pytestmark = pytest.mark.usefixtures("connector")


@pytest.fixture
def admin():
    return make_agent(name="Ada Admin", role="admin")


@pytest.fixture
def admin_api(app, admin):
    return Api(app.test_client(), make_token(admin))


@pytest.fixture
def page(app, admin, store):
    """The admin's store settings page (its HTML), read again on each call; ``page.post``
    sends a data request's form as the page does."""
    browser = app.test_client()
    login(browser, admin)

    def get():
        response = browser.get(f"/inbox/settings/stores/{store.id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def answer(request_key):
        html = get()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        response = browser.post(f"/inbox/settings/stores/{store.id}/data-requests/done",
                                data={"csrf_token": csrf, "request": request_key}, follow_redirects=True)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    get.answer = answer
    get.client = browser
    return get


@pytest.fixture
def john(store):
    """John as the helpdesk knows him: linked to his Shopify customer id, and by the address
    Shopify names."""
    linked = make_contact(store, email="johnny@work.example", name="John Doe", platform="shopify",
                          platform_id="191167")
    make_ticket(store, linked, "chat", "The teapot arrived cracked")
    mailed = make_contact(store, email="john@example.com", name="John D.")
    make_ticket(store, mailed, "email", "About my teapot again")
    return linked.id, mailed.id


def data_request(client, connector, *, request_id=9999, customer=None):  # noqa: F811
    body = json.loads(fixture_bytes("shopify", "customers_data_request.json"))
    body["data_request"]["id"] = request_id
    if customer is not None:
        body["customer"] = customer
    response = post(client, connector, "x", "customers/data_request", body=json.dumps(body).encode(),
                    webhook_id=f"dr-{request_id}")
    assert response.status_code == 200, response.get_json()
    return f"shopify-{request_id}"


def entries(store):  # noqa: F811
    db.session.expire_all()
    return {e["id"]: e for e in db.session.get(Store, store.id).settings[DATA_REQUESTS]}


def waiting(html):
    """The list of waiting requests on the page."""
    start = html.index('id="data-requests-waiting"')
    return html[start:min(html.find(marker, start) % (len(html) + 1)
                          for marker in ('id="data-requests-answered"', "</section>"))]


def answered(html):
    """The answered requests on the page."""
    start = html.index('id="data-requests-answered"')
    return html[start:html.index("</details>", start)]


def item(html, request_key):
    """One waiting request's entry in the list (its contacts nest lists of their own: it ends
    with its form)."""
    start = html.index(f'data-request="{request_key}"')
    return html[start:html.index("</form>", start)]


def test_admins_see_the_waiting_requests_with_working_exports(client, connector, store, john, page,
                                                              admin_api, app):
    linked, mailed = john
    first = data_request(client, connector, request_id=9999)
    nobody = data_request(client, connector, request_id=10001, customer={"id": 42, "email": "ghost@example.com"})

    html = page()
    listed = waiting(html)
    # Newest first: the request that matched nobody says so; John's has both his contacts.
    assert listed.index('data-request="shopify-10001"') < listed.index('data-request="shopify-9999"')
    assert "holds no data about them" in item(listed, nobody)
    johns = item(listed, first)
    assert "John Doe" in johns and "John D." in johns and "Orders asked about: 299938, 280263, 220458" in johns
    links = re.findall(r'<a class="btn" href="([^"]+)" download>Export data', johns)
    assert links == [f"/api/v1/contacts/{linked}/export", f"/api/v1/contacts/{mailed}/export"]
    # Each link is the API's export of that contact, for this admin's session and token alike.
    for link, contact_id in zip(links, (linked, mailed)):
        download = page.client.get(link)
        assert download.status_code == 200 and download.get_json()["contact"]["id"] == contact_id
        assert download.headers["Content-Disposition"] == f'attachment; filename="contact-{contact_id}-export.json"'
        assert admin_api.get(link.removeprefix("/api/v1")).get_json()["contact"]["id"] == contact_id
    assert 'id="data-requests-answered"' not in html

    # Agents get neither the page nor the exports.
    with app.app_context():
        agent = app.test_client()
        login(agent, make_agent(name="Abe Agent"))
        assert agent.get(f"/inbox/settings/stores/{store.id}").status_code == 403
        assert agent.get(links[0]).status_code == 403


def test_an_admin_marks_a_request_answered(client, connector, store, john, page, admin):
    key = data_request(client, connector)

    html = page.answer(key)

    assert "Data request marked as answered." in html
    assert 'id="data-requests-waiting"' not in html and "No data request is waiting." in html
    record = answered(html)
    assert "Marked as answered by Ada Admin on" in record and "request 9999" in record
    entry = entries(store)[key]
    assert entry["answered"]["how"] == "marked" and entry["answered"]["by_agent_id"] == admin.id
    # The record of the answer keeps no id that names the customer.
    assert "customer_platform_id" not in entry and "order_platform_ids" not in entry
    # Answered once: again, or an unknown request, says so and changes nothing.
    assert "This data request was answered already." in page.answer(key)
    assert "No such data request." in page.answer("shopify-123")
    assert entries(store)[key] == entry
    # Shopify sending the same request again does not bring it back.
    data_request(client, connector)
    assert list(entries(store)) == [key]


def test_erasing_every_matching_contact_answers_the_request(client, connector, store, john, page, admin,
                                                           admin_api):
    linked, mailed = john
    key = data_request(client, connector)

    # One of John's two contacts erased through the API: still waiting, for the other one's data.
    assert admin_api.post(f"/contacts/{mailed}/erase", {"confirm": True}).status_code == 200
    assert "answered" not in entries(store)[key]
    johns = item(waiting(page()), key)
    assert f"Erased customer #{mailed}" in johns and "data erased, nothing to send" in johns
    assert re.findall(r'href="([^"]+)" download', johns) == [f"/api/v1/contacts/{linked}/export"]

    # The other one too: nothing is left to send, and the request is answered by that erasure.
    assert admin_api.post(f"/contacts/{linked}/erase", {"confirm": True}).status_code == 200
    entry = entries(store)[key]
    assert entry["answered"]["how"] == "erased" and entry["answered"]["by_agent_id"] == admin.id
    erasure = db.session.get(Contact, linked).erasure
    assert entry["answered"]["at"] == erasure["at"]  # answered by that erasure, at its time
    assert "customer_platform_id" not in entry and entry["contact_ids"] == [linked, mailed]
    html = page()
    assert 'id="data-requests-waiting"' not in html and "No data request is waiting." in html
    record = answered(html)
    assert "Answered by erasure: Ada Admin erased the customer's data on" in record
    assert f"Erased customer #{linked}" in record and "Export data" not in record
    # Marking it answered now says it was.
    assert "This data request was answered already." in page.answer(key)


def test_the_shops_own_erasure_answers_the_request(client, connector, store, john, page):
    key = data_request(client, connector)
    assert post(client, connector, "customers_redact.json", "customers/redact").status_code == 200

    entry = entries(store)[key]
    assert entry["answered"]["how"] == "erased" and entry["answered"]["by_agent_id"] is None
    record = answered(page())
    assert "the customer's data was erased on the shop's request on" in record


def test_a_contact_merged_since_stands_for_the_one_it_was_merged_into(client, connector, store, john, admin_api,
                                                                       admin):
    linked, mailed = john
    key = data_request(client, connector)
    merge_contacts(db.session.get(Contact, linked), db.session.get(Contact, mailed), admin)

    assert admin_api.post(f"/contacts/{linked}/erase", {"confirm": True}).status_code == 200

    assert entries(store)[key]["answered"]["how"] == "erased"


def test_an_erasure_of_somebody_else_answers_nothing(client, connector, store, john, admin_api):
    key = data_request(client, connector)
    olek = make_contact(store, email="olek@example.com", name="Olek Other")
    assert admin_api.post(f"/contacts/{olek.id}/erase", {"confirm": True}).status_code == 200
    assert "answered" not in entries(store)[key]


def test_only_the_latest_answers_are_kept(client, connector, store, page, monkeypatch):
    monkeypatch.setattr(privacy, "MAX_ANSWERED_DATA_REQUESTS", 2)
    keys = [data_request(client, connector, request_id=n) for n in (501, 502, 503)]
    for key in keys:
        page.answer(key)
    assert sorted(entries(store)) == ["shopify-502", "shopify-503"]
    assert db.session.scalars(select(Contact.id)).all() == []  # nobody matched: nothing else stored
