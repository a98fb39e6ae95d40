"""All models, importable from one place (Alembic autogenerate reads them from here)."""
from helpdesk.models.base import (  # noqa: F401
    CONTINUABLE_STATUSES,
    ENDED_STATUSES,
    AuthorType,
    Availability,
    Channel,
    MessageKind,
    Role,
    TicketStatus,
    utcnow,
)
from helpdesk.models.outbox import OutboxItem  # noqa: F401
from helpdesk.models.people import Agent, ApiToken, Contact, ContactIdentity, PageView, Team, Visitor, agent_stores, agent_teams  # noqa: F401
from helpdesk.models.stores import DEFAULT_STORE_SETTINGS, Product, Store  # noqa: F401
from helpdesk.models.tickets import Attachment, Handoff, Message, SavedReply, Tag, Ticket, ticket_tags  # noqa: F401
from helpdesk.models.email import EmailAutoReply, EmailHeader, InboundEmail, Mailbox, MailboxFolder  # noqa: F401,E402
from helpdesk.models.commerce import Attribution, CommerceCustomer, Order, OrderLine, OrderRefund, StoreConnector, WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: F401
from helpdesk.models.appointments import Appointment, AppointmentStatus, StoreLocation  # noqa: F401
from helpdesk.models.posts import FaqEntry, Post, PostAudience, PostRead, RecurringQuestionsReport  # noqa: F401
from helpdesk.models.assist import AssistRequest  # noqa: F401,E402
from helpdesk.models.academy import PRACTICE_STEPS, AcademyProgress, PolicyAcceptance, StorePolicy  # noqa: F401,E402
from helpdesk.models.inactivity import ChatSilence  # noqa: F401,E402
# After the models: SQLite's search tables come with the tables they index (db.create_all).
import helpdesk.models.search  # noqa: F401,E402
