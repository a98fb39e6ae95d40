"""The onboarding academy pages: the agent's own (introduction, policies, practice chat) and
the admins' overview of everyone's progress. JSON endpoints change state only through
``helpdesk.actions.academy``; POSTs carry the CSRF token (``X-CSRFToken`` or the form field)."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select

from helpdesk.actions import ActionError
from helpdesk.actions.academy import (
    accept_policies,
    complete_intro,
    pending_policies,
    progress_payload,
    served_store_ids,
    set_exempt,
    start_practice,
)
from helpdesk.api.academy import progress_list
from helpdesk.extensions import db
from helpdesk.models import Agent, Store, StorePolicy
from helpdesk.schemas import AcademyProgressSchema, PolicyAcceptArgs

bp = Blueprint("academy", __name__, url_prefix="/inbox/academy")


def _agent():
    return current_user._get_current_object()


def _json_error(message, status, field=None):
    body = {"message": message, "status": status}
    if field:
        body["errors"] = {field: [message]}
    return jsonify(body), status


@bp.errorhandler(ActionError)
def _action_error(exc):
    db.session.rollback()
    return _json_error(exc.message, exc.status, exc.field)


@bp.before_request
def _json_needs_sign_in():
    if not current_user.is_authenticated and request.path.startswith("/inbox/academy/api/"):
        return _json_error(_("Sign in again."), 401)
    return None


def _progress_json(agent):
    return {"progress": AcademyProgressSchema().dump(progress_payload(agent))}


@bp.get("/")
@login_required
def page():
    agent = _agent()
    progress = AcademyProgressSchema().dump(progress_payload(agent))
    policies = pending_policies(agent)
    stores = {s.id: s.name for s in db.session.scalars(select(Store).where(Store.id.in_(served_store_ids(agent))))}
    bootstrap = {"me": {"id": agent.id, "name": agent.name, "email": agent.email}, "academy": progress}
    return render_template("inbox/academy.html", progress=progress, policies=policies, stores=stores,
                           bootstrap=bootstrap)


@bp.get("/api/progress")
@login_required
def my_progress():
    return jsonify(_progress_json(_agent()))


@bp.post("/api/intro")
@login_required
def intro_done():
    agent = _agent()
    complete_intro(agent)
    return jsonify(_progress_json(agent))


@bp.post("/api/policies")
@login_required
def accept():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Send a JSON object."), 400)
    try:
        args = PolicyAcceptArgs().load(data)
    except ValidationError as exc:
        return jsonify({"message": _("Some fields are not valid."), "status": 422, "errors": exc.messages}), 422
    agent = _agent()
    accept_policies(agent, args["policy_ids"], ip=request.remote_addr)
    return jsonify(_progress_json(agent))


@bp.post("/api/practice")
@login_required
def practice():
    agent = _agent()
    ticket = start_practice(agent)
    return jsonify({"ticket_id": ticket.id, **_progress_json(agent)}), 201


# ---- admins ---------------------------------------------------------------------------------

def _admin():
    agent = _agent()
    if not agent.is_admin:
        abort(403)
    return agent


@bp.get("/admin")
@login_required
def admin_page():
    _admin()
    policies = db.session.scalars(select(StorePolicy).order_by(StorePolicy.store_id, StorePolicy.id)).all()
    stores = {s.id: s.name for s in db.session.scalars(select(Store))}
    return render_template("inbox/academy_admin.html", items=AcademyProgressSchema(many=True).dump(progress_list()),
                           policies=policies, stores=stores)


@bp.post("/admin/agents/<int(max=2147483647):agent_id>/exempt")
@login_required
def admin_exempt(agent_id):
    admin = _admin()
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        abort(404)
    exempt = request.form.get("exempt") == "1"
    set_exempt(agent, exempt, admin)
    flash(_("%(name)s is exempt from the academy.", name=agent.name) if exempt
          else _("%(name)s goes through the academy.", name=agent.name))
    return redirect(url_for("academy.admin_page"))
