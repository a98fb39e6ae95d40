"""Onboarding academy: agents' progress (admins: everyone's), exemptions, store policies."""
from flask_babel import gettext as _
from marshmallow import Schema, fields
from sqlalchemy import select

from helpdesk.actions import Forbidden, NotFound
from helpdesk.actions.academy import delete_policy, progress_payload, save_policy, set_exempt
from helpdesk.api import bp
from helpdesk.api.access import ID, agent_or_404, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.extensions import db
from helpdesk.models import Agent, StorePolicy
from helpdesk.schemas import AcademyExemptArgs, AcademyProgressSchema, StorePolicyArgs, StorePolicySchema


class AcademyProgressListSchema(Schema):
    items = fields.List(fields.Nested(AcademyProgressSchema))


class StorePolicyListSchema(Schema):
    items = fields.List(fields.Nested(StorePolicySchema))


def _admin():
    agent = current_agent()
    if not agent.is_admin:
        raise Forbidden(_("Only admins see this."))
    return agent


def progress_list():
    """Every active agent's academy progress, by name (the admin page and the API)."""
    agents = db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name, Agent.id)).all()
    return [progress_payload(a) for a in agents]


@bp.get("/academy/progress")
@operation("Onboarding academy progress: every agent's for admins, only my own otherwise.",
           response=AcademyProgressListSchema, errors=(403,))
def list_academy_progress():
    agent = current_agent()
    items = progress_list() if agent.is_admin else [progress_payload(agent)]
    return AcademyProgressListSchema().dump({"items": items})


@bp.put(f"/agents/<{ID}:agent_id>/academy")
@operation("Exempt an agent from the academy training, or take the exemption back (admins).",
           body=AcademyExemptArgs, response=AcademyProgressSchema, errors=(403, 404))
def put_academy_exempt(agent_id):
    admin = _admin()
    args = load_json(AcademyExemptArgs())
    agent = agent_or_404(agent_id, "agent_id")
    set_exempt(agent, args["exempt"], admin)
    return AcademyProgressSchema().dump(progress_payload(agent))


@bp.get(f"/stores/<{ID}:store_id>/policies")
@operation("The store's policies, current versions.", response=StorePolicyListSchema, errors=(404,))
def list_store_policies(store_id):
    store = store_or_404(store_id, current_agent())
    rows = db.session.scalars(select(StorePolicy).where(StorePolicy.store_id == store.id)
                              .order_by(StorePolicy.id)).all()
    return StorePolicyListSchema().dump({"items": rows})


@bp.post(f"/stores/<{ID}:store_id>/policies")
@operation("Add a policy every agent of the store must accept (admins).", body=StorePolicyArgs,
           response=StorePolicySchema, status=201, errors=(403, 404))
def create_store_policy(store_id):
    admin = _admin()
    args = load_json(StorePolicyArgs())
    store = store_or_404(store_id, admin)
    return StorePolicySchema().dump(save_policy(admin, store, **args)), 201


def _policy_or_404(policy_id, agent):
    policy = db.session.get(StorePolicy, policy_id)
    if policy is None or not agent.can_access_store(policy.store_id):
        raise NotFound(_("No such policy."))
    return policy


@bp.put(f"/policies/<{ID}:policy_id>")
@operation("Change a policy's text (admins): a new version agents must accept again.",
           body=StorePolicyArgs, response=StorePolicySchema, errors=(403, 404))
def put_store_policy(policy_id):
    admin = _admin()
    args = load_json(StorePolicyArgs())
    policy = _policy_or_404(policy_id, admin)
    return StorePolicySchema().dump(save_policy(admin, policy.store, policy=policy, **args))


@bp.delete(f"/policies/<{ID}:policy_id>")
@operation("Remove a policy (admins).", status=204, errors=(403, 404))
def delete_store_policy(policy_id):
    admin = _admin()
    delete_policy(admin, _policy_or_404(policy_id, admin))
    return "", 204
