"""Admins' team page: /inbox/settings/team -- agents' accounts, roles and access.

Plain forms (POST, CSRF token in each form; no JavaScript needed), changed through
``helpdesk.actions.agents``. A generated password is rendered in the POST's own answer
only, never put in the session (a flash message lives in the cookie) or in a URL.
"""
import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from helpdesk.actions import ActionError
from helpdesk.actions.agents import MIN_PASSWORD_LENGTH, create_agent, set_access, set_active, set_role
from helpdesk.auth import admin_required
from helpdesk.extensions import db, limiter
from helpdesk.models import Agent, Role, Store, Team
from inbox.views import _http_error

bp = Blueprint("settings_team", __name__, url_prefix="/inbox/settings")
bp.register_error_handler(HTTPException, _http_error)


def _me():
    return current_user._get_current_object()


def _team_page(*, values=None, errors=None, row_errors=None, access=None, created=None, password=None, status=200):
    """``created`` and ``password``: the account just made and, when the helpdesk chose it,
    its password (shown in this answer only). ``row_errors``: {agent id: message}.
    ``access``: a refused access form, as typed (``_typed_access``), shown open again."""
    agents = db.session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.name, Agent.id)).all()
    stores = db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
    teams = db.session.scalars(select(Team).order_by(Team.name, Team.id)).all()
    return render_template(
        "inbox/settings_team.html", agents=agents, stores=stores, teams=teams, roles=[Role.AGENT, Role.ADMIN],
        store_names={s.id: s.name for s in stores},
        v=values or {"role": Role.AGENT.value}, errors=errors or {}, row_errors=row_errors or {}, access=access,
        created=created, password=password, me=_me(), min_password=MIN_PASSWORD_LENGTH,
    ), status


def _agent(agent_id):
    return db.get_or_404(Agent, agent_id)


def _row_change(agent_id, change, said):
    """One agent's row changed by ``change(agent, me)``; back on the team page with ``said(agent)``
    flashed, or with the refusal shown in that agent's row."""
    agent = _agent(agent_id)
    try:
        change(agent, _me())
    except ActionError as exc:
        db.session.rollback()
        return _team_page(row_errors={agent_id: exc.message}, status=exc.status if exc.status < 500 else 400)
    flash(said(agent))
    return redirect(url_for("settings_team.team") + f"#agent-{agent.id}")


@bp.get("/team")
@admin_required
def team():
    return _team_page()


@bp.post("/team")
@admin_required
@limiter.limit("30/minute")
def add_agent():
    form = request.form
    typed_password = form.get("password", "")
    # Nobody has to invent a password: the helpdesk makes one, shown once, to pass on.
    password = typed_password or secrets.token_urlsafe(12)
    store_ids = {value for value in form.getlist("store_ids") if value.isdigit()}
    stores = [s for s in db.session.scalars(select(Store)) if str(s.id) in store_ids]
    role = form.get("role", "")
    try:
        if role not in (Role.AGENT.value, Role.ADMIN.value):
            raise ActionError("Choose a role.", "role")
        agent = create_agent(form.get("email", ""), form.get("name", ""), password, role=role,
                             stores=stores or None)
    except ActionError as exc:
        db.session.rollback()
        values = {"name": form.get("name", ""), "email": form.get("email", ""), "role": role,
                  "store_ids": sorted(store_ids)}
        return _team_page(values=values, errors={exc.field or "_schema": [exc.message]}, status=422)
    return _team_page(created=agent, password=None if typed_password else password, status=201)


@bp.post("/team/<int(max=2147483647):agent_id>/role")
@admin_required
@limiter.limit("30/minute")
def change_role(agent_id):
    return _row_change(agent_id, lambda agent, me: set_role(agent, request.form.get("role", ""), by=me),
                       lambda agent: _("%(name)s is now an admin.", name=agent.name) if agent.is_admin
                       else _("%(name)s is now an agent.", name=agent.name))


@bp.post("/team/<int(max=2147483647):agent_id>/active")
@admin_required
@limiter.limit("30/minute")
def change_active(agent_id):
    return _row_change(agent_id, lambda agent, me: set_active(agent, request.form.get("active") == "1", by=me),
                       lambda agent: _("%(name)s can sign in again.", name=agent.name) if agent.active
                       else _("%(name)s is deactivated and can no longer sign in.", name=agent.name))


def _picked(model, values):
    """The rows of ``model`` whose ids were ticked. Matched as text against the (few) stores or
    teams there are: an id too large for the database is ticked nowhere, not an error."""
    values = set(values)
    return [row for row in db.session.scalars(select(model).order_by(model.id)) if str(row.id) in values]


@bp.post("/team/<int(max=2147483647):agent_id>/access")
@admin_required
@limiter.limit("30/minute")
def change_access(agent_id):
    """Every store, or only the stores ticked; and the teams ticked (all of them: an unticked
    team is left). One form per agent; refused, the page comes back with it open as typed."""
    agent = _agent(agent_id)
    form = request.form
    choice = form.get("access", "")
    store_ids, team_ids = form.getlist("store_ids"), form.getlist("team_ids")
    try:
        if choice not in ("all", "some"):
            raise ActionError("Choose every store or only some.", "stores")
        set_access(agent, all_stores=choice == "all", stores=_picked(Store, store_ids),
                   teams=_picked(Team, team_ids), by=_me())
    except ActionError as exc:
        db.session.rollback()
        typed = {"agent_id": agent_id, "access": choice, "store_ids": set(store_ids), "team_ids": set(team_ids),
                 "errors": {exc.field or "_schema": exc.message}}
        return _team_page(access=typed, status=422 if exc.status == 400 else exc.status)
    flash(_("The access of %(name)s is saved.", name=agent.name))
    return redirect(url_for("settings_team.team") + f"#agent-{agent.id}")
