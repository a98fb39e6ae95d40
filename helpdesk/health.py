"""``/healthz``: is the database reachable, is Redis (when configured)?"""
from flask import current_app, jsonify
from sqlalchemy import text

from helpdesk.extensions import db


def check_redis(url):
    if not url:
        return "not configured"
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        database = f"error: {type(exc).__name__}"
    redis_state = check_redis(current_app.config.get("REDIS_URL"))
    healthy = database == "ok" and redis_state in ("ok", "not configured")
    body = {"status": "ok" if healthy else "degraded", "database": database, "redis": redis_state,
            "jobs": current_app.config["JOBS_MODE"]}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"  # a load balancer must see the live state
    return response


def init_app(app):
    app.add_url_rule("/healthz", "healthz", healthz)
