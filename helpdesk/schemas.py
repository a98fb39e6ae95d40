"""Marshmallow schemas: one per resource, shared by the REST API and realtime events.

Output schemas have two audiences: agents (everything) and visitors (``Public*``), so
nothing internal (notes, assignee emails, tags) can leak into a visitor payload by accident.
"""
import functools
from datetime import timezone

from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from helpdesk.dumps import compiled
from helpdesk.i18n import N_, translate_errors
from helpdesk.models import AppointmentStatus, Availability, Channel, TicketStatus
from helpdesk.signatures import MAX_SIGNATURE_LENGTH, unknown_placeholders


def _fraction(value):
    return isinstance(value, float) and not value.is_integer()


def field_messages(messages, prefix=""):
    """marshmallow's nested ``ValidationError.messages``, translated, as ``{"a.b.0.c": [text]}``
    (``_schema`` for the whole input), in marshmallow's order: what forms show at each field
    and actions refuse with (the first)."""
    if not prefix:
        messages = translate_errors(messages)
    out = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            for field, texts in field_messages(value, f"{prefix}.{key}" if prefix else str(key)).items():
                out.setdefault(field, []).extend(texts)
    elif isinstance(messages, (list, tuple)) and any(isinstance(m, (dict, list, tuple)) for m in messages):
        for item in messages:
            for field, texts in field_messages(item, prefix).items():
                out.setdefault(field, []).extend(texts)
    else:
        texts = messages if isinstance(messages, (list, tuple)) else [messages]
        out[prefix or "_schema"] = [str(text) for text in texts]
    return out


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load
    def _whole_numbers(self, data, **kwargs):
        """marshmallow's Integer truncates a JSON number with a fraction (0.5 became 0, so
        ``{"team_id": 0.5}`` took the ticket off its team): refused where a whole number is
        expected. 2.0 is the number 2 and stays accepted."""
        if not isinstance(data, dict):
            return data
        errors = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            if isinstance(field, fields.Integer) and _fraction(data.get(key)):
                errors[key] = [fields.Integer.default_error_messages["invalid"]]
        if errors:
            raise ValidationError(errors)
        return data


class StorableAwareDateTime(fields.AwareDateTime):
    """An aware date and time as input, refused unless it can be stored: columns keep UTC,
    and a time late on 9999-12-31 with a negative offset is past datetime's last year there."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            result.astimezone(timezone.utc)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None
        return result


# ---- output ---------------------------------------------------------------------------

class TagField(fields.Field):
    def _serialize(self, value, attr, obj, **kwargs):
        return sorted(t.name for t in (value or []))


class AgentSummarySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    title = fields.Str()
    avatar_url = fields.Method("get_avatar_url")

    def get_avatar_url(self, agent):
        if not agent.avatar_path:
            return None
        # The file name changes with the photo (helpdesk.actions.profile): a new photo is a
        # new URL, so week-long browser caching never shows the old one.
        version = agent.avatar_path.rsplit("/", 1)[-1].split(".")[0][-12:]
        return f"/media/avatars/{agent.id}?v={version}"


# Every agent message's author: built once (a schema instance deep-copies its fields, which
# costs more than the dump) and compiled (helpdesk.dumps).
_agent_summary = compiled(AgentSummarySchema())


class AgentSchema(AgentSummarySchema):
    email = fields.Email()
    role = fields.Str()
    availability = fields.Str()
    max_chats = fields.Int()
    locale = fields.Str()
    team_ids = fields.Method("get_team_ids")
    last_seen_at = fields.AwareDateTime(allow_none=True)
    # The agent's own view only: other agents and shoppers get AgentSummarySchema or ``only=``.
    signature = fields.Str(allow_none=True, metadata={
        "description": "Plain text ending my email replies; null: the store's signature."})

    def get_team_ids(self, agent):
        return [t.id for t in agent.teams]


class ContactSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    display_name = fields.Str()
    email = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    platform_ids = fields.Dict()
    notes = fields.Str()
    locale = fields.Str(allow_none=True)
    blocked = fields.Bool()
    email_failing = fields.Bool()
    created_at = fields.AwareDateTime()


class AttachmentSchema(Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    url = fields.Method("get_url")
    thumbnail_url = fields.Method("get_thumbnail_url")

    def get_url(self, att):
        from helpdesk.media import attachment_url

        return attachment_url(att)

    def get_thumbnail_url(self, att):
        from helpdesk.media import attachment_url

        return attachment_url(att, thumbnail=True) if att.thumbnail_path else None


class MessageSchema(Schema):
    id = fields.Int()
    ticket_id = fields.Int()
    author_type = fields.Str()
    author = fields.Method("get_author")
    kind = fields.Str()
    body_text = fields.Str()
    body_html = fields.Str()
    client_id = fields.Str(allow_none=True)
    meta = fields.Dict()
    attachments = fields.List(fields.Nested(AttachmentSchema))
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)
    # ISO 639-1, detected when stored (helpdesk.i18n); null when too short to tell.
    language = fields.Str(allow_none=True)

    def get_author(self, msg):
        if msg.author_agent is not None:
            return _agent_summary(msg.author_agent)
        if msg.author_contact_id:
            return {"id": msg.author_contact_id, "name": msg.author_contact.display_name}
        return None


class PublicMessageSchema(MessageSchema):
    """What a visitor sees of a message: no notes ever reach this schema (events.py
    filters by kind), and meta is reduced to what the widget renders."""

    class Meta:
        exclude = ("meta",)

    card = fields.Method("get_card")
    appointment = fields.Method("get_appointment")

    def get_card(self, msg):
        return (msg.meta or {}).get("product_card")

    def get_appointment(self, msg):
        # The visit card (helpdesk.actions.appointments.appointment_card): built for the shopper.
        return (msg.meta or {}).get("appointment")

    def from_agents_view(self, agents_view, msg):
        """This schema's dump of ``msg``, from ``MessageSchema``'s dump of it (``agents_view``):
        every new message is sent both ways, and dumping it a second time costs as much as the
        first. The same fields less ``meta``, plus this schema's own; a test holds the two
        equal."""
        public = {key: value for key, value in agents_view.items() if key != "meta"}
        public["card"] = self.get_card(msg)
        public["appointment"] = self.get_appointment(msg)
        return public


#: The customer as a ticket or a visit shows them (one "ContactBrief" in the OpenAPI document).
CONTACT_BRIEF = ("id", "name", "display_name", "email", "blocked", "email_failing")


class TicketSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    channel = fields.Str()
    status = fields.Str()
    subject = fields.Str()
    offline = fields.Bool()
    contact = fields.Nested(ContactSchema(only=CONTACT_BRIEF))
    assignee = fields.Nested(AgentSummarySchema, allow_none=True)
    team_id = fields.Int(allow_none=True)
    tags = TagField()
    last_message_preview = fields.Str()
    snoozed_until = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    last_activity_at = fields.AwareDateTime()
    last_customer_message_at = fields.AwareDateTime(allow_none=True)
    # By when the store's reply target wants an answer (helpdesk.actions.service_levels).
    reply_due_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the store's reply target wants an agent's answer to the oldest customer message "
                       "still unanswered; null when none is waiting, there is no target, or the ticket is "
                       "resolved or closed. Past it, the ticket is overdue."})
    first_response_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    rating = fields.Int(allow_none=True)
    # What the customer chose with the stars, and wrote (plain text): the inbox shows them.
    rating_reasons = fields.List(fields.Str(), allow_none=True)
    rating_comment = fields.Str(allow_none=True)
    # Set on a duplicate merged into another ticket: the conversation goes on there.
    merged_into_id = fields.Int(allow_none=True)


class SavedReplySchema(Schema):
    id = fields.Int(dump_only=True)
    store_id = fields.Int(allow_none=True)
    agent_id = fields.Int(allow_none=True, dump_only=True)
    team_id = fields.Int(allow_none=True)
    shortcut = fields.Str()
    title = fields.Str()
    body = fields.Str()
    approved = fields.Bool()


# ---- input ----------------------------------------------------------------------------

#: The queue's orders (TicketListArgs.sort).
TICKET_SORTS = ("activity", "due")


class TicketListArgs(StrictSchema):
    status = fields.Str(validate=validate.OneOf(TicketStatus.values()))
    channel = fields.Str(validate=validate.OneOf(Channel.values()))
    assignee = fields.Str(validate=validate.Regexp(r"^(me|none|\d+)$", error=N_("Use me, none or an agent id.")))
    store = fields.Int(validate=validate.Range(min=1))
    team = fields.Int(validate=validate.Range(min=1))
    tag = fields.Str(validate=validate.Length(min=1, max=64))
    q = fields.Str(validate=validate.Length(min=1, max=200))
    overdue = fields.Bool(metadata={"description": "true: only tickets whose reply is overdue (reply_due_at has "
                                                   "passed); false: only the others."})
    sort = fields.Str(load_default="activity", validate=validate.OneOf(TICKET_SORTS), metadata={
        "description": "activity: newest activity first (default). due: the reply due soonest first, then the "
                       "tickets with nothing due, oldest first. Search results (q) are always by activity."})
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.Str(validate=validate.Length(max=200))


class TicketCreateArgs(StrictSchema):
    store_id = fields.Int(required=True)
    channel = fields.Str(load_default="api", validate=validate.OneOf(Channel.values()))
    subject = fields.Str(load_default="", validate=validate.Length(max=255))
    contact_email = fields.Email(required=True, validate=validate.Length(max=254))
    contact_name = fields.Str(load_default="", validate=validate.Length(max=255))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=50000))
    client_id = fields.Str(validate=validate.Length(min=1, max=64))


class TicketUpdateArgs(StrictSchema):
    status = fields.Str(validate=validate.OneOf(TicketStatus.values()))
    assignee_id = fields.Int(allow_none=True)
    team_id = fields.Int(allow_none=True)
    tags = fields.List(fields.Str(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=50))
    snoozed_until = StorableAwareDateTime(default_timezone=None)
    subject = fields.Str(validate=validate.Length(max=255))

    @validates_schema
    def _snooze(self, data, **kwargs):
        if data.get("status") == "snoozed" and not data.get("snoozed_until"):
            raise ValidationError(_("A snoozed ticket needs snoozed_until."), "snoozed_until")
        if not data:
            raise ValidationError(_("Nothing to update."), "_schema")


class MessageCreateArgs(StrictSchema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=50000))
    kind = fields.Str(load_default="reply", validate=validate.OneOf(["reply", "note"]))
    client_id = fields.Str(validate=validate.Length(min=1, max=64))


class MessageListArgs(StrictSchema):
    after_id = fields.Int(load_default=0, validate=validate.Range(min=0))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=500))


class TicketMergeArgs(StrictSchema):
    into_ticket_id = fields.Int(required=True, validate=validate.Range(min=1))


class TransferArgs(StrictSchema):
    to_agent_id = fields.Int(allow_none=True)
    to_team_id = fields.Int(allow_none=True)
    note = fields.Str(load_default="", validate=validate.Length(max=5000))
    message_to_customer = fields.Str(load_default="", validate=validate.Length(max=5000))

    @validates_schema
    def _target(self, data, **kwargs):
        if not data.get("to_agent_id") and not data.get("to_team_id"):
            raise ValidationError(_("Choose an agent or a team."), "to_agent_id")


class ContactListArgs(StrictSchema):
    store = fields.Int()
    q = fields.Str(validate=validate.Length(min=1, max=200))
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.Str(validate=validate.Length(max=200))


class ContactUpdateArgs(StrictSchema):
    name = fields.Str(validate=validate.Length(max=255))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.Str(allow_none=True, validate=validate.Length(max=40))
    notes = fields.Str(validate=validate.Length(max=10000))
    blocked = fields.Bool()


class ContactMergeArgs(StrictSchema):
    source_id = fields.Int(required=True)


class ContactEraseArgs(StrictSchema):
    #: Must be true: an erasure cannot be undone (the inbox has the admin type the customer's
    #: address or ERASE before it sends this).
    confirm = fields.Bool(required=True, validate=validate.Equal(True, error=N_("Send true to confirm the erasure.")))


class AvailabilityArgs(StrictSchema):
    availability = fields.Str(required=True, validate=validate.OneOf(Availability.values()))


class SavedReplyArgs(StrictSchema):
    shortcut = fields.Str(required=True, validate=validate.Regexp(r"^[\w-]{1,40}$", error=N_("Letters, digits, - and _ only.")))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=10000))
    store_id = fields.Int(allow_none=True)
    team_id = fields.Int(allow_none=True)
    personal = fields.Bool(load_default=True)


class SavedReplyUpdateArgs(StrictSchema):
    shortcut = fields.Str(validate=validate.Regexp(r"^[\w-]{1,40}$", error=N_("Letters, digits, - and _ only.")))
    title = fields.Str(validate=validate.Length(min=1, max=120))
    body = fields.Str(validate=validate.Length(min=1, max=10000))
    approved = fields.Bool()


class VisitorSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    contact_id = fields.Int(allow_none=True)
    browser = fields.Str(allow_none=True)
    os = fields.Str(allow_none=True)
    device = fields.Str(allow_none=True)
    locale = fields.Str(allow_none=True)
    timezone = fields.Str(allow_none=True)
    current_url = fields.Str(allow_none=True)
    current_title = fields.Str(allow_none=True)
    referrer = fields.Str(allow_none=True)
    attributes = fields.Dict()
    last_seen_at = fields.AwareDateTime()


class PageArgs(StrictSchema):
    """Cursor pagination on its own (e.g. a contact's previous conversations)."""

    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.Str(validate=validate.Length(max=200))


class SavedReplyListArgs(StrictSchema):
    q = fields.Str(validate=validate.Length(min=1, max=100))


class ApiTokenSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    prefix = fields.Str()
    created_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class NewApiTokenSchema(ApiTokenSchema):
    """Only in the answer to creating a token: the raw token, shown this once."""

    token = fields.Str()


class ApiTokenCreateArgs(StrictSchema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80))


# ---- commerce (orders, attribution) -------------------------------------------------------

def format_amount(value):
    """An exact amount as text with at least two decimals ("149.90", "0.125"); never a float."""
    if value is None:
        return None
    from decimal import Decimal

    value = Decimal(value)
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


class Money(fields.Field):
    """Amounts go out as decimal strings (JSON numbers would pass through floats in clients)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return format_amount(value)


class OrderLineSchema(Schema):
    title = fields.Str()
    sku = fields.Str(allow_none=True)
    quantity = fields.Int()
    unit_price = Money()
    total = Money()
    product_id = fields.Int(allow_none=True)


class OrderSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    platform = fields.Str()
    platform_id = fields.Str()
    number = fields.Str()
    contact_id = fields.Int(allow_none=True)
    status = fields.Str()
    financial_status = fields.Str(allow_none=True)
    fulfillment_status = fields.Str(allow_none=True)
    currency = fields.Str()
    subtotal = Money()
    tax = Money()
    shipping = Money()
    discount = Money()
    total = Money()
    refunded = Money()
    net_total = Money()
    url = fields.Str(allow_none=True)
    placed_at = fields.AwareDateTime()
    cancelled_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))


class AttributionSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    order_id = fields.Int()
    order_number = fields.Function(lambda a: a.order.number)
    agent_id = fields.Int(allow_none=True)
    ticket_id = fields.Int(allow_none=True)
    contact_id = fields.Int(allow_none=True)
    rule = fields.Str()
    status = fields.Str()
    currency = fields.Str()
    order_total = Money()
    amount = Money()
    interaction_at = fields.AwareDateTime()
    placed_at = fields.AwareDateTime()


# ---- posts and FAQ (helpdesk/actions/posts.py, helpdesk/actions/faq.py) --------------------

class PostSchema(Schema):
    """An announcement. ``body_html`` is the plain-text body made safe by helpdesk.text;
    ``read`` is only known for the agent asking (lists), absent in events."""

    id = fields.Int()
    title = fields.Str()
    body = fields.Str()
    body_html = fields.Method("get_body_html")
    audience = fields.Str()
    team_id = fields.Int(allow_none=True)
    store_id = fields.Int(allow_none=True)
    author = fields.Nested(AgentSummarySchema, allow_none=True)
    pinned = fields.Bool()
    published_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    read = fields.Method("get_read")

    def get_body_html(self, post):
        from helpdesk.text import text_to_html

        return text_to_html(post.body or "")

    def get_read(self, post):
        return getattr(post, "read", None)


class PostArgs(StrictSchema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    body = fields.Str(load_default="", validate=validate.Length(max=20000))
    audience = fields.Str(load_default="all", validate=validate.OneOf(["all", "team", "store"]))
    team_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    store_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    pinned = fields.Bool(load_default=False)


class PostUpdateArgs(StrictSchema):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    body = fields.Str(validate=validate.Length(max=20000))
    audience = fields.Str(validate=validate.OneOf(["all", "team", "store"]))
    team_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    store_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    pinned = fields.Bool()


class FaqEntrySchema(Schema):
    id = fields.Int()
    question = fields.Str()
    answer = fields.Str()
    answer_html = fields.Method("get_answer_html")
    tags = fields.List(fields.Str())
    store_id = fields.Int(allow_none=True)
    updated_by = fields.Nested(AgentSummarySchema, allow_none=True)
    updated_at = fields.AwareDateTime()

    def get_answer_html(self, entry):
        from helpdesk.text import text_to_html

        return text_to_html(entry.answer or "")


_FAQ_TAGS = fields.List(fields.Str(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=20))


class FaqEntryArgs(StrictSchema):
    question = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    answer = fields.Str(required=True, validate=validate.Length(min=1, max=20000))
    tags = _FAQ_TAGS
    store_id = fields.Int(allow_none=True, validate=validate.Range(min=1))


class FaqEntryUpdateArgs(StrictSchema):
    question = fields.Str(validate=validate.Length(min=1, max=300))
    answer = fields.Str(validate=validate.Length(min=1, max=20000))
    tags = _FAQ_TAGS
    store_id = fields.Int(allow_none=True, validate=validate.Range(min=1))


# ---- onboarding academy ------------------------------------------------------------------

class AcademyAgentSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    email = fields.Str()


class PendingPolicySchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    title = fields.Str()
    version = fields.Int()


class AcceptedPolicySchema(Schema):
    policy_id = fields.Int()
    title = fields.Str()
    version = fields.Int()
    current_version = fields.Int()
    accepted_at = fields.AwareDateTime()


class PracticeStepsSchema(Schema):
    claimed = fields.Str(allow_none=True)
    replied = fields.Str(allow_none=True)
    saved_reply = fields.Str(allow_none=True)
    product_card = fields.Str(allow_none=True)


class AcademyProgressSchema(Schema):
    agent = fields.Nested(AcademyAgentSchema)
    exempt = fields.Bool()
    trained = fields.Bool()
    intro_done_at = fields.AwareDateTime(allow_none=True)
    policies_done_at = fields.AwareDateTime(allow_none=True)
    practice_ticket_id = fields.Int(allow_none=True)
    practice_steps = fields.Nested(PracticeStepsSchema)
    completed_at = fields.AwareDateTime(allow_none=True)
    pending_policies = fields.List(fields.Nested(PendingPolicySchema))
    accepted_policies = fields.List(fields.Nested(AcceptedPolicySchema))


class StorePolicySchema(Schema):
    id = fields.Int(dump_only=True)
    store_id = fields.Int(dump_only=True)
    title = fields.Str()
    body = fields.Str()
    version = fields.Int(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class StorePolicyArgs(StrictSchema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=20000))


class PolicyAcceptArgs(StrictSchema):
    policy_ids = fields.List(fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                             required=True, validate=validate.Length(max=100))


class AcademyExemptArgs(StrictSchema):
    exempt = fields.Bool(required=True)


# ---- appointments (in-store visits) and agent profiles ------------------------------------

class StoreLocationSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    address = fields.Str()
    timezone = fields.Str()
    opening_hours = fields.Dict()
    appointment_minutes = fields.Int()
    email = fields.Str(allow_none=True)
    active = fields.Bool()


class LocationArgs(StrictSchema):
    """A new location. The shape of ``opening_hours`` ({"mon": [["09:00", "12:30"], ...]}),
    the zone and the visit length are checked by ``helpdesk.actions.locations``, whose
    messages name the weekday at fault."""

    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    address = fields.Str(load_default="", validate=validate.Length(max=1000))
    timezone = fields.Str(load_default="UTC", validate=validate.Length(min=1, max=64))
    opening_hours = fields.Dict(keys=fields.Str(), load_default=dict)
    appointment_minutes = fields.Int(load_default=30, strict=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))


class LocationUpdateArgs(StrictSchema):
    name = fields.Str(validate=validate.Length(min=1, max=120))
    address = fields.Str(validate=validate.Length(max=1000))
    timezone = fields.Str(validate=validate.Length(min=1, max=64))
    opening_hours = fields.Dict(keys=fields.Str())
    appointment_minutes = fields.Int(strict=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    #: false: no new visits there (like DELETE); true: it takes bookings again.
    active = fields.Bool()

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError(_("Nothing to change."), "_schema")


class AppointmentSchema(Schema):
    id = fields.Int()
    store_id = fields.Int()
    ticket_id = fields.Int()
    contact = fields.Nested(ContactSchema(only=CONTACT_BRIEF))
    location = fields.Nested(StoreLocationSchema(only=("id", "name", "address", "timezone")))
    agent = fields.Nested(AgentSummarySchema, allow_none=True)
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    #: Wall-clock start at the location ("2026-05-12T15:00"), what the booking form shows.
    local_start = fields.Method("get_local_start")
    status = fields.Str()
    uid = fields.Str()
    sequence = fields.Int()
    notes = fields.Str()
    created_by_id = fields.Int(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()

    def get_local_start(self, appointment):
        from helpdesk.calendar import local_start

        return local_start(appointment).strftime("%Y-%m-%dT%H:%M")


_VISIT_START = ("Wall-clock time at the location (\"2026-05-12T15:00\") or an aware ISO 8601 time. The visit "
                "lasts the location's appointment_minutes; it must be to come (at most a year ahead), inside the "
                "location's opening hours, and the agent free then.")


class AppointmentArgs(StrictSchema):
    """Booking a visit (the inbox's dialog and ``POST /api/v1/tickets/<id>/appointments``): the
    ids become rows in ``helpdesk.actions.appointments.booking_args``."""

    location_id = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    starts_at = fields.DateTime(required=True, metadata={"description": _VISIT_START})
    agent_id = fields.Int(allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Who receives the shopper: an active agent of the store; left out or null: whoever books."})
    notes = fields.Str(load_default="", validate=validate.Length(max=2000))


class AppointmentUpdateArgs(StrictSchema):
    """Moving or changing a visit: what is left out stays as it is."""

    location_id = fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    starts_at = fields.DateTime(metadata={"description": _VISIT_START})
    agent_id = fields.Int(allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Another agent of the store; left out or null: the visit keeps its agent (or stays "
                       "without one)."})
    notes = fields.Str(validate=validate.Length(max=2000))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError(_("Nothing to change."), "_schema")


class AppointmentCancelArgs(StrictSchema):
    reason = fields.Str(load_default="", validate=validate.Length(max=500))


class AppointmentAssignArgs(StrictSchema):
    """Giving a visit without an agent an agent (``assign_appointment``)."""

    agent_id = fields.Int(allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "The colleague to give it to (an active agent of the store, free then); left out or "
                       "null: the calling agent takes it over."})


class AppointmentListArgs(StrictSchema):
    """The visits of the stores an agent sees, soonest first; the filters combine."""

    mine = fields.Bool(metadata={"description": "true: only visits with me as their agent (false: no filter)."})
    unassigned = fields.Bool(metadata={
        "description": "true: only booked visits still to come without an agent (their agent left the store), "
                       "for a colleague to take over (false: no filter)."})
    ticket_id = fields.Int(validate=validate.Range(min=1))
    store_id = fields.Int(validate=validate.Range(min=1))
    status = fields.Str(validate=validate.OneOf(AppointmentStatus.values()))
    # A time without an offset is UTC: the visits may be at locations in several zones.
    starts_from = StorableAwareDateTime(data_key="from", default_timezone=timezone.utc, metadata={
        "description": "Only visits that end after this time (ISO 8601; without an offset: UTC)."})
    until = StorableAwareDateTime(data_key="to", default_timezone=timezone.utc, metadata={
        "description": "Only visits that start before this time (ISO 8601; without an offset: UTC)."})
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.Str(validate=validate.Length(max=200))


class UpcomingArgs(StrictSchema):
    days = fields.Int(load_default=14, validate=validate.Range(min=1, max=90))


class TextLength(validate.Length):
    """Length as the text is stored: a form's CRLF line break is one character, as the
    browser's ``maxlength`` counts it."""

    def __call__(self, value):
        super().__call__(value.replace("\r\n", "\n"))
        return value


_SIGNATURE = {"validate": TextLength(max=MAX_SIGNATURE_LENGTH), "allow_none": True}


class ProfileArgs(StrictSchema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    title = fields.Str(load_default="", validate=validate.Length(max=120))
    # Left out: unchanged; "" or null: none (the store's is used).
    signature = fields.Str(**_SIGNATURE)


class SignatureArgs(StrictSchema):
    signature = fields.Str(required=True, metadata={
        "description": "Plain text with line breaks, up to 1000 characters; URLs and email addresses become "
                       "links in the HTML part. \"\" or null: none (the store's signature is used)."},
        **_SIGNATURE)


# ---- store settings (admins): the chat widget, business hours, inactivity, invitations ------

WIDGET_POSITIONS = ("right", "left")
PRECHAT_STATES = ("off", "optional", "required")
PRECHAT_FIELDS = ("name", "email", "order_number", "topic")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
# inbox.presence compares "HH:MM" strings, so "24:00" is the end of the day.
_HHMM_CLOSE = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
# A host name (the widget frame trusts only this domain and its subdomains): no scheme, path or port.
_HOSTNAME = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
_RULE_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"


@functools.lru_cache(maxsize=1)
def known_zones():
    # available_timezones() reads the tz database on every call; it does not change while running.
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) | {"UTC"}


def _known_zone(name):
    if name not in known_zones():
        raise ValidationError(_("Unknown time zone. Pick one from the list, like Europe/Paris."))


class PrechatFieldStatesArgs(StrictSchema):
    name = fields.Str(required=True, validate=validate.OneOf(PRECHAT_STATES))
    email = fields.Str(required=True, validate=validate.OneOf(PRECHAT_STATES))
    order_number = fields.Str(required=True, validate=validate.OneOf(PRECHAT_STATES))
    topic = fields.Str(required=True, validate=validate.OneOf(PRECHAT_STATES))


class PrechatArgs(StrictSchema):
    """``settings["prechat"]`` as the widget reads it (widgets.views.widget_config)."""

    enabled = fields.Bool(required=True)
    # "fields" would shadow marshmallow's module inside the class body.
    field_states = fields.Nested(PrechatFieldStatesArgs, required=True, data_key="fields", attribute="fields")
    topics = fields.List(fields.Str(validate=validate.Length(min=1, max=80)), load_default=list,
                         validate=validate.Length(max=30))


class BusinessHoursArgs(StrictSchema):
    """One entry of ``settings["business_hours"]`` (read by inbox.presence.within_business_hours)."""

    days = fields.List(fields.Int(strict=True, validate=validate.Range(min=0, max=6)), required=True,
                       validate=validate.Length(min=1, max=7))
    open = fields.Str(required=True, validate=validate.Regexp(_HHMM, error=N_("Use a time like 09:00.")))
    close = fields.Str(required=True, validate=validate.Regexp(_HHMM_CLOSE, error=N_("Use a time like 18:00.")))

    @validates_schema
    def _close_after_open(self, data, **kwargs):
        # Hours past midnight are not one interval for the reader: they go on the next day.
        if data.get("open") and data.get("close") and data["close"] <= data["open"]:
            raise ValidationError(_("Closing time must be after opening time."), "close")


def _known_placeholders(text):
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValidationError(_("Unknown placeholder %(names)s. Use {agent_name} or {store_name}.",
                                names=", ".join(unknown)))


#: Longest reply targets (minutes): a day for live chat, two weeks for email and the form.
MAX_CHAT_TARGET_MINUTES = 24 * 60
MAX_EMAIL_TARGET_MINUTES = 14 * 24 * 60
_TARGET_ERRORS = {MAX_CHAT_TARGET_MINUTES: N_("Use 0 (no target) up to 1440 minutes (24 hours)."),
                  MAX_EMAIL_TARGET_MINUTES: N_("Use 0 (no target) up to 20160 minutes (14 days).")}


def _target_minutes(most, description):
    return fields.Int(strict=True, allow_none=True,
                      validate=validate.Range(min=0, max=most, error=_TARGET_ERRORS[most]),
                      metadata={"description": f"{description} Minutes, up to {most}; null or 0: no target."})


class StoreSettingsArgs(StrictSchema):
    """What an admin may change about a store's widget (``helpdesk.actions.stores``)."""

    domain = fields.Str(allow_none=True, validate=validate.Regexp(
        _HOSTNAME, error=N_("Enter the shop's domain only, like shop.example.com.")))
    widget_position = fields.Str(validate=validate.OneOf(WIDGET_POSITIONS))
    greeting = fields.Str(validate=validate.Length(max=500))
    offline_message = fields.Str(validate=validate.Length(max=500))
    prechat = fields.Nested(PrechatArgs)
    timezone = fields.Str(validate=[validate.Length(min=1, max=64), _known_zone])
    business_hours = fields.List(fields.Nested(BusinessHoursArgs), validate=validate.Length(max=50))
    inactivity_checkin_minutes = fields.Int(strict=True, validate=validate.Range(min=0, max=1440))
    inactivity_close_minutes = fields.Int(strict=True, validate=validate.Range(min=0, max=1440))
    signature = fields.Str(validate=[TextLength(max=MAX_SIGNATURE_LENGTH), _known_placeholders], metadata={
        "description": "Plain text ending email from the store: automatic mail, and replies of agents without "
                       "their own. {agent_name} and {store_name} are filled in. \"\": none."})
    rating_email = fields.Bool(metadata={
        "description": "Email and contact-form customers get one \"How did we do?\" email with rating links when an "
                       "agent resolves their ticket (default true)."})
    # Reply targets (helpdesk.actions.service_levels). null or 0: no target.
    reply_target_chat_first_minutes = _target_minutes(MAX_CHAT_TARGET_MINUTES, "The first answer to a live chat.")
    reply_target_chat_next_minutes = _target_minutes(MAX_CHAT_TARGET_MINUTES,
                                                     "Every next answer to a live chat, after the shopper writes again.")
    reply_target_email_first_minutes = _target_minutes(
        MAX_EMAIL_TARGET_MINUTES, "The first answer to an email or contact-form message (and to a chat left while "
                                  "nobody was available).")
    reply_target_email_next_minutes = _target_minutes(
        MAX_EMAIL_TARGET_MINUTES, "Every next answer to an email or contact-form conversation.")
    reply_target_business_hours_only = fields.Bool(metadata={
        "description": "Reply targets count only the store's business hours, in its time zone (default false: "
                       "every hour counts)."})

    @validates_schema
    def _close_after_checkin(self, data, **kwargs):
        # The chat ending first would make the check-in prompt unreachable.
        checkin, close = data.get("inactivity_checkin_minutes"), data.get("inactivity_close_minutes")
        if checkin and close and close <= checkin:
            raise ValidationError(_("Close the chat later than the check-in prompt (or set one to 0)."),
                                  "inactivity_close_minutes")


class InvitationRuleArgs(StrictSchema):
    """One proactive invitation rule, in the shape widgets.proactive serves to the loader."""

    id = fields.Str(required=True, validate=validate.Regexp(
        _RULE_ID, error=N_("Use lowercase letters, digits, - and _ (up to 40), like sizes-help.")))
    # Matched literally against the page address (loader.js: indexOf), so no spaces, no wildcards.
    url_contains = fields.Str(load_default="", validate=[
        validate.Length(max=300),
        validate.Regexp(r"^[^\s*?^$]*$", error=N_("Part of the page address, as it appears in it: no spaces or wildcards (* ? ^ $)."))])
    min_seconds_on_page = fields.Int(strict=True, load_default=0, validate=validate.Range(min=0, max=3600))
    min_pages_viewed = fields.Int(strict=True, load_default=0, validate=validate.Range(min=0, max=100))
    min_seconds_on_product = fields.Int(strict=True, load_default=0, validate=validate.Range(min=0, max=3600))
    message = fields.Str(required=True, validate=validate.Length(min=1, max=500))
