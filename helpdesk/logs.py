"""Structured (JSON lines) logging.

Log lines carry ids and outcomes, never message bodies, email contents or whole
payloads: customer text must not end up in log storage.
"""
import contextlib
import json
import logging
import sys
import time

_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}
#: Extra fields that would carry customer text or secrets are replaced, whatever a caller passes.
REDACTED = frozenset({"body", "body_text", "body_html", "text", "html", "payload", "password", "token"})


class JsonFormatter(logging.Formatter):
    def format(self, record):
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key in REDACTED:
                data[key] = "[redacted]"
            else:
                data[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)[:200]
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level="INFO"):
    root = logging.getLogger()
    if any(getattr(h, "_helpdesk", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._helpdesk = True
    root.addHandler(handler)
    root.setLevel(level)
    # Request lines from the dev servers would repeat what our access log says.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("engineio.server").setLevel(logging.WARNING)
    logging.getLogger("socketio.server").setLevel(logging.WARNING)
    # At INFO/DEBUG SQLAlchemy logs statement parameters, i.e. message bodies.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@contextlib.contextmanager
def preserved():
    """Keep the logging setup across code that reconfigures it.

    Alembic's ``env.py`` calls ``logging.config.fileConfig``, which replaces the root
    handlers, lowers the root level and disables every logger that exists already, so a
    server that migrates on start would lose its structured logs.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {name: (lg.disabled, lg.level) for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger)}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        for name, lg in logging.Logger.manager.loggerDict.items():
            if not isinstance(lg, logging.Logger):
                continue
            if name in loggers:
                lg.disabled = loggers[name][0]
                lg.setLevel(loggers[name][1])
            else:
                lg.disabled = False
        root.setLevel(level)  # also clears the loggers' cached levels
