"""helpdesk.schemas: the payloads built without a second dump read as the schema's dump."""
import io

from PIL import Image

from helpdesk.actions.attachments import store_upload
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.schemas import MessageSchema, PublicMessageSchema
from tests.factories import make_agent, make_contact, make_store, make_ticket


def _png():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_the_shoppers_view_derived_from_the_agents_view_is_the_shoppers_dump():
    store = make_store()
    agent = make_agent("Sam Carter")
    contact = make_contact(store, email="dana@example.com")
    ticket = make_ticket(store, contact)
    upload = store_upload(store.id, f"contact:{contact.id}", "photo.png", _png(), "image/png")
    messages = [
        ticket.messages[0],
        receive_customer_message(store, contact, "chat", "<b>and</b> a photo", attachment_ids=[upload.id])[0],
        reply(ticket, agent, "Here is the one you asked about",
              meta={"product_card": {"id": 7, "title": "Blue jacket", "price": "49.00", "currency": "EUR"}}),
        reply(ticket, agent, "A visit", meta={"appointment": {"heading": "Visit booked", "when": "Friday 10:00"}}),
        add_note(ticket, agent, "internal: VIP"),
    ]
    assert messages[1].attachments and messages[2].meta["product_card"]
    agents, public = MessageSchema(), PublicMessageSchema()
    for message in messages:
        derived = public.from_agents_view(agents.dump(message), message)
        assert derived == public.dump(message)
        assert "meta" not in derived
