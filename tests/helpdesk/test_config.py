"""Configuration: environment, embedded defaults, production refusals, no work at build time.

Apps other than the session's test app are built in a subprocess: create_app binds the
shared extension objects (Socket.IO server, rate limiter) to the newest app, which would
leak into the tests that follow.
"""
import json
import os
import re
import stat
import subprocess
import sys
import textwrap

import pytest

from helpdesk import config
from helpdesk.config import SETTINGS, ConfigError
from tests.conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STRONG_KEY = "f" * 16 + "0123456789abcdef0123456789abcdef"


@pytest.fixture
def clean_env(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def child_env(**extra):
    """The environment of a fresh process: none of our settings, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith(("HELPDESK_", "TEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(code, timeout=60, **env):
    """Run ``code`` in a fresh interpreter; it prints one JSON line, returned parsed."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=child_env(**env), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- production refusals -----------------------------------------------------------

def test_production_without_secret_key_refuses(clean_env, tmp_path):
    clean_env.setenv("HELPDESK_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config.load(str(tmp_path))


@pytest.mark.parametrize("weak", ["dev", "secret", "changeme", "short-but-random-9f3k", "x" * 31])
def test_production_with_a_weak_secret_key_refuses(clean_env, tmp_path, weak):
    clean_env.setenv("HELPDESK_ENV", "production")
    clean_env.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigError):
        config.load(str(tmp_path))


def test_create_app_in_production_without_a_key_raises_config_error(tmp_path):
    result = run_python("""
        import json
        from helpdesk import create_app
        from helpdesk.config import ConfigError
        try:
            create_app()
        except ConfigError as exc:
            print(json.dumps({"error": str(exc)}))
        else:
            print(json.dumps({"error": None}))
    """, HELPDESK_ENV="production", HELPDESK_INSTANCE_PATH=str(tmp_path))
    assert result["error"] and "SECRET_KEY" in result["error"]


def test_production_with_a_strong_key_uses_secure_cookies(clean_env, tmp_path):
    clean_env.setenv("HELPDESK_ENV", "production")
    clean_env.setenv("SECRET_KEY", STRONG_KEY)
    cfg = config.load(str(tmp_path))
    assert cfg["SECRET_KEY"] == STRONG_KEY
    assert cfg["SESSION_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_SECURE"] and cfg["SESSION_COOKIE_HTTPONLY"]
    assert cfg["PREFERRED_URL_SCHEME"] == "https"
    assert not (tmp_path / "secret_key").exists()  # production never invents a key


# ---- embedded defaults -------------------------------------------------------------

def test_defaults_need_nothing_but_python(clean_env, tmp_path):
    cfg = config.load(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "helpdesk.db")
    assert cfg["REDIS_URL"] is None
    assert cfg["JOBS_MODE"] == "thread"
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["UPLOAD_FOLDER"] == str(tmp_path / "uploads")
    assert cfg["SESSION_COOKIE_SECURE"] is False


def test_development_key_is_random_private_and_kept_across_restarts(clean_env, tmp_path):
    first = config.load(str(tmp_path))["SECRET_KEY"]
    second = config.load(str(tmp_path))["SECRET_KEY"]
    other = config.load(str(tmp_path / "other"))["SECRET_KEY"]
    assert first == second != other
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_redis_url_switches_jobs_and_rate_limits_to_redis(clean_env, tmp_path):
    clean_env.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    cfg = config.load(str(tmp_path))
    assert cfg["JOBS_MODE"] == "rq"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/2"


def test_environment_values_are_parsed_and_empty_means_default(clean_env, tmp_path):
    clean_env.setenv("MAX_CONTENT_LENGTH", "2048")
    clean_env.setenv("MAX_MESSAGE_LENGTH", "")
    clean_env.setenv("PUBLIC_URL", "https://help.example.com/")
    clean_env.setenv("DATABASE_URL", "postgres://app:pw@db.internal/helpdesk")
    cfg = config.load(str(tmp_path))
    assert cfg["MAX_CONTENT_LENGTH"] == 2048
    assert cfg["MAX_MESSAGE_LENGTH"] == SETTINGS["MAX_MESSAGE_LENGTH"][0]
    assert cfg["PUBLIC_URL"] == "https://help.example.com"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://app:pw@db.internal/helpdesk"
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


@pytest.mark.parametrize("raw, expected", [("", True), ("false", False), ("0", False), ("Off", False),
                                           ("yes", True), ("1", True)])
def test_prepared_statements_are_a_yes_no_setting(clean_env, tmp_path, raw, expected):
    clean_env.setenv("DATABASE_PREPARE", raw)
    assert config.load(str(tmp_path))["DATABASE_PREPARE"] is expected


def test_a_yes_no_setting_refuses_anything_else(clean_env, tmp_path):
    clean_env.setenv("DATABASE_PREPARE", "maybe")
    with pytest.raises(config.ConfigError, match="DATABASE_PREPARE|yes/no"):
        config.load(str(tmp_path))


def test_overrides_win_over_the_environment(clean_env, tmp_path):
    clean_env.setenv("JOBS_MODE", "thread")
    cfg = config.load(str(tmp_path), {"JOBS_MODE": "sync", "HELPDESK_ENV": "testing", "EXTRA_FLAG": 1})
    assert cfg["JOBS_MODE"] == "sync" and cfg["TESTING"] is True and cfg["EXTRA_FLAG"] == 1


# ---- building the app does no network or schema work --------------------------------

def test_create_app_touches_no_network_even_with_dead_services(tmp_path):
    dead_pg, dead_redis = free_port(), free_port()
    result = run_python("""
        import json, socket, time
        attempts = []
        real_connect = socket.socket.connect
        def connect(self, address):
            attempts.append(repr(address))
            return real_connect(self, address)
        socket.socket.connect = connect
        started = time.monotonic()
        from helpdesk import create_app
        app = create_app()
        print(json.dumps({"seconds": time.monotonic() - started, "connects": attempts,
                          "uri": app.config["SQLALCHEMY_DATABASE_URI"], "jobs": app.config["JOBS_MODE"]}))
    """, HELPDESK_INSTANCE_PATH=str(tmp_path),
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{dead_pg}/nowhere",
        REDIS_URL=f"redis://127.0.0.1:{dead_redis}/0")
    assert result["connects"] == []
    assert result["seconds"] < 10
    assert result["uri"].startswith("postgresql+psycopg2://") and result["jobs"] == "rq"


def test_sqlite_default_lives_in_the_instance_folder_in_wal_mode(tmp_path):
    result = run_python("""
        import json, os
        from sqlalchemy import text
        from helpdesk import create_app
        from helpdesk.extensions import db
        app = create_app()
        existed = os.path.exists(os.path.join(app.instance_path, "helpdesk.db"))
        with app.app_context():
            mode = db.session.execute(text("PRAGMA journal_mode")).scalar()
            fks = db.session.execute(text("PRAGMA foreign_keys")).scalar()
        print(json.dumps({"uri": app.config["SQLALCHEMY_DATABASE_URI"], "existed_before_use": existed,
                          "journal_mode": mode, "foreign_keys": fks,
                          "files": sorted(os.listdir(app.instance_path))}))
    """, HELPDESK_INSTANCE_PATH=str(tmp_path))
    assert result["uri"] == "sqlite:///" + str(tmp_path / "helpdesk.db")
    assert result["existed_before_use"] is False  # no schema work at build time
    assert result["journal_mode"] == "wal"
    assert result["foreign_keys"] == 1
    assert "helpdesk.db" in result["files"]


# ---- the README documents every setting --------------------------------------------

def test_every_setting_is_in_the_readme_configuration_table():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", section, flags=re.M))
    missing = sorted(set(SETTINGS) - documented)
    assert not missing, f"settings missing from the README configuration table: {missing}"
    stale = sorted(documented - set(SETTINGS))
    assert not stale, f"the README documents settings that do not exist: {stale}"
    assert config.settings_table() in section, "regenerate the table with: python -m helpdesk.config"
