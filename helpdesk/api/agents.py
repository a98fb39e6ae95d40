"""Agents (me, my availability, my colleagues) and my API tokens."""
from flask_babel import gettext as _
from sqlalchemy import select

from helpdesk.actions import NotFound
from helpdesk.actions.agents import create_api_token, revoke_api_token, set_availability
from helpdesk.actions.profile import set_signature
from helpdesk.api import bp
from helpdesk.api.access import ID
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import AgentListSchema, ApiTokenListSchema
from helpdesk.extensions import db
from helpdesk.models import Agent, ApiToken
from helpdesk.schemas import (
    AgentSchema,
    ApiTokenCreateArgs,
    ApiTokenSchema,
    AvailabilityArgs,
    NewApiTokenSchema,
    SignatureArgs,
)


@bp.get("/agents/me")
@operation("The calling agent.", response=AgentSchema)
def me():
    return AgentSchema().dump(current_agent())


@bp.put("/agents/me/availability")
@operation("Set my availability (available, away, offline).", body=AvailabilityArgs, response=AgentSchema)
def put_availability():
    args = load_json(AvailabilityArgs())
    return AgentSchema().dump(set_availability(current_agent(), args["availability"]))


@bp.put("/agents/me/signature")
@operation("Set my email signature: plain text ending my email replies (\"\" or null: the store's).",
           body=SignatureArgs, response=AgentSchema)
def put_signature():
    args = load_json(SignatureArgs())
    return AgentSchema().dump(set_signature(current_agent(), args["signature"]))


@bp.get("/agents")
@operation("Active agents: names and availability, for transfers and mentions.", response=AgentListSchema)
def list_agents():
    rows = db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name, Agent.id)).all()
    return AgentListSchema().dump({"items": rows})


# ---- API tokens ------------------------------------------------------------------------

@bp.get("/tokens")
@operation("My API tokens (never the secret itself).", response=ApiTokenListSchema)
def list_tokens():
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.agent_id == current_agent().id).order_by(ApiToken.id)
    ).all()
    return ApiTokenListSchema().dump({"items": rows})


@bp.post("/tokens")
@operation("Create an API token for me; the answer holds the raw token, shown this once.",
           body=ApiTokenCreateArgs, response=NewApiTokenSchema, status=201)
def create_token():
    args = load_json(ApiTokenCreateArgs())
    token, raw = create_api_token(current_agent(), args["name"])
    return {**ApiTokenSchema().dump(token), "token": raw}, 201


@bp.delete(f"/tokens/<{ID}:token_id>")
@operation("Revoke one of my API tokens (admins: anyone's).", status=204)
def delete_token(token_id):
    agent = current_agent()
    token = db.session.get(ApiToken, token_id)
    if token is None or not (token.agent_id == agent.id or agent.is_admin):
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        revoke_api_token(token)
    return "", 204
