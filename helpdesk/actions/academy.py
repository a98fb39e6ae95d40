"""Onboarding academy: introduction, store policies to accept, a practice chat.

A new agent is not routed real chats (and may not claim them) until they have read the
introduction, accepted the current version of every policy of the stores they serve, and
finished a practice chat with a scripted shopper: claimed it, replied, used a saved reply
and sent a product card. Each practice step is recorded by the action that really did it
(``claim``, ``reply``), never on the client's word. Editing a policy's text raises its
version, so everyone serving that store accepts it again before their next chat.

Agents who existed before the academy (migration), the demo admin (seed) and agents an admin
exempts skip the training; policies still apply to them.
"""
import re

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select

from helpdesk import events
from helpdesk.actions import ActionError, Conflict, Forbidden, NotFound, action
from helpdesk.extensions import db
from helpdesk.models import (
    ENDED_STATUSES,
    PRACTICE_STEPS,
    AcademyProgress,
    Agent,
    AuthorType,
    Channel,
    Message,
    MessageKind,
    PolicyAcceptance,
    Product,
    SavedReply,
    Store,
    StorePolicy,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.text import clean_text

#: The store practice chats live in; it has no connectors, webhooks or policies of its own.
PRACTICE_SLUG = "academy-practice"
PRACTICE_SHORTCUT = "welcome"
# A placeholder ("{contact.first_name}") in a saved reply's re.escape()d body.
_PLACEHOLDER = re.compile(r"\\\{[\w.\\ ]+\\\}")


def _script():
    """What the practice shopper says: the opening line, then one line per agent message."""
    return [
        _("Hi! I'm looking for a warm sweater for the winter. Can you help me?"),
        _("Great, thank you! Could you show me one you would recommend?"),
        _("That looks lovely. Does it come in other colours?"),
        _("Perfect, I'll order it now. Thanks for your help!"),
    ]


# ---- reading ----------------------------------------------------------------------------

def progress_of(agent):
    return db.session.get(AcademyProgress, agent.id)


def _progress(agent):
    progress = progress_of(agent)
    if progress is None:
        progress = AcademyProgress(agent_id=agent.id, practice_steps={}, exempt=False, updated_at=utcnow())
        db.session.add(progress)
        db.session.flush()
    return progress


def is_trained(agent):
    progress = progress_of(agent)
    return progress is not None and (progress.exempt or progress.completed_at is not None)


def practice_store_ids():
    return list(db.session.scalars(select(Store.id).where(Store.slug == PRACTICE_SLUG)))


def served_store_ids(agent):
    """The stores whose policies ``agent`` must accept (every store they may answer)."""
    from helpdesk.actions.agents import visible_store_ids

    practice = set(practice_store_ids())
    return [s for s in visible_store_ids(agent) if s not in practice]


def _accepted_current(agent_id):
    return exists().where(PolicyAcceptance.agent_id == agent_id, PolicyAcceptance.policy_id == StorePolicy.id,
                          PolicyAcceptance.version == StorePolicy.version)


def pending_policies(agent, store_ids=None):
    """Policies (current version) ``agent`` has not accepted, for ``store_ids`` or every store served."""
    store_ids = served_store_ids(agent) if store_ids is None else list(store_ids)
    if not store_ids:
        return []
    return db.session.scalars(
        select(StorePolicy).where(StorePolicy.store_id.in_(store_ids), ~_accepted_current(agent.id))
        .order_by(StorePolicy.store_id, StorePolicy.id)).all()


def ready_clause(store_id):
    """SQL condition on ``Agent``: trained (or exempt) and no policy of ``store_id`` awaiting
    (re-)acceptance. Routing adds it to its candidate query."""
    trained = exists().where(AcademyProgress.agent_id == Agent.id,
                             or_(AcademyProgress.exempt.is_(True), AcademyProgress.completed_at.is_not(None)))
    pending = exists().where(StorePolicy.store_id == store_id, ~_accepted_current(Agent.id))
    return and_(trained, ~pending)


def may_take_chats(agent, store_id):
    return is_trained(agent) and not pending_policies(agent, [store_id])


def ensure_may_take_chats(agent, store_id):
    """Refuse (403) a real chat to an agent who has not finished the academy or owes a policy."""
    if not is_trained(agent):
        raise Forbidden(_("Finish the onboarding academy before you take chats."), "academy")
    if pending_policies(agent, [store_id]):
        raise Forbidden(_("A store policy changed: accept it in the academy before you take chats."), "policies")


def progress_payload(agent, progress=None):
    """The academy state of ``agent`` as the academy page, the admin page and the API show it."""
    progress = progress if progress is not None else progress_of(agent)
    steps = dict((progress.practice_steps if progress else None) or {})
    accepted = db.session.execute(
        select(PolicyAcceptance, StorePolicy).join(StorePolicy, StorePolicy.id == PolicyAcceptance.policy_id)
        .where(PolicyAcceptance.agent_id == agent.id)
        .order_by(PolicyAcceptance.accepted_at, PolicyAcceptance.id)).all()
    return {
        "agent": {"id": agent.id, "name": agent.name, "email": agent.email},
        "exempt": bool(progress and progress.exempt),
        "intro_done_at": progress.intro_done_at if progress else None,
        "policies_done_at": progress.policies_done_at if progress else None,
        "practice_ticket_id": progress.practice_ticket_id if progress else None,
        "practice_steps": {name: steps.get(name) for name in PRACTICE_STEPS},
        "completed_at": progress.completed_at if progress else None,
        "trained": bool(progress and (progress.exempt or progress.completed_at)),
        "pending_policies": [{"id": p.id, "store_id": p.store_id, "title": p.title, "version": p.version}
                             for p in pending_policies(agent)],
        "accepted_policies": [{"policy_id": p.id, "title": p.title, "version": a.version,
                               "current_version": p.version, "accepted_at": a.accepted_at}
                              for a, p in accepted],
    }


# ---- the agent's steps --------------------------------------------------------------------

def _changed(agent, progress):
    """Completion check and the live update: the academy is done once every step is."""
    steps = progress.practice_steps or {}
    if (progress.completed_at is None and progress.intro_done_at and progress.policies_done_at
            and all(steps.get(s) for s in PRACTICE_STEPS)):
        progress.completed_at = utcnow()
    progress.updated_at = utcnow()
    db.session.flush()
    events.academy_progress(agent.id, progress_payload(agent, progress))


@action
def complete_intro(agent):
    """The agent read the introduction. Emits ``academy.progress`` to the agent."""
    progress = _progress(agent)
    if progress.intro_done_at is None:
        progress.intro_done_at = utcnow()
    _changed(agent, progress)
    return progress


@action(retry_on_conflict=True)
def accept_policies(agent, policy_ids, *, ip=None):
    """Record the agent's acceptance of the current version of each policy in ``policy_ids``
    (time, version, address). Once none is pending, the policies step is done (the first
    time). Emits ``academy.progress`` to the agent."""
    ids = sorted({int(i) for i in policy_ids})
    served = set(served_store_ids(agent))
    policies = db.session.scalars(select(StorePolicy).where(StorePolicy.id.in_(ids))).all() if ids else []
    if len(policies) != len(ids) or any(p.store_id not in served for p in policies):
        raise NotFound(_("No such policy."), "policy_ids")
    now = utcnow()
    for policy in policies:
        done = db.session.scalar(select(PolicyAcceptance.id).where(
            PolicyAcceptance.agent_id == agent.id, PolicyAcceptance.policy_id == policy.id,
            PolicyAcceptance.version == policy.version))
        if done is None:
            db.session.add(PolicyAcceptance(agent_id=agent.id, policy_id=policy.id, version=policy.version,
                                            accepted_at=now, ip=clean_text(ip, 64) or None))
    db.session.flush()
    progress = _progress(agent)
    if progress.policies_done_at is None and not pending_policies(agent):
        progress.policies_done_at = now
    _changed(agent, progress)
    return progress


@action
def set_exempt(agent, exempt, by_admin=None):
    """An admin lets ``agent`` skip the training (or takes that back). Policies still apply.
    Emits ``academy.progress`` to the agent when an admin did it; without ``by_admin`` (the
    seed, account set-up) it is silent: nobody has a page open for that agent yet."""
    if by_admin is not None and not by_admin.is_admin:
        raise Forbidden(_("Only admins exempt agents from the academy."))
    progress = _progress(agent)
    progress.exempt = bool(exempt)
    progress.exempted_by_id = by_admin.id if (by_admin is not None and exempt) else None
    progress.updated_at = utcnow()
    db.session.flush()
    if by_admin is not None:
        _changed(agent, progress)
    return progress


# ---- policies ---------------------------------------------------------------------------

@action
def save_policy(by_admin, store, *, title, body, policy=None):
    """Create a policy of ``store`` or edit one; a change of its text (title or body) is a new
    version that everyone serving the store must accept again. Emits ``policy.updated`` to
    the store's agents when the version changes."""
    if not by_admin.is_admin:
        raise Forbidden(_("Only admins change store policies."))
    title, body = clean_text(title, 200), clean_text(body, 20000)
    if not title:
        raise ActionError(_("Give the policy a title."), "title")
    if not body:
        raise ActionError(_("Write the policy's text."), "body")
    if policy is None:
        policy = StorePolicy(store_id=store.id, title=title, body=body, version=1)
        db.session.add(policy)
    elif (policy.title, policy.body) != (title, body):
        policy.title, policy.body = title, body
        policy.version += 1
        policy.updated_at = utcnow()
    else:
        return policy
    db.session.flush()
    events.policy_updated(policy)
    return policy


@action
def delete_policy(by_admin, policy):
    """Remove a policy (and its acceptances). Emits nothing: nobody owes it any more."""
    if not by_admin.is_admin:
        raise Forbidden(_("Only admins change store policies."))
    db.session.delete(policy)


# ---- the practice chat ----------------------------------------------------------------------

def _practice_store():
    store = db.session.scalar(select(Store).where(Store.slug == PRACTICE_SLUG))
    if store is not None:
        return store
    from helpdesk.seed import DEMO_PRODUCTS

    store = Store(name=_("Practice store"), slug=PRACTICE_SLUG, settings={
        "practice": True, "inactivity_checkin_minutes": 0, "inactivity_close_minutes": 0})
    db.session.add(store)
    db.session.flush()
    from decimal import Decimal

    for sku, title, desc, price, image in DEMO_PRODUCTS:
        db.session.add(Product(store_id=store.id, platform="practice", platform_id=sku, title=title,
                               description=desc, price=Decimal(price), currency="USD", image_url=image,
                               url=f"/demo/products/{sku}"))
    db.session.add(SavedReply(store_id=store.id, shortcut=PRACTICE_SHORTCUT, title=_("Practice welcome"),
                              body=_("Hi {contact.first_name}, thanks for reaching out! "
                                     "I'm {agent.first_name} and I'm happy to help."), approved=True))
    db.session.flush()
    return store


@action(retry_on_conflict=True)
def start_practice(agent):
    """Open the agent's practice chat (or return the one still running): a chat ticket marked
    ``is_practice`` in the practice store, with the scripted shopper's opening message.
    Needs the introduction and the policies done. Emits ``ticket.created`` and
    ``message.created`` (the trainee's devices only) and ``academy.progress``."""
    from helpdesk.actions.contacts import find_or_create_contact
    from helpdesk.actions.messages import receive_customer_message

    progress = _progress(agent)
    if progress.intro_done_at is None or progress.policies_done_at is None:
        raise Conflict(_("Read the introduction and accept the policies first."), "academy")
    current = db.session.get(Ticket, progress.practice_ticket_id) if progress.practice_ticket_id else None
    if current is not None and current.status != TicketStatus.CLOSED and current.status != TicketStatus.RESOLVED:
        return current
    store = _practice_store()
    if not agent.all_stores and not agent.is_admin and store not in agent.stores:
        agent.stores.append(store)  # restricted agents must be able to open it
    contact = find_or_create_contact(store, email=f"practice-{agent.id}@academy.invalid",
                                     name=_("Sam (practice shopper)"))
    # Marked and linked to the trainee before any event is built: events.py sends a practice
    # chat's events to the trainee's devices only, never to the store room or webhooks.
    ticket = Ticket(store_id=store.id, contact_id=contact.id, channel=Channel.CHAT, status=TicketStatus.OPEN,
                    subject=_("Practice chat"), is_practice=True, tags=[])
    db.session.add(ticket)
    db.session.flush()
    progress.practice_ticket_id = ticket.id
    progress.practice_steps = {}
    db.session.flush()
    events.ticket_created(ticket)
    receive_customer_message(store, contact, "chat", _script()[0], ticket=ticket,
                             client_id=f"practice-{ticket.id}-0")
    _changed(agent, progress)
    return ticket


def _saved_reply_used(agent, ticket, text):
    """True when ``text`` is one of the saved replies ``agent`` may use, placeholders filled."""
    replies = db.session.scalars(select(SavedReply.body).where(
        or_(SavedReply.agent_id == agent.id,
            and_(SavedReply.agent_id.is_(None), or_(SavedReply.store_id.is_(None),
                                                     SavedReply.store_id == ticket.store_id))))).all()
    for body in replies:
        pattern = _PLACEHOLDER.sub(lambda m: r"[^\n]*?", re.escape(body))
        if body and re.search(pattern, text or "", re.S):
            return True
    return False


def _step(agent, ticket, name):
    progress = progress_of(agent)
    if progress is None or progress.practice_ticket_id != ticket.id:
        return None  # someone else's practice chat (an admin looking at it) teaches nothing
    steps = dict(progress.practice_steps or {})
    if not steps.get(name):
        steps[name] = utcnow().isoformat()
        progress.practice_steps = steps
    return progress


@action
def practice_claimed(ticket, agent):
    """``claim`` took a practice chat: the claim step is done. Emits ``academy.progress``."""
    progress = _step(agent, ticket, "claimed")
    if progress is not None:
        _changed(agent, progress)


@action
def practice_reply_sent(ticket, message, agent):
    """``reply`` answered a practice chat: the reply step, and the saved reply or product card
    steps when that answer was one. The scripted shopper answers in a job after commit.
    Emits ``academy.progress``."""
    from workers import enqueue

    progress = _step(agent, ticket, "replied")
    if progress is None:
        return
    if (message.meta or {}).get("product_card"):
        _step(agent, ticket, "product_card")
    if _saved_reply_used(agent, ticket, message.body_text):
        _step(agent, ticket, "saved_reply")
    _changed(agent, progress)
    enqueue("workers.academy_jobs.practice_shopper_turn", ticket.id)


@action(retry_on_conflict=True)
def practice_shopper_turn(ticket_id):
    """The scripted shopper answers the agent's latest message with the next line of the script
    (once per line: the line's client id makes a repeat a no-op). Emits what
    ``receive_customer_message`` emits."""
    from helpdesk.actions.messages import receive_customer_message

    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not ticket.is_practice or ticket.status in ENDED_STATUSES:
        return None
    last = db.session.scalar(select(Message).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.MESSAGE).order_by(Message.id.desc()).limit(1))
    if last is None or last.author_type != AuthorType.AGENT:
        return None
    said = db.session.scalar(select(db.func.count()).select_from(Message).where(
        Message.ticket_id == ticket.id, Message.author_type == AuthorType.CONTACT))
    script = _script()
    if said >= len(script):
        return None
    message, _created = receive_customer_message(ticket.store, ticket.contact, "chat", script[said],
                                                 ticket=ticket, client_id=f"practice-{ticket.id}-{said}")
    return message
