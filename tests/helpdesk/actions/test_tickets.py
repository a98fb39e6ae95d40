"""Tickets: assign, claim, transfer, status, tags, merge — state and the exact event recipients."""
from datetime import timedelta

import pytest

from helpdesk.actions import ActionError, Conflict, NotFound
from helpdesk.actions.contacts import find_or_create_contact, merge_contacts
from helpdesk.actions.tickets import assign, change_status, claim, set_tags, transfer, update_ticket
from helpdesk.extensions import db
from helpdesk.models import Handoff, Message, Ticket, utcnow
from tests.factories import make_agent, make_contact, make_store, make_team, make_ticket, make_visitor


def by_event(events, name):
    return [e for e in events if e["event"] == name]


def test_claim_is_won_by_exactly_one_agent(sent_events):
    store = make_store()
    a, b = make_agent(name="Ann"), make_agent(name="Bo")
    ticket = make_ticket(store)
    sent_events.clear()
    claim(ticket, a)
    with pytest.raises(Conflict) as exc:
        claim(db.session.get(Ticket, ticket.id), b)
    assert "Ann" in exc.value.message
    assert db.session.get(Ticket, ticket.id).assignee_id == a.id
    updates = by_event(sent_events, "ticket.updated")
    assert {e["room"] for e in updates} == {f"store:{store.id}:agents", f"ticket:{ticket.id}"}


def test_transfer_notifies_receiver_with_personal_note_and_keeps_history(sent_events):
    store = make_store()
    a, b = make_agent(name="Ann"), make_agent(name="Bo")
    visitor = make_visitor(store)
    ticket = make_ticket(store, visitor=visitor)
    assign(ticket, a, a)
    sent_events.clear()
    handoff = transfer(ticket, a, to_agent=b, note="VIP, wants size M", message_to_customer="Bo will help you now.")
    assert ticket.assignee_id == b.id
    received = by_event(sent_events, "handoff.received")
    assert [e["room"] for e in received] == [f"agent:{b.id}"]
    assert received[0]["payload"]["handoff"]["note"] == "VIP, wants size M"
    # the handoff note never goes to the shopper; the customer message does
    widget = [e for e in sent_events if e["namespace"] == "/widget"]
    assert [e["payload"]["message"]["body_text"] for e in widget if e["event"] == "message.created"] == [
        "Bo will help you now."]
    assert all("VIP" not in str(e["payload"]) for e in widget)
    assert db.session.query(Handoff).count() == 1 and handoff.from_agent_id == a.id
    kinds = [m.meta.get("event") for m in db.session.query(Message).filter_by(kind="event")]
    assert "transferred" in kinds


def test_transfer_to_team_goes_to_store_agents_and_closed_ticket_refuses():
    store = make_store()
    a = make_agent()
    team = make_team("Returns", store)
    ticket = make_ticket(store)
    transfer(ticket, a, to_team=team, note="return request")
    assert ticket.team_id == team.id and ticket.assignee_id is None
    change_status(ticket, "closed", a)
    with pytest.raises(Conflict):
        transfer(ticket, a, to_agent=make_agent())


def test_restricted_agent_cannot_be_assigned_to_other_store():
    store, other = make_store(), make_store()
    restricted = make_agent(stores=[other])
    ticket = make_ticket(store)
    with pytest.raises(NotFound):
        update_ticket(ticket, None, assignee_id=restricted.id)
    assert db.session.get(Ticket, ticket.id).assignee_id is None


def test_status_changes_snooze_and_visitor_status_event(sent_events):
    store = make_store()
    agent = make_agent()
    visitor = make_visitor(store)
    ticket = make_ticket(store, visitor=visitor)
    with pytest.raises(ActionError):
        change_status(ticket, "snoozed", agent)
    until = utcnow() + timedelta(hours=2)
    change_status(ticket, "snoozed", agent, snoozed_until=until)
    assert ticket.status == "snoozed" and ticket.snoozed_until is not None
    sent_events.clear()
    change_status(ticket, "resolved", agent)
    assert ticket.resolved_at is not None and ticket.snoozed_until is None
    assert [e["room"] for e in by_event(sent_events, "conversation.status")] == [f"visitor:{visitor.uid}"]


def test_a_chat_the_agent_resolves_asks_the_shopper_for_stars_once(sent_events):
    """Either side may end a chat; the widget asks for a rating either way, once."""
    store = make_store()
    agent = make_agent()
    visitor = make_visitor(store)
    chat = make_ticket(store, visitor=visitor)
    sent_events.clear()
    change_status(chat, "resolved", agent)
    assert [e["room"] for e in by_event(sent_events, "rating.requested")] == [f"visitor:{visitor.uid}"]
    assert by_event(sent_events, "rating.requested")[0]["payload"] == {"ticket_id": chat.id}
    sent_events.clear()
    change_status(chat, "closed", agent)  # ended already: not asked again
    assert by_event(sent_events, "rating.requested") == []

    rated = make_ticket(store, make_contact(store, email="rated@example.com"), visitor=make_visitor(store))
    rated.rating = 5
    email = make_ticket(store, make_contact(store, email="mail@example.com"), channel="email")
    sent_events.clear()
    change_status(rated, "resolved", agent)
    change_status(email, "resolved", agent)
    assert by_event(sent_events, "rating.requested") == []


def test_update_ticket_is_all_or_nothing():
    store = make_store()
    agent = make_agent()
    ticket = make_ticket(store)
    with pytest.raises(NotFound):
        update_ticket(ticket, agent, subject="New subject", tags=["vip"], assignee_id=999999)
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh.subject == "" and fresh.tags == []


def test_tags_are_normalised_and_shared():
    store = make_store()
    t1, t2 = make_ticket(store), make_ticket(store, channel="email")
    set_tags(t1, ["VIP", "returns", "vip"])
    set_tags(t2, ["vip"])
    assert [t.name for t in t1.tags] == ["returns", "vip"]
    assert t2.tags[0].id == t1.tags[1].id


def test_merge_contacts_moves_tickets_and_identities(sent_events):
    store = make_store()
    agent = make_agent()
    target = make_contact(store, email="dana@example.test", name="Dana")
    source = find_or_create_contact(store, platform="shopify", platform_id="777", name="D. Shopper",
                                    phone="+380501112233")
    ticket = make_ticket(store, contact=source)
    merge_contacts(target, source, agent)
    assert db.session.get(Ticket, ticket.id).contact_id == target.id
    assert target.phone == "+380501112233" and target.platform_ids == {"shopify": "777"}
    assert source.merged_into_id == target.id
    # the platform id now finds the target
    assert find_or_create_contact(store, platform="shopify", platform_id="777").id == target.id
    with pytest.raises(ActionError):
        merge_contacts(target, target, agent)
    assert [e["event"] for e in sent_events if e["event"] == "contact.updated"]


def test_transfer_to_another_stores_team_is_refused():
    store, other = make_store(), make_store()
    a = make_agent()
    ticket = make_ticket(store)
    with pytest.raises(NotFound):
        transfer(ticket, a, to_team=make_team("Elsewhere", other))
    assert db.session.get(Ticket, ticket.id).team_id is None


def test_availability_changes_tell_the_stores_widgets(sent_events):
    from helpdesk.actions.agents import set_availability

    store = make_store()
    agent = make_agent()
    set_availability(agent, "available")
    online = [e for e in sent_events if e["event"] == "store.online" and e["room"] == f"store:{store.id}:visitors"]
    assert online[-1]["payload"]["online"] is True and online[-1]["namespace"] == "/widget"
    set_availability(agent, "away")
    online = [e for e in sent_events if e["event"] == "store.online" and e["room"] == f"store:{store.id}:visitors"]
    assert online[-1]["payload"]["online"] is False


def test_insert_loaded_writes_one_row_and_returns_it_loaded():
    """The hot paths' INSERT helper: one statement, defaults applied, nothing read back,
    and the object behaves like any other persistent one afterwards."""
    from sqlalchemy import event

    from helpdesk.actions import insert_loaded
    from helpdesk.models import AuthorType, MessageKind

    store = make_store()
    contact = make_contact(store)
    ticket = make_ticket(store, contact)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        message = insert_loaded(Message, ticket_id=ticket.id, author_type=AuthorType.CONTACT,
                                author_contact_id=contact.id, body_text="hi", attachments=[])
        loaded = (message.id, message.kind, message.meta, message.hidden, message.created_at,
                  message.read_at, message.attachments)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements == ["INSERT"]
    assert loaded[0] is not None and loaded[1] == MessageKind.MESSAGE and loaded[2] == {}
    assert loaded[3] is False and loaded[4] is not None and loaded[5] is None and loaded[6] == []
    assert message in db.session and not db.session.is_modified(message)
    message.body_text = "hi there"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Message, loaded[0]).body_text == "hi there"


def _lookups_with_tags():
    from connectors.email import threading as email_threading
    from helpdesk.actions import messages
    from widgets import sockets

    params = {"visitor_id": 1, "client_id": "c", "contact_id": 1, "channel": "chat", "store_id": 1,
              "dedupe_key": "k", "keys": ["a@b"], "sender": "s@b", "ids": [1, 2]}
    return {
        "chat message: visitor with open ticket": (sockets._CHATTING_VISITOR, params),
        "customer message: continuable ticket": (messages._CONTINUABLE_TICKET, params),
        "email: duplicate and threading lookup": (email_threading._SEEN_OR_NAMED, params),
        "email: tickets by reply token or subject tag": (email_threading._BY_TICKET_ID, params),
    }


@pytest.mark.parametrize("name", sorted(_lookups_with_tags()))
def test_hot_lookups_reach_a_tickets_tags_through_its_links_not_a_scan_of_all(app, name):
    """``LEFT JOIN (ticket_tags JOIN tags)`` makes SQLite build the whole tag-link join and scan
    it for every chat message and email: the hot paths join the links flat, by ticket."""
    statement, params = _lookups_with_tags()[name]
    compiled = statement.compile(db.engine)
    sql = " ".join(str(compiled).split())
    assert "JOIN (" not in sql.upper(), sql
    if db.engine.dialect.name == "sqlite":
        literal = statement.params(params).compile(
            db.engine, compile_kwargs={"literal_binds": True, "render_postcompile": True})
        raw = db.session.connection().connection.driver_connection
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {literal}")]
        assert not any(step.startswith(("SCAN ticket_tags", "SCAN tags", "MATERIALIZE")) for step in plan), plan
        assert any("ticket_tags" in step and "ticket_id=?" in step for step in plan), plan
