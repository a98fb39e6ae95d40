"""A ticket's timeline over the API: replay after an id, replies, notes, idempotent resends."""
from helpdesk.actions.contacts import set_blocked
from helpdesk.actions.messages import receive_customer_message
from helpdesk.actions.tickets import change_status
from helpdesk.models import Message
from helpdesk.extensions import db
from tests.api.conftest import QueryCounter, count
from tests.factories import make_contact, make_ticket, make_visitor


def test_list_replays_after_the_last_id_seen(api, store):
    contact = make_contact(store)
    ticket = make_ticket(store, contact=contact, text="m1")
    for text in ("m2", "m3", "m4", "m5"):
        receive_customer_message(store, contact, "chat", text)
    everything = api.get(f"/tickets/{ticket.id}/messages").get_json()
    assert [m["body_text"] for m in everything["items"]] == ["m1", "m2", "m3", "m4", "m5"]
    assert everything["has_more"] is False
    ids = [m["id"] for m in everything["items"]]

    page = api.get(f"/tickets/{ticket.id}/messages", query={"after_id": ids[0], "limit": 2}).get_json()
    assert [m["body_text"] for m in page["items"]] == ["m2", "m3"] and page["has_more"] is True
    rest = api.get(f"/tickets/{ticket.id}/messages", query={"after_id": page["items"][-1]["id"]}).get_json()
    assert [m["body_text"] for m in rest["items"]] == ["m4", "m5"] and rest["has_more"] is False
    assert api.get(f"/tickets/{ticket.id}/messages", query={"after_id": ids[-1]}).get_json()["items"] == []


def test_list_hides_blocked_contacts_messages_but_shows_notes_and_events(api, agent, store):
    contact = make_contact(store)
    ticket = make_ticket(store, contact=contact, text="hello")
    api.post(f"/tickets/{ticket.id}/messages", {"body": "internal", "kind": "note"})
    set_blocked(contact, agent)
    receive_customer_message(store, contact, "chat", "spam")
    kinds = [(m["kind"], m["body_text"]) for m in api.get(f"/tickets/{ticket.id}/messages").get_json()["items"]]
    assert kinds == [("message", "hello"), ("note", "internal")]
    assert count(Message, Message.body_text == "spam") == 1  # kept, just not listed


def test_list_args_are_validated(api, store):
    ticket = make_ticket(store)
    response = api.get(f"/tickets/{ticket.id}/messages", query={"after_id": "x", "limit": 0, "since": 1})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"after_id", "limit", "since"}


def test_reply_reaches_the_visitor_and_is_created_once(api, agent, store, sent_events):
    contact = make_contact(store)
    visitor = make_visitor(store, contact)
    ticket = make_ticket(store, contact=contact, visitor=visitor)
    sent_events.clear()
    response = api.post(f"/tickets/{ticket.id}/messages", {"body": "On its way!", "client_id": "r-1"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["author_type"], body["author"]["id"], body["client_id"]) == (
        "message", "agent", agent.id, "r-1")
    visitor_rooms = [e["room"] for e in sent_events if e["namespace"] == "/widget"]
    assert visitor_rooms == [f"visitor:{visitor.uid}"]

    sent_events.clear()
    again = api.post(f"/tickets/{ticket.id}/messages", {"body": "On its way!", "client_id": "r-1"})
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert count(Message, Message.client_id == "r-1") == 1
    assert sent_events == []


def test_note_never_reaches_the_visitor_room(api, store, sent_events):
    contact = make_contact(store)
    visitor = make_visitor(store, contact)
    ticket = make_ticket(store, contact=contact, visitor=visitor)
    sent_events.clear()
    response = api.post(f"/tickets/{ticket.id}/messages", {"body": "Offer 10% off", "kind": "note"})
    assert response.status_code == 201 and response.get_json()["kind"] == "note"
    assert sent_events, "agents must still hear about the note"
    assert [e for e in sent_events if e["namespace"] == "/widget" or e["room"].startswith("visitor:")] == []
    assert sorted(e["room"] for e in sent_events if e["event"] == "message.created") == sorted(
        [f"store:{store.id}:agents", f"ticket:{ticket.id}"])


def test_note_with_same_client_id_is_idempotent(api, store):
    ticket = make_ticket(store)
    first = api.post(f"/tickets/{ticket.id}/messages", {"body": "n", "kind": "note", "client_id": "n-1"})
    second = api.post(f"/tickets/{ticket.id}/messages", {"body": "n", "kind": "note", "client_id": "n-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]


def test_same_client_id_on_another_ticket_is_another_message(api, store):
    t1, t2 = make_ticket(store), make_ticket(store)
    a = api.post(f"/tickets/{t1.id}/messages", {"body": "x", "client_id": "same"})
    b = api.post(f"/tickets/{t2.id}/messages", {"body": "x", "client_id": "same"})
    assert (a.status_code, b.status_code) == (201, 201) and a.get_json()["id"] != b.get_json()["id"]


def test_reply_on_closed_ticket_conflicts_and_stores_nothing(api, store):
    ticket = make_ticket(store)
    change_status(ticket, "closed")
    before = count(Message)
    response = api.post(f"/tickets/{ticket.id}/messages", {"body": "too late"})
    assert response.status_code == 409 and response.get_json()["errors"]["status"]
    assert count(Message) == before


def test_message_body_rules(app, api, store):
    ticket = make_ticket(store)
    before = count(Message)
    cases = [
        ({}, 422, "body"),
        ({"body": ""}, 422, "body"),
        ({"body": "   "}, 400, "body"),
        ({"body": "x" * (app.config["MAX_MESSAGE_LENGTH"] + 1)}, 413, "body"),
        ({"body": "hi", "kind": "whisper"}, 422, "kind"),
        ({"body": "hi", "client_id": "c" * 65}, 422, "client_id"),
    ]
    for payload, status, field in cases:
        response = api.post(f"/tickets/{ticket.id}/messages", payload)
        assert response.status_code == status, payload
        assert field in response.get_json()["errors"], payload
    assert count(Message) == before


def test_message_list_queries_do_not_grow_with_the_page(api, agent, store):
    contact = make_contact(store)
    ticket = make_ticket(store, contact=contact)
    api.post(f"/tickets/{ticket.id}/messages", {"body": "answer"})

    def queries_for_list():
        # As a fresh request finds it: nothing of this test's session loaded beforehand.
        db.session.expire_all()
        with QueryCounter() as counter:
            response = api.get(f"/tickets/{ticket.id}/messages")
        return counter.count, len(response.get_json()["items"])

    few, shown_few = queries_for_list()
    for i in range(6):
        receive_customer_message(store, contact, "chat", f"more {i}")
        api.post(f"/tickets/{ticket.id}/messages", {"body": f"reply {i}", "kind": "note" if i % 2 else "reply"})
    many, shown_many = queries_for_list()
    assert shown_many == shown_few + 12
    assert many == few
