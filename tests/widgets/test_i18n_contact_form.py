"""The contact form in the shopper's language all the way into their mailbox: the subject a
ticket gets without one and the labels of the extra fields are written in the language the
form was filled in, so the acknowledgement and every reply carry them in that language."""
from sqlalchemy import select

from helpdesk.actions.messages import reply
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from tests.factories import make_agent, make_store
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture


def _submit(client, store, lang):
    return client.post(f"/api/forms/{store.widget_key}?lang={lang}", headers={"Accept-Language": "en"},
                       json={"name": "Jonas", "email": f"jonas.{lang}@example.test", "order_number": "10423",
                             "phone": "+49 30 1234", "message": "Wo bleibt meine Bestellung? Ich warte schon lange."})


def test_a_german_shoppers_form_ticket_and_mail_speak_german(app, client, smtp_server):  # noqa: F811
    store = make_store("Socken GmbH", languages=["en", "de", "uk"],
                       contact_form={"acknowledge": True, "fields": {"phone": "optional"}})
    assert _submit(client, store, "de").status_code == 201
    ticket = db.session.scalar(select(Ticket))
    assert ticket.subject == "Kontaktformular"
    message = db.session.scalar(select(Message).where(Message.ticket_id == ticket.id))
    assert message.body_text.endswith("\n\nBestellnummer: 10423\nTelefon: +49 30 1234")
    (ack,) = smtp_server.wait_for(1)
    assert "Kontaktformular" in str(ack["Subject"]) and "Contact form" not in str(ack["Subject"])
    reply(ticket, make_agent("Max"), "Ihr Paket ist unterwegs.")
    (answer,) = smtp_server.wait_for(2)[1:]
    assert "Kontaktformular" in str(answer["Subject"])


def test_ukrainian_and_english_shoppers_get_their_own_labels(app, client):
    store = make_store(languages=["en", "de", "uk"], contact_form={"fields": {"phone": "optional"}})
    assert _submit(client, store, "uk").status_code == 201
    assert _submit(client, store, "en").status_code == 201
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [t.subject for t in tickets] == ["Контактна форма", "Contact form"]
    texts = [db.session.scalar(select(Message.body_text).where(Message.ticket_id == t.id)) for t in tickets]
    assert "Номер замовлення: 10423\nТелефон: +49 30 1234" in texts[0]
    assert "Order number: 10423\nPhone: +49 30 1234" in texts[1]
