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


@pytest.fixture
def store():
    return make_store("Linen Lane")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


@pytest.fixture
def admin_client(client, admin):
    client.csrf = sign_in(client, admin)
    return client


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
    assert "Not set: the helpdesk&#39;s own" not in card  # SMTP is set

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
