"""Agents' access (helpdesk.actions.agents): stores and teams, roles, deactivation. What an
agent no longer sees they stop working on, and their live sockets are ended after commit."""
import pytest

from helpdesk.actions import ActionError, Forbidden, action
from helpdesk.actions.agents import set_access, set_active, set_availability, set_role, visible_store_ids
from helpdesk.actions.tickets import assign, change_status
from helpdesk.extensions import db
from helpdesk.models import Agent, Role, Ticket, TicketStatus
from tests.factories import make_agent, make_team, make_ticket


def disconnects(events):
    """The rooms whose sockets were ended, with their namespace."""
    return [(e["room"], e["namespace"]) for e in events if e["event"] == "disconnect"]


def reload(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def test_an_agent_limited_to_one_store_hands_back_the_others_work_and_is_disconnected(shops, admin, sent_events):
    alpha, beta = shops
    agent, colleague = make_agent("Lea"), make_agent("Cole", stores=[beta])
    kept, lost, solved = make_ticket(alpha), make_ticket(beta), make_ticket(beta)
    for ticket in (kept, lost, solved):
        assign(ticket, agent)
    change_status(solved, TicketStatus.RESOLVED)
    set_availability(colleague, "available")
    sent_events.clear()

    set_access(agent, all_stores=False, stores=[alpha], by=admin)

    agent = reload(agent)
    assert agent.all_stores is False and [s.id for s in agent.stores] == [alpha.id]
    assert visible_store_ids(agent) == [alpha.id]
    kept, lost, solved = (db.session.get(Ticket, t.id) for t in (kept, lost, solved))
    assert kept.assignee_id == agent.id  # a store they still see: still theirs
    assert lost.assignee_id is None and lost.offered_agent_id == colleague.id  # back to the queue, offered
    assert solved.assignee_id == agent.id  # history keeps who solved it
    assert disconnects(sent_events) == [(f"agent:{agent.id}", "/inbox")]
    # The sockets end after everything else this change sent (their last events).
    assert sent_events[-1]["event"] == "disconnect"
    assert ("ticket.updated", f"store:{beta.id}:agents") in [(e["event"], e["room"]) for e in sent_events]


def test_a_chat_being_offered_in_a_lost_store_moves_on(shops, admin, sent_events):
    alpha, beta = shops
    agent = make_agent("Lea")
    set_availability(agent, "available")
    ticket = make_ticket(beta)
    assert ticket.offered_agent_id == agent.id
    other = make_agent("Otto", stores=[beta])
    set_availability(other, "available")
    sent_events.clear()

    set_access(agent, all_stores=False, stores=[alpha], by=admin)

    assert reload(ticket).offered_agent_id == other.id
    withdrawn = [e for e in sent_events if e["event"] == "offer.withdrawn"]
    assert [(e["room"], e["payload"]["reason"]) for e in withdrawn] == [(f"agent:{agent.id}", "access")]


def test_more_stores_reconnects_without_taking_anything_away(shops, admin, sent_events):
    alpha, beta = shops
    agent = make_agent("Lea", stores=[alpha])
    ticket = make_ticket(alpha)
    assign(ticket, agent)
    sent_events.clear()
    set_access(agent, all_stores=True, by=admin)
    agent = reload(agent)
    assert agent.all_stores is True and agent.stores == []
    assert sorted(visible_store_ids(agent)) == sorted([alpha.id, beta.id])
    assert reload(ticket).assignee_id == agent.id
    # A socket joined only Alpha's room at connect: it reconnects to join Beta's too.
    assert [e["event"] for e in sent_events] == ["disconnect"]


def test_teams_alone_change_nothing_live(shops, admin, sent_events):
    alpha, _beta = shops
    agent = make_agent("Lea", stores=[alpha])
    sales, anywhere = make_team("Sales", alpha), make_team("Anywhere")
    sent_events.clear()
    set_access(agent, all_stores=False, stores=[alpha], teams=[sales, anywhere, sales], by=admin)
    assert sorted(t.name for t in reload(agent).teams) == ["Anywhere", "Sales"]
    assert sent_events == []  # the same stores: same rooms, the sockets stay
    # teams=None leaves them as they are.
    set_access(agent, all_stores=False, stores=[alpha], by=admin)
    assert len(reload(agent).teams) == 2


def test_refusals_change_nothing_and_send_nothing(shops, admin, sent_events):
    alpha, beta = shops
    agent = make_agent("Lea", stores=[alpha])
    beta_team = make_team("Beta returns", beta)
    sent_events.clear()
    with pytest.raises(Forbidden):
        set_access(agent, all_stores=True, by=make_agent("Not an admin"))
    with pytest.raises(ActionError) as exc:
        set_access(agent, all_stores=False, stores=[], by=admin)
    assert exc.value.field == "stores"
    with pytest.raises(ActionError) as exc:
        set_access(agent, all_stores=False, stores=[alpha], teams=[beta_team], by=admin)
    assert exc.value.field == "teams" and "Beta returns" in exc.value.message
    agent = reload(agent)
    assert [s.id for s in agent.stores] == [alpha.id] and agent.teams == []
    assert disconnects(sent_events) == []
    # With every store (or as an admin) any team is fine.
    set_access(agent, all_stores=True, teams=[beta_team], by=admin)
    assert [t.id for t in reload(agent).teams] == [beta_team.id]


def test_a_rolled_back_change_ends_no_socket(shops, admin, sent_events):
    alpha, _beta = shops
    agent = make_agent("Lea")

    @action
    def change_then_fail():
        set_access(agent, all_stores=False, stores=[alpha], by=admin)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert sent_events == [] and reload(agent).all_stores is True


def test_an_admins_own_access_needs_no_reconnect(shops, admin, sent_events):
    alpha, _beta = shops
    set_access(admin, all_stores=False, stores=[alpha], by=admin)
    assert reload(admin).is_admin and len(visible_store_ids(reload(admin))) == 2
    assert sent_events == []


def test_a_demoted_admin_leaves_what_their_stores_do_not_cover(shops, admin, sent_events):
    alpha, beta = shops
    boss = make_agent("Bo Boss", role="admin", stores=[alpha])
    ticket = make_ticket(beta)
    assign(ticket, boss)
    sent_events.clear()
    set_role(boss, "admin", by=admin)  # no change: nothing happens
    assert sent_events == []

    set_role(boss, "agent", by=admin)
    assert reload(boss).role == Role.AGENT and reload(ticket).assignee_id is None
    assert disconnects(sent_events) == [(f"agent:{boss.id}", "/inbox")]

    sent_events.clear()
    set_role(boss, "admin", by=admin)  # promoted: more rooms to join
    assert disconnects(sent_events) == [(f"agent:{boss.id}", "/inbox")]


def test_deactivation_ends_the_sockets_and_reactivation_sends_nothing(shops, admin, sent_events):
    agent = make_agent("Lea")
    set_availability(agent, "available")
    ticket = make_ticket(shops[1])
    assert ticket.offered_agent_id == agent.id
    sent_events.clear()
    set_active(agent, False, by=admin)
    assert disconnects(sent_events) == [(f"agent:{agent.id}", "/inbox")]
    assert reload(ticket).offered_agent_id is None  # nobody else is available: it waits
    assert [e["room"] for e in sent_events if e["event"] == "offer.withdrawn"] == [f"agent:{agent.id}"]
    sent_events.clear()
    set_active(reload(agent), False, by=admin)  # already deactivated: nothing more
    set_active(reload(agent), True, by=admin)
    assert disconnects(sent_events) == []
    assert db.session.get(Agent, agent.id).active
