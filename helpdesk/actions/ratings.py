"""Ratings: the stars (1-5), reasons and comment a customer gives a conversation.

Two ways in, one way to store: a live chat's shopper rates in the widget when the chat ends
(``helpdesk.actions.visitors.rate_ticket``); an email or contact-form customer gets one
"How did we do?" email when an agent resolves their ticket (``request_email_rating``) and
rates on a public page its links open (``rate_by_email``, widgets.email_rating). Both go
through ``record_rating``: the same validation, the same columns, the same event, so the
ratings report and the webhooks see one kind of rating.
"""
import logging

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from helpdesk import events
from helpdesk.actions import ActionError, NotFound, action
from helpdesk.actions.tickets import add_event
from helpdesk.extensions import db
from helpdesk.models import AuthorType, Channel, Contact, Message, MessageKind, Ticket
from helpdesk.text import clean_text

log = logging.getLogger(__name__)

#: What a 5-star rating may add (optional), and what a rating of 4 or fewer must name (one at
#: least). The widget, the rating page and the ratings report (one column each) use these.
POSITIVE_REASONS = ("fast_answer", "friendly", "knowledgeable", "solved")
NEGATIVE_REASONS = ("slow_answer", "unfriendly", "not_solved", "wrong_info", "other")
#: Each reason in words, as the widget asks it (templates/widgets/frame.html): the email
#: rating page, the ticket's rating in the inbox and the ratings report show these.
REASON_LABELS = {
    "fast_answer": _l("Fast answer"), "friendly": _l("Friendly"), "knowledgeable": _l("Knowledgeable"),
    "solved": _l("Solved my problem"), "slow_answer": _l("Slow answer"), "unfriendly": _l("Unfriendly"),
    "not_solved": _l("Not solved"), "wrong_info": _l("Wrong information"), "other": _l("Something else"),
}
#: Longest comment kept with a rating, in characters.
MAX_COMMENT_LENGTH = 2000

#: The timeline event that records a rating request email: there is at most one per ticket,
#: so a ticket resolved, reopened and resolved again is not asked twice.
REQUESTED_EVENT = "rating_requested"
#: The conversations whose customer is asked by email (a live chat asks in the widget).
EMAILED_CHANNELS = (Channel.EMAIL, Channel.FORM)
#: How long the links of a rating request work, in seconds: rating again within it replaces
#: the earlier rating (the customer changed their mind).
LINK_MAX_AGE = 30 * 24 * 3600
LINK_DAYS = LINK_MAX_AGE // (24 * 3600)
# A purpose of its own: a token signed for anything else (a visitor, an attachment) is no
# rating link, even though the same SECRET_KEY signs them all.
_SALT = "helpdesk.email-rating"
#: The public page's endpoint (widgets.email_rating), which the email's links open.
PAGE_ENDPOINT = "email_rating.page"


# ---- the rating itself -------------------------------------------------------------------

def check_rating(rating, reasons=()):
    """The rules of a rating, wherever it comes from: 1-5 stars; 5 takes optional positive
    reasons, 4 or fewer needs at least one negative (constructive) reason. Returns the
    reasons as a list; refuses with an ActionError naming ``rating`` or ``reasons``."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ActionError("Choose 1 to 5 stars.", "rating")
    reasons = [r for r in (reasons or []) if isinstance(r, str)]
    allowed = POSITIVE_REASONS if rating == 5 else NEGATIVE_REASONS
    if any(r not in allowed for r in reasons):
        raise ActionError("Unknown reason.", "reasons")
    if rating <= 4 and not reasons:
        raise ActionError("Tell us what went wrong: choose a reason.", "reasons")
    return reasons


def record_rating(ticket, rating, reasons=(), comment=""):
    """Store ``ticket``'s rating, replacing an earlier one (validated by ``check_rating``; the
    comment is plain text, cut at MAX_COMMENT_LENGTH). Part of the calling action's
    transaction. Emits ``ticket.updated`` with ``rating`` (the ``ticket.rated`` webhook)."""
    from helpdesk.actions.contacts import erased_now

    reasons = check_rating(rating, reasons)
    if erased_now(ticket.contact_id):
        # Erased while the rating was on its way: the comment would put words back.
        raise NotFound("No such conversation.", "ticket_id")
    ticket.rating = rating
    ticket.rating_reasons = reasons
    ticket.rating_comment = clean_text(comment, MAX_COMMENT_LENGTH)
    db.session.flush()
    events.ticket_updated(ticket, {"rating"})
    return ticket


# ---- asking by email -----------------------------------------------------------------------

def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def rating_token(ticket):
    """The signed token of ``ticket``'s rating links: that ticket and its contact, nothing else."""
    return _serializer().dumps({"t": ticket.id, "c": ticket.contact_id})


def rating_links(ticket, token=None):
    """``[(stars, absolute URL)]``, 5 to 1: the rating page with those stars chosen. Built from
    PUBLIC_URL, as the mail may be written outside any request (a job, the API)."""
    token = token or rating_token(ticket)
    adapter = current_app.url_map.bind("")
    base = current_app.config["PUBLIC_URL"]
    return [(stars, base + adapter.build(PAGE_ENDPOINT, {"ticket_id": ticket.id, "token": token, "stars": stars}))
            for stars in range(5, 0, -1)]


def already_asked(ticket):
    return db.session.scalar(select(Message.id).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.EVENT,
        Message.meta["event"].as_string() == REQUESTED_EVENT).limit(1)) is not None


def _last_mail_was_automatic(ticket):
    # An out-of-office or a list's mail that opened the ticket (an answer to our reply is an
    # event, never a message): nobody would read the question, or a robot would answer it.
    meta = db.session.scalar(select(Message.meta).where(
        Message.ticket_id == ticket.id, Message.author_type == AuthorType.CONTACT,
        Message.kind == MessageKind.MESSAGE).order_by(Message.id.desc()).limit(1))
    return bool(((meta or {}).get("email") or {}).get("auto"))


def why_not_ask(ticket):
    """Why ``ticket``'s customer gets no rating request now (a short reason for the log), or
    None when they do."""
    contact = ticket.contact
    if Channel(ticket.channel) not in EMAILED_CHANNELS:
        return "channel"  # live chats ask in the widget; API tickets have no customer mail of ours
    if ticket.is_practice:
        return "practice"
    if not ticket.store.setting("rating_email"):
        return "store setting"
    if contact is None or not contact.email or contact.erasure is not None:
        return "no address"
    if contact.blocked:
        return "blocked"
    if contact.email_failing:
        return "address failing"
    if ticket.rating is not None or already_asked(ticket):
        return "asked before"
    if _last_mail_was_automatic(ticket):
        return "automatic mail"
    return None


def request_email_rating(ticket, by_agent=None):
    """An agent resolved an email or contact-form ticket: ask its customer, once per ticket,
    "How did we do?" -- an automatic email through the outbox (threaded on the ticket, in the
    contact's language, with the store's signature) whose five links open the rating page.
    Nothing when ``why_not_ask`` says so. Part of the calling action's transaction
    (``tickets.change_status``). Records the request as a ``rating_requested`` event on the
    timeline (``message.created`` to agents). Returns the outbox item, or None."""
    from helpdesk.actions.email import queue_ticket_email

    reason = why_not_ask(ticket)
    if reason is not None:
        log.debug("no rating request", extra={"ticket_id": ticket.id, "reason": reason})
        return None
    item = queue_ticket_email(
        ticket, template="email/rating_request", automatic=True,
        context={"rating_links": rating_links(ticket), "link_days": LINK_DAYS},
        subject=lambda: _("How did we do? [#%(ticket)s]", ticket=ticket.id))
    # The text is for agents, in the language of the one who resolved it (as other events).
    add_event(ticket, REQUESTED_EVENT, by_agent, text=_("Rating requested by email"),
              contact_id=ticket.contact_id, outbox_id=item.id)
    return item


def ticket_for_rating(ticket_id, token):
    """The ticket a rating link names, checked: a forged or altered token (400), one past
    LINK_MAX_AGE (400), one for another ticket, a ticket gone or now another customer's (404)
    are refused with an ActionError a customer can read."""
    if not isinstance(token, str) or len(token) > 500:
        raise ActionError("This rating link is not valid. Copy the whole link from the email.", "token")
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise ActionError("This rating link has expired.", "token") from None
    except BadSignature:
        raise ActionError("This rating link is not valid. Copy the whole link from the email.", "token") from None
    if not isinstance(data, dict) or data.get("t") != ticket_id:
        raise NotFound("No such conversation.", "ticket_id")
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or (ticket.contact_id != data.get("c") and not _merged_into(data.get("c"), ticket.contact_id)):
        raise NotFound("No such conversation.", "ticket_id")
    if ticket.contact.erasure is not None or ticket.contact.blocked:
        raise NotFound("No such conversation.", "ticket_id")
    return ticket


def _merged_into(contact_id, into_id):
    """Whether contact ``contact_id`` was merged into ``into_id`` (directly or through the
    contacts it was merged into since): an agent folded a customer's duplicate into them, and
    their conversations moved along (contacts.merge_contacts)."""
    for _hop in range(5):
        if not isinstance(contact_id, int):
            return False
        contact_id = db.session.scalar(select(Contact.merged_into_id).where(Contact.id == contact_id))
        if contact_id == into_id:
            return True
    return False


@action
def rate_by_email(ticket_id, token, rating, reasons=(), comment=""):
    """A customer rates from the link of a rating request email: checked as
    ``ticket_for_rating``, stored as ``record_rating`` (an earlier rating is replaced while
    the link works). Emits ``ticket.updated`` with ``rating``."""
    ticket = ticket_for_rating(ticket_id, token)
    return record_rating(ticket, rating, reasons, comment)
