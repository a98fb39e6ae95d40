"""Contacts over the API: list/search with a cursor, read, edit, block, merge, previous conversations."""
from helpdesk.actions.contacts import merge_contacts
from helpdesk.actions.tickets import change_status
from helpdesk.extensions import db
from helpdesk.models import Contact, Ticket
from tests.api.conftest import api_for
from tests.factories import make_agent, make_contact, make_store, make_ticket


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["items"]]


def test_list_search_and_store_filter(api, store):
    other = make_store()
    ann = make_contact(store, name="Ann Lee", email="ann@shop.test")
    bob = make_contact(store, name="Bob", email="bob@shop.test", phone="+380501112233")
    far = make_contact(other, name="Ann Far", email="ann@far.test")
    assert ids(api.get("/contacts")) == [far.id, bob.id, ann.id]
    assert ids(api.get("/contacts", query={"q": "ann"})) == [far.id, ann.id]
    assert ids(api.get("/contacts", query={"q": "ann", "store": store.id})) == [ann.id]
    assert ids(api.get("/contacts", query={"q": "0501112"})) == [bob.id]
    assert ids(api.get("/contacts", query={"q": "BOB@SHOP"})) == [bob.id]


def test_list_cursor_walks_all_contacts_once(api, store):
    made = [make_contact(store).id for _ in range(7)]
    seen, cursor = [], None
    while True:
        body = api.get("/contacts", query={"limit": 3, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made, reverse=True)


def test_merged_contacts_are_not_listed(api, agent, store):
    keep = make_contact(store, email="keep@x.test")
    dup = make_contact(store, email="dup@x.test")
    merge_contacts(keep, dup, agent)
    assert ids(api.get("/contacts")) == [keep.id]


def test_restricted_agent_gets_404_for_other_stores_contacts(app, store):
    other = make_store()
    api = api_for(app, make_agent(stores=[store]))
    mine, theirs = make_contact(store), make_contact(other)
    assert ids(api.get("/contacts")) == [mine.id]
    for method, url, body in (("GET", f"/contacts/{theirs.id}", None),
                              ("PATCH", f"/contacts/{theirs.id}", {"name": "x"}),
                              ("GET", f"/contacts/{theirs.id}/tickets", None),
                              ("POST", f"/contacts/{theirs.id}/merge", {"source_id": mine.id})):
        assert api.request(method, url, body).status_code == 404, url
    response = api.post(f"/contacts/{mine.id}/merge", {"source_id": theirs.id})
    assert response.status_code == 404 and "source_id" in response.get_json()["errors"]
    assert db.session.get(Contact, theirs.id).name == "Dana Shopper"


def test_get_and_patch_contact(api, store, sent_events):
    contact = make_contact(store, email="old@x.test")
    assert api.get(f"/contacts/{contact.id}").get_json()["email"] == "old@x.test"
    sent_events.clear()
    response = api.patch(f"/contacts/{contact.id}", {"name": "Dana S.", "email": "New@X.test",
                                                      "phone": "+1 555", "notes": "Prefers email"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["email"], body["phone"], body["notes"]) == ("Dana S.", "new@x.test", "+1 555",
                                                                         "Prefers email")
    assert [e["room"] for e in sent_events if e["event"] == "contact.updated"] == [f"store:{store.id}:agents"]


def test_patch_blocks_a_contact(api, store):
    contact = make_contact(store)
    response = api.patch(f"/contacts/{contact.id}", {"blocked": True})
    assert response.status_code == 200 and response.get_json()["blocked"] is True
    assert db.session.get(Contact, contact.id).blocked_by_id is not None


def test_patch_validation(api, store):
    contact = make_contact(store)
    response = api.patch(f"/contacts/{contact.id}", {"email": "not-an-email", "blocked": "maybe", "vip": True})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"email", "blocked", "vip"}


def test_blocked_takes_json_true_or_false_only(api, store):
    """marshmallow's Boolean also reads 1, "yes", "on", "t"... (right for a query string);
    in a JSON body a boolean is true or false."""
    contact = make_contact(store)
    url = f"/contacts/{contact.id}"
    for value in (1, 0, 1.0, "1", "0", "true", "false", "yes", "on", "t", "", [], {}):
        response = api.patch(url, {"blocked": value})
        assert response.status_code == 422, value
        assert response.get_json()["errors"] == {"blocked": ["Not a valid boolean."]}, value
    assert db.session.get(Contact, contact.id).blocked_by_id is None
    both = api.patch(url, {"blocked": 1, "email": "not-an-email"}).get_json()["errors"]
    assert both == {"blocked": ["Not a valid boolean."], "email": ["Not a valid email address."]}
    assert api.patch(url, {"blocked": True}).get_json()["blocked"] is True
    assert api.patch(url, {"blocked": False}).get_json()["blocked"] is False


def test_merge_moves_tickets(api, store):
    keep = make_contact(store, name="Keep", email="keep@x.test")
    dup = make_contact(store, name="", email="dup@x.test", phone="123")
    ticket = make_ticket(store, contact=dup)
    response = api.post(f"/contacts/{keep.id}/merge", {"source_id": dup.id})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone"] == "123"
    assert db.session.get(Ticket, ticket.id).contact_id == keep.id
    again = api.post(f"/contacts/{keep.id}/merge", {"source_id": dup.id})
    assert again.status_code == 409
    itself = api.post(f"/contacts/{keep.id}/merge", {"source_id": keep.id})
    assert itself.status_code == 400 and "source_id" in itself.get_json()["errors"]


def test_merge_requires_source_id(api, store):
    contact = make_contact(store)
    response = api.post(f"/contacts/{contact.id}/merge", {})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"source_id": ["Missing data for required field."]}


def test_previous_conversations(api, store):
    contact = make_contact(store)
    first = make_ticket(store, contact=contact)
    change_status(first, "closed")
    second = make_ticket(store, contact=contact)
    make_ticket(store)  # someone else's
    body = api.get(f"/contacts/{contact.id}/tickets", query={"limit": 1}).get_json()
    assert [t["id"] for t in body["items"]] == [second.id]
    rest = api.get(f"/contacts/{contact.id}/tickets", query={"limit": 1, "cursor": body["next_cursor"]}).get_json()
    assert [t["id"] for t in rest["items"]] == [first.id] and rest["next_cursor"] is None
    assert api.get(f"/contacts/{contact.id}/tickets", query={"status": "open"}).status_code == 422
