"""The mailbox API (connectors/email/admin.py) beyond creating and listing: removing a secret
with null, removing a mailbox, and the quarantine's download, import-again and discard."""
import pytest
from sqlalchemy import func, select

from helpdesk.actions.email import accept_delivery, ingest_email, quarantine, update_mailbox
from helpdesk.extensions import db
from helpdesk.models import InboundEmail, Mailbox, Ticket
from tests.connectors.email.conftest import eml
from tests.connectors.email.test_intake import mail
from tests.factories import make_agent, make_token

MALFORMED = "34-malformed-no-from.eml"


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {make_token(make_agent(role='admin'))}"}


@pytest.fixture
def agent_auth():
    return {"Authorization": f"Bearer {make_token(make_agent())}"}


@pytest.fixture
def stuck(mailbox):
    """A quarantined message, kept: the malformed fixture without a From."""
    row, _new = accept_delivery(mailbox, eml(MALFORMED), source="raw", delivery_key="stuck")
    return db.session.get(InboundEmail, row.id)


def _base(mailbox, row=None):
    return f"/api/v1/mailboxes/{mailbox.id}" + (f"/quarantine/{row.id}" if row is not None else "")


def test_null_removes_a_secret_and_leaving_it_out_or_empty_keeps_it(client, auth, mailbox):
    update_mailbox(mailbox, imap_host="imap.shop.test", imap_username="support", imap_password="imap-secret",
                   smtp_url="smtp://u:p@smtp.shop.test", mailgun_signing_key="key-secret")
    url = _base(mailbox)
    kept = client.patch(url, headers=auth, json={"name": "Support", "imap_password": ""})
    assert kept.status_code == 200, kept.json
    assert (kept.json["has_imap_password"], kept.json["has_smtp_url"], kept.json["has_mailgun_signing_key"]) == (
        True, True, True)

    cleared = client.patch(url, headers=auth, json={"imap_password": None, "smtp_url": None})
    assert cleared.status_code == 200
    assert (cleared.json["has_imap_password"], cleared.json["has_smtp_url"], cleared.json["has_mailgun_signing_key"]) \
        == (False, False, True)
    # The server stays configured; the poller leaves it alone.
    assert cleared.json["imap_host"] == "imap.shop.test"
    db.session.expire_all()
    assert not db.session.get(Mailbox, mailbox.id).polls_imap


def test_an_admin_removes_a_mailbox_and_its_tickets_stay(client, auth, agent_auth, mailbox, stuck):
    ticket_id, stuck_id, mailbox_id = ingest_email(mailbox, mail(), source="raw").ticket_id, stuck.id, mailbox.id
    url = _base(mailbox)
    assert client.delete(url, headers=agent_auth).status_code == 403
    assert db.session.get(Mailbox, mailbox_id) is not None

    response = client.delete(url, headers=auth)
    assert response.status_code == 204 and response.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox_id) is None
    assert db.session.get(Ticket, ticket_id) is not None
    assert db.session.get(InboundEmail, stuck_id) is None
    assert client.delete(url, headers=auth).status_code == 404
    assert client.get(url + "/quarantine", headers=auth).status_code == 404


def test_the_quarantine_lists_whether_each_message_is_kept(client, auth, mailbox, stuck):
    quarantine(mailbox, None, source="imap", delivery_key="imap:INBOX:1:7", reason="too large (left on the server)")
    items = client.get(_base(mailbox) + "/quarantine", headers=auth).json["items"]
    assert [(i["kept"], i["reason"]) for i in items] == [
        (False, "too large (left on the server)"), (True, "no sender address (From)")]


def test_a_quarantined_message_downloads_as_an_eml_attachment(client, auth, agent_auth, mailbox, stuck):
    stuck.subject = '<script>alert("x")</script> Réclamation "urgent"; name=evil.html'
    db.session.commit()
    url = _base(mailbox, stuck) + "/raw"
    assert client.get(url, headers=agent_auth).status_code == 403

    response = client.get(url, headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "message/rfc822" and response.get_data() == eml(MALFORMED)
    disposition = response.headers["Content-Disposition"]
    assert disposition == (f"attachment; filename=quarantined-{stuck.id}-script-alert-x-script-Reclamation-urgent-"
                           "name-evil-html.eml")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response.headers["Cache-Control"]


def test_a_message_that_was_not_kept_has_nothing_to_download_or_import(client, auth, mailbox):
    quarantine(mailbox, None, source="imap", delivery_key="imap:INBOX:1:7", reason="too large (left on the server)")
    row = db.session.scalar(select(InboundEmail))
    assert client.get(_base(mailbox, row) + "/raw", headers=auth).status_code == 404
    response = client.post(_base(mailbox, row) + "/import", headers=auth)
    assert response.status_code == 409 and "not kept" in response.json["message"]


def test_importing_again_answers_the_outcome(client, auth, agent_auth, mailbox, stuck):
    url = _base(mailbox, stuck) + "/import"
    assert client.post(url, headers=agent_auth).status_code == 403
    still = client.post(url, headers=auth)  # no body: the operation takes no fields
    assert still.status_code == 200, still.json
    assert still.json["outcome"] == "quarantined" and still.json["ticket_id"] is None
    assert still.json["item"]["id"] == stuck.id and still.json["item"]["reason"] == "no sender address (From)"
    assert still.json["item"]["kept"] is True
    assert client.post(url, headers=auth, json={"force": True}).status_code == 422

    # After a fix of ours (an internal error at the time), it becomes a ticket.
    quarantine(mailbox, mail(subject="Lost parcel"), source="raw", reason="internal error: RuntimeError",
               delivery_key="later")
    row = db.session.scalar(select(InboundEmail).where(InboundEmail.delivery_key == "later"))
    imported = client.post(_base(mailbox, row) + "/import", headers=auth, json={})
    assert imported.status_code == 200
    assert imported.json["outcome"] == "created" and imported.json["item"] is None
    assert db.session.get(Ticket, imported.json["ticket_id"]).subject == "Lost parcel"
    # It has left the quarantine.
    assert client.post(_base(mailbox, row) + "/import", headers=auth).status_code == 404
    assert client.get(_base(mailbox, row) + "/raw", headers=auth).status_code == 404


def test_discarding_a_quarantined_message(client, auth, agent_auth, mailbox, stuck, store):
    url, stuck_id = _base(mailbox, stuck), stuck.id
    assert client.delete(url, headers=agent_auth).status_code == 403
    assert client.delete(url, headers=auth).status_code == 204
    db.session.expire_all()
    assert db.session.get(InboundEmail, stuck_id) is None
    assert client.delete(url, headers=auth).status_code == 404
    # Only quarantined rows of that mailbox: not a delivery that became a ticket.
    done, _new = accept_delivery(mailbox, mail(), source="raw")
    assert client.delete(_base(mailbox, done), headers=auth).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(InboundEmail)) == 1


def test_the_new_operations_are_documented(client, auth):
    paths = client.get("/api/v1/openapi.json", headers=auth).json["paths"]
    item = "/api/v1/mailboxes/{mailbox_id}/quarantine/{inbound_id}"
    assert set(paths["/api/v1/mailboxes/{mailbox_id}"]) == {"get", "patch", "delete"}
    assert set(paths[item]) == {"delete"} and set(paths[item + "/import"]) == {"post"}
    raw = paths[item + "/raw"]["get"]["responses"]["200"]["content"]
    assert raw == {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}
