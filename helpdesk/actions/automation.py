"""Automation rules: "when a customer message arrives, if ..., then ...", per store.

A store's rules are an ordered list in its settings (``settings["automation_rules"]``, kept
like the proactive invitation rules: ``helpdesk.actions.stores``), each with a trigger
(``ticket_created``: the first customer message of a new ticket; ``customer_message``: every
one), conditions that must all match, actions, and a flag that stops the rules after it.
Shapes and limits: ``helpdesk.automation_schemas``.

``apply_automation_rules`` runs once per stored customer message, from
``helpdesk.actions.messages.receive_customer_message`` (chat, email, the contact form and the
API all come through it), inside that message's transaction. The rules act through the
ticket actions with no agent (``by_agent=None``), so their events leave after the commit like
any other; each rule that did something says so on the ticket's timeline (an ``automation``
event: which rule, what it did, what it could not do, and its note for the agents).
Practice tickets, agents' messages and mail that stores no message (bounces, out-of-office
answers to our replies) never reach them, and nothing a rule does runs the rules again.

The hot paths pay nothing for a store without rules: the list is read from the store already
loaded, and an empty one returns at once. Word lists are compiled (a set of words, one
expression for the phrases: ``Words``) once per store and rules version
(``settings["automation_rules_version"]``, a digest of the list written with it), not per
message; a message's own words are read once, however many rules look at them.
"""
import functools
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import or_, select

from helpdesk.actions import ActionError, Conflict, NotFound, action
from helpdesk.actions.stores import load_settings, put_rule, remove_rule, rules_version, stored_rules, write_rules
from helpdesk.automation_schemas import MAX_NAME_LENGTH, MAX_RULES, AutomationRuleArgs, normal_words
from helpdesk.extensions import db
from helpdesk.i18n import N_, store_languages
from helpdesk.models import Agent, Team, TicketStatus, utcnow
from helpdesk.schemas import field_messages
from helpdesk.text import clean_text

log = logging.getLogger(__name__)

RULES_KEY = "automation_rules"
VERSION_KEY = "automation_rules_version"
#: The timeline event a rule leaves (``Message.meta["event"]``).
EVENT = "automation"

#: Set on the session while rules act: nothing they do may run the rules again.
_RUNNING = "helpdesk_automation_running"


# ---- storage (admins) -----------------------------------------------------------------------

def automation_rules(store):
    """The store's rules as stored, in the order they are checked."""
    return stored_rules(store, RULES_KEY)


def automation_rule(store, rule_id):
    """The rule ``rule_id`` of the store (NotFound when there is none)."""
    for rule in automation_rules(store):
        if rule.get("id") == rule_id:
            return rule
    raise NotFound("That rule no longer exists.", "id")


def rule_team(store, team_id):
    """The team ``team_id`` if a rule of ``store`` may send tickets there (the store's own, or
    one serving every store), else None."""
    team = db.session.get(Team, team_id) if team_id is not None else None
    return team if team is not None and team.store_id in (None, store.id) else None


def rule_agent(store, agent_id):
    """The agent ``agent_id`` if a rule of ``store`` may assign tickets to them (active, with
    access to the store), else None."""
    agent = db.session.get(Agent, agent_id) if agent_id is not None else None
    return agent if agent is not None and agent.active and agent.can_access_store(store.id) else None


def rule_teams(store):
    """The teams a rule of ``store`` may send tickets to, by name (the settings form's choice)."""
    return db.session.scalars(select(Team).where(or_(Team.store_id.is_(None), Team.store_id == store.id))
                              .order_by(Team.name, Team.id)).all()


def _new_id(rules):
    taken = {r.get("id") for r in rules}
    while True:
        rule_id = secrets.token_hex(4)
        if rule_id not in taken:
            return rule_id


@action
def save_automation_rule(store, data, rule_id=None):
    """Add a rule at the end of the store's list, or (``rule_id``) replace that rule in its
    place, keeping its id. ``data`` is validated with ``AutomationRuleArgs`` (ActionError 422
    naming the first field at fault; at most ``MAX_RULES``). Returns the stored rule.
    Emits nothing: the next customer message reads the rules."""
    if rule_id is not None:
        automation_rule(store, rule_id)  # gone since the form was opened: say so before any field
    rule = load_settings(AutomationRuleArgs(store=store), data)
    # Plain text as written (HTML included): the timeline and the settings page escape it.
    rule["name"] = clean_text(rule["name"], MAX_NAME_LENGTH)
    if not rule["name"]:
        raise ActionError("Give the rule a name.", "name", status=422)
    rules = automation_rules(store)
    stored = {"id": rule_id or _new_id(rules), **rule}
    return put_rule(store, RULES_KEY, stored, replaces=rule_id, limit=MAX_RULES,
                    too_many=N_("A store can have up to 50 automation rules."), version_key=VERSION_KEY)


@action
def set_automation_rule_enabled(store, rule_id, enabled):
    """Turn the rule ``rule_id`` on or off, leaving the rest of it as it is. Emits nothing."""
    rules = automation_rules(store)
    for rule in rules:
        if rule.get("id") == rule_id:
            rule["enabled"] = bool(enabled)
            write_rules(store, RULES_KEY, rules, VERSION_KEY)
            return rule
    raise NotFound("That rule no longer exists.", "id")


@action
def delete_automation_rule(store, rule_id):
    """Remove the rule ``rule_id``. Emits nothing."""
    remove_rule(store, RULES_KEY, rule_id, VERSION_KEY)


@action
def reorder_automation_rules(store, ids):
    """Put the store's rules in the order of ``ids``, which must name every rule once: a list
    read before another admin added or removed one is refused (Conflict), not half applied.
    Returns the rules. Emits nothing."""
    rules = automation_rules(store)
    by_id = {r.get("id"): r for r in rules}
    if len(ids) != len(set(ids)) or set(ids) != set(by_id):
        raise Conflict("The rules have changed meanwhile: reload them and try again.", "ids")
    ordered = [by_id[i] for i in ids]
    write_rules(store, RULES_KEY, ordered, VERSION_KEY)
    return ordered


def move_automation_rule(store, rule_id, offset):
    """Move the rule ``rule_id`` ``offset`` places (-1: up, checked sooner); at either end it
    stays where it is. Returns the rules. Emits nothing."""
    ids = [r.get("id") for r in automation_rules(store)]
    if rule_id not in ids:
        raise NotFound("That rule no longer exists.", "id")
    at = ids.index(rule_id)
    to = min(max(at + offset, 0), len(ids) - 1)
    ids.insert(to, ids.pop(at))
    return reorder_automation_rules(store, ids)


def validation_messages(store, data):
    """The schema's messages for ``data``, translated, by field path (``{"actions.team_id":
    [...]}``; ``{}`` when it would be saved): what a form shows at each field before calling
    ``save_automation_rule``."""
    try:
        AutomationRuleArgs(store=store).load(data)
    except ValidationError as exc:
        return field_messages(exc.messages)
    return {}


# ---- evaluation -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


class _Text:
    """A subject or message text as the word conditions read it: NFC, case folded (so
    "STRASSE" is "straße"), and its words as a set, made when first asked for."""

    def __init__(self, text):
        self.folded = (text if text.isascii() else normal_words(text)).casefold()

    @functools.cached_property
    def tokens(self):
        return frozenset(_TOKEN.findall(self.folded))


@dataclass(frozen=True)
class Words:
    """A compiled "contains any of these words": whole words, in any case. A word of letters
    and digits alone is looked up in the text's set of words (one set lookup, however long
    the mail); a phrase or a word with punctuation ("money back", "c++", "e-mail") is found by
    one expression for all of them, whose spaces match any whitespace (a line break in a
    mail) and whose edges are "no letter or digit next to it" (Unicode's), so "refund" is
    found in "Refund!" and not in "refunded"."""

    tokens: frozenset
    phrases: re.Pattern | None

    def found_in(self, text):
        return not self.tokens.isdisjoint(text.tokens) or (
            self.phrases is not None and self.phrases.search(text.folded) is not None)


def _words(words):
    """``words`` compiled (``Words``), or None for none."""
    folded = {normal_words(str(w)).casefold() for w in words} - {""}
    if not folded:
        return None
    tokens = frozenset(w for w in folded if _TOKEN.fullmatch(w))
    rest = sorted(folded - tokens, key=len, reverse=True)
    phrases = re.compile(r"(?<!\w)(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in rest) + r")(?!\w)"
                         ) if rest else None
    return Words(tokens, phrases)


@dataclass(frozen=True)
class CompiledRule:
    """A stored rule made ready to check: sets and compiled expressions instead of lists."""

    id: str
    name: str
    every_message: bool
    channels: frozenset
    subject: Words | None
    text: Words | None
    addresses: frozenset
    domains: tuple
    languages: frozenset
    business_hours: str | None
    has_order: bool | None
    actions: dict
    stop: bool

    @classmethod
    def of(cls, rule):
        conditions = rule.get("conditions") if isinstance(rule.get("conditions"), dict) else {}
        senders = [str(s).lower() for s in conditions.get("senders") or ()]
        return cls(
            id=str(rule.get("id")), name=str(rule.get("name") or ""),
            every_message=rule.get("trigger") == "customer_message",
            channels=frozenset(conditions.get("channels") or ()),
            subject=_words(conditions.get("subject_words") or ()),
            text=_words(conditions.get("text_words") or ()),
            addresses=frozenset(s for s in senders if "@" in s),
            domains=tuple(s for s in senders if "@" not in s),
            languages=frozenset(conditions.get("languages") or ()),
            business_hours=conditions.get("business_hours"),
            has_order=conditions.get("has_order"),
            actions=rule.get("actions") if isinstance(rule.get("actions"), dict) else {},
            stop=bool(rule.get("stop")),
        )

    def matches(self, facts):
        # The cheap checks first; the order lookup (a query) only when all else matched.
        if self.channels and facts.channel not in self.channels:
            return False
        if self.languages and facts.message.language not in self.languages:
            return False
        if self.addresses or self.domains:
            sender = facts.sender
            domain = sender.rpartition("@")[2]
            if not (sender in self.addresses or any(domain == d or domain.endswith("." + d) for d in self.domains)):
                return False
        if self.business_hours is not None and facts.open_now != (self.business_hours == "during"):
            return False
        if self.subject is not None and not self.subject.found_in(facts.subject):
            return False
        if self.text is not None and not self.text.found_in(facts.text):
            return False
        return self.has_order is None or facts.has_order == self.has_order


#: Compiled rule lists by (store id, rules version); a store's earlier versions simply age out.
_COMPILED = {}
_COMPILED_MAX = 512


def compiled_rules(store, rules):
    """The enabled ``rules`` of ``store``, compiled, from the cache when this version was seen."""
    key = (store.id, store.setting(VERSION_KEY) or rules_version(rules))
    found = _COMPILED.get(key)
    if found is None:
        found = tuple(CompiledRule.of(r) for r in rules if isinstance(r, dict) and r.get("enabled", True))
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


class _Facts:
    """What the conditions ask about one message, each worked out when first asked."""

    def __init__(self, store, ticket, message):
        self.store, self.ticket, self.message = store, ticket, message
        self.channel = str(ticket.channel)

    @functools.cached_property
    def contact(self):
        # Set on the message when it was stored: no lazy load.
        return self.message.author_contact or self.ticket.contact

    @functools.cached_property
    def sender(self):
        # An email's own From (the contact may have been found by another address of theirs).
        email = (self.message.meta or {}).get("email") or {}
        address = email.get("from") or self.contact.email or ""
        return address.strip().lower()

    @functools.cached_property
    def subject(self):
        email = (self.message.meta or {}).get("email") or {}
        return _Text(email.get("subject") or self.ticket.subject or "")

    @functools.cached_property
    def text(self):
        return _Text(self.message.body_text or "")

    @functools.cached_property
    def open_now(self):
        from inbox.presence import within_business_hours

        return within_business_hours(self.store, self.message.created_at)

    @functools.cached_property
    def has_order(self):
        from helpdesk.actions.commerce import orders_of_contact

        return bool(orders_of_contact(self.contact, limit=1))


def apply_automation_rules(store, ticket, message, *, first):
    """Run the store's enabled rules, in order, on the customer ``message`` just stored on
    ``ticket`` (``first``: the ticket's first customer message). Part of the caller's
    transaction. Each matching rule's actions go through the ticket actions with no agent, and
    the rule's timeline event records what it did; a rule marked ``stop`` ends the run.

    Emits, through those actions, ``ticket.updated`` (tags, team, assignee, status) and
    ``message.created`` (agents only) for the timeline events."""
    rules = store.setting(RULES_KEY)
    if not rules or ticket.is_practice or message.hidden:
        return
    session_info = db.session.info
    if session_info.get(_RUNNING):
        return
    facts = _Facts(store, ticket, message)
    session_info[_RUNNING] = True
    try:
        for rule in compiled_rules(store, rules):
            if (first or rule.every_message) and rule.matches(facts):
                _carry_out(rule, store, ticket)
                if rule.stop:
                    break
    finally:
        session_info.pop(_RUNNING, None)


class _Outcome:
    """What one rule did and could not do: ``(meta, words)`` pairs for its timeline event."""

    def __init__(self, rule):
        self.rule, self.done, self.skipped = rule, [], []

    def attempt(self, meta, words, change):
        """Run ``change`` (a ticket action). Refused anyway (the ticket changed in a way the
        checks before it did not foresee), it is a skipped step, never a failed message: the
        actions refuse before they write."""
        try:
            change()
        except ActionError as exc:
            log.warning("automation rule step refused",
                        extra={"rule_id": self.rule.id, "step": meta["action"], "error": exc.msgid})
            self.skipped.append(({**meta, "reason": "refused"},
                                 _("could not do this: %(words)s (%(reason)s)", words=words, reason=exc.message)))
        else:
            self.done.append((meta, words))


def _carry_out(rule, store, ticket):
    from helpdesk.actions.tickets import add_event, assign, change_status, set_tags, update_ticket

    actions = rule.actions
    outcome = _Outcome(rule)
    # The timeline's words are stored as written: in the store's language (its agents'), not in
    # the language of whoever's request ran the rule (a shopper's chat, a mail job).
    with force_locale(store_languages(store)[0]):
        have = [t.name for t in ticket.tags] if actions.get("tags") else []
        added = [t for t in actions.get("tags") or () if t not in have]
        if added:
            outcome.attempt({"action": "tags", "tags": added},
                            ngettext("added the tag %(tags)s", "added the tags %(tags)s", len(added),
                                     tags=", ".join(added)),
                            lambda: set_tags(ticket, have + added))
        if actions.get("team_id") is not None:
            team = rule_team(store, actions["team_id"])
            if team is None:
                outcome.skipped.append(({"action": "team", "team_id": actions["team_id"], "reason": "unknown_team"},
                                        _("could not send it to a team that no longer exists")))
            elif ticket.team_id != team.id:
                outcome.attempt({"action": "team", "team_id": team.id, "team_name": team.name},
                                _("sent it to the team %(team)s", team=team.name),
                                lambda: update_ticket(ticket, None, team_id=team.id))
        if actions.get("agent_id") is not None:
            _assign(outcome, store, ticket, actions["agent_id"], assign)
        status = actions.get("status")
        if status and ticket.merged_into_id is None and ticket.status != status:
            outcome.attempt({"action": "status", "status": status},
                            _("set the status to %(status)s", status=_status_label(status)),
                            lambda: change_status(ticket, status, None))
        hours = actions.get("snooze_hours")
        if hours and ticket.merged_into_id is None:
            until = utcnow() + timedelta(hours=hours)
            outcome.attempt({"action": "snooze", "hours": hours, "until": until.isoformat()},
                            ngettext("snoozed it for %(num)d hour", "snoozed it for %(num)d hours", hours),
                            lambda: change_status(ticket, TicketStatus.SNOOZED, None, snoozed_until=until))
        note = actions.get("note") or None
        if not (outcome.done or outcome.skipped or note):
            return  # nothing new to say (its tags were there already, say): no line on every message
        words = [text for _meta, text in outcome.done + outcome.skipped]
        summary = (_("Rule “%(rule)s”: %(actions)s.", rule=rule.name, actions="; ".join(words)) if words
                   else _("Rule “%(rule)s” left a note.", rule=rule.name))
        # After the steps, so it says what was done (their own lines, "System assigned it to ...",
        # come just before it), not what was meant to be.
        add_event(ticket, EVENT, None, text=summary, rule_id=rule.id, rule_name=rule.name, note=note,
                  done=[meta for meta, _text in outcome.done], skipped=[meta for meta, _text in outcome.skipped])


def _assign(outcome, store, ticket, agent_id, assign):
    agent = rule_agent(store, agent_id)
    if agent is None:
        # Saved when they worked here; since removed from the store or deactivated. The message
        # must not fail for it: the rule says on the timeline what it could not do.
        gone = db.session.get(Agent, agent_id)
        name = gone.name if gone is not None else f"#{agent_id}"
        outcome.skipped.append(({"action": "agent", "agent_id": agent_id, "reason": "no_access"},
                                _("did not assign it to %(agent)s, who no longer works at this store", agent=name)))
    elif ticket.status == TicketStatus.CLOSED:
        outcome.skipped.append(({"action": "agent", "agent_id": agent_id, "reason": "closed"},
                                _("did not assign it to %(agent)s: the ticket is closed", agent=agent.name)))
    elif ticket.assignee_id != agent.id:
        outcome.attempt({"action": "agent", "agent_id": agent.id, "agent_name": agent.name},
                        _("assigned it to %(agent)s", agent=agent.name), lambda: assign(ticket, agent, None))


def _status_label(status):
    return {"pending": _("Pending"), "resolved": _("Resolved"), "closed": _("Closed")}.get(status, status)
