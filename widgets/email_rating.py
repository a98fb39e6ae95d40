"""The rating page an email or contact-form customer reaches from the links of their "How did
we do?" email (helpdesk.actions.ratings.request_email_rating). Public: the signed token in
the address is the only credential, and it names one ticket and its contact.

    GET  /rate/<ticket id>/<token>?stars=N   the form, N stars chosen (the link clicked)
    POST /rate/<ticket id>/<token>           store the rating (again: it replaces the last)

A GET never stores anything: mail scanners open links before people do. The page works
without a script (a plain form; its reasons follow the chosen stars with CSS alone), in the
contact's language, the one their email was written in.
"""
import functools
import secrets

from flask import Blueprint, Response, render_template, request

from helpdesk import i18n
from helpdesk.actions import ActionError
from helpdesk.actions.ratings import (
    MAX_COMMENT_LENGTH,
    NEGATIVE_REASONS,
    POSITIVE_REASONS,
    REASON_LABELS,
    rate_by_email,
    ticket_for_rating,
)
from helpdesk.extensions import csrf, limiter

bp = Blueprint("email_rating", __name__)
# The token in the address authenticates, never a cookie: nothing for a forged request to ride on.
csrf.exempt(bp)

#: Ratings sent per client address (a customer changing their mind a few times is fine).
RATE = "10/minute;60/hour"
#: Pages shown per client address: a token is not guessed by asking often.
VIEWS = "60/minute"
#: The fields of the form whose messages show at the field; any other refusal is about the link.
_FORM_FIELDS = ("rating", "reasons")


def _stars(value):
    """1-5 from a form or the link, else None (the form then asks for stars)."""
    text = (value or "").strip()
    return int(text) if text in ("1", "2", "3", "4", "5") else None


def _response(html, status=200):
    response = Response(html, status=status, mimetype="text/html")
    nonce = request.environ["helpdesk.rating_nonce"]
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    # The address carries the customer's token: no other site hears of it, no cache keeps the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _render(template, status=200, **context):
    request.environ["helpdesk.rating_nonce"] = nonce = secrets.token_urlsafe(12)
    html = render_template(template, nonce=nonce, lang=i18n.current(), **context)
    return _response(html, status)


def _refused(exc):
    # A link that does not work is the customer's dead end: say why in words, in their
    # browser's language (the ticket, and so its contact's, is unknown or not theirs).
    i18n.use_locale(request.accept_languages.best_match([c.replace("_", "-") for c in i18n.available()]))
    return _render("rating/link_error.html", status=exc.status, message=exc.message)


def _form(ticket, token, values, errors=None, status=200):
    return _render("rating/page.html", status=status, ticket=ticket, store=ticket.store, token=token, v=values,
                   errors=errors or {}, positive=[(r, REASON_LABELS[r]) for r in POSITIVE_REASONS],
                   negative=[(r, REASON_LABELS[r]) for r in NEGATIVE_REASONS], max_comment=MAX_COMMENT_LENGTH)


def _linked_ticket(view):
    """``view(ticket, token)`` gets the ticket its link names, and speaks its contact's
    language; a link that does not work gets the page saying why instead."""
    @functools.wraps(view)
    def wrapper(ticket_id, token):
        try:
            ticket = ticket_for_rating(ticket_id, token)
        except ActionError as exc:
            return _refused(exc)
        i18n.use_locale(i18n.contact_locale(ticket.contact, ticket.store))
        return view(ticket, token)
    return wrapper


@bp.get("/rate/<int:ticket_id>/<token>")
@limiter.limit(VIEWS)
@_linked_ticket
def page(ticket, token):
    # The stars of the link clicked; without them (the address typed again), the rating given.
    stars = _stars(request.args.get("stars")) or ticket.rating
    reasons = list(ticket.rating_reasons or []) if ticket.rating is not None and stars == ticket.rating else []
    values = {"rating": stars, "reason_good": reasons, "reason_bad": reasons,
              "comment": ticket.rating_comment or ""}
    return _form(ticket, token, values, errors=None)


@bp.post("/rate/<int:ticket_id>/<token>")
@limiter.limit(RATE)
@_linked_ticket
def submit(ticket, token):
    form = request.form
    values = {"rating": _stars(form.get("rating")), "reason_good": form.getlist("reason_good"),
              "reason_bad": form.getlist("reason_bad"), "comment": form.get("comment", "")}
    # Both lists of reasons are in the form (CSS shows the one for the stars chosen): the
    # ones that count are those of the stars sent.
    reasons = values["reason_good"] if values["rating"] == 5 else values["reason_bad"]
    try:
        rate_by_email(ticket.id, token, values["rating"], reasons, values["comment"])
    except ActionError as exc:
        if exc.field not in _FORM_FIELDS:
            return _refused(exc)
        return _form(ticket, token, values, errors={exc.field: [exc.message]}, status=422)
    return _render("rating/thanks.html", store=ticket.store, ticket=ticket)
