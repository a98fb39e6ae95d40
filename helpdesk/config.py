"""Configuration read from the environment.

Every setting has an embedded default that needs nothing but Python: a SQLite file
in the instance folder, jobs run in-process, no Redis. Production (``HELPDESK_ENV=production``)
refuses to start without a real secret key.
"""
import os
import secrets


def _flag(raw):
    """A yes/no setting: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"not a yes/no value: {raw!r}")


#: Settings read from the environment: name -> (default, parser, description).
#: The README's configuration table is generated from the same descriptions.
SETTINGS = {
    "HELPDESK_ENV": ("development", str, "`production`, `development` or `testing`."),
    "HELPDESK_INSTANCE_PATH": (None, str, "Folder for the SQLite file, uploads and the development secret key; "
                               "default `instance/` in the checkout."),
    "DATABASE_URL": (None, str, "SQLAlchemy URL; default a SQLite file `instance/helpdesk.db` (WAL mode)."),
    "REDIS_URL": (None, str, "Redis URL: jobs go to rq and Socket.IO shares rooms through it. Unset: jobs in-process."),
    "DATABASE_PREPARE": (True, _flag, "PostgreSQL: prepare the chat and email hot paths' statements "
                         "once per connection. Set `false` behind a transaction-pooling PgBouncer."),
    "SECRET_KEY": (None, str, "Signs sessions and visitor tokens. Required in production."),
    "UPLOAD_FOLDER": (None, str, "Where attachments are stored; default `instance/uploads`."),
    "SOCKETIO_ASYNC_MODE": (None, str, "`eventlet`, `gevent` or `threading`; default: what `serve` chooses (eventlet)."),
    "MAX_CONTENT_LENGTH": (10 * 1024 * 1024, int, "Largest request body in bytes (uploads included)."),
    "MAX_MESSAGE_LENGTH": (5000, int, "Longest chat/reply text in characters."),
    "SMTP_URL": (None, str, "Outgoing mail: `smtp://user:pass@host:port`, `smtp+starttls://…` or `smtps://…`. "
                 "Unset: mail stays queued."),
    "MAIL_FROM": ("support@localhost", str, "Default From address of outgoing mail."),
    "PUBLIC_URL": ("http://127.0.0.1:5000", str, "Public base URL of the helpdesk, used in emails and the widget snippet."),
    "RATELIMIT_STORAGE_URI": (None, str, "Rate-limit storage; default Redis when REDIS_URL is set, else memory."),
    "JOBS_MODE": (None, str, "`rq`, `thread` or `sync`; default rq with REDIS_URL, else thread."),
    "LOG_LEVEL": ("INFO", str, "Python log level."),
    "ASSIST_BASE_URL": (None, str, "Writing assist: base URL of an OpenAI-compatible chat-completions API "
                        "(e.g. `http://127.0.0.1:11434/v1` for Ollama). Unset: only offline spelling."),
    "ASSIST_MODEL": ("llama3.1", str, "Writing assist: the model name sent to that API."),
    "ASSIST_API_KEY": (None, str, "Writing assist: bearer key for that API (secret: never logged or shown)."),
    "ASSIST_TIMEOUT": (30.0, float, "Writing assist: seconds to wait for the API before giving up."),
}

_WEAK_KEYS = {"", "dev", "secret", "changeme", "change-me", "development", "please-change-me"}


class ConfigError(RuntimeError):
    """The environment describes a configuration the app must not run with."""


def settings_table():
    """The README's configuration table (``python -m helpdesk.config`` prints it)."""
    rows = ["| Setting | Default | What it does |", "| --- | --- | --- |"]
    for name, (default, _parser, doc) in SETTINGS.items():
        shown = "—" if default is None else f"`{default}`"
        rows.append(f"| `{name}` | {shown} | {doc} |")
    return "\n".join(rows)


def load(instance_path, overrides=None):
    """Build the config mapping from the environment, then apply ``overrides``."""
    overrides = dict(overrides or {})
    env = {}
    for name, (default, parser, _doc) in SETTINGS.items():
        raw = os.environ.get(name)
        try:
            env[name] = parser(raw) if raw not in (None, "") else default
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    env.update({k: v for k, v in overrides.items() if k in SETTINGS})

    mode = env["HELPDESK_ENV"]
    production = mode == "production"
    cfg = {
        "ENV_NAME": mode,
        "TESTING": mode == "testing",
        "SQLALCHEMY_DATABASE_URI": database_url(env["DATABASE_URL"])
        or "sqlite:///" + os.path.join(instance_path, "helpdesk.db"),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url(env["DATABASE_URL"])),
        "REDIS_URL": env["REDIS_URL"],
        "UPLOAD_FOLDER": env["UPLOAD_FOLDER"] or os.path.join(instance_path, "uploads"),
        "SOCKETIO_ASYNC_MODE": env["SOCKETIO_ASYNC_MODE"],
        "MAX_CONTENT_LENGTH": env["MAX_CONTENT_LENGTH"],
        "MAX_MESSAGE_LENGTH": env["MAX_MESSAGE_LENGTH"],
        "SMTP_URL": env["SMTP_URL"],
        "MAIL_FROM": env["MAIL_FROM"],
        "PUBLIC_URL": env["PUBLIC_URL"].rstrip("/"),
        "LOG_LEVEL": env["LOG_LEVEL"],
        "ASSIST_BASE_URL": (env["ASSIST_BASE_URL"] or "").rstrip("/") or None,
        "ASSIST_MODEL": env["ASSIST_MODEL"],
        "ASSIST_API_KEY": env["ASSIST_API_KEY"],
        "ASSIST_TIMEOUT": env["ASSIST_TIMEOUT"],
        "JOBS_MODE": env["JOBS_MODE"] or ("rq" if env["REDIS_URL"] else "thread"),
        "RATELIMIT_STORAGE_URI": env["RATELIMIT_STORAGE_URI"]
        or (env["REDIS_URL"] if env["REDIS_URL"] else "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Session cookies: never readable from scripts, never sent cross-site on POST,
        # HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": production,
        "BABEL_DEFAULT_LOCALE": "en",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # A pooled connection idle this long (seconds) is pinged before use (helpdesk.app).
        "DATABASE_PING_AFTER": 5.0,
        "DATABASE_PREPARE": env["DATABASE_PREPARE"],
    }
    cfg["SECRET_KEY"] = _secret_key(env["SECRET_KEY"], production, instance_path, mode)
    cfg.update(overrides)
    return cfg


def database_url(url):
    """Accept the usual ``postgres://`` / ``postgresql://`` forms and use psycopg2 (installed)."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def engine_options(url):
    """Engine options. Connecting is lazy: nothing here touches the network."""
    options = {
        # No ping on every checkout: helpdesk.app pings a pooled connection only when it
        # has sat idle (a busy worker or chat server would pay a round trip per message).
        "pool_pre_ping": False,
        # Statement parameters are customer text; keep them out of error messages and logs.
        "hide_parameters": True,
    }
    if url and url.startswith("postgresql"):
        # A database that does not answer fails a request (and /healthz) in seconds.
        options["connect_args"] = {"connect_timeout": 5}
    return options


def _secret_key(value, production, instance_path, mode):
    if production:
        if not value or value.lower() in _WEAK_KEYS or len(value) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        return value
    if value:
        return value
    if mode == "testing":
        return secrets.token_hex(32)
    # Development: a random key kept in the instance folder so logins survive restarts,
    # never a key shared by every installation.
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as fh:
            stored = fh.read().strip()
        if stored:
            return stored
    except FileNotFoundError:
        pass
    os.makedirs(instance_path, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


if __name__ == "__main__":
    print(settings_table())
