"""The application factory."""
import logging
import os
import time

from flask import Flask, abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from helpdesk import config as config_mod
from helpdesk import events, logs, prepared, socket_manager
from helpdesk.extensions import babel, csrf, db, limiter, login_manager, migrate, socketio
from helpdesk.models.base import SQLITE_LOWER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "helpdesk", "migrations")


@sa_event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets the inbox read while a chat message is being written; foreign keys are off
    # by default in SQLite; a busy timeout turns brief lock contention into a short wait.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() folds ASCII letters only: searches for a term with other letters
        # use this one (helpdesk.models.base.contains_folded).
        dbapi_connection.create_function(SQLITE_LOWER, 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _ping_when_idle(engine, idle_seconds):
    """Ping a pooled connection before use only when it has sat idle ``idle_seconds``.

    Why not ``pool_pre_ping``: it pings on every checkout, and the chat server and the
    email worker check a connection out for every message -- one extra round trip each.
    A connection back in the pool for less than a few seconds was alive then; one that sat
    longer may have been dropped (database restart, idle timeout, a NAT in between). A
    failed ping makes the pool replace the connection and try again, as pre-ping does."""

    @sa_event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, connection_record):
        connection_record.info["helpdesk_idle_since"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def check_out(dbapi_connection, connection_record, connection_proxy):
        since = connection_record.info.get("helpdesk_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # just connected, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the pool discards it and connects anew
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _socketio_transport():
    abort(404)


def create_app(overrides=None, *, main=True):
    """Build the app. No network or schema work happens here.

    ``main=False`` builds an app for a worker process: it emits Socket.IO events through
    the message queue (write-only) but serves nothing.
    """
    app = Flask(
        "helpdesk",
        root_path=os.path.join(ROOT, "helpdesk"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
        instance_path=os.environ.get("HELPDESK_INSTANCE_PATH") or os.path.join(ROOT, "instance"),
    )
    app.config.update(config_mod.load(app.instance_path, overrides))
    # Every id column is a 32-bit integer on PostgreSQL; a larger id in a URL is a 404,
    # not an overflow in the database driver.
    app.url_map.converters["int"] = _IdConverter
    logs.configure(app.config["LOG_LEVEL"])

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            _ping_when_idle(engine, app.config["DATABASE_PING_AFTER"])
            if app.config["DATABASE_PREPARE"]:
                prepared.init_engine(engine)
    from helpdesk.models.base import include_in_migrations

    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True,
                     include_object=include_in_migrations)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    from helpdesk import i18n

    i18n.init_app(app)  # before Babel: it names the catalogs' folder
    babel.init_app(app, locale_selector=i18n.select_locale)

    socketio_kwargs = {
        "message_queue": app.config["REDIS_URL"],
        "cors_allowed_origins": "*",  # the widget namespace is public; auth is by token
        "logger": False,
        "engineio_logger": False,
        "max_http_buffer_size": 256 * 1024,
        "ping_interval": 20,
        "ping_timeout": 20,
    }
    # Never auto-detect: an installed-but-unpatched eventlet would be picked and misbehave.
    # Only `helpdesk serve` (helpdesk/entry.py) patches and then selects eventlet/gevent.
    socketio_kwargs["async_mode"] = app.config["SOCKETIO_ASYNC_MODE"] or "threading"
    if main:
        # Our own client manager: it can end an agent's connections on every process when
        # their access changes (helpdesk/socket_manager.py).
        socketio_kwargs["client_manager"] = socket_manager.client_manager(app.config["REDIS_URL"])
        socketio.init_app(app, **socketio_kwargs)
        # Flask-SocketIO builds a request context from the connection's environ for every
        # Socket.IO event. With no URL rule for that path, every event raises and keeps a
        # NotFound with its traceback: reference cycles the garbage collector must hunt
        # down, a third of all the garbage a chat message leaves. The Socket.IO middleware
        # answers this path before Flask's routing, so the view never runs over HTTP.
        app.add_url_rule("/socket.io/", endpoint="socketio_transport", view_func=_socketio_transport,
                         strict_slashes=False)
    else:
        # Workers only publish to the message queue; never pick (unpatched) eventlet.
        manager = socket_manager.client_manager(app.config["REDIS_URL"], write_only=True)
        socketio.init_app(None, message_queue=app.config["REDIS_URL"], write_only=True, async_mode="threading",
                          client_manager=manager)
        app.extensions["socketio"] = socketio

    events.init_app(app)
    import workers

    workers.init_app(app)

    from helpdesk import auth, health, media
    from helpdesk.api import bp as api_bp
    from inbox import init_app as inbox_init
    from widgets import init_app as widgets_init

    auth.init_app(app)
    health.init_app(app)
    media.init_app(app)
    app.register_blueprint(api_bp)
    inbox_init(app)
    widgets_init(app)
    from connectors.email import init_app as email_init

    email_init(app)
    from connectors.registry import load as connectors_load

    connectors_load(app)

    from helpdesk import cli

    cli.init_app(app)
    _error_handlers(app)
    _security_headers(app)
    return app


class _IdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            # Werkzeug answers a converter's refusal with 405 when the same path has a rule
            # for other methods (PUT and DELETE /policies/<id> are two views); an id out of
            # range is no such resource, whatever the method.
            raise NotFound() from None


def _wants_json():
    return request.path.startswith(("/api/", "/widget/api", "/webhooks/")) or request.is_json


def _error_handlers(app):
    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if not _wants_json():
            return exc
        body = {"message": exc.description or exc.name, "status": exc.code}
        if exc.code == 413:
            body["message"] = _("The request is too large.")
            body["errors"] = {"_body": [body["message"]]}
        # The exception's own headers (Allow on a 405) belong to the answer; its HTML
        # content type does not.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return jsonify(body), exc.code, headers

    @app.errorhandler(RecursionError)
    def _too_deep(exc):
        # JSON nested deeper than the parser's recursion limit: bad input, not our failure.
        db.session.rollback()
        message = _("The request body is nested too deeply.")
        if _wants_json():
            return jsonify({"message": message, "errors": {"_body": [message]}, "status": 400}), 400
        return message, 400

    @app.errorhandler(Exception)
    def _unexpected(exc):
        db.session.rollback()
        logging.getLogger("helpdesk").exception("unhandled error", extra={"path": request.path})
        if _wants_json():
            return jsonify({"message": _("Something went wrong on our side."), "status": 500}), 500
        return _("Something went wrong on our side."), 500


def _security_headers(app):
    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if not request.path.startswith(("/widget/frame", "/widget/demo", "/demo")):
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
