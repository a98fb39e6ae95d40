"""The contact form: embeddable page and JSON endpoint per store, configurable fields,
honeypot, rate limit, a ticket per submission and an optional acknowledgement."""
import re

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Message, OutboxItem, Ticket
from tests.factories import make_store


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def form(**extra):
    data = {"name": "Dana Fischer", "email": "dana@example.com", "subject": "Wholesale",
            "order_number": "10423", "message": "Do you sell to shops?"}
    data.update(extra)
    return data


def test_each_json_submission_is_a_new_form_ticket_in_the_queue(client, sent_events):
    store = make_store("Linen & Co")
    for n in range(2):
        response = client.post(f"/api/forms/{store.widget_key}", json=form(subject=f"Question {n}"))
        assert response.status_code == 201 and response.json == {"status": "received"}
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [(t.channel, t.subject, t.status) for t in tickets] == [("form", "Question 0", "open"),
                                                                    ("form", "Question 1", "open")]
    message = db.session.scalar(select(Message).where(Message.ticket_id == tickets[0].id))
    assert message.body_text == "Do you sell to shops?\n\nOrder number: 10423"
    assert message.meta["form"] == {"Order number": "10423"}
    assert tickets[0].contact.name == "Dana Fischer" and tickets[0].contact.email == "dana@example.com"
    assert any(e["event"] == "ticket.created" and e["room"] == f"store:{store.id}:agents" for e in sent_events)
    assert count(OutboxItem) == 0  # no acknowledgement unless the store asks for one


def test_fields_are_configurable_and_validated(client):
    store = make_store(contact_form={"fields": {"name": "off", "phone": "required", "subject": "off"}})
    config = client.get(f"/api/forms/{store.widget_key}").json
    assert [f["name"] for f in config["fields"]] == ["email", "phone", "order_number", "message"]
    missing = client.post(f"/api/forms/{store.widget_key}", json={"email": "not an address", "message": ""})
    assert missing.status_code == 422
    assert set(missing.json["errors"]) == {"email", "phone", "message"}
    ok = client.post(f"/api/forms/{store.widget_key}", json={"email": "a@example.com", "phone": "+49 30 1234",
                                                            "message": "Call me", "name": "ignored"})
    assert ok.status_code == 201
    assert db.session.scalar(select(Message.body_text)) == "Call me\n\nPhone: +49 30 1234"
    assert count(Ticket) == 1


def test_a_lone_surrogate_in_the_json_is_400_not_500(client):
    store = make_store()
    response = client.post(f"/api/forms/{store.widget_key}", json=form(client_id="\ud800"))
    assert response.status_code == 400 and "_body" in response.json["errors"]
    assert count(Ticket) == 0


def test_an_empty_required_field_gets_one_clear_message(client):
    store = make_store()
    empty = client.post(f"/api/forms/{store.widget_key}", json={"name": "", "email": " ", "message": "",
                                                               "subject": ""})
    assert empty.status_code == 422
    assert empty.json["errors"] == {field: ["This field is required."] for field in ("name", "email", "message")}
    page = client.post(f"/form/{store.widget_key}", data={"name": "Dana", "email": "dana@", "message": "Hi"})
    assert page.status_code == 422 and "Not a valid email address." in page.get_data(as_text=True)
    assert "This field is required." not in page.get_data(as_text=True)


def test_the_honeypot_pretends_and_stores_nothing(client):
    store = make_store()
    response = client.post(f"/api/forms/{store.widget_key}", json=form(website="http://spam.example"))
    assert response.status_code == 201 and count(Ticket) == 0


def test_submissions_are_rate_limited_per_address(client):
    store = make_store()
    codes = [client.post(f"/api/forms/{store.widget_key}", json=form(subject=f"s{n}")).status_code
             for n in range(7)]
    assert codes[:5] == [201] * 5 and codes[5:] == [429, 429]
    assert count(Ticket) == 5


def test_an_acknowledgement_email_when_the_store_wants_one(client):
    store = make_store(contact_form={"acknowledge": True})
    client.post(f"/api/forms/{store.widget_key}", json=form())
    (item,) = db.session.scalars(select(OutboxItem)).all()
    assert item.payload["to"] == "dana@example.com" and item.payload["automatic"] is True
    assert "We have received your message" in item.payload["text"]
    assert item.payload["subject"].startswith("Re: Wholesale [#")


def test_the_embeddable_page_posts_without_script_and_can_be_framed(client):
    store = make_store("Linen & Co")
    page = client.get(f"/form/{store.widget_key}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Contact Linen &amp; Co" in html and 'name="website"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src" not in csp and "default-src 'none'" in csp
    bad = client.post(f"/form/{store.widget_key}", data=form(email="nope"))
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert "Do you sell to shops?" in bad.get_data(as_text=True)  # what was typed is kept
    done = client.post(f"/form/{store.widget_key}", data=form())
    assert done.status_code == 200 and "Thank you!" in done.get_data(as_text=True)
    assert count(Ticket) == 1


def test_the_script_tag_inserts_the_iframe(client):
    store = make_store()
    store.domain = "shop.example"
    db.session.commit()
    js = client.get(f"/form/{store.widget_key}/embed.js")
    assert js.mimetype == "application/javascript"
    assert f'/form/{store.widget_key}"' in js.get_data(as_text=True)
    page = client.get(f"/form/{store.widget_key}")
    assert "frame-ancestors 'self' shop.example *.shop.example" in page.headers["Content-Security-Policy"]
    assert client.get("/form/wk_unknown").status_code == 404


def test_a_refused_page_submission_focuses_the_first_field_in_error(client):
    store = make_store()
    html = client.post(f"/form/{store.widget_key}", data=form(name="", email="nope")).get_data(as_text=True)
    assert html.count("autofocus") == 1
    assert re.search(r'<input id="f-name"[^>]* autofocus', html), "the first field in error (name) takes the focus"
    assert "autofocus" not in client.get(f"/form/{store.widget_key}").get_data(as_text=True)


def test_refused_submissions_do_not_count_against_the_rate_limit(client):
    store = make_store()
    # A shopper correcting mistakes the form pointed out is never locked out.
    for _ in range(6):
        assert client.post(f"/form/{store.widget_key}", data=form(email="nope")).status_code == 422
        assert client.post(f"/api/forms/{store.widget_key}", json=form(email="nope")).status_code == 422
    assert client.post(f"/form/{store.widget_key}", data=form()).status_code == 200
    assert client.post(f"/api/forms/{store.widget_key}", json=form()).status_code == 201
    assert count(Ticket) == 2
    # A script posting invalid forms is still held back, by the limit on every attempt.
    codes = [client.post(f"/api/forms/{store.widget_key}", json=form(email="nope")).status_code for _ in range(30)]
    assert codes[-1] == 429 and codes.count(422) == 30 - 7, codes
