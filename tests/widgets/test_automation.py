"""Automation rules on the live-chat path, over real Socket.IO connections: a shopper's chat
message is tagged and sent to a team before it is offered, the agents hear it after the commit,
and the shopper never sees the rule's line or its note."""
import uuid

from helpdesk.actions.agents import set_availability
from helpdesk.actions.automation import save_automation_rule
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from tests.factories import make_agent, make_store, make_team
from tests.realtime import agent_client, visitor_client, visitor_session


def cid():
    return uuid.uuid4().hex


def test_a_chat_message_is_tagged_and_routed_by_a_rule(live_server):
    store = make_store("Lingerie & Co")
    lena = make_agent(name="Lena Consultant")
    set_availability(lena, "available")
    returns = make_team("Returns", store)
    save_automation_rule(store, {"name": "Refunds", "conditions": {"channels": ["chat"], "text_words": ["refund"]},
                                 "actions": {"tags": ["refund"], "team_id": returns.id,
                                             "note": "SECRET: check the order first"}})
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    inbox = agent_client(live_server, lena)
    try:
        ack = shopper.call("message", {"client_id": cid(), "body": "Hi, I would like a Refund for my order",
                                       "prechat": {"name": "Ira", "email": "ira@example.test"}})
        assert ack["ok"], ack
        ticket_id = ack["message"]["ticket_id"]
        tagged = inbox.wait_for("ticket.updated", lambda d: d["ticket"]["id"] == ticket_id and "tags" in d["changes"])
        assert tagged["ticket"]["tags"] == ["refund"]
        routed = inbox.wait_for("ticket.updated", lambda d: d["ticket"]["id"] == ticket_id and "team" in d["changes"])
        assert routed["ticket"]["team_id"] == returns.id
        line = inbox.wait_for("message.created", lambda d: d["message"]["meta"].get("event") == "automation")
        assert line["message"]["body_text"] == "Rule “Refunds”: added the tag refund; sent it to the team Returns."
        assert line["message"]["meta"]["note"] == "SECRET: check the order first"

        # A second message is no new ticket: the rule (ticket_created) does not run again.
        again = shopper.call("message", {"client_id": cid(), "body": "refund refund"})
        assert again["ok"]
        marker = inbox.call("send", {"ticket_id": ticket_id, "client_id": cid(), "body": "Sure, let me check."})
        shopper.wait_for("message.created", lambda d: d["message"]["id"] == marker["message"]["id"])
        resumed = shopper.call("resume", {"last_id": 0})["messages"]
        assert "SECRET" not in str(resumed) and "Rule" not in str(resumed)
        while not shopper.inbox.empty():
            assert "SECRET" not in str(shopper.inbox.get_nowait())
        db.session.expire_all()
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.team_id == returns.id and [t.name for t in ticket.tags] == ["refund"]
        assert db.session.query(Message).filter(Message.ticket_id == ticket_id, Message.kind == "event",
                                                Message.meta["event"].as_string() == "automation").count() == 1
    finally:
        shopper.disconnect()
        inbox.disconnect()


def test_a_chat_a_rule_closes_is_not_offered_to_an_agent(live_server):
    store = make_store("Noise & Co")
    lena = make_agent(name="Lena Consultant")
    set_availability(lena, "available")
    save_automation_rule(store, {"name": "Test pings", "conditions": {"text_words": ["ping test"]},
                                 "actions": {"status": "closed"}})
    shopper = visitor_client(live_server, visitor_session(live_server, store)["token"])
    inbox = agent_client(live_server, lena)
    try:
        noise = shopper.call("message", {"client_id": cid(), "body": "ping test", "prechat": {
            "email": "bot@example.test"}})
        assert noise["ok"]
        inbox.wait_for("message.created", lambda d: d["message"]["meta"].get("event") == "automation")
        real = shopper.call("message", {"client_id": cid(), "body": "Hello, a real question"})
        assert real["ok"]
        offered = inbox.wait_for("chat.offered")
        assert offered["ticket"]["id"] == real["message"]["ticket_id"] != noise["message"]["ticket_id"]
        db.session.expire_all()
        assert db.session.get(Ticket, noise["message"]["ticket_id"]).status == "closed"
        assert db.session.get(Ticket, noise["message"]["ticket_id"]).offered_agent_id is None
    finally:
        shopper.disconnect()
        inbox.disconnect()
