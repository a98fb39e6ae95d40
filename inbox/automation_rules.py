"""The "Automation rules" section of the admins' store settings page: list, add, edit, turn on
and off, move up and down, delete.

Plain forms, as the rest of the page (POST + redirect, CSRF token in each form; works without
JavaScript). The form is turned into the rule's shape and validated with the schema the action
uses, so every field's message shows at once; changes go through ``helpdesk.actions.automation``.
The section is rendered inside the settings page (``inbox.store_settings``), with what
``automation_section`` gives it.
"""
import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from helpdesk.actions import ActionError
from helpdesk.actions.appointments import agents_for_store
from helpdesk.actions.automation import (
    automation_rules,
    delete_automation_rule,
    move_automation_rule,
    rule_teams,
    save_automation_rule,
    set_automation_rule_enabled,
    validation_messages,
)
from helpdesk.auth import admin_required
from helpdesk.automation_schemas import CHANNELS, MAX_NOTE_LENGTH, MAX_RULES, RULE_STATUSES
from helpdesk.extensions import db, limiter
from helpdesk.i18n import current, language_name
from helpdesk.models import Agent

bp = Blueprint("automation_rules", __name__, url_prefix="/inbox/settings/stores")

_STORE = "/<int(max=2147483647):store_id>/automation"
#: A list typed in the form: one per line or comma-separated, the Arabic comma and the
#: full-width one too (an Arabic or CJK keyboard types those).
_SPLIT = re.compile(r"[,\u060c\uff0c\n]")
#: The status chooser's value that means "snooze for the hours given".
SNOOZE = "snoozed"
#: Text inputs holding a list, one item per comma or line.
LISTS = ("subject_words", "text_words", "senders", "languages", "tags")


def _split(text):
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


def _number(text):
    """A whole number typed in the form, None when empty, else the text (the schema says why)."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


# ---- the form <-> the rule's shape ------------------------------------------------------------

def form_values(rule=None):
    """The form's fields (their input names) filled from a stored rule (None: a new one)."""
    rule = rule or {}
    conditions, actions = rule.get("conditions") or {}, rule.get("actions") or {}
    values = {
        "name": rule.get("name", ""),
        "enabled": rule.get("enabled", True),
        "trigger": rule.get("trigger", "ticket_created"),
        "stop": bool(rule.get("stop")),
        "channels": list(conditions.get("channels") or []),
        "business_hours": conditions.get("business_hours") or "",
        "has_order": {True: "yes", False: "no"}.get(conditions.get("has_order"), ""),
        "team_id": str(actions.get("team_id") or ""),
        "agent_id": str(actions.get("agent_id") or ""),
        "status": actions.get("status") or (SNOOZE if actions.get("snooze_hours") else ""),
        "snooze_hours": str(actions.get("snooze_hours") or ""),
        "note": actions.get("note") or "",
    }
    for key in LISTS:
        values[key] = ", ".join((actions if key == "tags" else conditions).get(key) or [])
    return values


def _values_of_form(form):
    """The form as sent, in ``form_values``' shape (shown again when refused)."""
    values = {key: form.get(key, "") for key in ("name", "trigger", "business_hours", "has_order", "team_id",
                                                 "agent_id", "status", "snooze_hours", "note", *LISTS)}
    values.update(enabled=form.get("enabled") == "1", stop=form.get("stop") == "1",
                  channels=form.getlist("channels"))
    return values


def _rule_of_form(form):
    status, hours = form.get("status", ""), _number(form.get("snooze_hours"))
    return {
        "name": form.get("name", ""),
        "enabled": form.get("enabled") == "1",
        "trigger": form.get("trigger", ""),
        "stop": form.get("stop") == "1",
        "conditions": {
            "channels": form.getlist("channels"),
            "subject_words": _split(form.get("subject_words")),
            "text_words": _split(form.get("text_words")),
            "senders": _split(form.get("senders")),
            "languages": _split(form.get("languages")),
            "business_hours": form.get("business_hours") or None,
            "has_order": {"yes": True, "no": False}.get(form.get("has_order")),
        },
        "actions": {
            "tags": _split(form.get("tags")),
            "team_id": _number(form.get("team_id")),
            "agent_id": _number(form.get("agent_id")),
            "status": None if status in ("", SNOOZE) else status,
            # Chosen without hours: "" is refused at the hours field (a number is needed).
            "snooze_hours": ("" if hours is None else hours) if status == SNOOZE else None,
            "note": form.get("note", ""),
        },
    }


def _form_errors(messages, rule):
    """The messages by field path (``validation_messages``) by form input:
    ``conditions.text_words.2`` is the text words' input, its message naming the word at fault."""
    errors = {}
    for key, texts in messages.items():
        parts = key.split(".")
        field = parts[1] if parts[0] in ("conditions", "actions") and len(parts) > 1 else parts[0]
        if field == "_schema" and parts[0] == "actions":
            field = "actions"
        if field == "id":
            field = "_schema"  # the list is full: about the rule as a whole
        if field in LISTS and len(parts) > 2 and parts[2].isdigit():
            listed = rule.get("actions" if field == "tags" else "conditions", {}).get(field) or []
            index = int(parts[2])
            if index < len(listed):
                texts = [_("“%(item)s”: %(message)s", item=listed[index], message=text) for text in texts]
        errors.setdefault(field, []).extend(texts)
    return errors


# ---- the section ---------------------------------------------------------------------------------

def _labels():
    channels = {"chat": _("Chat"), "email": _("Email"), "form": _("Contact form"), "api": _("API")}
    statuses = {"pending": _("Pending"), "resolved": _("Resolved"), "closed": _("Closed")}
    return channels, statuses


def _quoted(words):
    return ", ".join(_("“%(word)s”", word=w) for w in words)


def _summary(rule, teams, agents, gone):
    """The rule in words for its row: ``{"when": [...], "then": [...]}`` (texts, escaped when shown)."""
    channels, statuses = _labels()
    c, a = rule.get("conditions") or {}, rule.get("actions") or {}
    when = [_("Every customer message") if rule.get("trigger") == "customer_message"
            else _("A new ticket's first message")]
    if c.get("channels"):
        when.append(_("by %(channels)s", channels=", ".join(channels.get(ch, ch) for ch in c["channels"])))
    if c.get("subject_words"):
        when.append(_("subject contains %(words)s", words=_quoted(c["subject_words"])))
    if c.get("text_words"):
        when.append(_("message contains %(words)s", words=_quoted(c["text_words"])))
    if c.get("senders"):
        when.append(_("from %(senders)s", senders=", ".join(c["senders"])))
    if c.get("languages"):
        when.append(_("written in %(languages)s",
                      languages=", ".join(language_name(code, current()) for code in c["languages"])))
    if c.get("business_hours") in ("during", "outside"):
        when.append(_("during business hours") if c["business_hours"] == "during" else _("outside business hours"))
    if c.get("has_order") is not None:
        when.append(_("customers with an order") if c["has_order"] else _("customers without an order"))
    then = []
    if a.get("tags"):
        then.append(_("add the tags %(tags)s", tags=", ".join(a["tags"])))
    if a.get("team_id"):
        then.append(_("send to the team %(team)s", team=teams.get(a["team_id"]) or _("(removed)")))
    if a.get("agent_id"):
        if a["agent_id"] in agents:
            then.append(_("assign to %(agent)s", agent=agents[a["agent_id"]]))
        else:
            then.append(_("assign to %(agent)s (no longer works here: skipped)",
                          agent=gone.get(a["agent_id"], f"#{a['agent_id']}")))
    if a.get("status"):
        then.append(_("set the status to %(status)s", status=statuses.get(a["status"], a["status"])))
    if a.get("snooze_hours"):
        then.append(ngettext("snooze for %(num)d hour", "snooze for %(num)d hours", a["snooze_hours"]))
    if a.get("note"):
        then.append(_("leave a note"))
    if rule.get("stop"):
        then.append(_("then stop: later rules are not checked"))
    return {"when": when, "then": then}


def automation_section(store, values=None, errors=None, editing=None):
    """What the settings page's rules section shows: the rules (with the names of the teams and
    agents they name), the form (a rule being edited: ``?automation=<id>``) and its errors."""
    rules = automation_rules(store)
    if values is None:
        wanted = request.args.get("automation")
        rule = next((r for r in rules if r.get("id") == wanted), None) if wanted else None
        editing = rule["id"] if rule is not None else None
        values = form_values(rule)
    agents = agents_for_store(store.id)
    named = {r.get("actions", {}).get("agent_id") for r in rules} - {a.id for a in agents} - {None}
    gone = {a.id: a.name for a in db.session.scalars(select(Agent).where(Agent.id.in_(named)))} if named else {}
    teams = rule_teams(store)
    team_names, agent_names = {t.id: t.name for t in teams}, {a.id: a.name for a in agents}
    for rule in rules:
        rule["summary"] = _summary(rule, team_names, agent_names, gone)
    channel_labels, status_labels = _labels()
    return {
        "rules": rules, "v": values, "errors": errors or {}, "editing": editing, "full": len(rules) >= MAX_RULES,
        "teams": teams, "agents": agents, "channels": CHANNELS, "statuses": RULE_STATUSES,
        "channel_labels": channel_labels, "status_labels": status_labels, "max_note": MAX_NOTE_LENGTH,
    }


def _back(store_id, anchor="automation"):
    return redirect(url_for("store_settings.page", store_id=store_id) + f"#{anchor}")


@bp.post(_STORE)
@admin_required
@limiter.limit("30/minute")
def save(store_id):
    """Add a rule, or (``rule_id``: the rule being edited) change it in its place."""
    from inbox.store_settings import _store

    store = _store(store_id)
    rule_id = request.form.get("rule_id") or None
    rule = _rule_of_form(request.form)
    messages = validation_messages(store, rule)
    if not messages:
        try:
            save_automation_rule(store, rule, rule_id=rule_id)
        except ActionError as exc:
            messages = {exc.field or "_schema": [exc.message]}
        else:
            flash(_("Automation rule saved."))
            return _back(store.id)
    return _page_with(store, values=_values_of_form(request.form), errors=_form_errors(messages, rule),
                      editing=rule_id)


def _page_with(store, **section):
    from inbox.store_settings import _page

    return _page(store, automation=section, status=422)


def _rule_change(store_id, change, done):
    from inbox.store_settings import _store

    store = _store(store_id)
    try:
        change(store)
    except ActionError as exc:
        flash(exc.message)
    else:
        flash(done)
    return _back(store.id)


@bp.post(f"{_STORE}/<rule_id>/enabled")
@admin_required
@limiter.limit("30/minute")
def enable(store_id, rule_id):
    on = request.form.get("enabled") == "1"
    return _rule_change(store_id, lambda store: set_automation_rule_enabled(store, rule_id, on),
                        _("Automation rule turned on.") if on else _("Automation rule turned off."))


@bp.post(f"{_STORE}/<rule_id>/move")
@admin_required
@limiter.limit("60/minute")
def move(store_id, rule_id):
    offset = -1 if request.form.get("direction") == "up" else 1
    return _rule_change(store_id, lambda store: move_automation_rule(store, rule_id, offset),
                        _("Automation rule moved."))


@bp.post(f"{_STORE}/<rule_id>/delete")
@admin_required
@limiter.limit("30/minute")
def delete(store_id, rule_id):
    return _rule_change(store_id, lambda store: delete_automation_rule(store, rule_id),
                        _("Automation rule deleted."))
