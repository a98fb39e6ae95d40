"""Outgoing mail: the MIME we build, and delivery over real SMTP (aiosmtpd on loopback)."""
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from connectors.email.outbound import build_message, send, smtp_connection
from helpdesk.models import OutboxItem
from tests.conftest import free_port
from tests.workers.conftest import _Mailbox


def test_build_message_threads_and_carries_both_parts(app):
    msg = build_message({
        "to": "dana@example.test", "to_name": "Dana Shopper", "subject": "Re: Parcel [#12]",
        "text": "It left today.", "html": "<p>It left <b>today</b>.</p>",
        "message_id": "<hd-12-40@helpdesk.local>", "in_reply_to": "<abc@mail.example>",
        "references": ["<first@mail.example>", "<abc@mail.example>"],
    })
    assert msg["To"] == "Dana Shopper <dana@example.test>"
    assert msg["From"] == app.config["MAIL_FROM"]
    assert msg["Message-ID"] == "<hd-12-40@helpdesk.local>"
    assert msg["In-Reply-To"] == "<abc@mail.example>"
    assert msg["References"] == "<first@mail.example> <abc@mail.example>"
    assert msg["Date"] and "Auto-Submitted" not in msg
    assert msg.get_body(("plain",)).get_content().strip() == "It left today."
    assert "<b>today</b>" in msg.get_body(("html",)).get_content()


def test_automatic_mail_says_so_to_stop_reply_loops(app):
    msg = build_message({"to": "a@example.test", "subject": "We got your message", "text": "Thanks",
                         "automatic": True})
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Message-ID"].endswith("@helpdesk.local>")


def test_header_injection_in_the_subject_is_refused(app):
    with pytest.raises(ValueError):
        build_message({"to": "a@example.test", "subject": "Hi\r\nBcc: victim@example.test", "text": "x"})


class _Auth:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"helpdesk" and auth_data.password == b"s3cret pass"
        return AuthResult(success=ok)


@pytest.fixture
def smtp_with_login():
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_Auth(),
                            auth_require_tls=False)
    controller.start()
    mailbox.port = port
    yield mailbox
    controller.stop()


def test_send_logs_in_with_the_credentials_in_smtp_url(app, monkeypatch, smtp_with_login):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://helpdesk:s3cret%20pass@127.0.0.1:{smtp_with_login.port}")
    send(OutboxItem(kind="email", payload={"to": "dana@example.test", "subject": "Hello", "text": "Body"}))
    (received,) = smtp_with_login.wait_for(1)
    assert received["Subject"] == "Hello"


def test_smtp_connection_defaults_to_port_25_and_times_out(monkeypatch):
    seen = {}

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            seen.update(host=host, port=port, timeout=timeout)

    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    smtp_connection("smtp://mail.internal")
    assert seen == {"host": "mail.internal", "port": 25, "timeout": 20}
