"""Contacts: find, read, edit, merge duplicates, and see their previous conversations."""
from sqlalchemy import or_, select

from helpdesk.actions.contacts import merge_contacts, update_contact
from helpdesk.api import bp
from helpdesk.api.access import ID, contact_or_404, restrict_to_stores
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import ContactPageSchema, TicketPageSchema, after_id_cursor, id_cursor, page
from helpdesk.api.tickets import ticket_page
from helpdesk.extensions import db
from helpdesk.models import Contact, Ticket
from helpdesk.schemas import ContactListArgs, ContactMergeArgs, ContactSchema, ContactUpdateArgs, PageArgs
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
@operation("Edit a contact's details, or block/unblock them.", body=ContactUpdateArgs, response=ContactSchema)
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
