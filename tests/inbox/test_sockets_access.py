"""An agent's access changes while their inbox is open, over real Socket.IO connections to the
live server: the server itself ends their sockets (helpdesk.events.agent_access_changed), so
even a client that ignores it hears nothing more; a reconnect joins the rooms the agent may
join now, or is refused."""
import re
import time

import pytest
import requests
import socketio

from helpdesk.actions.agents import set_access, set_role
from helpdesk.extensions import socketio as server
from inbox.sockets import connected_devices
from tests.factories import make_agent, make_store, make_ticket
from tests.realtime import UA, Recorder, agent_client, agent_cookie

SERVER_DISCONNECT = socketio.Client.reason.SERVER_DISCONNECT


@pytest.fixture
def shops(live_server):
    return make_store("Alpha"), make_store("Beta")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


def until(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def ticket_ids(events):
    """The tickets the received events were about."""
    ids = set()
    for _name, data in events:
        if isinstance(data, dict):
            ids.update(d["id"] for d in [data.get("ticket")] if d)
            ids.update(d["ticket_id"] for d in [data.get("message")] if d)
    return ids


def rooms_of(recorder):
    return set(server.server.manager.get_rooms(recorder.client.get_sid("/inbox"), "/inbox"))


def ignoring_the_server(recorder):
    """A modified client: it ignores the server's DISCONNECT and keeps its connection open."""
    recorder.client._handle_disconnect = lambda namespace: None
    return recorder


def test_an_agent_removed_from_a_store_hears_nothing_more_of_it(live_server, shops, admin):
    alpha, beta = shops
    agent = make_agent("Lea Agent")
    lena = agent_client(live_server, agent)
    rogue = ignoring_the_server(agent_client(live_server, agent))
    again = None
    try:
        before = make_ticket(alpha)
        for tab in (lena, rogue):
            tab.wait_for("ticket.created", lambda d: d["ticket"]["id"] == before.id)
        rogue_sid = rogue.client.get_sid("/inbox")

        set_access(agent, all_stores=False, stores=[beta], by=admin)

        assert lena.wait_for("disconnect") == SERVER_DISCONNECT
        # Ended by the server for both: the modified client too (its namespace handler ran).
        until(lambda: not server.server.manager.is_connected(rogue_sid, "/inbox"))
        until(lambda: connected_devices(agent.id) == 0)
        assert rogue.client.connected  # it did not let go...

        again = agent_client(live_server, agent)  # the inbox reconnects (app.js)
        assert rooms_of(again) == {again.client.get_sid("/inbox"), f"agent:{agent.id}", f"store:{beta.id}:agents"}
        lost, kept = make_ticket(alpha), make_ticket(beta)
        again.wait_for("message.created", lambda d: d["message"]["ticket_id"] == kept.id)
        time.sleep(0.3)  # what else was on its way
        assert lost.id not in ticket_ids(again.received())
        # ...and hears nothing new: not of the store it lost, nor of the one it kept.
        assert ticket_ids(rogue.received()) <= {before.id}
    finally:
        lena.disconnect()
        rogue.cut()
        if again is not None:
            again.disconnect()


def test_a_demoted_admin_reconnects_to_their_own_stores_only(live_server, shops, admin):
    alpha, beta = shops
    boss = make_agent("Bo Boss", role="admin", stores=[beta])
    tab = agent_client(live_server, boss)
    again = None
    try:
        assert {f"store:{alpha.id}:agents", f"store:{beta.id}:agents"} <= rooms_of(tab)
        set_role(boss, "agent", by=admin)
        assert tab.wait_for("disconnect") == SERVER_DISCONNECT
        again = agent_client(live_server, boss)
        assert rooms_of(again) == {again.client.get_sid("/inbox"), f"agent:{boss.id}", f"store:{beta.id}:agents"}
    finally:
        tab.disconnect()
        if again is not None:
            again.disconnect()


def test_an_agent_deactivated_on_the_team_page_is_disconnected_and_refused(live_server, shops, admin):
    agent = make_agent("Lea Agent")
    cookie = agent_cookie(live_server, agent)
    headers = {"Cookie": cookie, "User-Agent": UA}
    lena = Recorder(live_server, "/inbox", headers=headers).connect()
    other = agent_client(live_server, make_agent("Otto Other"))
    try:
        admin_headers = {"Cookie": agent_cookie(live_server, admin), "User-Agent": UA}
        page = requests.get(f"{live_server}/inbox/settings/team", headers=admin_headers, timeout=5).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = requests.post(f"{live_server}/inbox/settings/team/{agent.id}/active", headers=admin_headers,
                                 data={"csrf_token": csrf, "active": "0"}, allow_redirects=False, timeout=5)
        assert response.status_code == 302

        assert lena.wait_for("disconnect") == SERVER_DISCONNECT
        # The reconnect the inbox makes, with the same session cookie, is refused.
        with pytest.raises(socketio.exceptions.ConnectionError):
            Recorder(live_server, "/inbox", headers=headers).connect()
        # Nobody else was disconnected.
        ticket = make_ticket(shops[0])
        other.wait_for("ticket.created", lambda d: d["ticket"]["id"] == ticket.id)
        assert "disconnect" not in [name for name, _ in other.received()]
    finally:
        lena.disconnect()
        other.disconnect()


def test_a_change_while_a_socket_chooses_its_rooms_makes_it_choose_again(live_server, shops, monkeypatch):
    """A socket still connecting cannot be disconnected: if the change lands while it joins
    its rooms (here: after it read the old stores), it leaves them and reads the access again."""
    import inbox.sockets

    alpha, beta = shops
    agent = make_agent("Lea Agent", stores=[beta])
    reads = []

    def stale_then_fresh(row):
        reads.append(row.id)
        if len(reads) == 1:
            # What the socket read before the change committed; the change's disconnect
            # arrives now, while the handler is still choosing.
            server.server.manager.disconnect_room(f"agent:{row.id}", "/inbox")
            return [alpha.id, beta.id]
        return [s.id for s in row.stores]

    monkeypatch.setattr(inbox.sockets, "visible_store_ids", stale_then_fresh)
    tab = agent_client(live_server, agent)
    try:
        assert len(reads) == 2
        assert rooms_of(tab) == {tab.client.get_sid("/inbox"), f"agent:{agent.id}", f"store:{beta.id}:agents"}
        assert connected_devices(agent.id) == 1
    finally:
        tab.disconnect()
