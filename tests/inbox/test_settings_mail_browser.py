"""The mailbox and team pages in real Chromium at 390 px: no sideways page scroll (tables
scroll inside their own wrapper), 40 px tap targets, no serious axe findings."""
import pytest

from helpdesk.actions.email import create_mailbox
from helpdesk.extensions import db
from helpdesk.models import InboundEmail
from tests.browser import DESKTOP, PHONE, serious_violations
from tests.factories import make_agent, make_store
from tests.inbox.test_browser import sign_in

pytestmark = pytest.mark.browser

# The page's width, the window's, and the text that sticks out past the right edge (outside
# the tables' own scrolling wrappers): what to fix when the first is the larger.
OVERFLOW = """() => {
    const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, range = document.createRange();
      range.selectNodeContents(node);
      if (range.getBoundingClientRect().right > window.innerWidth + 1 && !node.parentElement.closest('.table-wrap, .sr-only'))
        out.push(node.textContent.trim().slice(0, 60));
    }
    return [document.documentElement.scrollWidth, window.innerWidth, out];
  }"""

# Visible controls lower than 40 px (a finger, not a pointer). Check boxes and radios are tapped
# through their labels (label.check: 40 px tall).
SMALL_TARGETS = """() => [...document.querySelectorAll(
      'main button, main select, main summary, main a.btn, main input:not([type=checkbox]):not([type=radio]):not([type=hidden])')]
    .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
    .filter(el => el.getBoundingClientRect().height < 40)
    .map(el => el.outerHTML.slice(0, 80))"""


def test_mailboxes_and_team_fit_a_phone(live_server, chromium):
    store = make_store("Linen Lane Outlet & Seconds")
    admin = make_agent(name="Ada Admin", role="admin")
    make_agent(name="Ann Agent with a rather long name", stores=[store])
    mailbox = create_mailbox(store, "customer-service-returns@linen-lane-outlet.example", name="Returns",
                             imap_host="imap.mail.linen-lane-outlet.example", imap_username="customer-service-returns",
                             imap_password="secret-Pa55", smtp_url="smtps://u:p@smtp.linen-lane-outlet.example")
    mailbox.last_error = "IMAP login failed: [AUTHENTICATIONFAILED] Invalid credentials (Failure) for user customer-service-returns"
    db.session.add_all([
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="imap", status=InboundEmail.QUARANTINED,
                     sender="someone.with.a.long.address@example.com", subject="Where is my parcel? Order #100234",
                     reason="no usable text in the message", raw=b"Subject: Where is my parcel?\r\n\r\n?"),
        # Not kept (too large): no Download or Import again, only Discard.
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="imap", status=InboundEmail.QUARANTINED,
                     sender="scanner@office.example.com", subject="Scans of every receipt of the year",
                     reason="message of 31457280 bytes is over the 26214400 byte limit (left on the server)"),
    ])
    db.session.commit()
    edit = f"/inbox/settings/mailboxes/{mailbox.id}"  # the secrets' Remove boxes and the removal form

    context, page = sign_in(chromium, live_server, admin, PHONE)
    try:
        for path, name in (("/inbox/settings/mailboxes", "mailboxes"), (edit, "mailbox-edit"),
                           ("/inbox/settings/team", "team")):
            page.goto(live_server + path)
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            width, window, sticking_out = page.evaluate(OVERFLOW)
            assert width <= window, (path, sticking_out)
            assert page.evaluate(SMALL_TARGETS) == [], path
            assert serious_violations(page) == [], path
            page.screenshot(path=f"/tmp/settings-mail-{name}-390.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        for path, name in (("/inbox/settings/mailboxes", "mailboxes"), (edit, "mailbox-edit"),
                           ("/inbox/settings/team", "team")):
            page.goto(live_server + path)
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            width, window, sticking_out = page.evaluate(OVERFLOW)
            assert width <= window, (path, sticking_out)
            page.screenshot(path=f"/tmp/settings-mail-{name}-desktop.png", full_page=True)
        # The quarantine's buttons carry their words (not icons only).
        page.goto(live_server + "/inbox/settings/mailboxes")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        for label in ("Download", "Import again", "Discard"):
            assert page.get_by_role("link" if label == "Download" else "button", name=label).first.is_visible()
        assert page.get_by_role("button", name="Discard").count() == 2
        assert page.js_errors == []
    finally:
        context.close()
