"""Structured logs: JSON lines with ids and outcomes, never customer text."""
import json
import logging
import uuid

import pytest

from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.logs import JsonFormatter, preserved
from tests.factories import make_agent, make_contact, make_store, make_visitor


def _record(msg="ticket opened", level=logging.INFO, exc_info=None, **extra):
    logger = logging.getLogger("helpdesk.test")
    return logger.makeRecord(logger.name, level, __file__, 1, msg, (), exc_info, extra=extra)


def test_json_formatter_writes_one_valid_json_object_with_extra_fields():
    line = JsonFormatter().format(_record(ticket_id=42, store_id=7, ok=True, channel="chat", ratio=0.5,
                                          nothing=None))
    data = json.loads(line)
    assert data["msg"] == "ticket opened" and data["level"] == "info" and data["logger"] == "helpdesk.test"
    assert data["ticket_id"] == 42 and data["store_id"] == 7 and data["ok"] is True
    assert data["channel"] == "chat" and data["ratio"] == 0.5 and data["nothing"] is None
    assert data["ts"].endswith("Z") and "\n" not in line


def test_json_formatter_includes_exceptions_and_stays_one_line():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        import sys

        line = JsonFormatter().format(_record("job failed", logging.ERROR, sys.exc_info(), job="x"))
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "error" and data["job"] == "x" and "ValueError: bad" in data["exc"]


def test_json_formatter_redacts_fields_that_would_carry_customer_text_and_bounds_the_rest():
    data = json.loads(JsonFormatter().format(_record(body="my card number is 4242", payload={"a": 1},
                                                     password="hunter22", detail="y" * 1000)))
    assert data["body"] == data["payload"] == data["password"] == "[redacted]"
    assert len(data["detail"]) == 200


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _everything_logged(caplog):
    formatter = JsonFormatter()
    return "\n".join(formatter.format(r) + r.getMessage() for r in caplog.records)


def test_chat_messages_replies_and_notes_never_reach_the_logs(all_logs, app, monkeypatch):
    marker = f"secret-{uuid.uuid4().hex}"
    store = make_store()
    agent = make_agent()
    contact = make_contact(store)
    visitor = make_visitor(store, contact)
    message, _ = receive_customer_message(store, contact, "chat", f"my address is {marker}", client_id="c1",
                                          visitor=visitor)
    reply(message.ticket, agent, f"we ship to {marker}")
    add_note(message.ticket, agent, f"note about {marker}")
    # An email ticket: the reply is queued in the outbox and its delivery fails (no SMTP),
    # which is logged, without the mail.
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    email, _ = receive_customer_message(store, contact, "email", f"mail body {marker}", subject=f"subj {marker}")
    reply(email.ticket, agent, f"mail reply {marker}")
    assert all_logs.records, "expected some log records (delivery failure at least)"
    assert any(r.getMessage() == "outbox delivery failed" for r in all_logs.records)
    assert marker not in _everything_logged(all_logs)


def test_a_failing_action_logs_no_message_body(all_logs, app):
    from helpdesk.actions import ActionError

    marker = f"secret-{uuid.uuid4().hex}"
    store = make_store()
    contact = make_contact(store)
    with pytest.raises(ActionError):
        receive_customer_message(store, contact, "chat", marker * 1000)  # too long
    assert marker not in _everything_logged(all_logs)


def test_migrations_do_not_switch_off_our_loggers():
    """alembic's env.py runs logging.config.fileConfig; ``preserved`` undoes its damage."""
    import logging.config

    ours = logging.getLogger("helpdesk.actions")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with preserved():
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": True,
                                   "root": {"level": "WARNING", "handlers": []}})
        assert ours.disabled
    assert not ours.disabled
    assert root.handlers == handlers and root.level == level
