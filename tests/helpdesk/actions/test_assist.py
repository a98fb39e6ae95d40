"""Writing assist requests end to end through the job (JOBS_MODE=sync runs it after commit):
provider answers, fails in each way, or is missing; the outcome is recorded and pushed to the
asking agent's room only, and the agent's draft is never changed."""
import logging

import pytest

from helpdesk.actions import ActionError
from helpdesk.actions.assist import MAX_IN_FLIGHT, request_assist, shopper_language
from helpdesk.extensions import db
from helpdesk.models import AssistRequest, Message
from tests.assist_server import API_KEY, assist_server, no_provider, provider  # noqa: F401 (fixtures)
from tests.factories import make_agent, make_contact, make_store, make_ticket

DRAFT = "pls wait, we chek teh ordr #1001"


@pytest.fixture
def setup():
    store = make_store()
    agent = make_agent(name="Alice Able")
    other = make_agent(name="Bob Baker")
    ticket = make_ticket(store, text="Where is my order #1001?")
    return store, agent, other, ticket


def assist_events(sent_events):
    return [e for e in sent_events if e["event"] == "assist.result"]


def test_provider_suggestion_is_recorded_and_pushed_to_the_agent_only(setup, provider, sent_events):
    store, agent, other, ticket = setup
    provider.answer = "Please wait, we are checking order #1001."
    row = request_assist(agent, ticket, "formal", DRAFT)
    db.session.refresh(row)
    assert row.status == AssistRequest.DONE
    assert row.result == "Please wait, we are checking order #1001."
    assert row.input_text == DRAFT and row.engine == "test-model" and row.error is None
    [event] = assist_events(sent_events)
    assert event["room"] == f"agent:{agent.id}" and event["namespace"] == "/inbox"
    assert event["payload"]["request"]["result"] == row.result
    # Nothing else was emitted: no ticket, store or visitor room saw the suggestion.
    assert [e["room"] for e in sent_events if e["payload"] == event["payload"]] == [f"agent:{agent.id}"]
    # Nothing was sent to the shopper: the ticket still has the shopper's message only.
    assert db.session.query(Message).filter_by(ticket_id=ticket.id).count() == 1
    [seen] = provider.requests
    assert DRAFT in seen["body"]["messages"][1]["content"]


@pytest.mark.parametrize("mode, code", [("sleep", "timeout"), ("garbage", "garbage"), ("error", "http")])
def test_provider_failures_leave_the_draft_and_say_so(setup, provider, sent_events, mode, code):
    store, agent, other, ticket = setup
    provider.mode = mode
    row = request_assist(agent, ticket, "fix", DRAFT)
    db.session.refresh(row)
    assert row.status == AssistRequest.FAILED and row.error == code
    assert row.result is None and row.input_text == DRAFT
    [event] = assist_events(sent_events)
    assert event["room"] == f"agent:{agent.id}"
    assert event["payload"]["request"]["status"] == "failed" and event["payload"]["request"]["error"] == code


def test_draft_sends_the_conversation(setup, provider):
    store, agent, other, ticket = setup
    request_assist(agent, ticket, "draft", "")
    assert "Where is my order #1001?" in provider.requests[0]["body"]["messages"][1]["content"]


def test_translate_targets_the_language_detected_on_the_shoppers_messages(provider):
    store = make_store()
    agent = make_agent()
    # The browser says English; what the shopper writes is German: the writing wins.
    ticket = make_ticket(store, contact=make_contact(store, locale="en"),
                         text="Wo ist meine Bestellung? Ich warte seit Tagen.")
    assert shopper_language(ticket) == "de"
    row = request_assist(agent, ticket, "translate", "Your parcel ships today.")
    assert row.language == "de"
    assert "German (de)" in provider.requests[0]["body"]["messages"][0]["content"]


def test_shopper_language_falls_back_to_the_contact_locale(provider):
    store = make_store()
    # "ok" is too short to detect a language in.
    ticket = make_ticket(store, contact=make_contact(store, locale="uk"), text="ok")
    assert shopper_language(ticket) == "uk"
    row = request_assist(make_agent(), ticket, "translate", "Thank you!")
    assert "Ukrainian (uk)" in provider.requests[0]["body"]["messages"][0]["content"] and row.language == "uk"


def test_translate_without_a_known_language_is_refused(provider):
    store = make_store()
    ticket = make_ticket(store, text="ok")
    with pytest.raises(ActionError) as info:
        request_assist(make_agent(), ticket, "translate", "Hello")
    assert info.value.status == 422 and "language" in info.value.message
    assert db.session.query(AssistRequest).count() == 0


def test_offline_spelling_without_provider(setup, no_provider, sent_events):
    store, agent, other, ticket = setup
    row = request_assist(agent, ticket, "fix", "Please wait, you will recieve teh ordr #1001 soon.")
    db.session.refresh(row)
    assert row.status == AssistRequest.DONE and row.engine == "offline" and row.language == "en"
    assert row.result == "Please wait, you will receive the order #1001 soon."
    assert [e["room"] for e in assist_events(sent_events)] == [f"agent:{agent.id}"]


def test_offline_spelling_in_the_shoppers_german(no_provider):
    store = make_store()
    agent = make_agent()
    ticket = make_ticket(store, contact=make_contact(store, locale="de-AT"), text="ok")
    row = request_assist(agent, ticket, "fix", "Ihre Bestelung ist unterwegs, Sie werden sie morgen erhalen.")
    db.session.refresh(row)
    assert row.language == "de"
    assert row.result == "Ihre Bestellung ist unterwegs, Sie werden sie morgen erhalten."


def test_offline_spelling_says_when_there_is_no_dictionary(no_provider, sent_events):
    store = make_store()
    agent = make_agent()
    ticket = make_ticket(store, contact=make_contact(store, locale="uk"), text="Де моє замовлення?")
    row = request_assist(agent, ticket, "fix", "Дякуємо, ми надішлемо замовленя завтра")
    db.session.refresh(row)
    assert row.status == AssistRequest.FAILED and row.error == "no_dictionary" and row.language == "uk"
    assert assist_events(sent_events)[0]["payload"]["request"]["error"] == "no_dictionary"


@pytest.mark.parametrize("kind", ["draft", "formal", "friendly", "concise", "translate"])
def test_other_actions_need_a_provider(setup, no_provider, kind):
    store, agent, other, ticket = setup
    with pytest.raises(ActionError) as info:
        request_assist(agent, ticket, kind, "Hello there")
    assert info.value.status == 422 and "needs a configured AI provider" in info.value.message
    assert db.session.query(AssistRequest).count() == 0


def test_bad_requests(setup, provider):
    store, agent, other, ticket = setup
    with pytest.raises(ActionError, match="Unknown"):
        request_assist(agent, ticket, "poem", "x")
    with pytest.raises(ActionError, match="draft"):
        request_assist(agent, ticket, "fix", "   \x00 ")
    restricted = make_agent(stores=[make_store()])
    with pytest.raises(ActionError) as info:
        request_assist(restricted, ticket, "fix", "teh")
    assert info.value.status == 404
    assert provider.requests == []


def test_requests_in_flight_are_capped_per_agent(app, setup, provider):
    # Jobs on the in-process thread with a provider that hangs: requests stay queued.
    store, agent, other, ticket = setup
    provider.mode = "sleep"
    provider.sleep = 1.5
    app.config["JOBS_MODE"] = "thread"
    try:
        for _ in range(MAX_IN_FLIGHT):
            request_assist(agent, ticket, "fix", "teh")
        with pytest.raises(ActionError) as info:
            request_assist(agent, ticket, "fix", "teh")
        assert info.value.status == 429
        request_assist(other, ticket, "fix", "teh")  # another agent is not held up
    finally:
        from workers import run_pending_inline

        run_pending_inline()
        app.config["JOBS_MODE"] = "sync"
    db.session.expire_all()
    assert {r.status for r in db.session.query(AssistRequest)} == {AssistRequest.FAILED}


def test_the_api_key_is_never_logged(setup, provider, caplog):
    store, agent, other, ticket = setup
    caplog.set_level(logging.DEBUG)
    request_assist(agent, ticket, "fix", "teh")
    provider.mode = "error"
    request_assist(agent, ticket, "fix", "teh")
    provider.mode = "sleep"
    request_assist(agent, ticket, "fix", "teh")
    assert provider.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in caplog.text
    assert "assist provider failed" in caplog.text
