"""Real services for job tests: an SMTP server on loopback (aiosmtpd)."""
import threading

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port


class _Mailbox:
    """Collects what the SMTP server accepted; refuses recipients on ``refuse@``."""

    def __init__(self):
        self.messages = []
        self.envelope_senders = []  # MAIL FROM of each message, in the same order
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        with self._arrived:
            self.envelope_senders.append(envelope.mail_from)
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count, timeout=15):
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return self.messages


@pytest.fixture
def smtp_server(app, monkeypatch):
    """A real SMTP server on a free loopback port; ``app.config['SMTP_URL']`` points at it."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    monkeypatch.setitem(app.config, "SMTP_URL", mailbox.url)
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_down(app, monkeypatch):
    """SMTP_URL pointing at a loopback port nobody listens on."""
    url = f"smtp://127.0.0.1:{free_port()}"
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    return url
