"""In-store visits from the inbox: the booking dialog's JSON endpoints (book, move, cancel
from an open conversation), the "My upcoming appointments" page with the store's unassigned
visits (their agent left the store: take one over, or give it to a colleague; the page fetches
its lists again when a visit changes) and the admins' page of a store's locations
(static/inbox/locations.js writes through /api/v1/stores/<id>/locations). The REST API
(helpdesk.api.appointments) reads the same schemas through the same ``booking_args``.

Same rules as ``inbox.views``: signed-in agents only (JSON answers 401), CSRF on POST/PATCH
(``X-CSRFToken``), another store's ticket or visit is a 404, input through marshmallow
(422 with field messages), every change through ``helpdesk.actions.appointments``.
"""
import json

from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from helpdesk.actions import ActionError
from helpdesk.actions.appointments import (
    agents_for_store,
    assign_appointment,
    book_appointment,
    booking_args,
    cancel_appointment,
    reschedule_appointment,
    unassigned_for,
    upcoming_for,
)
from helpdesk.api.access import ID, appointment_or_404
from helpdesk.calendar import zone
from helpdesk.extensions import db
from helpdesk.i18n import translate_errors
from helpdesk.models import Appointment, Store, StoreLocation
from helpdesk.schemas import (
    AppointmentArgs,
    AppointmentAssignArgs,
    AppointmentCancelArgs,
    AppointmentSchema,
    AppointmentUpdateArgs,
    StoreLocationSchema,
    UpcomingArgs,
)
from inbox import queries
from inbox.views import _action_error, _http_error, _json_error, _json_needs_sign_in

bp = Blueprint("appointments", __name__, url_prefix="/inbox")
bp.register_error_handler(ActionError, _action_error)
bp.register_error_handler(HTTPException, _http_error)
bp.before_request(_json_needs_sign_in)


def _agent():
    return current_user._get_current_object()


def json_body():
    """The request's JSON, or None when it is not JSON at all. ``get_json(silent=True)``
    lets a deeply nested array's RecursionError through (a 500); this does not."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _load(schema, data):
    if not isinstance(data, dict):
        raise _Invalid(_json_error(_("Send a JSON object."), 400))
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise _Invalid((jsonify({"message": _("Some fields are not valid."), "status": 422,
                                 "errors": translate_errors(exc.messages)}), 422)) from None


class _Invalid(Exception):
    def __init__(self, response):
        super().__init__("invalid input")
        self.response = response


bp.register_error_handler(_Invalid, lambda exc: exc.response)


def _appointment(appointment_id):
    return appointment_or_404(appointment_id, _agent())


# ---- the dialog --------------------------------------------------------------------------

@bp.get(f"/api/tickets/<{ID}:ticket_id>/appointments")
@login_required
def ticket_appointments(ticket_id):
    """The store's locations (for the dialog) and this conversation's visits."""
    ticket = queries.ticket_for_agent(_agent(), ticket_id)
    locations = db.session.scalars(select(StoreLocation).where(
        StoreLocation.store_id == ticket.store_id, StoreLocation.active.is_(True)).order_by(StoreLocation.name)).all()
    appointments = db.session.scalars(select(Appointment).where(Appointment.ticket_id == ticket.id)
                                      .order_by(Appointment.starts_at)).all()
    return jsonify({"locations": StoreLocationSchema(many=True).dump(locations),
                    "appointments": AppointmentSchema(many=True).dump(appointments)})


@bp.post(f"/api/tickets/<{ID}:ticket_id>/appointments")
@login_required
def book(ticket_id):
    ticket = queries.ticket_for_agent(_agent(), ticket_id)
    args = _load(AppointmentArgs(), json_body())
    appointment = book_appointment(ticket, _agent(), **booking_args(ticket.store_id, args))
    return jsonify(AppointmentSchema().dump(appointment)), 201


@bp.patch(f"/api/appointments/<{ID}:appointment_id>")
@login_required
def reschedule(appointment_id):
    appointment = _appointment(appointment_id)
    args = _load(AppointmentUpdateArgs(), json_body())
    appointment = reschedule_appointment(appointment, _agent(), **booking_args(appointment.store_id, args))
    return jsonify(AppointmentSchema().dump(appointment))


@bp.post(f"/api/appointments/<{ID}:appointment_id>/cancel")
@login_required
def cancel(appointment_id):
    appointment = _appointment(appointment_id)
    args = _load(AppointmentCancelArgs(), json_body())
    return jsonify(AppointmentSchema().dump(cancel_appointment(appointment, _agent(), reason=args["reason"])))


@bp.post(f"/api/appointments/<{ID}:appointment_id>/assign")
@login_required
def assign(appointment_id):
    appointment = _appointment(appointment_id)
    args = _load(AppointmentAssignArgs(), json_body())
    return jsonify(AppointmentSchema().dump(
        assign_appointment(appointment, _agent(), **booking_args(appointment.store_id, args))))


# ---- my upcoming appointments ------------------------------------------------------------

@bp.get("/api/appointments/upcoming")
@login_required
def upcoming_json():
    args = _load(UpcomingArgs(), request.args.to_dict())
    return jsonify({"items": AppointmentSchema(many=True).dump(upcoming_for(_agent(), args["days"]))})


@bp.get("/api/appointments/unassigned")
@login_required
def unassigned_json():
    """Visits still to come without an agent, in the stores the agent sees, soonest first."""
    return jsonify({"items": AppointmentSchema(many=True).dump(unassigned_for(_agent()))})


def _shown(appt):
    """A visit as the page lists it: its day and time at the shop, formatted for the agent."""
    local = appt.starts_at.astimezone(zone(appt.location.timezone))
    return format_date(local.date(), "full"), {
        "appointment": appt,
        # rebase=False: the shop's wall-clock time, not the viewer's zone.
        "time": "{} – {}".format(format_time(local, "short", rebase=False),
                                 format_time(appt.ends_at.astimezone(local.tzinfo), "short", rebase=False)),
    }


def _lists():
    """What the page lists: the signed-in agent's visits for the next ``days`` (default 14),
    grouped by day, and the visits without an agent of their stores with who may host each;
    each time shown at the shop (its zone named), formatted for the agent's language."""
    try:
        days = UpcomingArgs().load(request.args.to_dict())["days"]
    except ValidationError:
        days = 14
    groups = {}
    for appt in upcoming_for(_agent(), days):
        day, item = _shown(appt)
        groups.setdefault(day, []).append(item)
    unassigned, hosts = [], {}
    for appt in unassigned_for(_agent()):
        day, item = _shown(appt)
        unassigned.append({**item, "day": day})
        if appt.store_id not in hosts:
            hosts[appt.store_id] = agents_for_store(appt.store_id)
    return {"groups": groups, "days": days, "unassigned": unassigned, "hosts": hosts}


@bp.get("/appointments")
@login_required
def upcoming_page():
    agent = _agent()
    return render_template("inbox/appointments.html", bootstrap={"me": {"id": agent.id, "name": agent.name}},
                           **_lists())


@bp.get("/appointments/lists")
@login_required
def upcoming_lists():
    """The page's lists alone, the same ``days``: the page fetches them again when a visit of
    the agent or one without an agent in their stores changes (``appointment.updated``)."""
    return render_template("inbox/_appointments_lists.html", **_lists())


@bp.post(f"/appointments/<{ID}:appointment_id>/assign")
@login_required
def assign_form(appointment_id):
    """The page's form (works without JavaScript): take an unassigned visit over, or give it
    to the agent picked; back to the page with what happened."""
    try:
        appointment = _appointment(appointment_id)
        appointment = assign_appointment(appointment, _agent(), **booking_args(
            appointment.store_id, {"agent_id": request.form.get("agent_id", type=int)}))
    except ActionError as exc:  # the page says why (taken already, a clash) and shows the rest
        flash(exc.message)
    else:
        flash(_("%(agent)s is now the agent of the visit of %(name)s.", agent=appointment.agent.name,
                name=appointment.contact.display_name))
    return redirect(url_for("appointments.upcoming_page"), 303)


# ---- admins: the store's locations ---------------------------------------------------------

@bp.get("/appointments/locations")
@login_required
def locations_page():
    """Admins list a store's locations and add or edit one. The page carries the store's
    locations and the zone names; the form's changes go through the REST API."""
    agent = _agent()
    if not agent.is_admin:
        abort(403)
    stores = db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
    wanted = request.args.get("store", "")
    store = next((s for s in stores if str(s.id) == wanted), stores[0] if stores else None)
    locations = [] if store is None else db.session.scalars(
        select(StoreLocation).where(StoreLocation.store_id == store.id)
        .order_by(StoreLocation.active.desc(), StoreLocation.name, StoreLocation.id)).all()
    bootstrap = {"me": {"id": agent.id, "name": agent.name, "email": agent.email},
                 "store_id": store.id if store else None,
                 "locations": StoreLocationSchema(many=True).dump(locations)}
    return render_template("inbox/locations.html", stores=stores, store=store, bootstrap=bootstrap,
                           zones=sorted(available_timezones()))
