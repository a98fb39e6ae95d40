"""Stores: the ones I work in, and (admins) a store's widget settings and proactive
invitation rules -- what the settings page (/inbox/settings/stores) changes, for scripts
and shop platforms that set a store up. Changed through ``helpdesk.actions.stores``."""
from marshmallow import Schema, fields

from helpdesk.actions.agents import visible_store_ids
from helpdesk.actions.service_levels import BUSINESS_HOURS_ONLY, TARGET_SETTINGS
from helpdesk.actions.stores import (
    delete_invitation_rule,
    install_snippet,
    invitation_rules,
    save_invitation_rule,
    update_store_settings,
)
from helpdesk.api import bp
from helpdesk.api.access import ID, admin_store_or_404, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.extensions import db
from helpdesk.models import Store
from helpdesk.schemas import InvitationRuleArgs, StoreSettingsArgs
from helpdesk.signatures import reply_signature_text

#: A rule's id in the URL: what InvitationRuleArgs accepts, and a little room to say 404.
RULE_ID = "string(maxlength=64)"


class StoreSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    slug = fields.Str()
    domain = fields.Str(allow_none=True)
    widget_key = fields.Str(metadata={"description": "Public: it goes into the storefront's <script> tag."})
    install_snippet = fields.Function(install_snippet, metadata={
        "description": "The <script> tag to paste into the shop's pages."})
    signature = fields.Function(lambda store: reply_signature_text(store, current_agent()), metadata={
        "description": "What ends my email replies in this store: my own signature, else the store's "
                       "with its placeholders filled; \"\": none."})


class StoreListSchema(Schema):
    items = fields.List(fields.Nested(StoreSchema))


class PrechatSchema(Schema):
    enabled = fields.Bool()
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.Str(), values=fields.Str())
    topics = fields.List(fields.Str())


class BusinessHoursSchema(Schema):
    days = fields.List(fields.Int())
    open = fields.Str()
    close = fields.Str()


class StoreSettingsSchema(Schema):
    store_id = fields.Int()
    domain = fields.Str(allow_none=True)
    widget_position = fields.Str()
    greeting = fields.Str()
    offline_message = fields.Str()
    prechat = fields.Nested(PrechatSchema)
    timezone = fields.Str()
    business_hours = fields.List(fields.Nested(BusinessHoursSchema),
                                 metadata={"description": "Empty: always open."})
    inactivity_checkin_minutes = fields.Int()
    inactivity_close_minutes = fields.Int()
    signature = fields.Str(metadata={"description": "Plain text ending the store's email; \"\": none."})
    rating_email = fields.Bool(metadata={
        "description": "Whether email and contact-form customers are asked to rate when their ticket is resolved."})
    reply_target_chat_first_minutes = fields.Int(metadata={"description": "Minutes for the first answer to a chat; "
                                                                          "0: no target."})
    reply_target_chat_next_minutes = fields.Int(metadata={"description": "Minutes for every next answer to a chat."})
    reply_target_email_first_minutes = fields.Int(metadata={
        "description": "Minutes for the first answer to an email or contact-form message (and a chat left offline)."})
    reply_target_email_next_minutes = fields.Int(metadata={"description": "Minutes for every next answer to an "
                                                                          "email or contact-form conversation."})
    reply_target_business_hours_only = fields.Bool(metadata={
        "description": "Whether reply targets count only the store's business hours."})


class InvitationRuleSchema(Schema):
    id = fields.Str()
    url_contains = fields.Str()
    min_seconds_on_page = fields.Int()
    min_pages_viewed = fields.Int()
    min_seconds_on_product = fields.Int()
    message = fields.Str()


class InvitationRuleListSchema(Schema):
    items = fields.List(fields.Nested(InvitationRuleSchema))


_SETTINGS = ("widget_position", "greeting", "offline_message", "prechat", "timezone", "business_hours",
             "inactivity_checkin_minutes", "inactivity_close_minutes", "signature", "rating_email",
             *TARGET_SETTINGS, BUSINESS_HOURS_ONLY)


def _settings(store):
    values = {key: store.setting(key) for key in _SETTINGS}
    values["greeting"] = values["greeting"] or ""
    values["offline_message"] = values["offline_message"] or ""
    values["timezone"] = values["timezone"] or "UTC"
    values["business_hours"] = values["business_hours"] or []
    values["signature"] = values["signature"] or ""
    return StoreSettingsSchema().dump({"store_id": store.id, "domain": store.domain, **values})


def _admin_store(store_id):
    return admin_store_or_404(store_id, current_agent())


@bp.get("/stores")
@operation("The stores I work in, with each one's widget key and install tag.", response=StoreListSchema,
           tag="stores")
def list_stores():
    ids = visible_store_ids(current_agent())
    stores = db.session.scalars(db.select(Store).where(Store.id.in_(ids)).order_by(Store.name, Store.id)).all()
    return StoreListSchema().dump({"items": stores})


@bp.get(f"/stores/<{ID}:store_id>/settings")
@operation("The store's widget settings: button side, greeting, offline notice, pre-chat form, "
           "business hours, quiet-chat timers, email signature and reply targets.", response=StoreSettingsSchema,
           tag="stores")
def get_store_settings(store_id):
    return _settings(store_or_404(store_id, current_agent()))


@bp.patch(f"/stores/<{ID}:store_id>/settings")
@operation("Change the store's widget settings, email signature and reply targets (admins). Only the fields "
           "sent change; "
           "``prechat`` and ``business_hours`` are replaced whole. Texts are plain text, shown escaped. Open widgets "
           "switch between live chat and the offline form when the hours or time zone change.",
           body=StoreSettingsArgs, response=StoreSettingsSchema, errors=(403,), tag="stores")
def patch_store_settings(store_id):
    store = _admin_store(store_id)
    update_store_settings(store, **load_json(StoreSettingsArgs()))
    return _settings(store)


@bp.get(f"/stores/<{ID}:store_id>/invitations")
@operation("The store's proactive invitation rules.", response=InvitationRuleListSchema, tag="stores")
def list_invitations(store_id):
    return InvitationRuleListSchema().dump({"items": invitation_rules(store_or_404(store_id, current_agent()))})


@bp.post(f"/stores/<{ID}:store_id>/invitations")
@operation("Add a proactive invitation rule (admins; up to 20 a store). The loader reads the rules "
           "on the shopper's next page.", body=InvitationRuleArgs, response=InvitationRuleSchema,
           status=201, errors=(403,), tag="stores")
def create_invitation(store_id):
    store = _admin_store(store_id)
    rule = save_invitation_rule(store, load_json(InvitationRuleArgs()))
    return InvitationRuleSchema().dump(rule), 201


@bp.put(f"/stores/<{ID}:store_id>/invitations/<{RULE_ID}:rule_id>")
@operation("Replace the invitation rule ``rule_id`` (admins); its id may change.", body=InvitationRuleArgs,
           response=InvitationRuleSchema, errors=(403,), tag="stores")
def replace_invitation(store_id, rule_id):
    store = _admin_store(store_id)
    return InvitationRuleSchema().dump(save_invitation_rule(store, load_json(InvitationRuleArgs()), replaces=rule_id))


@bp.delete(f"/stores/<{ID}:store_id>/invitations/<{RULE_ID}:rule_id>")
@operation("Remove the invitation rule ``rule_id`` (admins).", status=204, errors=(403,), tag="stores")
def delete_invitation(store_id, rule_id):
    delete_invitation_rule(_admin_store(store_id), rule_id)
    return "", 204
