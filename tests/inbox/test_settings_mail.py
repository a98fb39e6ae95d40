"""Admins' mailbox pages (inbox/settings_mail.py): plain forms through the actions;
secrets are write-only, refusals show next to their field."""
import re

import pytest

from helpdesk.actions.email import create_mailbox
from helpdesk.extensions import db
from helpdesk.models import Agent, InboundEmail, Mailbox, Role
from tests.factories import make_agent, make_store
from tests.inbox.test_views import sign_in

IMAP_SECRET = "imap-Pa55-zq81"
SMTP_SECRET = "smtp+starttls://mailer:smtp-Pa55-kx42@smtp.shop.test:587"
MAILGUN_SECRET = "key-mailgun-77aa11"


def _mailbox_form(csrf, **fields):
    form = {"csrf_token": csrf, "name": "Support", "active": "1", "imap_ssl": "1", "imap_host": "imap.shop.test",
            "imap_port": "993", "imap_username": "support", "imap_password": "", "imap_folders": "INBOX\nArchive",
            "smtp_url": "", "mailgun_signing_key": ""}
    form.update(fields)
    return form


def _secrets_absent(html, mailbox=None):
    for secret in (IMAP_SECRET, SMTP_SECRET, "smtp-Pa55-kx42", MAILGUN_SECRET):
        assert secret not in html
    if mailbox is not None:
        assert mailbox.inbound_secret not in html


# ---- access ------------------------------------------------------------------------------------

def test_agents_get_403_and_guests_sign_in(client, store):
    agent = make_agent("Ann Agent")
    assert client.get("/inbox/settings/mailboxes").status_code == 302
    csrf = sign_in(client, agent)
    assert client.get("/inbox/settings/mailboxes").status_code == 403
    assert client.get("/inbox/settings/team").status_code == 403
    assert client.post("/inbox/settings/mailboxes", data=_mailbox_form(csrf, store_id=store.id,
                                                                       address="x@shop.test")).status_code == 403
    assert client.post(f"/inbox/settings/team/{agent.id}/role", data={"csrf_token": csrf, "role": "admin"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).role == Role.AGENT
    assert db.session.scalar(db.select(db.func.count()).select_from(Mailbox)) == 0
    # Agents do not see the links; admins do.
    assert "/inbox/settings/team" not in client.get("/inbox/").get_data(as_text=True)


def test_admin_sees_the_links_in_the_inbox_menu(admin_client):
    page = admin_client.get("/inbox/").get_data(as_text=True)
    assert 'href="/inbox/settings/mailboxes"' in page and 'href="/inbox/settings/team"' in page


def test_a_form_without_its_csrf_token_is_refused(admin_client, store, admin):
    response = admin_client.post("/inbox/settings/mailboxes", data={"store_id": store.id, "address": "help@shop.test"})
    assert response.status_code == 400
    response = admin_client.post("/inbox/settings/team", data={"email": "new@shop.test", "name": "New"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Mailbox)) == 0
    assert db.session.scalar(db.select(Agent).where(Agent.email == "new@shop.test")) is None


# ---- mailboxes ---------------------------------------------------------------------------------

def test_admin_adds_lists_and_edits_a_mailbox_and_secrets_never_come_back(admin_client, store):
    page = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert "There is no mailbox yet." in page and 'for="mb-address"' in page

    created = admin_client.post("/inbox/settings/mailboxes", data=_mailbox_form(
        admin_client.csrf, store_id=store.id, address="Help@Shop.test", imap_password=IMAP_SECRET,
        smtp_url=SMTP_SECRET, mailgun_signing_key=MAILGUN_SECRET))
    assert created.status_code == 201
    mailbox = db.session.scalar(db.select(Mailbox))
    assert (mailbox.address, mailbox.store_id, mailbox.imap_folders) == ("help@shop.test", store.id, ["INBOX", "Archive"])
    assert (mailbox.imap_password, mailbox.smtp_url, mailbox.mailgun_signing_key) == (IMAP_SECRET, SMTP_SECRET, MAILGUN_SECRET)
    html = created.get_data(as_text=True)
    _secrets_absent(html)
    # The inbound secret is shown once, in this answer, with the provider URLs built from it.
    assert mailbox.inbound_secret in html and "shown only this once" in html
    assert f"/inbound/email/{mailbox.inbound_token}/postmark" in html

    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    _secrets_absent(html, mailbox)
    card = html[html.index(f'id="mailbox-{mailbox.id}"'):]
    for text in ("help@shop.test", "Linen Lane", "imap.shop.test", "INBOX, Archive", "Never",
                 f"/inbound/email/{mailbox.inbound_token}/sendgrid", f"/inbound/email/{mailbox.inbound_token}/mailgun"):
        assert text in card
    assert "Not set: the helpdesk's own</dd>" not in card  # SMTP is set (gettext's text is not escaped again)

    edit = admin_client.get(f"/inbox/settings/mailboxes/{mailbox.id}").get_data(as_text=True)
    _secrets_absent(edit, mailbox)
    assert "Edit help@shop.test" in edit and edit.count("(set)") == 3

    saved = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}", data=_mailbox_form(
        admin_client.csrf, name="Returns desk", imap_host="imap2.shop.test", imap_folders="INBOX", auto_reply="1",
        active=""))
    assert saved.status_code == 302
    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox.id)
    assert (mailbox.name, mailbox.imap_host, mailbox.auto_reply, mailbox.active) == ("Returns desk", "imap2.shop.test", True, False)
    # Empty secret fields kept the stored values.
    assert (mailbox.imap_password, mailbox.smtp_url, mailbox.mailgun_signing_key) == (IMAP_SECRET, SMTP_SECRET, MAILGUN_SECRET)

    admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}", data=_mailbox_form(
        admin_client.csrf, imap_password="new-Pa55-word"))
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox.id).imap_password == "new-Pa55-word"


def test_an_invalid_smtp_url_is_shown_at_its_field_and_changes_nothing(admin_client, store):
    mailbox = create_mailbox(store, "help@shop.test", imap_host="imap.shop.test", imap_password=IMAP_SECRET,
                             smtp_url=SMTP_SECRET)
    response = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}", data=_mailbox_form(
        admin_client.csrf, name="Typed name", imap_host="typed.shop.test", smtp_url="http://smtp.shop.test",
        imap_password="typed-Pa55-9"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="mb-smtp_url"[^>]*aria-describedby="mb-smtp_url-help mb-smtp_url-error"[^>]*aria-invalid="true"', html)
    assert '<p id="mb-smtp_url-error" class="error field-error">Use smtp://, smtps:// or smtp+starttls://.</p>' in html
    # What was typed stays, except the secrets.
    assert 'value="Typed name"' in html and 'value="typed.shop.test"' in html
    assert "typed-Pa55-9" not in html and "http://smtp.shop.test" not in html
    _secrets_absent(html, mailbox)
    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox.id)
    assert (mailbox.name, mailbox.imap_host, mailbox.smtp_url, mailbox.imap_password) == (
        "", "imap.shop.test", SMTP_SECRET, IMAP_SECRET)


def test_an_action_refusal_is_shown_at_its_field_and_keeps_the_typing(admin_client, store):
    create_mailbox(store, "help@shop.test")
    response = admin_client.post("/inbox/settings/mailboxes", data=_mailbox_form(
        admin_client.csrf, store_id=store.id, address="help@shop.test", name="Second", smtp_url=SMTP_SECRET))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p id="mb-address-error" class="error field-error">That address already has a mailbox.</p>' in html
    assert 'value="Second"' in html and SMTP_SECRET not in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Mailbox)) == 1


def test_html_in_names_is_escaped_and_the_quarantine_is_listed(admin_client):
    store = make_store("<b>Bold</b> shop")
    mailbox = create_mailbox(store, "help@shop.test", name="<script>alert(1)</script>")
    mailbox.last_error = "<img src=x>"  # written by the poller
    db.session.add_all([
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="imap", status=InboundEmail.QUARANTINED,
                     sender="<i>spam</i>@bad.test", subject="Win <u>now</u>", reason="no sender address"),
        InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="raw", status=InboundEmail.DONE),
    ])
    db.session.commit()
    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    for raw in ("<script>alert(1)", "<b>Bold</b>", "<img src=x>", "<i>spam</i>", "<u>now</u>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;Bold&lt;/b&gt; shop" in html
    assert "1 quarantined message" in html and "no sender address" in html and "Win &lt;u&gt;now&lt;/u&gt;" in html

    agent = make_agent("<em>Eve</em>")
    team = admin_client.get("/inbox/settings/team").get_data(as_text=True)
    assert "<em>Eve</em>" not in team and "&lt;em&gt;Eve&lt;/em&gt;" in team and agent.email in team


def test_rotating_the_inbound_secret_shows_the_new_one_once(admin_client, store):
    mailbox = create_mailbox(store, "help@shop.test")
    old = mailbox.inbound_secret
    html = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}/inbound-secret",
                             data={"csrf_token": admin_client.csrf}).get_data(as_text=True)
    db.session.expire_all()
    new = db.session.get(Mailbox, mailbox.id).inbound_secret
    assert new != old and new in html and old not in html
    assert new not in admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)


# ---- removing a stored secret ------------------------------------------------------------------

def test_a_set_secret_can_be_removed_and_its_value_is_never_rendered(admin_client, store):
    mailbox = create_mailbox(store, "help@shop.test", imap_host="imap.shop.test", imap_username="support",
                             imap_password=IMAP_SECRET, smtp_url=SMTP_SECRET)
    edit = admin_client.get(f"/inbox/settings/mailboxes/{mailbox.id}").get_data(as_text=True)
    _secrets_absent(edit, mailbox)
    # A box for each secret that is set; none for the Mailgun key, which is not.
    assert 'name="remove_imap_password"' in edit and 'name="remove_smtp_url"' in edit
    assert 'name="remove_mailgun_signing_key"' not in edit
    assert "Remove the stored password (IMAP polling stops)" in edit
    card = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert "IMAP polling</dt><dd>On" in card

    saved = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}", data=_mailbox_form(
        admin_client.csrf, remove_imap_password="1", remove_smtp_url="1"))
    assert saved.status_code == 302
    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox.id)
    assert (mailbox.imap_password, mailbox.smtp_url, mailbox.imap_host) == (None, None, "imap.shop.test")
    assert not mailbox.polls_imap
    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    card = html[html.index(f'id="mailbox-{mailbox.id}"'):]
    assert "<strong>Off: no IMAP password</strong>" in card
    assert "IMAP password</dt><dd>Not set" in card and "Not set: the helpdesk's own</dd>" in card
    edit = admin_client.get(f"/inbox/settings/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert 'name="remove_imap_password"' not in edit and edit.count("(not set)") == 3


def test_a_new_value_and_remove_together_are_refused(admin_client, store):
    mailbox = create_mailbox(store, "help@shop.test", imap_password=IMAP_SECRET)
    response = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}", data=_mailbox_form(
        admin_client.csrf, imap_password="typed-Pa55-9", remove_imap_password="1", name="Typed"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p id="mb-imap_password-error" class="error field-error">Type a new value or tick Remove, not both.</p>' \
        in html
    assert "typed-Pa55-9" not in html and 'name="remove_imap_password" value="1" checked' in html
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox.id).imap_password == IMAP_SECRET


# ---- removing a mailbox ------------------------------------------------------------------------

def test_removing_a_mailbox_asks_first_then_keeps_its_tickets(admin_client, store):
    from helpdesk.actions.email import ingest_email
    from helpdesk.models import Ticket
    from tests.connectors.email.test_intake import mail

    mailbox = create_mailbox(store, "help@shop.test")
    ticket_id = ingest_email(mailbox, mail(to="help@shop.test"), source="raw").ticket_id
    db.session.add(InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="imap",
                                status=InboundEmail.QUARANTINED, reason="no sender address"))
    db.session.commit()
    mailbox_id = mailbox.id
    listed = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert f'href="/inbox/settings/mailboxes/{mailbox_id}#remove-form">Remove…' in listed

    page = admin_client.get(f"/inbox/settings/mailboxes/{mailbox_id}").get_data(as_text=True)
    form = page[page.index('id="remove-form"'):]
    assert f'action="/inbox/settings/mailboxes/{mailbox_id}/remove"' in page
    assert "Its tickets and messages stay" in form and "1 quarantined message</li>" in form
    assert 'name="confirm" value="1"' in form and "Yes, remove help@shop.test" in form

    unconfirmed = admin_client.post(f"/inbox/settings/mailboxes/{mailbox_id}/remove",
                                     data={"csrf_token": admin_client.csrf})
    assert unconfirmed.status_code == 422
    html = unconfirmed.get_data(as_text=True)
    assert re.search(r'name="confirm" value="1" aria-describedby="mb-confirm-error" aria-invalid="true"', html)
    assert "Tick the box to confirm that help@shop.test is to be removed." in html
    assert admin_client.post(f"/inbox/settings/mailboxes/{mailbox_id}/remove",
                             data={"confirm": "1"}).status_code == 400  # no CSRF token
    assert db.session.get(Mailbox, mailbox_id) is not None

    removed = admin_client.post(f"/inbox/settings/mailboxes/{mailbox_id}/remove",
                                data={"csrf_token": admin_client.csrf, "confirm": "1"})
    assert removed.status_code == 302 and removed.location.endswith("/inbox/settings/mailboxes")
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox_id) is None and db.session.get(Ticket, ticket_id) is not None
    assert db.session.scalar(db.select(db.func.count()).select_from(InboundEmail).where(
        InboundEmail.status == InboundEmail.QUARANTINED)) == 0
    page = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert "Mailbox help@shop.test removed. Its tickets stay. 1 quarantined message was deleted." in page
    assert "There is no mailbox yet." in page
    assert admin_client.get(f"/inbox/settings/mailboxes/{mailbox_id}").status_code == 404


def test_agents_cannot_remove_a_mailbox_or_touch_its_quarantine(client, store):
    mailbox = create_mailbox(store, "help@shop.test")
    row = InboundEmail(store_id=store.id, mailbox_id=mailbox.id, source="raw", status=InboundEmail.QUARANTINED,
                       raw=b"Subject: hi\r\n\r\nhello", reason="no sender address")
    db.session.add(row)
    db.session.commit()
    base = f"/inbox/settings/mailboxes/{mailbox.id}"
    quarantined = f"{base}/quarantine/{row.id}"
    assert client.get(f"{quarantined}/download").status_code == 302  # signed out: to the sign-in page
    csrf = sign_in(client, make_agent("Ann Agent"))
    assert client.get(f"{quarantined}/download").status_code == 403
    for url in (f"{base}/remove", f"{quarantined}/import", f"{quarantined}/discard"):
        assert client.post(url, data={"csrf_token": csrf, "confirm": "1"}).status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox.id) is not None
    assert db.session.get(InboundEmail, row.id).status == InboundEmail.QUARANTINED


# ---- quarantine actions ------------------------------------------------------------------------

@pytest.fixture
def stuck(store):
    """A mailbox and, in its quarantine, the corpus's message without a From (kept)."""
    from helpdesk.actions.email import accept_delivery
    from tests.connectors.email.conftest import eml

    mailbox = create_mailbox(store, "support@shop.test")
    row, _new = accept_delivery(mailbox, eml("34-malformed-no-from.eml"), source="raw")
    return db.session.get(InboundEmail, row.id)


def _row(html, row_id):
    start = html.index(f'id="quarantine-{row_id}"')
    return html[start:html.index("</tr>", start)]


def test_each_quarantined_row_has_download_import_and_discard(admin_client, store, stuck):
    refused = InboundEmail(store_id=store.id, mailbox_id=stuck.mailbox_id, source="imap",
                           status=InboundEmail.QUARANTINED, sender="big@example.com", subject="Huge scans",
                           reason="message of 30000000 bytes is over the limit (left on the server)")
    db.session.add(refused)
    db.session.commit()
    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert "2 quarantined messages" in html
    kept = _row(html, stuck.id)
    base = f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}"
    assert f'href="{base}/download">Download' in kept
    assert f'action="{base}/import"' in kept and ">Import again<" in kept
    assert f'action="{base}/discard"' in kept and ">Discard<" in kept
    assert kept.count('name="csrf_token"') == 2
    # A message that was not kept cannot be downloaded or imported again; it can be discarded.
    gone = _row(html, refused.id)
    assert "/download" not in gone and "/import" not in gone and "/discard" in gone
    assert "Not kept: cannot be imported again" in gone
    # Each button says which message it is about to a screen reader.
    assert '>Discard<span class="sr-only"> Huge scans</span>' in gone


def test_the_download_is_an_attachment_never_shown_inline(admin_client, store, stuck):
    from tests.connectors.email.conftest import eml

    response = admin_client.get(f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/download")
    assert response.status_code == 200 and response.get_data() == eml("34-malformed-no-from.eml")
    assert response.mimetype == "message/rfc822"
    # No subject was read from a message refused as malformed: its number only.
    assert response.headers["Content-Disposition"] == f"attachment; filename=quarantined-{stuck.id}.eml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Another mailbox's number, or a message that was not kept: nothing.
    other = create_mailbox(store, "orders@shop.test")
    assert admin_client.get(f"/inbox/settings/mailboxes/{other.id}/quarantine/{stuck.id}/download").status_code \
        == 404
    stuck.raw = None
    db.session.commit()
    assert admin_client.get(f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/download") \
        .status_code == 404


def test_script_in_a_quarantined_subject_is_text_in_the_page_and_the_file_name(admin_client, stuck):
    stuck.subject = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    stuck.sender = "<b>x</b>@evil.test"
    stuck.reason = "no sender <i>address</i>"
    db.session.commit()
    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    for raw in ("<script>alert(1)", "<img src=x", "<b>x</b>", "<i>address</i>"):
        assert raw not in html
    row = _row(html, stuck.id)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in row
    assert '<span class="sr-only"> &lt;script&gt;' in row and "&lt;b&gt;x&lt;/b&gt;@evil.test" in row
    response = admin_client.get(f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/download")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=quarantined-{stuck.id}-script-alert-1-script-img-src-x-onerror-alert-2.eml")


def test_importing_again_links_the_new_ticket(admin_client, store, stuck):
    from helpdesk.actions.email import quarantine
    from tests.connectors.email.test_intake import mail

    mailbox = db.session.get(Mailbox, stuck.mailbox_id)
    quarantine(mailbox, mail(subject="Lost <b>parcel</b>"), source="raw", reason="internal error: RuntimeError",
               delivery_key="later")
    row = db.session.scalar(db.select(InboundEmail).where(InboundEmail.delivery_key == "later"))
    response = admin_client.post(f"/inbox/settings/mailboxes/{mailbox.id}/quarantine/{row.id}/import",
                                 data={"csrf_token": admin_client.csrf})
    assert response.status_code == 302 and response.location.endswith(f"/inbox/settings/mailboxes#mailbox-{mailbox.id}")
    db.session.expire_all()
    row = db.session.get(InboundEmail, row.id)
    assert row.status == InboundEmail.DONE and row.ticket_id
    html = admin_client.get("/inbox/settings/mailboxes").get_data(as_text=True)
    assert (f'Imported: the message is on <a href="/inbox/#ticket-{row.ticket_id}">ticket #{row.ticket_id}</a>.'
            in html)
    assert f'id="quarantine-{row.id}"' not in html and "1 quarantined message" in html


def test_importing_again_a_message_still_refused_shows_the_reason(admin_client, stuck):
    response = admin_client.post(f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/import",
                                 data={"csrf_token": admin_client.csrf}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Still quarantined after importing it again: no sender address (From)" in html
    assert f'id="quarantine-{stuck.id}"' in html
    db.session.expire_all()
    assert db.session.get(InboundEmail, stuck.id).raw  # still there to try again


def test_importing_a_message_that_was_not_kept_changes_nothing(admin_client, stuck):
    stuck.raw = None
    db.session.commit()
    response = admin_client.post(f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/import",
                                 data={"csrf_token": admin_client.csrf}, follow_redirects=True)
    assert "This message was not kept, so it cannot be imported again." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InboundEmail, stuck.id).status == InboundEmail.QUARANTINED


def test_discarding_deletes_the_row_after_a_csrf_check(admin_client, stuck):
    url = f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/discard"
    stuck_id = stuck.id
    assert admin_client.post(url, data={}).status_code == 400
    response = admin_client.post(url, data={"csrf_token": admin_client.csrf}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The quarantined message was deleted." in html and "All mail became tickets." in html
    db.session.expire_all()
    assert db.session.get(InboundEmail, stuck_id) is None
    assert admin_client.post(url, data={"csrf_token": admin_client.csrf}).status_code == 404


def test_quarantine_actions_are_rate_limited(admin_client, stuck):
    url = f"/inbox/settings/mailboxes/{stuck.mailbox_id}/quarantine/{stuck.id}/import"
    codes = [admin_client.post(url, data={"csrf_token": admin_client.csrf}).status_code for _ in range(31)]
    assert codes[:30] == [302] * 30 and codes[30] == 429


def test_the_page_does_not_read_the_quarantined_messages_bytes(admin_client, stuck):
    from tests.sql import statements_run

    with statements_run() as sent:
        assert admin_client.get("/inbox/settings/mailboxes").status_code == 200
    assert not [s for s in sent if "inbound_emails.raw," in s or "inbound_emails.raw from" in s]
    assert any("inbound_emails.raw is not null" in s for s in sent)
