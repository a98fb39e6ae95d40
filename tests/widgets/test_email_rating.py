"""The public rating page of email and contact-form customers (widgets/email_rating.py),
through the Flask test client: the link of the email opens it with the stars chosen; the
widget's rules apply (a form refused keeps what was typed); a rating replaces the last one;
a link that is altered, expired or another ticket's is a page that says so, never a 500;
agents hear of the rating and the ratings report counts it."""
import html
import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from helpdesk.actions.contacts import set_blocked
from helpdesk.actions.ratings import LINK_MAX_AGE, rating_token
from helpdesk.actions.tickets import update_ticket
from helpdesk.extensions import db
from helpdesk.models import OutboxItem, Ticket
from inbox import rating_reports
from tests.factories import make_agent, make_store, make_ticket

LINK = re.compile(r"https?://\S+/rate/\d+/[\w.-]+\?stars=\d")


@pytest.fixture
def store():
    return make_store("Linen & Co", languages=["en", "de"])


@pytest.fixture
def agent():
    return make_agent("Sam Carter", role="admin")


def _resolved(store, agent, channel="email"):
    ticket = make_ticket(store, channel=channel, text="Where is my parcel?")
    update_ticket(ticket, agent, assignee_id=agent.id, status="resolved")
    return db.session.get(Ticket, ticket.id)


def _links(ticket):
    """The star links of the ticket's rating email as queued: {stars: path with query}."""
    (text,) = [p["text"] for p in db.session.scalars(select(OutboxItem.payload).where(OutboxItem.kind == "email"))
               if p["ticket_id"] == ticket.id and f"/rate/{ticket.id}/" in p["text"]]  # any language
    out = {}
    for url in LINK.findall(text):
        parts = urlsplit(url)
        out[int(parts.query.rpartition("=")[2])] = f"{parts.path}?{parts.query}"
    assert sorted(out) == [1, 2, 3, 4, 5] and all(f"/rate/{ticket.id}/" in u for u in out.values())
    return out


def _page(response):
    return response.get_data(as_text=True)


def _checked_star(page):
    found = re.findall(r'<input type="radio" name="rating" value="(\d)"[^>]*\bchecked\b', page)
    return int(found[0]) if found else None


def _stored(ticket_id):
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    return ticket.rating, ticket.rating_reasons, ticket.rating_comment


def test_the_link_opens_the_page_with_its_stars_chosen_and_stores_nothing_yet(client, store, agent):
    ticket = _resolved(store, agent)
    response = client.get(_links(ticket)[3])
    assert response.status_code == 200
    page = _page(response)
    assert _checked_star(page) == 3
    assert "How did we do?" in page and "Your conversation with Linen &amp; Co" in page
    # The widget's reasons, both lists (CSS shows those of the stars chosen), and a comment.
    for value in ("fast_answer", "solved", "slow_answer", "wrong_info", "other"):
        assert f'value="{value}"' in page
    assert "What could be better? Choose at least one." in page and "What went well? (optional)" in page
    assert '<fieldset class="stars"' in page and "<legend>Rating</legend>" in page
    assert '<label class="field" for="comment">' in page
    # Opening a link (a mail scanner does) rates nothing.
    assert _stored(ticket.id) == (None, None, None)
    # The token stays on this page: no referrer, no cache, no framing, no script.
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_rating_two_stars_with_a_reason_and_a_comment_is_stored_as_a_chat_rating_is(
        client, store, agent, sent_events):
    ticket = _resolved(store, agent)
    path = _links(ticket)[2]
    comment = '<b>Late</b> <script>alert("x")</script> parcel'
    response = client.post(path, data={"rating": "2", "reason_bad": ["slow_answer", "not_solved"],
                                       "reason_good": ["friendly"], "comment": comment})
    assert response.status_code == 200
    page = _page(response)
    assert "Thanks for your feedback!" in page and "2 stars" in page
    # The same columns as a chat rating; the reasons of the other list (hidden) do not count.
    assert _stored(ticket.id) == (2, ["slow_answer", "not_solved"], comment)
    updated = [e for e in sent_events if e["event"] == "ticket.updated" and e["payload"]["changes"] == ["rating"]]
    assert {e["room"] for e in updated} == {f"store:{store.id}:agents", f"ticket:{ticket.id}"}
    assert updated[0]["payload"]["ticket"]["rating"] == 2

    # Opened again, the page shows the rating given; the comment as text, never markup.
    again = _page(client.get(path))
    assert _checked_star(again) == 2
    assert "<script>alert" not in again and html.escape(comment, quote=False) in again.replace("&#34;", '"')
    assert "You rated this conversation before" in again


def test_a_low_rating_without_a_reason_comes_back_with_the_message_at_the_field_and_nothing_lost(
        client, store, agent):
    ticket = _resolved(store, agent)
    response = client.post(_links(ticket)[4], data={"rating": "4", "comment": "Mostly fine, but…"})
    assert response.status_code == 422
    page = _page(response)
    assert _checked_star(page) == 4
    assert "Mostly fine, but…</textarea>" in page
    assert re.search(r'<fieldset class="reasons reasons-bad" aria-invalid="true" aria-describedby="e-reasons">', page)
    assert '<p class="err" id="e-reasons">Tell us what went wrong: choose a reason.</p>' in page
    assert re.search(r'name="reason_bad" value="slow_answer" autofocus', page)
    assert _stored(ticket.id) == (None, None, None)

    missing = client.post(_links(ticket)[4], data={"reason_bad": "other", "comment": "no stars"})
    assert missing.status_code == 422
    page = _page(missing)
    assert '<p class="err" id="e-rating">Choose 1 to 5 stars.</p>' in page
    assert 'value="other" checked' in page and "no stars</textarea>" in page


def test_rating_again_replaces_the_earlier_rating(client, store, agent):
    ticket = _resolved(store, agent)
    links = _links(ticket)
    assert client.post(links[1], data={"rating": "1", "reason_bad": "unfriendly", "comment": "rude"}).status_code == 200
    assert client.post(links[5], data={"rating": "5", "reason_good": "solved"}).status_code == 200
    assert _stored(ticket.id) == (5, ["solved"], "")
    # Only one rating per conversation reaches the report, the latest.
    report = rating_reports.rating_report(agent, by="store")
    (total,) = report["totals"]
    assert total["count"] == 1 and total["distribution"]["5"] == 1 and total["distribution"]["1"] == 0
    assert total["reasons"]["solved"] == 1 and total["reasons"]["unfriendly"] == 0


def test_a_link_from_the_email_counts_in_the_ratings_report_for_the_resolving_agent(client, store, agent, app):
    from tests.api.conftest import api_for

    ticket = _resolved(store, agent)
    client.post(_links(ticket)[2], data={"rating": "2", "reason_bad": "slow_answer"})
    body = api_for(app, agent).get("/reports/ratings", query={"by": "agent"}).get_json()
    (row,) = body["totals"]
    assert row["group"]["name"] == "Sam Carter" and row["count"] == 1
    assert row["reasons"]["slow_answer"] == 1
    # And the ticket, as agents read it, carries its stars like a chat's.
    assert api_for(app, agent).get(f"/tickets/{ticket.id}").get_json()["rating"] == 2


def test_the_page_speaks_the_contacts_language(client, store, agent):
    from helpdesk.actions.contacts import find_or_create_contact

    contact = find_or_create_contact(store, email="jonas@example.test", name="Jonas", locale="de")
    ticket = make_ticket(store, contact, channel="email")
    update_ticket(ticket, agent, status="resolved")
    page = _page(client.get(_links(ticket)[3], headers={"Accept-Language": "en"}))
    assert '<html lang="de"' in page
    assert "Bewertung senden" in page  # "Send rating", as the widget says it in German
    subjects = [p["subject"] for p in db.session.scalars(select(OutboxItem.payload).where(OutboxItem.kind == "email"))
                if p["ticket_id"] == ticket.id]
    assert subjects == [f"Wie war unser Service? [#{ticket.id}]"]  # the email asked in German too


# ---- links that do not work ----------------------------------------------------------------

def _old_token(ticket, monkeypatch):
    # Signed 31 days ago, by the real code: only the clock differs.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - LINK_MAX_AGE - 86400)
    token = rating_token(ticket)
    monkeypatch.undo()
    return token


def test_an_altered_expired_or_foreign_link_is_a_readable_error_page(client, store, agent, monkeypatch):
    ticket = _resolved(store, agent)
    other = _resolved(store, agent)
    path = _links(ticket)[3]
    token = path.split("/")[3].split("?")[0]
    cases = {
        f"/rate/{ticket.id}/{token[:-3]}abc": (400, "This rating link is not valid."),
        f"/rate/{ticket.id}/not-a-token": (400, "This rating link is not valid."),
        f"/rate/{ticket.id}/{'x' * 600}": (400, "This rating link is not valid."),
        f"/rate/{ticket.id}/{_old_token(ticket, monkeypatch)}?stars=3": (400, "This rating link has expired."),
        f"/rate/{other.id}/{token}?stars=3": (404, "No such conversation."),  # the token of another ticket
        f"/rate/999999/{token}": (404, "No such conversation."),
    }
    for url, (status, message) in cases.items():
        for method in ("get", "post"):
            response = getattr(client, method)(url, data={"rating": "5"} if method == "post" else None)
            assert response.status_code == status, (url, method)
            page = _page(response)
            assert f"<h1>{message}" in page and "reply to the email instead" in page, url
            assert response.mimetype == "text/html"
    assert client.get(f"/rate/99999999999/{token}").status_code == 404  # past the id range: no 500
    assert _stored(ticket.id) == (None, None, None) and _stored(other.id) == (None, None, None)


def test_a_token_signed_for_another_purpose_is_no_rating_link(client, store, agent, app):
    from itsdangerous import URLSafeTimedSerializer

    ticket = _resolved(store, agent)
    forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="helpdesk.visitor").dumps(
        {"t": ticket.id, "c": ticket.contact_id})
    assert client.get(f"/rate/{ticket.id}/{forged}").status_code == 400


def test_the_link_still_works_when_the_customers_duplicate_contact_was_merged(client, store, agent):
    from helpdesk.actions.contacts import merge_contacts
    from tests.factories import make_contact

    ticket = _resolved(store, agent)
    path = _links(ticket)[4]
    first, second = make_contact(store, name="Dana (work)"), make_contact(store, name="Dana")
    merge_contacts(first, ticket.contact, agent)  # the ticket's contact into another...
    merge_contacts(second, first, agent)  # ...and that one into a third: the ticket followed
    assert client.post(path, data={"rating": "4", "reason_bad": "slow_answer"}).status_code == 200
    assert _stored(ticket.id)[0] == 4
    # Another customer's link still opens nothing of theirs.
    other = _resolved(store, agent)
    assert client.get(_links(other)[4].replace(f"/rate/{other.id}/", f"/rate/{ticket.id}/")).status_code == 404


def test_stars_outside_1_to_5_in_the_link_choose_none(client, store, agent):
    ticket = _resolved(store, agent)
    path = _links(ticket)[3].replace("stars=3", "stars=9")
    assert _checked_star(_page(client.get(path))) is None
    assert client.post(path, data={"rating": "9", "reason_bad": "other"}).status_code == 422


def test_a_blocked_customers_link_stops_working(client, store, agent):
    ticket = _resolved(store, agent)
    path = _links(ticket)[5]
    set_blocked(ticket.contact, agent)
    response = client.post(path, data={"rating": "5"})
    assert response.status_code == 404 and _stored(ticket.id) == (None, None, None)


def test_ratings_are_rate_limited_per_address(client, store, agent):
    ticket = _resolved(store, agent)
    path = _links(ticket)[5]
    statuses = [client.post(path, data={"rating": "5"}).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
