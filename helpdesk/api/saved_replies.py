"""Saved replies: my personal ones plus the approved shared ones of my stores and teams."""
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, true

from helpdesk.actions import NotFound
from helpdesk.actions.saved_replies import create_saved_reply, delete_saved_reply, update_saved_reply
from helpdesk.api import bp
from helpdesk.api.access import ID, store_or_404, team_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import SavedReplyListSchema
from helpdesk.extensions import db
from helpdesk.models import SavedReply
from helpdesk.schemas import SavedReplyArgs, SavedReplyListArgs, SavedReplySchema, SavedReplyUpdateArgs
from helpdesk.text import clean_text


def visible_to(agent):
    """Mine, plus shared ones for my stores and teams; admins also see unapproved shared ones."""
    if agent.is_admin:
        return or_(SavedReply.agent_id == agent.id, SavedReply.agent_id.is_(None))
    store_ids = agent.accessible_store_ids()
    in_my_stores = true() if store_ids is None else or_(SavedReply.store_id.is_(None),
                                                         SavedReply.store_id.in_(store_ids))
    in_my_teams = or_(SavedReply.team_id.is_(None), SavedReply.team_id.in_([t.id for t in agent.teams]))
    shared = and_(SavedReply.agent_id.is_(None), SavedReply.approved.is_(True), in_my_stores, in_my_teams)
    return or_(SavedReply.agent_id == agent.id, shared)


def _reply_or_404(reply_id, agent):
    reply = db.session.scalar(select(SavedReply).where(SavedReply.id == reply_id, visible_to(agent)))
    if reply is None:
        raise NotFound(_("No such saved reply."))
    return reply


@bp.get("/saved-replies")
@operation("Saved replies I can use, by shortcut; `q` filters on shortcut and title.",
           query=SavedReplyListArgs, response=SavedReplyListSchema)
def list_saved_replies():
    args = load_query(SavedReplyListArgs())
    query = select(SavedReply).where(visible_to(current_agent()))
    if "q" in args:
        q = clean_text(args["q"])
        query = query.where(or_(SavedReply.shortcut.icontains(q, autoescape=True),
                                SavedReply.title.icontains(q, autoescape=True)))
    rows = db.session.scalars(query.order_by(SavedReply.shortcut, SavedReply.id)).all()
    return SavedReplyListSchema().dump({"items": rows})


@bp.post("/saved-replies")
@operation("Create a personal saved reply, or (admins) a shared one with personal=false.",
           body=SavedReplyArgs, response=SavedReplySchema, status=201, errors=(403, 404))
def create_saved_reply_view():
    agent = current_agent()
    args = load_json(SavedReplyArgs())
    if args.get("store_id") is not None:
        store_or_404(args["store_id"], agent)
    if args.get("team_id") is not None:
        team_or_404(args["team_id"], "team_id", args.get("store_id"))
    return SavedReplySchema().dump(create_saved_reply(agent, **args)), 201


@bp.patch(f"/saved-replies/<{ID}:reply_id>")
@operation("Edit a saved reply (shared ones and approval: admins).", body=SavedReplyUpdateArgs,
           response=SavedReplySchema, errors=(403,))
def patch_saved_reply(reply_id):
    agent = current_agent()
    reply = _reply_or_404(reply_id, agent)
    args = load_json(SavedReplyUpdateArgs())
    return SavedReplySchema().dump(update_saved_reply(agent, reply, **args))


@bp.delete(f"/saved-replies/<{ID}:reply_id>")
@operation("Delete a saved reply (shared ones: admins).", status=204, errors=(403,))
def delete_saved_reply_view(reply_id):
    agent = current_agent()
    delete_saved_reply(agent, _reply_or_404(reply_id, agent))
    return "", 204
