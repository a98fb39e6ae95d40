"""Agent sign-in (session cookie + CSRF) and API tokens (Bearer)."""
import functools

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from helpdesk.extensions import db, limiter, login_manager
from helpdesk.models import Agent, ApiToken, utcnow
from helpdesk.models.people import decoy_password_check

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_agent(agent_id):
    agent = db.session.get(Agent, int(agent_id)) if str(agent_id).isdigit() else None
    return agent if agent is not None and agent.active else None


def agent_from_token(header):
    """The active agent owning the Bearer token in ``header``, or None."""
    if not header or not header.startswith("Bearer "):
        return None
    raw = header[7:].strip()
    if not raw.startswith(ApiToken.PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(raw)))
    if token is None or token.revoked_at is not None or not token.agent.active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Coarse: one write a minute per token at most, not one per request.
        token.last_used_at = now
        db.session.commit()
    return token.agent


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _safe_next(target):
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        agent = db.session.scalar(select(Agent).where(Agent.email == email)) if email else None
        # The same password check whether or not the address has an account (or an active
        # one): how fast a refusal comes does not tell which addresses are agents'.
        valid = agent.check_password(password) if agent is not None else decoy_password_check(password)
        if valid and agent.active:
            login_user(agent, remember=bool(request.form.get("remember")))
            current_app.logger.info("agent signed in", extra={"agent_id": agent.id})
            return redirect(_safe_next(request.args.get("next")))
        error = _("Wrong email or password.")
        current_app.logger.info("sign-in refused", extra={"ip": request.remote_addr})
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
