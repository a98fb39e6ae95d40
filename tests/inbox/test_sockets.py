"""The agents' /inbox Socket.IO events with bad input: every one answers with a clear
error in its acknowledgement, never an exception that leaves the agent without one."""
import pytest

from helpdesk.extensions import db
from helpdesk.models import Message
from tests.api.conftest import login
from tests.factories import make_agent, make_store, make_ticket
from tests.realtime import in_process_client


@pytest.fixture
def shops():
    return make_store("Main shop"), make_store("Other shop")


@pytest.fixture
def agent_test_client(app, client, shops):
    """An agent of the main shop only, on Flask-SocketIO's in-process test client."""
    login(client, make_agent(name="Rita Restricted", stores=[shops[0]]))
    with in_process_client(app, "/inbox", client) as sc:
        assert sc.is_connected("/inbox")
        yield lambda event, *args: sc.emit(event, *args, namespace="/inbox", callback=True)


@pytest.mark.parametrize("bad", [2**70, 2**63, -1, True])
@pytest.mark.parametrize("event", ["open", "close", "typing", "here", "read", "decline_offer", "send"])
def test_a_ticket_id_out_of_range_or_boolean_is_refused(agent_test_client, event, bad):
    ack = agent_test_client(event, {"ticket_id": bad, "client_id": "c1", "body": "hi", "up_to_id": 1})
    assert ack["ok"] is False and ack["error"]["field"] == "ticket_id" and ack["error"]["status"] == 400
    assert db.session.query(Message).filter_by(author_type="agent").count() == 0


@pytest.mark.parametrize("bad", [2**70, 2**63, -1, True])
def test_message_ids_out_of_range_or_boolean_are_refused(agent_test_client, shops, bad):
    ticket = make_ticket(shops[0])
    ack = agent_test_client("resume", {"last_id": bad})
    assert ack["ok"] is False and ack["error"]["field"] == "last_id"
    ack = agent_test_client("read", {"ticket_id": ticket.id, "up_to_id": bad})
    assert ack["ok"] is False and ack["error"]["field"] == "up_to_id"
    ack = agent_test_client("send", {"ticket_id": ticket.id, "client_id": "c1", "body": "hi", "attachments": [bad]})
    assert ack["ok"] is False and ack["error"]["field"] == "attachments"
    assert db.session.query(Message).filter_by(author_type="agent").count() == 0


def test_another_stores_ticket_is_not_found(agent_test_client, shops):
    foreign = make_ticket(shops[1])
    for event in ("open", "typing", "read", "decline_offer", "send"):
        ack = agent_test_client(event, {"ticket_id": foreign.id, "client_id": "c1", "body": "hi", "up_to_id": 1})
        assert ack["ok"] is False and ack["error"]["status"] == 404, event
    assert db.session.query(Message).filter_by(author_type="agent").count() == 0


@pytest.mark.parametrize("data", [[1, 2], "text", 5, True])
def test_a_payload_that_is_not_an_object_is_a_malformed_request(agent_test_client, data):
    ack = agent_test_client("send", data)
    assert ack["ok"] is False and ack["error"]["status"] == 400


def test_an_event_with_more_than_one_argument_is_a_malformed_request(agent_test_client, shops):
    ticket = make_ticket(shops[0])
    ack = agent_test_client("send", {"ticket_id": ticket.id, "client_id": "c1", "body": "hi"}, "extra")
    assert ack["ok"] is False and ack["error"]["status"] == 400
    assert db.session.query(Message).filter_by(author_type="agent").count() == 0
