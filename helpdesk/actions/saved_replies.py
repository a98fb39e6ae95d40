"""Saved replies: personal ones any agent keeps; team/store-wide ones admins approve."""
from helpdesk.actions import ActionError, Forbidden, action
from helpdesk.extensions import db
from helpdesk.models import SavedReply, Store, Team
from helpdesk.text import clean_text


@action
def create_saved_reply(agent, *, shortcut, title, body, personal=True, store_id=None, team_id=None):
    """Personal replies belong to ``agent``; shared ones (store/team) need an admin and are
    approved on creation. Emits nothing."""
    if not personal and not agent.is_admin:
        raise Forbidden("Only admins create shared saved replies.", "personal")
    if store_id is not None and (db.session.get(Store, store_id) is None or not agent.can_access_store(store_id)):
        raise ActionError("No such store.", "store_id", status=404)
    team = db.session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and (team is None or (store_id and team.store_id not in (None, store_id))):
        raise ActionError("No such team.", "team_id", status=404)
    reply = SavedReply(
        agent_id=agent.id if personal else None,
        store_id=store_id,
        team_id=team_id,
        shortcut=clean_text(shortcut, 40),
        title=clean_text(title, 120),
        body=clean_text(body, 10000),
        approved=not personal,
    )
    db.session.add(reply)
    db.session.flush()
    return reply


def can_edit(agent, reply):
    return agent.is_admin or (reply.agent_id == agent.id)


@action
def update_saved_reply(agent, reply, **changes):
    if not can_edit(agent, reply):
        raise Forbidden("Only admins change shared saved replies.")
    if "approved" in changes and not agent.is_admin:
        raise Forbidden("Only admins approve saved replies.", "approved")
    for key, limit in (("shortcut", 40), ("title", 120), ("body", 10000)):
        if key in changes:
            setattr(reply, key, clean_text(changes[key], limit))
    if "approved" in changes:
        reply.approved = bool(changes["approved"])
    db.session.flush()
    return reply


@action
def delete_saved_reply(agent, reply):
    if not can_edit(agent, reply):
        raise Forbidden("Only admins delete shared saved replies.")
    db.session.delete(reply)
