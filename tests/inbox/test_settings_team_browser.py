"""An agent's access in real Chromium: the team page's access form on a phone (plain form, no
script needed), and an open inbox living through the change -- it reconnects to the stores it
may see now, and a deactivated agent is sent to sign in."""
import re

import pytest

from helpdesk.actions.agents import set_access, set_active
from helpdesk.extensions import db
from helpdesk.models import Agent
from tests.browser import PHONE, serious_violations
from tests.factories import make_agent, make_store, make_team, make_ticket
from tests.inbox.test_browser import TIMEOUT, sign_in
from tests.inbox.test_settings_mail_browser import OVERFLOW, SMALL_TARGETS

pytestmark = pytest.mark.browser


def test_the_access_form_on_a_phone(live_server, chromium):
    alpha, beta = make_store("Linen Lane Outlet & Seconds"), make_store("Beta")
    team = make_team("Returns and exchanges desk", alpha)
    admin = make_agent(name="Ada Admin", role="admin")
    agent = make_agent(name="Ann Agent with a rather long name")
    context, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        page.goto(f"{live_server}/inbox/settings/team")
        details = page.locator(f"#access-{agent.id}")
        details.locator("summary").click()
        width, window, sticking_out = page.evaluate(OVERFLOW)
        assert width <= window, sticking_out
        assert page.evaluate(SMALL_TARGETS) == []
        assert serious_violations(page) == []
        # The labels name every control (what a screen reader says, and the tap area).
        details.get_by_label("Only the stores ticked below").check()
        details.get_by_label("Linen Lane Outlet & Seconds", exact=True).check()
        details.get_by_label("Returns and exchanges desk (Linen Lane Outlet & Seconds)", exact=True).check()
        page.screenshot(path="/tmp/settings-team-access-390.png", full_page=True)
        details.get_by_role("button", name="Save access").click()
        page.wait_for_url(re.compile(rf".*/inbox/settings/team#agent-{agent.id}$"))
        assert "The access of Ann Agent with a rather long name is saved." in page.content()
        db.session.expire_all()
        saved = db.session.get(Agent, agent.id)
        assert [s.id for s in saved.stores] == [alpha.id] and [t.id for t in saved.teams] == [team.id]
        assert not saved.all_stores and beta.id not in [s.id for s in saved.stores]
        assert page.js_errors == []
    finally:
        context.close()


def test_an_open_inbox_follows_the_agents_access(live_server, chromium):
    alpha, beta = make_store("Alpha"), make_store("Beta")
    admin = make_agent(name="Ada Admin", role="admin")
    agent = make_agent(name="Lea Agent")
    context, page = sign_in(chromium, live_server, agent, PHONE)
    try:
        set_access(agent, all_stores=False, stores=[beta], by=admin)
        # The server ended the socket; the page reconnected on its own, to Beta only.
        kept = make_ticket(beta)
        page.locator(f'.ticket-row[data-ticket-id="{kept.id}"]').wait_for(timeout=TIMEOUT)
        lost = make_ticket(alpha)
        later = make_ticket(beta)
        page.locator(f'.ticket-row[data-ticket-id="{later.id}"]').wait_for(timeout=TIMEOUT)
        assert page.locator(f'.ticket-row[data-ticket-id="{lost.id}"]').count() == 0

        set_active(agent, False, by=admin)
        page.locator("#conn-state", has_text="Your access has changed. Sign in again.").wait_for(timeout=TIMEOUT)
        page.wait_for_url(re.compile(r".*/login"), timeout=TIMEOUT)
        assert page.js_errors == []
    finally:
        context.close()
