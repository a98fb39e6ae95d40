"""Inbound email over HTTP: the raw MIME endpoint and the Postmark, Mailgun and SendGrid
webhooks. Forged requests are 401 and store nothing; replays are stored once."""
import base64
import io
import json
import time

import pytest
from sqlalchemy import func, select

from connectors.email.providers import mailgun_signature
from helpdesk.actions.email import update_mailbox
from helpdesk.extensions import db
from helpdesk.models import Attachment, InboundEmail, Message, Ticket
from tests.connectors.email.conftest import CORPUS, eml

POSTMARK = json.loads((CORPUS / "providers" / "postmark_inbound.json").read_text(encoding="utf-8"))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def basic(password, user="inbound"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def url(mailbox, provider=""):
    return f"/inbound/email/{mailbox.inbound_token}" + (f"/{provider}" if provider else "")


# ---- raw MIME ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, basic("wrong")])
def test_raw_endpoint_refuses_a_wrong_secret_and_stores_nothing(client, mailbox, headers):
    response = client.post(url(mailbox), data=eml("01-plain-ascii.eml"), headers=headers)
    assert response.status_code == 401
    assert count(InboundEmail) == 0 and count(Ticket) == 0


def test_raw_endpoint_accepts_a_message_and_a_replay_is_stored_once(client, mailbox):
    headers = {"Authorization": f"Bearer {mailbox.inbound_secret}", "Content-Type": "message/rfc822"}
    first = client.post(url(mailbox), data=eml("12-rfc2231-filename-pdf.eml"), headers=headers)
    assert first.status_code == 200 and first.json["status"] == "accepted"
    replay = client.post(url(mailbox), data=eml("12-rfc2231-filename-pdf.eml"), headers=headers)
    assert replay.status_code == 200 and replay.json == {"status": "duplicate", "id": first.json["id"]}
    (ticket,) = db.session.scalars(select(Ticket)).all()
    assert ticket.subject == "Rechnung fehlt"
    assert [a.filename for a in db.session.scalars(select(Attachment))] == ["Rechnung März.pdf"]
    row = db.session.get(InboundEmail, first.json["id"])
    assert row.status == "done" and row.raw is None and row.ticket_id == ticket.id


def test_unknown_or_inactive_mailbox_is_404(client, mailbox):
    assert client.post("/inbound/email/mb_nope", data=b"x").status_code == 404
    update_mailbox(mailbox, active=False)
    assert client.post(url(mailbox), data=b"x", headers=basic(mailbox.inbound_secret)).status_code == 404


def test_a_body_over_the_request_limit_is_refused_and_logged(app, client, mailbox, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    response = client.post(url(mailbox), data=b"X" * 5000, headers=basic(mailbox.inbound_secret))
    assert response.status_code == 413 and count(InboundEmail) == 0
    assert any("too large" in r.getMessage() for r in caplog.records)


# ---- Postmark ---------------------------------------------------------------------------

def test_postmark_needs_its_basic_auth(client, mailbox):
    response = client.post(url(mailbox, "postmark"), json=POSTMARK, headers=basic("guess"))
    assert response.status_code == 401 and count(InboundEmail) == 0


def test_postmark_inbound_json_becomes_a_ticket_with_its_attachment(client, mailbox):
    response = client.post(url(mailbox, "postmark"), json=POSTMARK, headers=basic(mailbox.inbound_secret))
    assert response.status_code == 200, response.json
    (message,) = db.session.scalars(select(Message)).all()
    assert message.ticket.subject == "Test subject"
    assert message.author_contact.email == "support@postmarkapp.com"
    assert message.author_contact.name == "Postmarkapp Support"
    assert message.body_text.startswith("This is a test text body.")
    assert message.meta["email"]["message_id"] == "CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com"
    assert [a.filename for a in message.attachments] == ["test.txt"]
    # Postmark retries a delivery it thinks failed: the same MessageID is stored once.
    again = client.post(url(mailbox, "postmark"), json=POSTMARK, headers=basic(mailbox.inbound_secret))
    assert again.json["status"] == "duplicate" and count(Message) == 1


@pytest.mark.parametrize("change", [
    {"TextBody": 5}, {"HtmlBody": ["a", "list"]}, {"Headers": 5}, {"Headers": [{"Name": 5, "Value": [1]}]},
    {"Attachments": [1]}, {"Attachments": "text"}, {"Attachments": [{"Content": 5}]},
    {"FromFull": {"Email": 5}}, {"MessageID": "\ud800"}, {"RawEmail": "From: \ud800"},
])
def test_postmark_json_of_the_wrong_shape_is_400_not_500(client, mailbox, change):
    payload = {**POSTMARK, **change}
    response = client.post(url(mailbox, "postmark"), json=payload, headers=basic(mailbox.inbound_secret))
    assert response.status_code == 400 and response.json["status"] == "refused"
    assert count(InboundEmail) == 0


# ---- Mailgun ----------------------------------------------------------------------------

def mailgun_form(key, *, timestamp=None, token="a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", **fields):
    timestamp = str(timestamp or int(time.time()))
    return {"timestamp": timestamp, "token": token, "signature": mailgun_signature(key, timestamp, token), **fields}


@pytest.fixture
def mailgun_mailbox(mailbox):
    return update_mailbox(mailbox, mailgun_signing_key="key-3ax6xnjp29jd6fds4gc373sgvjxteol0")


def test_mailgun_forged_or_stale_signatures_are_refused(client, mailgun_mailbox):
    raw = eml("01-plain-ascii.eml").decode()
    forged = mailgun_form("not-the-key", **{"body-mime": raw})
    stale = mailgun_form(mailgun_mailbox.mailgun_signing_key, timestamp=int(time.time()) - 3600,
                         **{"body-mime": raw})
    unsigned = {"body-mime": raw}
    for form in (forged, stale, unsigned):
        assert client.post(url(mailgun_mailbox, "mailgun"), data=form).status_code == 401
    assert count(InboundEmail) == 0 and count(Ticket) == 0


def test_mailgun_raw_mime_route_and_its_replay(client, mailgun_mailbox):
    form = mailgun_form(mailgun_mailbox.mailgun_signing_key, **{"body-mime": eml("06-latin1-quoted-printable.eml")
                                                                .decode("ascii")})
    assert client.post(url(mailgun_mailbox, "mailgun"), data=form).json["status"] == "accepted"
    assert client.post(url(mailgun_mailbox, "mailgun"), data=form).json["status"] == "duplicate"
    (ticket,) = db.session.scalars(select(Ticket)).all()
    assert ticket.subject == "Größe ändern"


def test_mailgun_parsed_fields_with_an_inline_image(client, mailgun_mailbox):
    png = next(p.data for p in __import__("connectors.email.parser", fromlist=["parse"]).parse(
        eml("14-inline-cid-image.eml")).attachments)
    headers = [["Received", "by luna.mailgun.net with SMTP mgrt 8734663311733"],
               ["Message-Id", "<CAB0-mailgun-1@mail.gmail.com>"], ["Date", "Fri, 8 Mar 2024 10:00:00 +0000"],
               ["From", "Bob <bob@example.com>"], ["To", "support@shop.test"], ["Subject", "Photo of the stain"],
               ["Mime-Version", "1.0"], ["Content-Type", "multipart/mixed; boundary=\"x\""]]
    form = mailgun_form(mailgun_mailbox.mailgun_signing_key, **{
        "recipient": "support@shop.test", "sender": "bob@example.com", "from": "Bob <bob@example.com>",
        "subject": "Photo of the stain", "body-plain": "See the photo.\n", "stripped-text": "See the photo.",
        "body-html": '<p>See the photo.</p><img src="cid:stain@bob">', "message-headers": json.dumps(headers),
        "content-id-map": json.dumps({"<stain@bob>": "attachment-1"}), "attachment-count": "1",
        "attachment-1": (io.BytesIO(png), "stain.png", "image/png"),
    })
    response = client.post(url(mailgun_mailbox, "mailgun"), data=form, content_type="multipart/form-data")
    assert response.json["status"] == "accepted"
    (message,) = db.session.scalars(select(Message)).all()
    assert message.meta["email"]["message_id"] == "CAB0-mailgun-1@mail.gmail.com"
    assert [a.filename for a in message.attachments] == ["stain.png"]
    assert "/media/attachments/" in message.body_html and "cid:" not in message.body_html


def test_mailgun_non_ascii_signature_is_401_and_a_listed_content_id_map_is_ignored(client, mailgun_mailbox):
    key = mailgun_mailbox.mailgun_signing_key
    form = {**mailgun_form(key, **{"body-plain": "hi", "from": "a@example.org"}), "signature": "é" * 64}
    assert client.post(url(mailgun_mailbox, "mailgun"), data=form).status_code == 401
    form = mailgun_form(key, **{"from": "a@example.org", "subject": "Hi", "body-plain": "See the file.",
                                "content-id-map": json.dumps({"<a@b>": ["attachment-1"]}),
                                "attachment-1": (io.BytesIO(b"%PDF-1.4 a"), "a.pdf", "application/pdf")})
    response = client.post(url(mailgun_mailbox, "mailgun"), data=form, content_type="multipart/form-data")
    assert response.json["status"] == "accepted"


# ---- SendGrid ---------------------------------------------------------------------------

def test_sendgrid_needs_the_secret(client, mailbox):
    data = {"email": eml("01-plain-ascii.eml").decode()}
    assert client.post(url(mailbox, "sendgrid"), data=data).status_code == 401
    assert client.post(url(mailbox, "sendgrid") + "?secret=nope", data=data).status_code == 401
    assert count(InboundEmail) == 0


def test_sendgrid_raw_mode_with_the_secret_in_the_url(client, mailbox):
    data = {"email": eml("08-koi8r-base64.eml").decode("ascii"), "to": "support@shop.test",
            "from": "ivan.petrov@yandex.ru", "charsets": json.dumps({"to": "UTF-8"}), "envelope": "{}"}
    response = client.post(url(mailbox, "sendgrid") + f"?secret={mailbox.inbound_secret}", data=data)
    assert response.json["status"] == "accepted"
    assert client.post(url(mailbox, "sendgrid") + f"?secret={mailbox.inbound_secret}", data=data).json["status"] \
        == "duplicate"
    (message,) = db.session.scalars(select(Message)).all()
    assert "когда будет доставка в Москву" in message.body_text


def test_sendgrid_parsed_mode_with_basic_auth(client, mailbox):
    data = {
        "headers": "Received: by mx0047p1mdw1.sendgrid.net\nMessage-ID: <sg-parsed-1@example.org>\n"
                   "Date: Fri, 8 Mar 2024 10:00:00 +0000\nFrom: Eva <eva@example.org>\nTo: support@shop.test\n"
                   "Subject: Gift card\n",
        "from": "Eva <eva@example.org>", "to": "support@shop.test", "subject": "Gift card",
        "text": "Does the gift card expire?", "html": "<p>Does the gift card <b>expire</b>?</p>",
        "attachments": "0", "charsets": json.dumps({"text": "utf-8"}),
    }
    response = client.post(url(mailbox, "sendgrid"), data=data, headers=basic(mailbox.inbound_secret))
    assert response.json["status"] == "accepted"
    (message,) = db.session.scalars(select(Message)).all()
    assert message.body_text == "Does the gift card expire?" and "<b>expire</b>" in message.body_html


@pytest.mark.parametrize("info", ["[]", "null", "5", json.dumps({"attachment1": "x"}),
                                  json.dumps({"attachment1": {"filename": 5, "type": ["x"]}})])
def test_sendgrid_attachment_info_of_the_wrong_shape_keeps_the_attachment(client, mailbox, info):
    data = {"from": "Eva <eva@example.org>", "to": "support@shop.test", "subject": "Receipt",
            "text": "Attached.", "attachments": "1", "attachment-info": info,
            "attachment1": (io.BytesIO(b"%PDF-1.4 receipt"), "receipt.pdf", "application/pdf")}
    response = client.post(url(mailbox, "sendgrid"), data=data, headers=basic(mailbox.inbound_secret),
                           content_type="multipart/form-data")
    assert response.json["status"] == "accepted"
    (message,) = db.session.scalars(select(Message)).all()
    assert [a.filename for a in message.attachments] == ["receipt.pdf"]


# ---- mailbox settings -------------------------------------------------------------------

@pytest.mark.parametrize("url", ["smtp://[::1", "smtp://smtp.shop.test:99999", "smtps://", "smtp://:587",
                                 "smtp://smtp.shop.test:port"])
def test_an_smtp_url_without_a_server_to_reach_is_refused(client, store, url):
    # Saved as it was, it failed only later, on every reply the outbox tried to send.
    from tests.factories import make_agent, make_token

    auth = {"Authorization": f"Bearer {make_token(make_agent(role='admin'))}"}
    response = client.post("/api/v1/mailboxes", headers=auth, json={
        "store_id": store.id, "address": "help@shop.test", "smtp_url": url})
    assert response.status_code == 422 and list(response.json["errors"]) == ["smtp_url"], response.json
    assert client.post("/api/v1/mailboxes", headers=auth, json={
        "store_id": store.id, "address": "help@shop.test", "smtp_url": "smtp+starttls://u:p@[::1]:587"}).status_code == 201


def test_mailbox_secrets_go_in_and_never_come_back(client, store):
    from tests.factories import make_agent, make_token

    admin = make_agent(role="admin")
    auth = {"Authorization": f"Bearer {make_token(admin)}"}
    created = client.post("/api/v1/mailboxes", headers=auth, json={
        "store_id": store.id, "address": "Help@Shop.test", "imap_host": "imap.shop.test", "imap_port": 993,
        "imap_username": "help", "imap_password": "imap-secret", "smtp_url": "smtp://u:smtp-secret@smtp.shop.test",
        "mailgun_signing_key": "key-secret"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["address"] == "help@shop.test" and len(body["inbound_secret"]) == 64  # shown once
    shown = client.get(f"/api/v1/mailboxes/{body['id']}", headers=auth)
    listed = client.get("/api/v1/mailboxes", headers=auth)
    for text in (shown.get_data(as_text=True), listed.get_data(as_text=True)):
        for secret in ("imap-secret", "smtp-secret", "key-secret", body["inbound_secret"]):
            assert secret not in text
    assert shown.json["has_imap_password"] and shown.json["has_smtp_url"] and shown.json["has_mailgun_signing_key"]
    # Leaving a secret out keeps it; an agent who is not an admin sees nothing.
    client.patch(f"/api/v1/mailboxes/{body['id']}", headers=auth, json={"imap_folders": ["INBOX", "Support"]})
    assert client.get(f"/api/v1/mailboxes/{body['id']}", headers=auth).json["has_imap_password"]
    agent = make_agent()
    assert client.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {make_token(agent)}"}).status_code \
        == 403
