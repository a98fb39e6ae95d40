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
    practice_store_ids,
    progress_payload,
    save_policy,
    served_store_ids,
    set_exempt,
    start_practice,
)
from helpdesk.api.academy import progress_list
from helpdesk.extensions import db
from helpdesk.i18n import translate_errors
from helpdesk.models import Agent, PolicyAcceptance, Store, StorePolicy
from helpdesk.schemas import AcademyProgressSchema, PolicyAcceptArgs, StorePolicyArgs
from inbox.views import _action_error, _json_error

bp = Blueprint("academy", __name__, url_prefix="/inbox/academy")


def _agent():
    return current_user._get_current_object()


bp.register_error_handler(ActionError, _action_error)


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
        return jsonify({"message": _("Some fields are not valid."), "status": 422, "errors": translate_errors(exc.messages)}), 422
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


def _accepted_current():
    """{policy id: [(agent name, accepted at)]}: who accepted each policy's current version."""
    rows = db.session.execute(
        select(PolicyAcceptance.policy_id, Agent.name, PolicyAcceptance.accepted_at)
        .join(StorePolicy, (StorePolicy.id == PolicyAcceptance.policy_id)
              & (StorePolicy.version == PolicyAcceptance.version))
        .join(Agent, Agent.id == PolicyAcceptance.agent_id)
        .order_by(PolicyAcceptance.accepted_at, PolicyAcceptance.id))
    accepted = {}
    for policy_id, name, at in rows:
        accepted.setdefault(policy_id, []).append((name, at.isoformat()))
    return accepted


def _admin_page(errors=None, values=None, form=None, status=200):
    """The progress table and the policies with their forms. ``form`` names the form whose
    ``errors``/``values`` are shown ("new" or a policy id), after a refused save."""
    items = AcademyProgressSchema(many=True).dump(progress_list())
    policies = db.session.scalars(select(StorePolicy).order_by(StorePolicy.store_id, StorePolicy.id)).all()
    practice = set(practice_store_ids())
    stores = {s.id: s.name for s in db.session.scalars(select(Store).order_by(Store.name)) if s.id not in practice}
    owed = {}
    for item in items:
        for p in item["pending_policies"]:
            owed.setdefault(p["id"], []).append(item["agent"]["name"])
    return render_template("inbox/academy_admin.html", items=items, policies=policies, stores=stores,
                           accepted=_accepted_current(), owed=owed, form=form, errors=errors or {},
                           values=values or {}), status


@bp.get("/admin")
@login_required
def admin_page():
    _admin()
    return _admin_page()


def _policy_form(form_id):
    """The title and text of a policy form, or the page again with the fields' messages."""
    values = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        return StorePolicyArgs().load(values), None
    except ValidationError as exc:
        return None, _admin_page(errors=translate_errors(exc.messages), values=values, form=form_id, status=422)


def _save(admin, store, form_id, policy=None):
    args, refused = _policy_form(form_id)
    if refused is not None:
        return refused
    before = policy.version if policy is not None else None
    try:
        saved = save_policy(admin, store, policy=policy, **args)
    except ActionError as exc:
        db.session.rollback()
        return _admin_page(errors={exc.field or "title": [exc.message]}, values=request.form, form=form_id,
                           status=exc.status if exc.status < 500 else 400)
    if before is None:
        flash(_("“%(title)s” added: every agent of %(store)s accepts it before their next chat.",
                title=saved.title, store=store.name))
    elif saved.version != before:
        flash(_("“%(title)s” is now version %(version)s: every agent of %(store)s accepts it again.",
                title=saved.title, version=saved.version, store=store.name))
    else:
        flash(_("“%(title)s” did not change.", title=saved.title))
    return redirect(url_for("academy.admin_page") + f"#policy-{saved.id}")


@bp.post("/admin/policies")
@login_required
def admin_add_policy():
    admin = _admin()
    store_id = request.form.get("store_id", type=int)
    store = db.session.get(Store, store_id) if store_id and 0 < store_id < 2**31 else None
    if store is None or store.id in practice_store_ids():
        errors = {"store_id": [_("Choose a store.")]}
        return _admin_page(errors=errors, values=request.form, form="new", status=422)
    return _save(admin, store, "new")


@bp.post("/admin/policies/<int(max=2147483647):policy_id>")
@login_required
def admin_edit_policy(policy_id):
    admin = _admin()
    policy = db.session.get(StorePolicy, policy_id)
    if policy is None:
        abort(404)
    return _save(admin, policy.store, policy.id, policy=policy)


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
