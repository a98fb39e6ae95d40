"""Stores: an admin's settings for a store's chat widget, business hours, quiet-chat timers,
email signature, rating requests by email, reply targets and proactive invitation rules (all in
``Store.settings``, plus ``Store.domain``).

Languages and per-language texts are ``helpdesk.actions.languages``; the attribution window
is ``helpdesk.actions.commerce``.
"""
import hashlib
import json

from flask import url_for
from marshmallow import ValidationError

from helpdesk import events
from helpdesk.actions import ActionError, NotFound, action
from helpdesk.actions.service_levels import BUSINESS_HOURS_ONLY, TARGET_SETTINGS, recompute_due_times
from helpdesk.extensions import db
from helpdesk.i18n import N_
from helpdesk.schemas import InvitationRuleArgs, StoreSettingsArgs, field_messages
from helpdesk.signatures import clean_signature
from helpdesk.text import clean_text

#: Most invitation rules a store may have: the loader evaluates every one on every page.
MAX_RULES = 20


def load_settings(schema, data):
    """``data`` loaded by ``schema``, else ActionError (422) naming the first field refused.
    Views validate first to show every field's message; this refuses whatever reaches a
    settings action another way (a script, an API endpoint) with the first one."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        field, texts = next(iter(field_messages(exc.messages).items()))
        raise ActionError(texts[0], field, status=422) from None


def _clean_texts(changes):
    for key in ("greeting", "offline_message"):
        if key in changes:
            # Plain text as written (HTML included): every place that shows it escapes it.
            changes[key] = clean_text(changes[key], 500)
    if "signature" in changes:
        changes["signature"] = clean_signature(changes["signature"])
    prechat = changes.get("prechat")
    if prechat is not None:
        topics = []
        for topic in prechat.get("topics") or []:
            topic = clean_text(topic, 80)
            if topic and topic not in topics:
                topics.append(topic)
        prechat["topics"] = topics


def _merged_hours(hours):
    """Days with the same opening and closing times become one entry (a shorter list that
    reads the same), in weekday order."""
    merged = {}
    for entry in hours:
        for day in entry["days"]:
            merged.setdefault((entry["open"], entry["close"]), set()).add(day)
    rows = [{"days": sorted(days), "open": o, "close": c} for (o, c), days in merged.items()]
    return sorted(rows, key=lambda r: (r["days"][0], r["open"]))


@action
def update_store_settings(store, **changes):
    """Change the store's widget settings: ``domain`` (a column), ``widget_position``,
    ``greeting``, ``offline_message``, ``prechat`` (replaced whole), ``timezone``,
    ``business_hours`` (a list; empty = always open), ``inactivity_checkin_minutes``,
    ``inactivity_close_minutes``, ``signature`` (plain text ending the store's email, with
    ``{agent_name}`` and ``{store_name}``: helpdesk.signatures), ``rating_email`` (whether email and
    form customers are asked to rate: helpdesk.actions.ratings), the reply targets
    ``reply_target_<chat|email>_<first|next>_minutes`` (None or 0: none) and
    ``reply_target_business_hours_only`` (helpdesk.actions.service_levels: changing them, or the
    hours while only business hours count, gives the tickets already waiting for an answer their
    due times under the new targets). Validated with
    ``StoreSettingsArgs``; nothing is saved when any value is refused (ActionError, 422, naming the field).

    Emits ``store.online`` to the store's open widgets when the hours or time zone change,
    so a shopper is switched between live chat and the offline form without a reload, and
    ``signature.changed`` to the store's agents when the signature changes (their reply box
    shows it). New due times of waiting tickets are not pushed: the inbox shows them on its
    next load. The rest is read by widgets when a session starts (no cache to clear)."""
    changes = load_settings(StoreSettingsArgs(), changes)
    _clean_texts(changes)
    for key in TARGET_SETTINGS:
        if key in changes:
            changes[key] = changes[key] or 0  # "no target" is stored one way

    if "domain" in changes:
        store.domain = changes.pop("domain") or None
    if "business_hours" in changes:
        changes["business_hours"] = _merged_hours(changes["business_hours"])
    settings = dict(store.settings or {})
    hours_changed = any(k in changes and changes[k] != store.setting(k) for k in ("business_hours", "timezone"))
    signature_changed = "signature" in changes and (changes["signature"] or "") != (store.setting("signature") or "")
    targets_changed = any(k in changes and changes[k] != store.setting(k)
                          for k in (*TARGET_SETTINGS, BUSINESS_HOURS_ONLY))
    settings.update(changes)
    # A new dict: the JSON column notices only an assignment, not a change inside it.
    store.settings = settings
    db.session.flush()
    # New hours move the due times too when only business hours count.
    if targets_changed or (hours_changed and store.setting(BUSINESS_HOURS_ONLY)):
        recompute_due_times(store)  # emits nothing: the inbox shows them on its next load
    if hours_changed:
        from inbox.presence import store_is_online

        events.store_agents_online_changed(store.id, store_is_online(store))
    if signature_changed:
        events.signature_changed(store=store)
    return store


def install_snippet(store):
    """The tag the shop pastes, as the demo storefront embeds the widget (templates/demo/store.html).
    The loader takes the button's side from the tag, so it carries the saved position."""
    return (f'<script async src="{url_for("widgets.loader", _external=True)}" data-key="{store.widget_key}" '
            f'data-position="{store.setting("widget_position")}"></script>')


# ---- rule lists kept in the settings ---------------------------------------------------------
# The proactive invitation rules and the automation rules (helpdesk.actions.automation) are each an
# ordered list of dicts with an "id" under one settings key, read and changed the same way.

def stored_rules(store, key):
    """The rules under ``settings[key]`` as stored (copies; dicts only)."""
    return [dict(r) for r in store.setting(key) or [] if isinstance(r, dict)]


def write_rules(store, key, rules, version_key=None):
    """Store ``rules`` as ``settings[key]``; with ``version_key``, also a digest of them there,
    for readers that keep something built from the rules (a compiled form) keyed on it."""
    # A new dict: the JSON column notices only an assignment, not a change inside it.
    settings = {**(store.settings or {}), key: rules}
    if version_key is not None:
        settings[version_key] = rules_version(rules)
    store.settings = settings
    db.session.flush()


def rules_version(rules):
    """A short digest of a rule list's content: equal lists, equal versions."""
    encoded = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(encoded.encode(), digest_size=8).hexdigest()


def put_rule(store, key, rule, *, replaces=None, limit, too_many, version_key=None):
    """Append ``rule`` to ``settings[key]``, or put it in place of the rule whose id is
    ``replaces`` (the id may change). Refuses an unknown ``replaces`` (NotFound), an id another
    rule has, and a list already ``limit`` long (``too_many``: the msgid to say so), each naming
    ``id``. Returns the rule."""
    rules = stored_rules(store, key)
    ids = [r.get("id") for r in rules]
    if replaces is not None and replaces not in ids:
        raise NotFound("That rule no longer exists.", "id")
    if rule["id"] != replaces and rule["id"] in ids:
        raise ActionError("Another rule has this name.", "id", status=422)
    if replaces is None:
        if len(rules) >= limit:
            raise ActionError(too_many, "id", status=422)
        rules.append(rule)
    else:
        rules[ids.index(replaces)] = rule
    write_rules(store, key, rules, version_key)
    return rule


def remove_rule(store, key, rule_id, version_key=None):
    """Remove the rule ``rule_id`` from ``settings[key]`` (NotFound when it is not there)."""
    rules = stored_rules(store, key)
    kept = [r for r in rules if r.get("id") != rule_id]
    if len(kept) == len(rules):
        raise NotFound("That rule no longer exists.", "id")
    write_rules(store, key, kept, version_key)


def invitation_rules(store):
    """The store's rules as stored (dicts only; widgets.proactive filters what it serves)."""
    return stored_rules(store, "proactive_rules")


@action
def save_invitation_rule(store, rule, replaces=None):
    """Add a proactive invitation rule, or replace the rule whose id is ``replaces`` (the id
    may change). Rules are ``settings["proactive_rules"]`` in widgets.proactive's shape.
    Emits nothing: the loader reads the rules on the shopper's next page."""
    rule = load_settings(InvitationRuleArgs(), rule)
    rule["message"] = clean_text(rule["message"], 500)
    if not rule["message"]:
        raise ActionError("Write the invitation message.", "message", status=422)
    return put_rule(store, "proactive_rules", rule, replaces=replaces, limit=MAX_RULES,
                    too_many=N_("A store can have up to 20 invitation rules."))


@action
def delete_invitation_rule(store, rule_id):
    """Remove the rule ``rule_id``. Emits nothing (see ``save_invitation_rule``)."""
    remove_rule(store, "proactive_rules", rule_id)
