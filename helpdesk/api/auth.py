"""Who is calling: a Bearer API token or a signed-in agent's session, checked before every view.

The app-wide CSRF check is switched off for this blueprint because a Bearer token cannot be
sent by another site; a request that rides on the session cookie can, so it gets the CSRF
check here, for every method that changes something.
"""
import hashlib

from flask import current_app, g, request, session
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.api.errors import error_response
from helpdesk.auth import agent_from_token
from helpdesk.extensions import csrf, limiter

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_RATE = "600/minute"


def current_agent():
    """The authenticated agent of this API request."""
    return g.api_agent


def _unauthorized(message):
    response, status = error_response(message, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response, status


def authenticate():
    header = request.headers.get("Authorization")
    if header:
        # A credential that was sent but is wrong is refused even if a session exists:
        # an integration with a revoked token must notice.
        agent = agent_from_token(header)
        if agent is None:
            return _unauthorized(_("The API token is missing, wrong or revoked."))
        g.api_agent, g.api_auth = agent, "token"
        return None
    if current_user.is_authenticated:
        g.api_agent, g.api_auth = current_user._get_current_object(), "session"
        if request.method in UNSAFE_METHODS:
            csrf.protect()  # raises CSRFError (400, JSON via the app handler)
        return None
    return _unauthorized(_("Sign in or send an API token (Authorization: Bearer ...)."))


def rate_limit_key():
    """One budget per credential: per token (hashed, never stored raw), per signed-in agent,
    else per address. Runs before authentication, so it reads the credential, not the agent."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "api-token:" + hashlib.sha256(header[7:].strip().encode("utf-8")).hexdigest()[:32]
    agent_id = session.get("_user_id")
    if agent_id:
        return f"api-agent:{agent_id}"
    return f"api-addr:{request.remote_addr}"


def _rate():
    return current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE


def init_blueprint(bp):
    csrf.exempt(bp)
    bp.before_request(authenticate)
    # One shared budget across the whole API (not one per endpoint).
    limiter.shared_limit(_rate, scope="api-v1", key_func=rate_limit_key)(bp)
