"""Contacts: find, read, edit, merge duplicates, and see their previous conversations; export
and erase a customer's data on their request (admins)."""
from flask import jsonify
from sqlalchemy import or_, select

from helpdesk.actions.contacts import (
    erase_contact,
    export_contact_data,
    merge_contacts,
    require_privacy_admin,
    update_contact,
)
from helpdesk.api import bp
from helpdesk.api.access import ID, contact_or_404, restrict_to_stores
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import ContactPageSchema, TicketPageSchema, after_id_cursor, id_cursor, page
from helpdesk.api.tickets import ticket_page
from helpdesk.contact_export import ContactExportSchema
from helpdesk.extensions import db
from helpdesk.models import Contact, Ticket
from helpdesk.schemas import (
    ContactEraseArgs,
    ContactListArgs,
    ContactMergeArgs,
    ContactSchema,
    ContactUpdateArgs,
    PageArgs,
)
from helpdesk.text import clean_text


@bp.get("/contacts")
@operation("List contacts (merged duplicates left out), newest first.", query=ContactListArgs,
           response=ContactPageSchema)
def list_contacts():
    args = load_query(ContactListArgs())
    query = restrict_to_stores(select(Contact), Contact.store_id, current_agent())
    query = query.where(Contact.merged_into_id.is_(None))
    if "store" in args:
        query = query.where(Contact.store_id == args["store"])
    if "q" in args:
        q = clean_text(args["q"])
        query = query.where(or_(Contact.name.icontains(q, autoescape=True),
                                Contact.email.icontains(q, autoescape=True),
                                Contact.phone.icontains(q, autoescape=True)))
    if args.get("cursor"):
        query = after_id_cursor(query, Contact, args["cursor"])
    limit = args["limit"]
    rows = db.session.scalars(query.order_by(Contact.id.desc()).limit(limit + 1)).all()
    rows, next_cursor = page(rows, limit, id_cursor)
    return ContactPageSchema().dump({"items": rows, "next_cursor": next_cursor})


@bp.get(f"/contacts/<{ID}:contact_id>")
@operation("One contact.", response=ContactSchema)
def get_contact(contact_id):
    return ContactSchema().dump(contact_or_404(contact_id, current_agent()))


@bp.patch(f"/contacts/<{ID}:contact_id>")
@operation("Edit a contact's details, or block/unblock them (409: an erased customer's placeholder).",
           body=ContactUpdateArgs, response=ContactSchema, errors=(409,))
def patch_contact(contact_id):
    agent = current_agent()
    contact = contact_or_404(contact_id, agent)
    args = load_json(ContactUpdateArgs())
    return ContactSchema().dump(update_contact(contact, agent, **args))


@bp.post(f"/contacts/<{ID}:contact_id>/merge")
@operation("Merge the contact `source_id` into this one (tickets, visitors and ids move here).",
           body=ContactMergeArgs, response=ContactSchema, errors=(409,))
def merge_contact(contact_id):
    agent = current_agent()
    target = contact_or_404(contact_id, agent)
    args = load_json(ContactMergeArgs())
    source = contact_or_404(args["source_id"], agent, "source_id")
    return ContactSchema().dump(merge_contacts(target, source, agent))


@bp.get(f"/contacts/<{ID}:contact_id>/tickets")
@operation("The contact's conversations, newest activity first.", query=PageArgs, response=TicketPageSchema)
def contact_tickets(contact_id):
    contact = contact_or_404(contact_id, current_agent())
    args = load_query(PageArgs())
    return ticket_page(select(Ticket).where(Ticket.contact_id == contact.id), args)


# Another store's contact is 404 before anything else (as everywhere); then a non-admin is
# 403 before the body is read: they learn nothing from its validation.

@bp.get(f"/contacts/<{ID}:contact_id>/export")
@operation("Everything the helpdesk holds about the contact (and the duplicates merged into it), as one "
           "JSON document to hand over on their request (admins; a file download). Agents' internal notes "
           "are left out: they are the shop's own records.", response=ContactExportSchema, errors=(403,))
def export_contact(contact_id):
    agent = current_agent()
    contact = contact_or_404(contact_id, agent)
    response = jsonify(export_contact_data(contact, by=agent))
    # The id, never the name or address: file names end up in download folders and logs.
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact.id}-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(f"/contacts/<{ID}:contact_id>/erase")
@operation("Erase the contact's personal data on their request, for good (admins; `confirm` must be true). "
           "Conversations, ratings and orders stay as anonymous records; the contact becomes the placeholder "
           "returned. 409 when the contact was merged into another or is erased already.",
           body=ContactEraseArgs, response=ContactSchema, errors=(403, 409))
def erase_contact_view(contact_id):
    agent = current_agent()
    contact = contact_or_404(contact_id, agent)
    require_privacy_admin(agent)
    load_json(ContactEraseArgs())
    return ContactSchema().dump(erase_contact(contact, by=agent))
