"""In-store visits: the visits of the stores I see (a shop's booking page, a calendar sync),
booking one from a ticket, moving, cancelling, and giving a visit whose agent left the store
an agent. The rules are the inbox's booking dialog's, in ``helpdesk.actions.appointments``;
another store's visit is not found."""
from flask import url_for
from sqlalchemy.orm import selectinload

from helpdesk.actions import appointments as actions
from helpdesk.api import bp
from helpdesk.api.access import ID, appointment_or_404, store_or_404, ticket_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import AppointmentPageSchema, after_start_cursor, page, start_cursor
from helpdesk.extensions import db
from helpdesk.models import Appointment
from helpdesk.schemas import (
    AppointmentArgs,
    AppointmentAssignArgs,
    AppointmentCancelArgs,
    AppointmentListArgs,
    AppointmentSchema,
    AppointmentUpdateArgs,
)

_REFUSED = ("422 for a time in the past, more than a year ahead, outside the location's opening hours or "
            "skipped by a change of the clocks, and for a deactivated location; 409 when the agent has another "
            "visit then; 404 for a location or agent not of the visit's store.")


@bp.get("/appointments")
@operation("The visits of the stores I see, soonest first.", query=AppointmentListArgs,
           response=AppointmentPageSchema, errors=(404,),
           description="404 when `ticket_id` or `store_id` names a ticket or store the agent cannot see.")
def list_appointments():
    agent = current_agent()
    args = load_query(AppointmentListArgs())
    if "ticket_id" in args:
        ticket_or_404(args["ticket_id"], agent, "ticket_id")
    if "store_id" in args:
        store_or_404(args["store_id"], agent)
    query = actions.find_appointments(agent, **{k: v for k, v in args.items() if k not in ("limit", "cursor")})
    if args.get("cursor"):
        query = after_start_cursor(query, Appointment, args["cursor"])
    limit = args["limit"]
    # Each visit is dumped with its customer: loaded for the whole page in one query.
    rows = db.session.scalars(query.options(selectinload(Appointment.contact))
                              .order_by(Appointment.starts_at, Appointment.id).limit(limit + 1)).all()
    rows, next_cursor = page(rows, limit, start_cursor)
    return AppointmentPageSchema().dump({"items": rows, "next_cursor": next_cursor})


@bp.get(f"/appointments/<{ID}:appointment_id>")
@operation("One visit.", response=AppointmentSchema)
def get_appointment(appointment_id):
    return AppointmentSchema().dump(appointment_or_404(appointment_id, current_agent()))


@bp.post(f"/tickets/<{ID}:ticket_id>/appointments")
@operation("Book a visit for the ticket's customer at a location of its store: they get an invitation by email "
           "(iCalendar) and a card in the chat.", body=AppointmentArgs, response=AppointmentSchema, status=201,
           errors=(409,), tag="appointments",
           description=_REFUSED + " 409 too for a closed ticket.")
def create_appointment(ticket_id):
    agent = current_agent()
    ticket = ticket_or_404(ticket_id, agent)
    args = load_json(AppointmentArgs())
    appointment = actions.book_appointment(ticket, agent, **actions.booking_args(ticket.store_id, args))
    return AppointmentSchema().dump(appointment), 201, {
        "Location": url_for("api.get_appointment", appointment_id=appointment.id)}


@bp.patch(f"/appointments/<{ID}:appointment_id>")
@operation("Move a visit (time, location, agent) or change its notes; the customer gets the updated invitation. "
           "Nothing changed: nothing sent.", body=AppointmentUpdateArgs, response=AppointmentSchema, errors=(409,),
           description=_REFUSED + " 409 too for a cancelled visit.")
def patch_appointment(appointment_id):
    agent = current_agent()
    appointment = appointment_or_404(appointment_id, agent)
    args = load_json(AppointmentUpdateArgs())
    return AppointmentSchema().dump(
        actions.reschedule_appointment(appointment, agent, **actions.booking_args(appointment.store_id, args)))


@bp.post(f"/appointments/<{ID}:appointment_id>/cancel")
@operation("Cancel a visit (the `reason` is added to its notes); the customer gets the cancellation. A cancelled "
           "visit stays, with status `cancelled`; cancelling it again changes nothing.",
           body=AppointmentCancelArgs, response=AppointmentSchema)
def cancel_appointment(appointment_id):
    agent = current_agent()
    appointment = appointment_or_404(appointment_id, agent)
    args = load_json(AppointmentCancelArgs())
    return AppointmentSchema().dump(actions.cancel_appointment(appointment, agent, reason=args["reason"]))


@bp.post(f"/appointments/<{ID}:appointment_id>/assign")
@operation("Take over a visit without an agent (send {}), or give it to a colleague of the store who is free then. "
           "The customer's booking does not change and they are not told.", body=AppointmentAssignArgs,
           response=AppointmentSchema, errors=(409,),
           description="409 when the visit has an agent already (a colleague was faster: the message names them), "
                       "is cancelled or over, or the agent has another visit then; 404 for an agent not of the "
                       "visit's store.")
def assign_appointment(appointment_id):
    agent = current_agent()
    appointment = appointment_or_404(appointment_id, agent)
    args = load_json(AppointmentAssignArgs())
    return AppointmentSchema().dump(
        actions.assign_appointment(appointment, agent, **actions.booking_args(appointment.store_id, args)))
