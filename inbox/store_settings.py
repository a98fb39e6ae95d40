"""Admins' store settings page: install snippet, chat widget, business hours, inactivity
timers, email signature, reply targets and proactive invitation rules; and the customers' data
requests a shop platform passed on, waiting for an admin or answered lately (``helpdesk.actions.privacy``).

Plain forms (POST + redirect, CSRF token in each form; works without JavaScript). The view
turns the form into the settings' shape and validates it with the same schema the action
uses, so every field's message shows at once; changes go through ``helpdesk.actions.stores``.
"""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from helpdesk.actions import ActionError
from helpdesk.actions.privacy import (
    answered_data_requests,
    dismiss_data_request,
    holding_data,
    pending_data_requests,
)
from helpdesk.actions.service_levels import BUSINESS_HOURS_ONLY, TARGET_SETTINGS
from helpdesk.actions.stores import (
    delete_invitation_rule,
    install_snippet,
    invitation_rules,
    save_invitation_rule,
    update_store_settings,
)
from helpdesk.auth import admin_required
from helpdesk.extensions import db, limiter
from helpdesk.models import Agent, Contact, Store
from helpdesk.schemas import PRECHAT_FIELDS, InvitationRuleArgs, StoreSettingsArgs, field_messages, known_zones
from helpdesk.signatures import MAX_SIGNATURE_LENGTH
from inbox.automation_rules import automation_section

bp = Blueprint("store_settings", __name__, url_prefix="/inbox/settings/stores")

RULE_NUMBERS = ("min_seconds_on_page", "min_pages_viewed", "min_seconds_on_product")
#: Reply targets whose form input takes hours or minutes (a unit chooser beside it): the input's
#: name for each setting. Live chat's are in minutes, named as the setting.
TARGETS_WITH_UNIT = {"reply_target_email_first_minutes": "reply_target_email_first",
                     "reply_target_email_next_minutes": "reply_target_email_next"}


def _store(store_id):
    store = db.session.get(Store, store_id)
    if store is None:
        abort(404)
    return store


def _int(value):
    """A whole number typed in a form, else the text as typed (the schema says what is wrong)."""
    text = (value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


# ---- the settings form <-> the settings' shape ---------------------------------------------

def _form_values(store):
    """The form's fields (their input names) filled from the store."""
    prechat = store.setting("prechat") or {}
    states = prechat.get("fields") or {}
    values = {
        "domain": store.domain or "",
        "widget_position": store.setting("widget_position"),
        "greeting": store.setting("greeting") or "",
        "offline_message": store.setting("offline_message") or "",
        "prechat_enabled": "1" if prechat.get("enabled") else "",
        "prechat_topics": "\n".join(prechat.get("topics") or []),
        "timezone": store.setting("timezone") or "UTC",
        "inactivity_checkin_minutes": str(store.setting("inactivity_checkin_minutes")),
        "inactivity_close_minutes": str(store.setting("inactivity_close_minutes")),
        "signature": store.setting("signature") or "",
        "rating_email": "1" if store.setting("rating_email") else "",
        BUSINESS_HOURS_ONLY: "1" if store.setting(BUSINESS_HOURS_ONLY) else "",
    }
    for key in TARGET_SETTINGS:
        minutes = store.setting(key) or 0
        name = TARGETS_WITH_UNIT.get(key)
        if name is None:
            values[key] = str(minutes) if minutes else ""  # empty: no target
        else:
            hours = minutes and minutes % 60 == 0
            values[name] = "" if not minutes else str(minutes // 60 if hours else minutes)
            values[f"{name}_unit"] = "hours" if hours or not minutes else "minutes"
    for name in PRECHAT_FIELDS:
        values[f"prechat_{name}"] = states.get(name, "off")
    hours = store.setting("business_hours") or []
    values["hours_mode"] = "set" if hours else "always"
    for entry in hours:
        for day in entry.get("days", []):
            # One interval per day in this form; a second one (set another way) is shown as a note.
            if f"hours_{day}_open" in values:
                values["hours_split"] = "1"
                continue
            values[f"hours_{day}_open"] = entry.get("open", "")
            values[f"hours_{day}_close"] = entry.get("close", "")
    return values


def _target(form, name):
    """A reply target typed in the form, in minutes: empty is none (0); with a unit chooser,
    hours are turned into minutes. Anything else as typed (the schema says what is wrong)."""
    text = (form.get(name) or "").strip()
    if not text:
        return 0
    value = _int(text)
    if isinstance(value, int) and form.get(f"{name}_unit") == "hours":
        value *= 60
    return value


def _changes(form):
    """The settings the form asks for, and which weekday each business-hours entry is."""
    prechat = {
        "enabled": form.get("prechat_enabled") == "1",
        "fields": {name: form.get(f"prechat_{name}", "") for name in PRECHAT_FIELDS},
        "topics": [line.strip() for line in form.get("prechat_topics", "").splitlines() if line.strip()],
    }
    hours, hour_days = [], []
    if form.get("hours_mode") == "set":
        for day in range(7):
            opens, closes = form.get(f"hours_{day}_open", "").strip(), form.get(f"hours_{day}_close", "").strip()
            if not opens and not closes:
                continue  # closed that day
            # A time field cannot say 24:00; midnight as the closing time means the end of the day.
            hours.append({"days": [day], "open": opens, "close": "24:00" if closes == "00:00" else closes})
            hour_days.append(day)
    changes = {
        "domain": form.get("domain", "").strip().lower().rstrip(".") or None,
        "widget_position": form.get("widget_position", ""),
        "greeting": form.get("greeting", ""),
        "offline_message": form.get("offline_message", ""),
        "prechat": prechat,
        "timezone": form.get("timezone", "").strip(),
        "business_hours": hours,
        "inactivity_checkin_minutes": _int(form.get("inactivity_checkin_minutes")),
        "inactivity_close_minutes": _int(form.get("inactivity_close_minutes")),
        "signature": form.get("signature", ""),
        "rating_email": form.get("rating_email") == "1",
        BUSINESS_HOURS_ONLY: form.get(BUSINESS_HOURS_ONLY) == "1",
    }
    for key in TARGET_SETTINGS:
        changes[key] = _target(form, TARGETS_WITH_UNIT.get(key, key))
    return changes, hour_days


def _form_field(key, hour_days):
    """The form input a schema message belongs to (``prechat.fields.email`` -> prechat_email)."""
    parts = key.split(".")
    if parts[0] == "prechat":
        if len(parts) >= 3 and parts[1] == "fields":
            return f"prechat_{parts[2]}"
        return "prechat_topics" if len(parts) > 1 and parts[1] == "topics" else "prechat_enabled"
    if parts[0] == "business_hours":
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(hour_days):
            day = hour_days[int(parts[1])]
            return f"hours_{day}_open" if len(parts) > 2 and parts[2] == "open" else f"hours_{day}_close"
        return "hours_mode"
    return TARGETS_WITH_UNIT.get(parts[0], parts[0])


def _settings_errors(form):
    """Validate the form; ``(changes, errors by input name)``."""
    changes, hour_days = _changes(form)
    errors = {}
    if form.get("hours_mode") == "set" and not hour_days:
        errors["hours_mode"] = [_("Give at least one day opening hours, or choose “Always open”.")]
    try:
        StoreSettingsArgs().load(changes)
    except ValidationError as exc:
        for key, messages in field_messages(exc.messages).items():
            errors.setdefault(_form_field(key, hour_days), []).extend(messages)
    return changes, errors


# ---- the rule form ---------------------------------------------------------------------------

def _rule_from_form(form):
    rule = {"id": form.get("id", "").strip(), "url_contains": form.get("url_contains", "").strip(),
            "message": form.get("message", "")}
    for key in RULE_NUMBERS:
        rule[key] = _int(form.get(key) or "0")
    return rule


def _rule_values(rule=None):
    rule = rule or {}
    values = {"id": rule.get("id", ""), "url_contains": rule.get("url_contains", ""), "message": rule.get("message", "")}
    for key in RULE_NUMBERS:
        values[key] = str(rule.get(key, 0))
    return values


# ---- data requests ---------------------------------------------------------------------------

def _when(value):
    try:
        return datetime.fromisoformat(value or "")
    except ValueError:
        return None


def _data_requests(store):
    """``(waiting, answered)`` requests, each with its contacts and (answered) who answered
    it, read now: the entry keeps ids only. A contact erased since shows as its placeholder,
    with no export: it holds nothing to send."""
    waiting, answered = pending_data_requests(store), answered_data_requests(store)
    requests = waiting + answered
    wanted = {i for r in requests for i in r.get("contact_ids") or ()}
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(wanted),
                                                                           Contact.store_id == store.id))}
    holding = holding_data(wanted) if wanted else set()
    agents = {a.id: a for a in db.session.scalars(select(Agent).where(Agent.id.in_(
        {r["answered"].get("by_agent_id") for r in answered} - {None})))}
    for r in requests:
        r["contacts"] = [{"contact": contacts[i], "holding": i in holding}
                         for i in r.get("contact_ids") or () if i in contacts]
        r["received"] = _when(r.get("received_at"))
    for r in answered:
        r["answered_when"] = _when(r["answered"].get("at"))
        r["answered_by"] = agents.get(r["answered"].get("by_agent_id"))
    return waiting, answered


# ---- pages -----------------------------------------------------------------------------------

def _page(store, values=None, errors=None, rule_values=None, rule_errors=None, editing=None, automation=None,
          status=200):
    stores = db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
    return render_template(
        "inbox/store_settings.html", store=store, stores=stores, v=values or _form_values(store), errors=errors or {},
        data_requests=_data_requests(store),  # (waiting, answered)
        automation=automation_section(store, **(automation or {})),  # inbox.automation_rules
        rules=invitation_rules(store), rv=rule_values or _rule_values(), rule_errors=rule_errors or {}, editing=editing,
        zones=sorted(known_zones()), snippet=install_snippet(store), max_signature=MAX_SIGNATURE_LENGTH,
        weekdays=[_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")],
    ), status


@bp.get("")
@admin_required
def picker():
    """Which store to configure; straight to it when there is only one."""
    stores = db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
    # ``store``: the switcher on a store's page (a GET form, so it works without JavaScript).
    wanted = next((s for s in stores if str(s.id) == request.args.get("store")), None)
    if wanted is not None or len(stores) == 1:
        return redirect(url_for("store_settings.page", store_id=(wanted or stores[0]).id))
    return render_template("inbox/store_settings_picker.html", stores=stores)


@bp.get("/<int(max=2147483647):store_id>")
@admin_required
def page(store_id):
    store = _store(store_id)
    editing = request.args.get("rule")
    rule = next((r for r in invitation_rules(store) if r.get("id") == editing), None) if editing else None
    return _page(store, rule_values=_rule_values(rule), editing=rule and rule["id"])


@bp.post("/<int(max=2147483647):store_id>")
@admin_required
@limiter.limit("30/minute")
def save(store_id):
    store = _store(store_id)
    changes, errors = _settings_errors(request.form)
    if not errors:
        try:
            update_store_settings(store, **changes)
        except ActionError as exc:
            errors = {_form_field(exc.field or "_schema", []): [exc.message]}
    if errors:
        return _page(store, values=request.form.to_dict(), errors=errors, status=422)
    flash(_("Store settings saved."))
    return redirect(url_for("store_settings.page", store_id=store.id))


@bp.post("/<int(max=2147483647):store_id>/rules")
@admin_required
@limiter.limit("30/minute")
def save_rule(store_id):
    """Add a rule, or (``replaces``: the rule's id before editing) change one."""
    store = _store(store_id)
    replaces = request.form.get("replaces") or None
    rule = _rule_from_form(request.form)
    try:
        InvitationRuleArgs().load(rule)
        save_invitation_rule(store, rule, replaces=replaces)
    except ValidationError as exc:
        errors = field_messages(exc.messages)
    except ActionError as exc:
        errors = {exc.field or "_schema": [exc.message]}
    else:
        flash(_("Invitation rule saved."))
        return redirect(url_for("store_settings.page", store_id=store.id) + "#invitations")
    return _page(store, rule_values=request.form.to_dict(), rule_errors=errors, editing=replaces, status=422)


@bp.post("/<int(max=2147483647):store_id>/rules/<rule_id>/delete")
@admin_required
@limiter.limit("30/minute")
def delete_rule(store_id, rule_id):
    store = _store(store_id)
    try:
        delete_invitation_rule(store, rule_id)
    except ActionError as exc:
        flash(exc.message)
    else:
        flash(_("Invitation rule deleted."))
    return redirect(url_for("store_settings.page", store_id=store.id) + "#invitations")


@bp.post("/<int(max=2147483647):store_id>/data-requests/done")
@admin_required
@limiter.limit("30/minute")
def data_request_done(store_id):
    """An admin answered a data request: it is listed as answered (by them, now)."""
    store = _store(store_id)
    try:
        dismiss_data_request(store, request.form.get("request", ""), by=current_user._get_current_object())
    except ActionError as exc:
        flash(exc.message)
    else:
        flash(_("Data request marked as answered."))
    return redirect(url_for("store_settings.page", store_id=store.id) + "#data-requests")
