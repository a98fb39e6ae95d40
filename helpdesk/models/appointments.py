"""In-store appointments: a store's physical locations and the visits agents book there."""
import secrets

from helpdesk.extensions import db
from helpdesk.models.base import StrEnum, UTCDateTime, enum_column, utcnow

#: Weekday keys of ``StoreLocation.opening_hours``, in ``datetime.weekday()`` order.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class StoreLocation(db.Model):
    """A physical shop of a store where shoppers can book a visit.

    ``opening_hours`` is local wall-clock time in ``timezone``:
    ``{"mon": [["09:00", "12:30"], ["13:30", "18:00"]], "sun": []}``; a missing day is closed.
    """

    __tablename__ = "store_locations"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(120), nullable=False)
    address = db.Column(db.Text, nullable=False, default="")
    # An IANA zone name ("Europe/Paris"): opening hours and invites are in this zone.
    timezone = db.Column(db.String(64), nullable=False, default="UTC")
    opening_hours = db.Column(db.JSON, nullable=False, default=dict)
    appointment_minutes = db.Column(db.Integer, nullable=False, default=30)
    # The shop's own mailbox (the invite's organizer); empty: the agent organizes.
    email = db.Column(db.String(255))
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    store = db.relationship("Store")


def _new_uid():
    return f"{secrets.token_hex(16)}@helpdesk"


class Appointment(db.Model):
    """A shopper's visit to a location with an agent. ``uid`` and ``sequence`` are the
    iCalendar identity: a change keeps the uid and raises the sequence.

    ``contact_id`` is whom the visit was booked for, set at booking and never changed by a
    merge of tickets: the invitation, its updates and its cancellation go to that contact even
    when the visit now sits on another contact's ticket.

    A booked visit without an agent (``agent_id`` NULL) is *unassigned*: its agent left the
    store (``helpdesk.actions.appointments.unassign_appointments``) or was deleted. The visit
    stays booked for the shopper; the store's agents see it until one of them takes it over
    (``assign_appointment``)."""

    __tablename__ = "appointments"
    __table_args__ = (
        # "My upcoming appointments": one agent's, by start time; also the unassigned ones
        # (agent_id IS NULL), which a btree index finds as well.
        db.Index("ix_appointments_agent_starts", "agent_id", "starts_at"),
        # Overlap checks per location.
        db.Index("ix_appointments_location_starts", "location_id", "starts_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    contact_id = db.Column(db.Integer, db.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)
    location_id = db.Column(db.Integer, db.ForeignKey("store_locations.id", ondelete="CASCADE"), nullable=False)
    agent_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    starts_at = db.Column(UTCDateTime, nullable=False)
    ends_at = db.Column(UTCDateTime, nullable=False)
    status = enum_column(AppointmentStatus, nullable=False, default=AppointmentStatus.BOOKED)
    uid = db.Column(db.String(255), nullable=False, unique=True, default=_new_uid)
    sequence = db.Column(db.Integer, nullable=False, default=0)
    notes = db.Column(db.Text, nullable=False, default="")
    created_by_id = db.Column(db.Integer, db.ForeignKey("agents.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    cancelled_at = db.Column(UTCDateTime)

    store = db.relationship("Store")
    ticket = db.relationship("Ticket")
    contact = db.relationship("Contact")
    location = db.relationship("StoreLocation", lazy="joined")
    agent = db.relationship("Agent", foreign_keys=[agent_id], lazy="joined")
    created_by = db.relationship("Agent", foreign_keys=[created_by_id])

    @property
    def is_booked(self):
        return self.status == AppointmentStatus.BOOKED

    @property
    def unassigned(self):
        return self.status == AppointmentStatus.BOOKED and self.agent_id is None
