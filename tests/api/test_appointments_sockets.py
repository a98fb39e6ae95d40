"""Visits changed through the REST API (and an agent leaving a store) reach the inbox sockets
of the store's agents live, with real Socket.IO clients against the live server: the agents of
the visit's store hear ``appointment.updated``; an agent of another store hears nothing of it."""
import time
from datetime import time as clock

import pytest
import requests

from helpdesk.actions.agents import set_access
from helpdesk.actions.appointments import book_appointment
from tests.factories import make_agent, make_contact, make_location, make_store, make_ticket, make_token
from tests.helpdesk.actions.test_appointments import _next
from tests.realtime import agent_client


@pytest.fixture
def beta_visit(live_server):
    """Sam's visit at Beta; Bea (Beta) and Otto (Alpha only) have the inbox open."""
    alpha, beta = make_store("Alpha shop"), make_store("Beta shop")
    sam, admin = make_agent("Sam Carter"), make_agent("Ada Admin", role="admin")
    bea, otto = make_agent("Bea", stores=[beta]), make_agent("Otto", stores=[alpha])
    ticket = make_ticket(beta, make_contact(beta, name="Dana"))
    visit = book_appointment(ticket, sam, location=make_location(beta), starts_at=_next(1, clock(15, 0)))
    tabs = {"bea": agent_client(live_server, bea), "otto": agent_client(live_server, otto)}
    yield {"alpha": alpha, "beta": beta, "sam": sam, "admin": admin, "bea": bea, "visit_id": visit.id,
           "tabs": tabs}
    for tab in tabs.values():
        tab.disconnect()


def about(visit_id, change):
    return lambda data: data["appointment"]["id"] == visit_id and data["change"] == change


def appointment_events(tab):
    time.sleep(0.3)  # what else was on its way
    return [data for name, data in tab.received() if name == "appointment.updated"]


def test_the_stores_agents_hear_it_live_and_another_stores_agent_does_not(live_server, beta_visit):
    bea, otto, visit_id = beta_visit["tabs"]["bea"], beta_visit["tabs"]["otto"], beta_visit["visit_id"]

    # Sam leaves Beta: the visit waits for an agent, on Bea's page.
    set_access(beta_visit["sam"], all_stores=False, stores=[beta_visit["alpha"]], by=beta_visit["admin"])
    left = bea.wait_for("appointment.updated", about(visit_id, "unassigned"))
    assert left["appointment"]["agent"] is None and left["appointment"]["store_id"] == beta_visit["beta"].id

    # Max, of Beta too, moves it through the API and makes it his: Bea's page must stop
    # listing it, though it is not hers.
    max_ = make_agent("Max", stores=[beta_visit["beta"]])
    moved = requests.patch(f"{live_server}/api/v1/appointments/{visit_id}", timeout=10,
                           json={"starts_at": _next(2, clock(11, 0)).strftime("%Y-%m-%dT%H:%M"),
                                 "agent_id": max_.id},
                           headers={"Authorization": f"Bearer {make_token(max_)}"})
    assert moved.status_code == 200, moved.text
    data = bea.wait_for("appointment.updated", about(visit_id, "rescheduled"))
    assert data["appointment"]["agent"]["name"] == "Max"

    assert appointment_events(otto) == []


def test_a_take_over_through_the_api_reaches_the_store_only(live_server, beta_visit):
    bea, otto, visit_id = beta_visit["tabs"]["bea"], beta_visit["tabs"]["otto"], beta_visit["visit_id"]
    set_access(beta_visit["sam"], all_stores=False, stores=[beta_visit["alpha"]], by=beta_visit["admin"])
    bea.wait_for("appointment.updated", about(visit_id, "unassigned"))
    # Otto cannot take it: not found for him, and nothing is sent.
    otto_token = make_token(make_agent("Otto Two", stores=[beta_visit["alpha"]]))
    refused = requests.post(f"{live_server}/api/v1/appointments/{visit_id}/assign", json={}, timeout=10,
                            headers={"Authorization": f"Bearer {otto_token}"})
    assert refused.status_code == 404
    token = make_token(make_agent("Max", stores=[beta_visit["beta"]]))
    taken = requests.post(f"{live_server}/api/v1/appointments/{visit_id}/assign", json={}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert taken.status_code == 200, taken.text
    data = bea.wait_for("appointment.updated", about(visit_id, "assigned"))
    assert data["appointment"]["agent"]["name"] == "Max"
    assert appointment_events(otto) == []
