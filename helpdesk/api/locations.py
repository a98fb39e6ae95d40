"""A store's locations (in-store visits): every agent of the store may list and read them,
admins create, change and deactivate them (DELETE keeps the row and its booked visits)."""
from flask_babel import gettext as _
from marshmallow import Schema, fields
from sqlalchemy import select

from helpdesk.actions import NotFound
from helpdesk.actions.locations import create_location, deactivate_location, require_admin, update_location
from helpdesk.api import bp
from helpdesk.api.access import ID, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.extensions import db
from helpdesk.models import StoreLocation
from helpdesk.schemas import LocationArgs, LocationUpdateArgs, StoreLocationSchema


class StoreLocationListSchema(Schema):
    items = fields.List(fields.Nested(StoreLocationSchema))


def _location_or_404(store_id, location_id):
    store = store_or_404(store_id, current_agent())
    location = db.session.get(StoreLocation, location_id)
    if location is None or location.store_id != store.id:
        raise NotFound(_("No such location for this store."))
    return location


@bp.get(f"/stores/<{ID}:store_id>/locations")
@operation("The store's locations, active ones first, by name.", response=StoreLocationListSchema,
           errors=(404,))
def list_locations(store_id):
    store = store_or_404(store_id, current_agent())
    rows = db.session.scalars(select(StoreLocation).where(StoreLocation.store_id == store.id)
                              .order_by(StoreLocation.active.desc(), StoreLocation.name, StoreLocation.id)).all()
    return StoreLocationListSchema().dump({"items": rows})


@bp.post(f"/stores/<{ID}:store_id>/locations")
@operation("Add a location where shoppers can book visits (admins).", body=LocationArgs,
           response=StoreLocationSchema, status=201, errors=(403, 404))
def create_location_view(store_id):
    admin = current_agent()
    require_admin(admin)  # before reading the body: others learn nothing from validation
    store = store_or_404(store_id, admin)
    args = load_json(LocationArgs())
    return StoreLocationSchema().dump(create_location(store, by_admin=admin, **args)), 201


@bp.get(f"/stores/<{ID}:store_id>/locations/<{ID}:location_id>")
@operation("One location of the store.", response=StoreLocationSchema, errors=(404,))
def get_location(store_id, location_id):
    return StoreLocationSchema().dump(_location_or_404(store_id, location_id))


@bp.patch(f"/stores/<{ID}:store_id>/locations/<{ID}:location_id>")
@operation("Change a location (admins); `active: true` takes bookings again.", body=LocationUpdateArgs,
           response=StoreLocationSchema, errors=(403, 404))
def patch_location(store_id, location_id):
    admin = current_agent()
    require_admin(admin)
    location = _location_or_404(store_id, location_id)
    args = load_json(LocationUpdateArgs())
    return StoreLocationSchema().dump(update_location(location, by_admin=admin, **args))


@bp.delete(f"/stores/<{ID}:store_id>/locations/<{ID}:location_id>")
@operation("Deactivate a location (admins): booked visits stay, new ones are refused.", status=204,
           errors=(403, 404))
def delete_location(store_id, location_id):
    admin = current_agent()
    require_admin(admin)
    deactivate_location(_location_or_404(store_id, location_id), by_admin=admin)
    return "", 204
