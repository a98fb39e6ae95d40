"""A store's locations: the physical shops where shoppers book in-store visits.

Admins create, change and deactivate them (the seed and the CLI pass no admin: a system
change). Configuration only: nothing is said to shoppers, and no realtime event is sent,
because the inbox's booking dialog reads the locations again every time it opens
(``inbox.appointments.ticket_appointments``), so there is no copy to refresh.
"""
import re

from flask_babel import gettext as _

from helpdesk import calendar
from helpdesk.actions import ActionError, Forbidden, NotFound, action
from helpdesk.extensions import db
from helpdesk.models import StoreLocation
from helpdesk.models.appointments import WEEKDAYS
from helpdesk.text import clean_text

MIN_MINUTES, MAX_MINUTES = 5, 8 * 60
MAX_NAME, MAX_ADDRESS, MAX_ZONE, MAX_EMAIL = 120, 1000, 64, 255
MAX_INTERVALS = 6
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LOCATION_FIELDS = ("name", "address", "timezone", "opening_hours", "appointment_minutes", "email", "active")


def require_admin(agent):
    """Refuse (403) anyone but an admin; ``None`` is the system (seed, CLI, tests)."""
    if agent is not None and not agent.is_admin:
        raise Forbidden(_("Only admins manage locations."))


def _invalid(message, field):
    return ActionError(message, field, status=422)


def _checked_zone(name):
    name = clean_text(name, 200) or "UTC"
    try:
        if len(name) > MAX_ZONE:
            raise ValueError(name)
        calendar.zone(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise _invalid(_("Unknown time zone %(zone)s.", zone=name[:MAX_ZONE]), "timezone") from None
    return name


def normalise_opening_hours(hours):
    """``{"mon": [["09:00", "18:00"]], ...}`` checked and sorted; refuses malformed or
    overlapping intervals with a message naming the day."""
    if hours is None:
        return {}
    if not isinstance(hours, dict):
        raise _invalid(_("Opening hours must map weekdays to lists of intervals."), "opening_hours")
    out = {}
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise _invalid(_("Unknown weekday %(day)s (use mon … sun).", day=str(day)[:10]), "opening_hours")
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
            raise _invalid(_("Give at most six opening intervals per day."), "opening_hours")
        clean = []
        for pair in intervals:
            # "HH:MM" strings compare like times, so opening < closing is a string comparison.
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                    and all(isinstance(v, str) and _HHMM.match(v) for v in pair) and pair[0] < pair[1]):
                raise _invalid(_("Opening hours on %(day)s must be HH:MM–HH:MM, opening before closing.",
                                 day=day), "opening_hours")
            clean.append([pair[0], pair[1]])
        clean.sort()
        if any(a[1] > b[0] for a, b in zip(clean, clean[1:])):
            raise _invalid(_("Opening hours on %(day)s overlap.", day=day), "opening_hours")
        out[day] = clean
    return out


def _text(value, limit, field):
    value = clean_text(value)
    if len(value) > limit:
        raise _invalid(_("Use at most %(max)d characters.", max=limit), field)
    return value


def _apply(location, settings):
    for key, value in settings.items():
        if key not in _LOCATION_FIELDS:
            raise _invalid(_("Unknown location setting %(key)s.", key=str(key)[:40]), key)
        if key == "name":
            value = _text(value, MAX_NAME, "name")
            if not value:
                raise _invalid(_("Name the location."), "name")
        elif key == "address":
            value = _text(value, MAX_ADDRESS, "address")
        elif key == "timezone":
            value = _checked_zone(value)
        elif key == "opening_hours":
            value = normalise_opening_hours(value)
        elif key == "appointment_minutes":
            if isinstance(value, bool) or not isinstance(value, int) or not MIN_MINUTES <= value <= MAX_MINUTES:
                raise _invalid(_("Visits last between %(min)d minutes and %(max)d hours.",
                                 min=MIN_MINUTES, max=MAX_MINUTES // 60), "appointment_minutes")
        elif key == "email":
            value = _text(value, MAX_EMAIL, "email").lower() or None
        elif key == "active":
            value = bool(value)
        setattr(location, key, value)


@action
def create_location(store, name, *, by_admin=None, **settings):
    """A physical shop of ``store`` where visits can be booked (``settings``: address,
    timezone, opening_hours, appointment_minutes, email). Admins only. Emits nothing."""
    require_admin(by_admin)
    location = StoreLocation(store_id=store.id, name="", opening_hours={})
    _apply(location, {"name": name, **settings})
    db.session.add(location)
    db.session.flush()
    return location


@action
def update_location(location, *, by_admin=None, **changes):
    """Change a location's name, address, zone, hours, visit length, mailbox or ``active``
    (true: takes bookings again). Existing visits keep their times. Admins only. Emits nothing."""
    require_admin(by_admin)
    _apply(location, changes)
    db.session.flush()
    return location


@action
def deactivate_location(location, *, by_admin=None):
    """Stop taking new visits at ``location``. The row and its booked visits stay (they can
    still be cancelled, and their invitations keep the place); booking or moving a visit
    there is refused (``check_bookable``). Admins only. Emits nothing."""
    require_admin(by_admin)
    location.active = False
    db.session.flush()
    return location


def location_of_store(store_id, location):
    """``location`` if it is one of store ``store_id``'s, active or not; another store's or a
    missing one (None) is a 404."""
    if location is None or location.store_id != store_id:
        raise NotFound(_("No such location for this store."), "location_id")
    return location


def check_bookable(store_id, location):
    """``location`` if a new visit of ``store_id`` may take place there: another store's or a
    missing one is a 404; a deactivated one is refused with its name and what to do."""
    location_of_store(store_id, location)
    if not location.active:
        raise _invalid(_("%(location)s no longer takes visits. Choose another location.",
                         location=location.name), "location_id")
    return location
