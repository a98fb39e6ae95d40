"""iCalendar (RFC 5545 / iTIP RFC 5546) invitations for appointments, built with ``icalendar``.

An invitation is ``METHOD:REQUEST`` with one VEVENT whose UID never changes for an
appointment; every change raises SEQUENCE so calendar clients replace the old copy. A
cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` and the same UID. Times are
written in the location's zone (TZID plus its VTIMEZONE) so the shopper's calendar shows
the shop's wall-clock time across DST changes.
"""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_location
from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Helpdesk//Appointments//EN"
REQUEST = "REQUEST"
CANCEL = "CANCEL"


def zone(name):
    """The ZoneInfo for an IANA name; unknown names are refused by the caller's validation."""
    return ZoneInfo(name or "UTC")


def local_start(appointment):
    return appointment.starts_at.astimezone(zone(appointment.location.timezone))


def _address(email, name=None, **params):
    addr = vCalAddress(f"mailto:{email}")
    if name:
        addr.params["CN"] = vText(name)
    for key, value in params.items():
        addr.params[key.replace("_", "-").upper()] = vText(value)
    return addr


def build_invite(appointment, *, method, organizer_email, organizer_name, summary, description=""):
    """The .ics text for ``appointment``: ``method`` REQUEST (booked or changed) or CANCEL."""
    location = appointment.location
    tz = zone(location.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", appointment.updated_at or appointment.created_at)
    event.add("created", appointment.created_at)
    event.add("last-modified", appointment.updated_at or appointment.created_at)
    event.add("dtstart", appointment.starts_at.astimezone(tz))
    event.add("dtend", appointment.ends_at.astimezone(tz))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    event.add("location", ", ".join(p for p in (location.name, location.address.replace("\n", ", ")) if p))
    event.add("organizer", _address(organizer_email, organizer_name))
    contact = appointment.contact
    event.add("attendee", _address(contact.email, contact.name or None, role="REQ-PARTICIPANT",
                                   partstat="NEEDS-ACTION", rsvp="TRUE", cutype="INDIVIDUAL"))
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    # Only the transitions near the visit: a VTIMEZONE spanning 1970-2038 is kilobytes of RDATEs.
    start = appointment.starts_at.date()
    cal.add_missing_timezones(first_date=date(start.year - 1, 1, 1), last_date=start + timedelta(days=400))
    return cal.to_ical().decode("utf-8")


# ---- human-readable times for the shopper --------------------------------------------------

def babel_locale(*candidates):
    """The first candidate Babel knows ("pt-BR", "de_DE", "fr"), else English."""
    for value in candidates:
        if not value:
            continue
        try:
            return Locale.parse(str(value).replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse("en")


def describe_time(appointment, locale):
    """``{"date", "time", "timezone"}`` of the visit, in the location's zone, for ``locale``."""
    tz = zone(appointment.location.timezone)
    start = appointment.starts_at.astimezone(tz)
    end = appointment.ends_at.astimezone(tz)
    return {
        "date": format_date(start.date(), format="full", locale=locale),
        "time": "{} – {}".format(format_time(start, format="short", locale=locale),
                                 format_time(end, format="short", locale=locale)),
        "timezone": get_timezone_location(tz, locale=locale, return_city=True),
    }
