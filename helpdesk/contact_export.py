"""The contact export: everything the helpdesk holds about one customer, as one JSON document
(a customer's "send me my data" request). ``helpdesk.actions.contacts.export_contact_data``
gathers the rows; these schemas are the document's only description, and the OpenAPI
document shows them (``GET /api/v1/contacts/<id>/export``).

A module of its own rather than more of ``helpdesk/schemas.py``: the document is written for
the customer (and whoever answers the request), not for the inbox or integrations, and keeps
its own names and format version.

Left out on purpose: agents' internal notes (on conversations, on the contact, in handoffs and
on appointments) and timeline events. They are the shop's own working records about its
service, never shown to the customer; a shop that must disclose them too adds them itself.
What the customer was sent or shown is all here: agents' replies, product cards, visit cards.
"""
from flask import current_app
from marshmallow import Schema, fields

from helpdesk.schemas import OrderSchema

#: Changes when a field changes meaning or goes away (new fields do not change it).
FORMAT = "helpdesk.contact-export.v1"


class ExportAttachmentSchema(Schema):
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    #: An absolute download link. Signed per file (helpdesk.media): whoever holds the
    #: document can fetch the files, as the customer could from their conversation.
    url = fields.Method("get_url")

    def get_url(self, att):
        from helpdesk.media import attachment_url

        return current_app.config["PUBLIC_URL"] + attachment_url(att)


class ExportMessageSchema(Schema):
    """A message the customer wrote or was sent (never a note or a timeline event)."""

    id = fields.Int()
    sent_at = fields.AwareDateTime(attribute="created_at")
    #: "customer" or "agent".
    sender = fields.Method("get_sender")
    sender_name = fields.Method("get_sender_name")
    text = fields.Str(attribute="body_text")
    #: An email's HTML as received (sanitised), else null.
    html = fields.Method("get_html")
    attachments = fields.List(fields.Nested(ExportAttachmentSchema))
    #: An email's From, To, Cc, Subject and Date, as it arrived.
    email = fields.Method("get_email")
    #: The contact form's extra fields.
    form_fields = fields.Method("get_form_fields")
    product_card = fields.Method("get_product_card")
    appointment_card = fields.Method("get_appointment_card")

    def get_sender(self, msg):
        return "agent" if str(msg.author_type) == "agent" else "customer"

    def get_sender_name(self, msg):
        if msg.author_agent is not None:
            return msg.author_agent.name
        return msg.author_contact.display_name if msg.author_contact is not None else None

    def get_html(self, msg):
        # An email's own HTML; a chat's is only its text escaped (already in "text").
        return (msg.body_html or None) if "email" in (msg.meta or {}) else None

    def get_email(self, msg):
        email = (msg.meta or {}).get("email")
        if not isinstance(email, dict):
            return None
        return {key: email.get(key) for key in ("from", "from_name", "to", "cc", "subject", "date")}

    def get_form_fields(self, msg):
        return (msg.meta or {}).get("form") or None

    def get_product_card(self, msg):
        return (msg.meta or {}).get("product_card")

    def get_appointment_card(self, msg):
        return (msg.meta or {}).get("appointment")


class ExportTicketSchema(Schema):
    """One conversation (``{"ticket": Ticket, "messages": [Message]}``)."""

    id = fields.Int(attribute="ticket.id")
    channel = fields.Str(attribute="ticket.channel")
    status = fields.Str(attribute="ticket.status")
    subject = fields.Str(attribute="ticket.subject")
    created_at = fields.AwareDateTime(attribute="ticket.created_at")
    last_activity_at = fields.AwareDateTime(attribute="ticket.last_activity_at")
    resolved_at = fields.AwareDateTime(attribute="ticket.resolved_at", allow_none=True)
    messages = fields.List(fields.Nested(ExportMessageSchema))


class ExportRatingSchema(Schema):
    ticket_id = fields.Int(attribute="id")
    stars = fields.Int(attribute="rating")
    reasons = fields.List(fields.Str(), attribute="rating_reasons")
    comment = fields.Str(attribute="rating_comment", allow_none=True)


class ExportPageViewSchema(Schema):
    url = fields.Str()
    title = fields.Str()
    viewed_at = fields.AwareDateTime()


class ExportVisitorSessionSchema(Schema):
    """One browser that used the storefront widget (``{"visitor": Visitor, "pages": [PageView]}``)."""

    started_at = fields.AwareDateTime(attribute="visitor.created_at")
    last_seen_at = fields.AwareDateTime(attribute="visitor.last_seen_at")
    user_agent = fields.Str(attribute="visitor.user_agent", allow_none=True)
    browser = fields.Str(attribute="visitor.browser", allow_none=True)
    os = fields.Str(attribute="visitor.os", allow_none=True)
    device = fields.Str(attribute="visitor.device", allow_none=True)
    locale = fields.Str(attribute="visitor.locale", allow_none=True)
    timezone = fields.Str(attribute="visitor.timezone", allow_none=True)
    referrer = fields.Str(attribute="visitor.referrer", allow_none=True)
    #: What the shop's page told the widget (cart value, order number...).
    attributes = fields.Dict(attribute="visitor.attributes")
    pages = fields.List(fields.Nested(ExportPageViewSchema))


class ExportProfileSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    email = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    locale = fields.Str(allow_none=True)
    blocked = fields.Bool()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    #: When the customer's data was erased on request (then nothing personal is left).
    erased_at = fields.Method("get_erased_at")

    def get_erased_at(self, contact):
        return (contact.erasure or {}).get("at")


class ExportIdentitySchema(Schema):
    """The customer's id on a shop platform ("shopify", "identify": the shop's own login...)."""

    platform = fields.Str()
    platform_id = fields.Str()


class ExportEmailAddressSchema(Schema):
    address = fields.Str()
    #: Mail to it bounced: the helpdesk sends nothing more there.
    failing = fields.Bool()
    #: Where the helpdesk learned it: "profile", "email" (mail received), "order", "shop_customer".
    seen_in = fields.List(fields.Str())


class ExportShopCustomerSchema(Schema):
    """The customer as the shop platform sent them to the helpdesk."""

    platform = fields.Str()
    platform_id = fields.Str()
    name = fields.Str()
    email = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    platform_created_at = fields.AwareDateTime(allow_none=True)


class ExportAppointmentSchema(Schema):
    id = fields.Int()
    ticket_id = fields.Int()
    location = fields.Method("get_location")
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    status = fields.Str()
    with_agent = fields.Method("get_agent")

    def get_location(self, appointment):
        location = appointment.location
        return {"name": location.name, "address": location.address, "timezone": location.timezone}

    def get_agent(self, appointment):
        return appointment.agent.name if appointment.agent is not None else None


class ExportInboundEmailSchema(Schema):
    """Mail from one of the customer's addresses kept apart from the conversations:
    quarantined (unreadable), refused (too large) or not filed yet."""

    received_at = fields.AwareDateTime(attribute="created_at")
    subject = fields.Str(allow_none=True)
    status = fields.Str()
    reason = fields.Str(allow_none=True)
    size = fields.Int()


class ContactExportSchema(Schema):
    format = fields.Str()
    exported_at = fields.AwareDateTime()
    store = fields.Dict()
    contact = fields.Nested(ExportProfileSchema)
    #: Duplicates folded into this contact (merged), and the anonymous contacts its chats
    #: began as before the customer gave an address or logged in.
    merged_contacts = fields.List(fields.Nested(ExportProfileSchema))
    platform_ids = fields.List(fields.Nested(ExportIdentitySchema))
    email_addresses = fields.List(fields.Nested(ExportEmailAddressSchema))
    tickets = fields.List(fields.Nested(ExportTicketSchema))
    ratings = fields.List(fields.Nested(ExportRatingSchema))
    visitor_sessions = fields.List(fields.Nested(ExportVisitorSessionSchema))
    orders = fields.List(fields.Nested(OrderSchema))
    shop_customer_records = fields.List(fields.Nested(ExportShopCustomerSchema))
    appointments = fields.List(fields.Nested(ExportAppointmentSchema))
    inbound_emails = fields.List(fields.Nested(ExportInboundEmailSchema))
