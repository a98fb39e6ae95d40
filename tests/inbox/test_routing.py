"""Live-chat routing: offers to the least busy available agent with room, a countdown that
moves on, declines, rounds, waiting chats offered when someone becomes available."""
from datetime import timedelta

import pytest

from helpdesk.actions.agents import set_availability
from helpdesk.actions.routing import OFFER_SECONDS, offer_next, pass_offer
from helpdesk.actions.tickets import claim
from helpdesk.extensions import db
from helpdesk.models import Ticket, utcnow
from inbox.routing import expire_offer
from tests.factories import make_agent, make_contact, make_store, make_team, make_ticket


def offers(sent_events):
    return [(e["payload"]["ticket"]["id"], e["room"]) for e in sent_events if e["event"] == "chat.offered"]


def withdrawals(sent_events):
    return [(e["payload"]["ticket_id"], e["room"], e["payload"]["reason"])
            for e in sent_events if e["event"] == "offer.withdrawn"]


@pytest.fixture
def store():
    return make_store()


def available(name, **kw):
    agent = make_agent(name=name, **kw)
    set_availability(agent, "available")
    return agent


def test_new_chat_is_offered_to_the_least_busy_available_agent(store, sent_events):
    busy = available("Busy Bea")
    idle = available("Idle Ian")
    make_agent(name="Offline Olga")
    claim(make_ticket(store), busy)
    sent_events.clear()

    ticket = make_ticket(store, text="Hello?")
    assert offers(sent_events) == [(ticket.id, f"agent:{idle.id}")]
    offered = [e for e in sent_events if e["event"] == "chat.offered"][0]["payload"]
    assert offered["ticket"]["last_message_preview"] == "Hello?"
    assert ticket.offered_agent_id == idle.id
    assert timedelta(seconds=OFFER_SECONDS - 5) < ticket.offer_expires_at - utcnow() <= timedelta(seconds=OFFER_SECONDS)
    # The next chat goes to Bea: Ian now has a pending offer, so they are equally busy and Bea's id is lower.
    second = make_ticket(store)
    assert offers(sent_events)[-1] == (second.id, f"agent:{busy.id}")


def test_capacity_restricted_stores_email_and_offline_chats_get_no_offer(store, sent_events):
    full = available("Full Fay", max_chats=1)
    claim(make_ticket(store), full)
    other_shop = make_store()
    available("Elsewhere Eli", stores=[other_shop])
    sent_events.clear()
    make_ticket(store)  # Fay is at her limit; Eli may not see this store
    make_ticket(store, channel="email")
    assert offers(sent_events) == []


def test_declining_or_letting_the_countdown_run_out_moves_the_offer_on(store, sent_events):
    ann, ben = available("Ann"), available("Ben")
    ticket = make_ticket(store)
    assert ticket.offered_agent_id == ann.id
    pass_offer(ticket, ann.id)
    assert ticket.offered_agent_id == ben.id
    assert (ticket.id, f"agent:{ann.id}", "declined") in withdrawals(sent_events)
    # Ben's countdown: an early timer changes nothing; once expired the offer moves on.
    expire_offer(ticket.id, ben.id)
    assert db.session.get(Ticket, ticket.id).offered_agent_id == ben.id
    ticket.offer_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expire_offer(ticket.id, ben.id)
    ticket = db.session.get(Ticket, ticket.id)
    # Everyone passed once: a new round starts with Ann.
    assert ticket.offered_agent_id == ann.id and ticket.offer_passed_ids == []
    assert (ticket.id, f"agent:{ben.id}", "expired") in withdrawals(sent_events)


def test_stale_declines_and_claimed_chats_change_nothing(store, sent_events):
    ann, ben = available("Ann"), available("Ben")
    ticket = make_ticket(store)
    pass_offer(ticket, ben.id)  # not offered to Ben
    assert ticket.offered_agent_id == ann.id
    claim(ticket, ben)
    sent_events.clear()
    assert offer_next(ticket) is None and ticket.offered_agent_id is None
    expire_offer(ticket.id, ann.id)
    assert offers(sent_events) == [] and db.session.get(Ticket, ticket.id).assignee_id == ben.id


def test_team_members_are_offered_first(store, sent_events):
    team = make_team("Lingerie experts", store)
    gil = available("Generalist Gil")
    expert = available("Expert Eva", teams=[team])
    chat = make_ticket(store)
    assert chat.offered_agent_id == gil.id  # no team: the lowest id of the equally idle
    pass_offer(chat, gil.id)
    pass_offer(chat, expert.id)  # a new round starts, with Gil again
    assert chat.offered_agent_id == gil.id
    chat.team_id = team.id
    chat.offer_passed_ids = []
    db.session.commit()
    offer_next(chat)
    assert chat.offered_agent_id == expert.id  # the team's member first, despite the higher id


def test_waiting_chats_are_offered_when_someone_becomes_available(store, sent_events):
    first, second = make_ticket(store), make_ticket(store)
    make_ticket(make_store())  # a store the agent cannot see
    assert offers(sent_events) == []
    agent = make_agent(name="Late Lou", stores=[store], max_chats=1)
    set_availability(agent, "available")
    assert offers(sent_events) == [(first.id, f"agent:{agent.id}")]  # oldest first, up to capacity
    assert db.session.get(Ticket, second.id).offered_agent_id is None


def test_a_chat_waiting_for_capacity_is_offered_when_a_chat_ends_not_on_every_message(store, sent_events):
    from helpdesk.actions.messages import receive_customer_message
    from helpdesk.actions.tickets import change_status

    agent = available("Solo Sam", max_chats=1)
    taken = make_ticket(store)
    claim(taken, agent)
    waiting = make_ticket(store, text="Anyone there?")
    assert waiting.offered_agent_id is None
    sent_events.clear()

    with CountingQueries() as counted:
        receive_customer_message(store, waiting.contact, "chat", "Still waiting")
    assert offers(sent_events) == []
    assert not any("GROUP BY" in q for q in counted.statements)  # no capacity check per message

    change_status(db.session.get(Ticket, taken.id), "resolved", agent)
    assert offers(sent_events) == [(waiting.id, f"agent:{agent.id}")]


def test_the_sweep_offers_waiting_chats_after_capacity_changes_elsewhere(app, store, sent_events):
    from inbox.routing import offer_waiting_chats

    agent = available("Raised Rae", max_chats=1)
    claim(make_ticket(store), agent)
    waiting = make_ticket(store)
    assert offer_waiting_chats() == 0  # still full: nothing offered, nothing broken
    agent.max_chats = 2  # an admin gives Rae room; no action told routing
    db.session.commit()
    sent_events.clear()
    assert offer_waiting_chats() == 1
    assert offers(sent_events) == [(waiting.id, f"agent:{agent.id}")]


class CountingQueries:
    def __enter__(self):
        from sqlalchemy import event

        self.statements = []
        self._engine = db.engine
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._record)


def test_an_agent_whose_devices_are_gone_goes_away_but_a_later_account_with_that_id_does_not(store):
    """The away check runs a grace period after the last device disconnected. An account
    made meanwhile is not the one that left, even with the same id (ids are handed out again
    once a database is emptied, as between tests)."""
    import time

    from helpdesk.models import Agent
    from inbox.routing import schedule_away_check

    gone = available("Gone Gus")
    schedule_away_check(gone.id, grace=0.2)
    schedule_away_check(gone.id + 1, grace=0.2)  # no such agent yet
    later = available("Later Lou")
    assert later.id == gone.id + 1
    time.sleep(0.8)
    db.session.expire_all()
    assert db.session.get(Agent, gone.id).availability == "away"
    assert db.session.get(Agent, later.id).availability == "available"
