"""Commerce: a contact's orders (the inbox context panel), store connectors and attribution
settings (admins), outgoing webhook subscriptions and their delivery log (admins)."""
from flask import url_for
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from connectors.shopify.shops import connect_shopify, recorded_shop_domain, validate_shop_domain
from helpdesk.actions import Forbidden
from helpdesk.actions.commerce import (
    PLATFORMS,
    connect_store,
    create_webhook_subscription,
    delete_webhook_subscription,
    finish_secret_rotation,
    orders_of_contact,
    subscription_or_404,
    update_attribution_settings,
    update_webhook_subscription,
)
from helpdesk.actions.attribution import RULES, store_rule, store_window_days
from helpdesk.api import bp
from helpdesk.api.access import ID, contact_or_404, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.extensions import db
from helpdesk.models import StoreConnector, WebhookAttempt, WebhookSubscription
from helpdesk.schemas import OrderSchema, StrictSchema


def _admin():
    agent = current_agent()
    if not agent.is_admin:
        raise Forbidden(_("Only admins can do this."))
    return agent


# ---- schemas ------------------------------------------------------------------------------

class OrderListSchema(Schema):
    items = fields.List(fields.Nested(OrderSchema))


class OrderListArgs(StrictSchema):
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


class ConnectorSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    platform = fields.Str()
    key = fields.Str()
    webhook_url = fields.Method("get_webhook_url")
    rotating = fields.Method("get_rotating", metadata={"description": "A previous secret is still accepted."})
    app_webhook_url = fields.Method("get_app_webhook_url", metadata={
        "description": "Shopify: the one URL for an app installed in several shops, routed by the "
                       "X-Shopify-Shop-Domain header to the store with that shop_domain; null for other platforms."})
    shop_domain = fields.Method("get_shop_domain", metadata={
        "description": "Shopify: the shop's <name>.myshopify.com, set here or learned from the first signed "
                       "delivery to webhook_url; null for other platforms."})
    api_url = fields.Str(allow_none=True)
    has_api_token = fields.Method("get_has_api_token")
    currency = fields.Str()
    active = fields.Bool()
    created_at = fields.AwareDateTime()

    def get_webhook_url(self, connector):
        return url_for("webhooks_in.receive", platform=connector.platform, key=connector.key, _external=True)

    def get_app_webhook_url(self, connector):
        if connector.platform != "shopify":
            return None
        return url_for("webhooks_in.receive_by_sender", platform=connector.platform, _external=True)

    def get_shop_domain(self, connector):
        return recorded_shop_domain(connector.store) if connector.platform == "shopify" else None

    def get_rotating(self, connector):
        return bool(connector.previous_secret)

    def get_has_api_token(self, connector):
        return bool(connector.api_token)


class ConnectorWithSecretSchema(ConnectorSchema):
    """Answer to creating or changing a connector: the secret the platform must be given."""

    secret = fields.Str()


class ConnectorListSchema(Schema):
    items = fields.List(fields.Nested(ConnectorSchema))


class ConnectorArgs(StrictSchema):
    secret = fields.Str(validate=validate.Length(min=8, max=255))
    rotate = fields.Bool(metadata={"description": "Start a rotation: the current secret stays accepted."})
    finish_rotation = fields.Bool(metadata={"description": "Stop accepting the previous secret."})
    api_url = fields.Url(allow_none=True, require_tld=False, schemes={"http", "https"}, validate=validate.Length(max=512))
    api_token = fields.Str(allow_none=True, validate=validate.Length(max=255))
    currency = fields.Str(validate=validate.Regexp(r"^[A-Za-z]{3}$"))
    active = fields.Bool()
    shop_domain = fields.Str(allow_none=True, validate=[validate.Length(max=255), validate_shop_domain], metadata={
        "description": "Shopify only: the shop's <name>.myshopify.com (any case, https:// allowed); null or \"\" "
                       "forgets it. One active connector per shop across stores."})


class AttributionSettingsSchema(Schema):
    store_id = fields.Int()
    attribution_window_days = fields.Int()
    attribution_rule = fields.Str()


class AttributionSettingsArgs(StrictSchema):
    attribution_window_days = fields.Int(strict=True, validate=validate.Range(min=1, max=90))
    attribution_rule = fields.Str(validate=validate.OneOf(RULES))


class WebhookSubscriptionSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    url = fields.Str()
    topics = fields.List(fields.Str())
    description = fields.Str()
    active = fields.Bool()
    disabled_reason = fields.Str(allow_none=True)
    disabled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class NewWebhookSubscriptionSchema(WebhookSubscriptionSchema):
    secret = fields.Str(metadata={"description": "whsec_ secret that signs the deliveries; shown this once."})


class WebhookSubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSubscriptionSchema))


class WebhookSubscriptionListArgs(StrictSchema):
    store = fields.Int()


class WebhookSubscriptionArgs(StrictSchema):
    store_id = fields.Int(required=True)
    url = fields.Url(required=True, validate=validate.Length(max=2048), require_tld=False, schemes={"http", "https"})
    topics = fields.List(fields.Str(validate=validate.OneOf(WebhookSubscription.TOPICS)), required=True,
                         validate=validate.Length(min=1))
    description = fields.Str(load_default="", validate=validate.Length(max=255))


class WebhookSubscriptionUpdateArgs(StrictSchema):
    url = fields.Url(validate=validate.Length(max=2048), require_tld=False, schemes={"http", "https"})
    topics = fields.List(fields.Str(validate=validate.OneOf(WebhookSubscription.TOPICS)),
                         validate=validate.Length(min=1))
    description = fields.Str(validate=validate.Length(max=255))
    active = fields.Bool()


class WebhookAttemptSchema(Schema):
    id = fields.Int()
    outbox_id = fields.Int(allow_none=True)
    event_id = fields.Str()
    event_type = fields.Str()
    status_code = fields.Int(allow_none=True)
    ok = fields.Bool()
    error = fields.Str(allow_none=True)
    duration_ms = fields.Int()
    created_at = fields.AwareDateTime()


class WebhookAttemptListSchema(Schema):
    items = fields.List(fields.Nested(WebhookAttemptSchema))


class WebhookAttemptListArgs(StrictSchema):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    before_id = fields.Int(validate=validate.Range(min=1))


# ---- orders -------------------------------------------------------------------------------

@bp.get(f"/contacts/<{ID}:contact_id>/orders")
@operation("The contact's orders from the connected shops, newest first (amounts as decimal strings).",
           query=OrderListArgs, response=OrderListSchema, tag="commerce")
def contact_orders(contact_id):
    contact = contact_or_404(contact_id, current_agent())
    args = load_query(OrderListArgs())
    return OrderListSchema().dump({"items": orders_of_contact(contact, args["limit"])})


# ---- connectors (admins) ---------------------------------------------------------------------

@bp.get(f"/stores/<{ID}:store_id>/connectors")
@operation("The store's shop connectors and their webhook URLs (admins; never the secrets).",
           response=ConnectorListSchema, errors=(403,), tag="commerce")
def list_connectors(store_id):
    store = store_or_404(store_id, _admin())
    rows = db.session.scalars(select(StoreConnector).where(StoreConnector.store_id == store.id)
                              .order_by(StoreConnector.platform)).all()
    return ConnectorListSchema().dump({"items": rows})


@bp.put(f"/stores/<{ID}:store_id>/connectors/<any({', '.join(PLATFORMS)}):platform>")
@operation("Connect a shop platform or change its credentials; `rotate` keeps the old secret accepted "
           "until `finish_rotation` (admins). Shopify: `shop_domain` routes the app URL's deliveries here; "
           "409 when another store's active connector has that shop.", body=ConnectorArgs,
           response=ConnectorWithSecretSchema, errors=(403, 409), tag="commerce")
def put_connector(store_id, platform):
    store = store_or_404(store_id, _admin())
    args = load_json(ConnectorArgs())
    if "shop_domain" in args and platform != "shopify":
        raise ValidationError({"shop_domain": [_("Only a Shopify connector has a shop domain.")]})
    secret = args.pop("secret", None)
    rotate, finish = args.pop("rotate", False), args.pop("finish_rotation", False)
    if platform == "shopify":
        # One transaction: a shop domain refused (409) must not leave a rotation behind.
        connector = connect_shopify(store, rotate=rotate, secret=secret, **args)
    else:
        connector = connect_store(store, platform, secret=secret, rotate=rotate, **args)
    if finish:
        finish_secret_rotation(connector)
    return ConnectorWithSecretSchema().dump(connector)


@bp.get(f"/stores/<{ID}:store_id>/attribution")
@operation("The store's attribution window and rule.", response=AttributionSettingsSchema, tag="commerce")
def get_attribution_settings(store_id):
    store = store_or_404(store_id, current_agent())
    return _settings(store)


@bp.patch(f"/stores/<{ID}:store_id>/attribution")
@operation("Set the store's attribution window (1-90 days) and rule (admins).", body=AttributionSettingsArgs,
           response=AttributionSettingsSchema, errors=(403,), tag="commerce")
def patch_attribution_settings(store_id):
    store = store_or_404(store_id, _admin())
    args = load_json(AttributionSettingsArgs())
    update_attribution_settings(store, window_days=args.get("attribution_window_days"),
                                rule=args.get("attribution_rule"))
    return _settings(store)


def _settings(store):
    return AttributionSettingsSchema().dump({"store_id": store.id, "attribution_window_days": store_window_days(store),
                                             "attribution_rule": store_rule(store)})


# ---- outgoing webhooks (admins) ---------------------------------------------------------------

@bp.get("/webhook-subscriptions")
@operation("Outgoing webhook subscriptions (admins).", query=WebhookSubscriptionListArgs,
           response=WebhookSubscriptionListSchema, errors=(403, 404), tag="webhooks")
def list_webhook_subscriptions():
    agent = _admin()
    args = load_query(WebhookSubscriptionListArgs())
    query = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if "store" in args:
        query = query.where(WebhookSubscription.store_id == store_or_404(args["store"], agent, "store").id)
    return WebhookSubscriptionListSchema().dump({"items": db.session.scalars(query).all()})


@bp.post("/webhook-subscriptions")
@operation("Subscribe a URL to a store's ticket, message, rating or attribution events, signed per "
           "Standard Webhooks; the answer holds the secret, shown this once (admins).",
           body=WebhookSubscriptionArgs, response=NewWebhookSubscriptionSchema, status=201, errors=(403, 404),
           tag="webhooks")
def create_webhook_subscription_view():
    agent = _admin()
    args = load_json(WebhookSubscriptionArgs())
    store = store_or_404(args["store_id"], agent)
    subscription = create_webhook_subscription(store, args["url"], args["topics"], by_agent=agent,
                                               description=args["description"])
    return NewWebhookSubscriptionSchema().dump(subscription), 201


@bp.patch(f"/webhook-subscriptions/<{ID}:subscription_id>")
@operation("Change a subscription, or re-enable one that a 410 disabled (admins).",
           body=WebhookSubscriptionUpdateArgs, response=WebhookSubscriptionSchema, errors=(403,), tag="webhooks")
def patch_webhook_subscription(subscription_id):
    _admin()
    subscription = subscription_or_404(subscription_id)
    args = load_json(WebhookSubscriptionUpdateArgs())
    return WebhookSubscriptionSchema().dump(update_webhook_subscription(subscription, **args))


@bp.delete(f"/webhook-subscriptions/<{ID}:subscription_id>")
@operation("Delete a subscription (admins).", status=204, errors=(403,), tag="webhooks")
def delete_webhook_subscription_view(subscription_id):
    _admin()
    delete_webhook_subscription(subscription_or_404(subscription_id))
    return "", 204


@bp.get(f"/webhook-subscriptions/<{ID}:subscription_id>/attempts")
@operation("The delivery log: every attempt to send, newest first (admins).", query=WebhookAttemptListArgs,
           response=WebhookAttemptListSchema, errors=(403,), tag="webhooks")
def webhook_attempts(subscription_id):
    _admin()
    subscription = subscription_or_404(subscription_id)
    args = load_query(WebhookAttemptListArgs())
    query = select(WebhookAttempt).where(WebhookAttempt.subscription_id == subscription.id)
    if "before_id" in args:
        query = query.where(WebhookAttempt.id < args["before_id"])
    rows = db.session.scalars(query.order_by(WebhookAttempt.id.desc()).limit(args["limit"])).all()
    return WebhookAttemptListSchema().dump({"items": rows})


