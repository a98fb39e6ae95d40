"""Announcements from admins to agents: publish, edit, delete, and agents' read marks.

A post goes to every agent (``all``), one team's members (``team``) or every agent who may
see one store (``store``). Only admins write posts; agents read the ones meant for them.
"""
from sqlalchemy import and_, false, func, or_, select, true

from helpdesk import events
from helpdesk.actions import ActionError, Forbidden, NotFound, action
from helpdesk.extensions import db
from helpdesk.models import Agent, Post, PostAudience, PostRead, Store, Team, agent_teams, utcnow
from helpdesk.text import clean_text

MAX_TITLE, MAX_BODY = 200, 20000


def _require_admin(agent):
    if not agent.is_admin:
        raise Forbidden("Only admins publish posts.")


def _audience(audience, team_id, store_id):
    """The validated (audience, team_id, store_id) triple; the ids of other audiences are dropped."""
    try:
        audience = PostAudience(audience)
    except ValueError:
        raise ActionError("Choose everyone, a team or a store.", "audience") from None
    if audience == PostAudience.TEAM:
        if team_id is None or db.session.get(Team, team_id) is None:
            raise ActionError("No such team.", "team_id", status=404)
        return audience, team_id, None
    if audience == PostAudience.STORE:
        if store_id is None or db.session.get(Store, store_id) is None:
            raise ActionError("No such store.", "store_id", status=404)
        return audience, None, store_id
    return audience, None, None


def _recipients(post):
    """Agent ids whose own rooms receive the post (store posts use the store room instead)."""
    if post.audience == PostAudience.TEAM:
        query = (select(Agent.id).join(agent_teams, agent_teams.c.agent_id == Agent.id)
                 .where(agent_teams.c.team_id == post.team_id, Agent.active.is_(True)))
    elif post.audience == PostAudience.ALL:
        query = select(Agent.id).where(Agent.active.is_(True))
    else:
        return []
    return list(db.session.scalars(query))


@action
def create_post(agent, *, title, body="", audience="all", team_id=None, store_id=None, pinned=False):
    """Publish a post now (admins). The author's own read mark is set. Emits
    ``post.published`` to the targeted agents (see ``events.post_published``)."""
    _require_admin(agent)
    title = clean_text(title, MAX_TITLE)
    if not title:
        raise ActionError("Give the post a title.", "title")
    audience, team_id, store_id = _audience(audience, team_id, store_id)
    post = Post(title=title, body=clean_text(body, MAX_BODY), audience=audience, team_id=team_id,
                store_id=store_id, author_id=agent.id, pinned=bool(pinned), published_at=utcnow())
    db.session.add(post)
    db.session.flush()
    db.session.add(PostRead(post_id=post.id, agent_id=agent.id))
    db.session.flush()
    events.post_published(post, _recipients(post))
    return post


@action
def update_post(agent, post, **changes):
    """Edit a post's text, audience or pin (admins). Read marks stay; emits nothing (agents
    see the edit on their next list)."""
    _require_admin(agent)
    if "title" in changes:
        title = clean_text(changes["title"], MAX_TITLE)
        if not title:
            raise ActionError("Give the post a title.", "title")
        post.title = title
    if "body" in changes:
        post.body = clean_text(changes["body"], MAX_BODY)
    if "pinned" in changes:
        post.pinned = bool(changes["pinned"])
    if {"audience", "team_id", "store_id"} & set(changes):
        post.audience, post.team_id, post.store_id = _audience(
            changes.get("audience", post.audience), changes.get("team_id", post.team_id),
            changes.get("store_id", post.store_id))
    post.updated_at = utcnow()
    db.session.flush()
    return post


@action
def delete_post(agent, post):
    """Delete a post and its read marks (admins). Emits nothing."""
    _require_admin(agent)
    db.session.delete(post)


@action(retry_on_conflict=True)
def mark_post_read(agent, post):
    """Record that ``agent`` read ``post`` (idempotent; a concurrent second mark is the same
    row). Emits nothing: read marks are per agent and the page updates its own badge."""
    if not is_targeted(agent, post):
        raise NotFound("No such post.")
    read = db.session.get(PostRead, (post.id, agent.id))
    if read is None:
        read = PostRead(post_id=post.id, agent_id=agent.id)
        db.session.add(read)
        db.session.flush()
    return read


# ---- reading ----------------------------------------------------------------------------

def targeted_at(agent):
    """SQL condition: the posts meant for ``agent`` (admins are targeted like any member,
    with every store)."""
    store_ids = agent.accessible_store_ids()
    in_store = true() if store_ids is None else (Post.store_id.in_(store_ids) if store_ids else false())
    team_ids = [t.id for t in agent.teams]
    in_team = Post.team_id.in_(team_ids) if team_ids else false()
    return or_(Post.audience == PostAudience.ALL,
               and_(Post.audience == PostAudience.STORE, in_store),
               and_(Post.audience == PostAudience.TEAM, in_team))


def is_targeted(agent, post):
    if post.audience == PostAudience.ALL:
        return True
    if post.audience == PostAudience.STORE:
        return agent.can_access_store(post.store_id)
    return any(t.id == post.team_id for t in agent.teams)


def list_posts(agent, *, unread_only=False, limit=50, everything=False):
    """Posts for ``agent`` (``everything``: admins managing all posts), pinned first, then
    newest; each carries ``read`` (bool) for this agent."""
    read_at = (select(PostRead.read_at).where(PostRead.post_id == Post.id, PostRead.agent_id == agent.id)
               .correlate(Post).scalar_subquery())
    query = select(Post, read_at.label("read_at"))
    if not (everything and agent.is_admin):
        query = query.where(targeted_at(agent))
    if unread_only:
        query = query.where(read_at.is_(None))
    rows = db.session.execute(query.order_by(Post.pinned.desc(), Post.published_at.desc(), Post.id.desc())
                              .limit(limit)).all()
    posts = []
    for post, when in rows:
        post.read = when is not None
        posts.append(post)
    return posts


def unread_count(agent):
    """How many posts meant for ``agent`` they have not read (the inbox badge)."""
    unread = ~select(PostRead.post_id).where(PostRead.post_id == Post.id, PostRead.agent_id == agent.id) \
        .correlate(Post).exists()
    return db.session.scalar(select(func.count(Post.id)).where(targeted_at(agent), unread)) or 0


def post_or_404(agent, post_id):
    post = db.session.get(Post, post_id)
    if post is None or not (agent.is_admin or is_targeted(agent, post)):
        raise NotFound("No such post.")
    return post
