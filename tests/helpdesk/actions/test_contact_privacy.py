"""A customer's data on request: the export holds everything about them (never internal notes),
and erasure leaves nothing personal -- not in the rows, the search indexes (SQLite's FTS5 and
its shadow tables; PostgreSQL when TEST_DATABASE_URL is set), the files on disk or a later
export -- while tickets, ratings, orders and sales keep their numbers."""
import io
import json
import os
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import SimpleNamespace

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from connectors.base import standard_headers
from helpdesk.actions import Conflict, Forbidden, NotFound
from helpdesk.actions.appointments import book_appointment
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.commerce import connect_store, create_webhook_subscription
from helpdesk.actions.contacts import (
    erase_contact,
    export_contact_data,
    find_or_create_contact,
    merge_contacts,
    update_contact,
)
from helpdesk.actions.email import create_mailbox, ingest_email, quarantine
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.actions.tickets import transfer
from helpdesk.actions.visitors import (
    ensure_contact,
    identify,
    identity_signature,
    rate_ticket,
    record_page_view,
    start_session,
)
from helpdesk.extensions import db
from helpdesk.models import (
    Appointment,
    Attachment,
    Attribution,
    CommerceCustomer,
    Contact,
    ContactIdentity,
    EmailAutoReply,
    EmailHeader,
    Handoff,
    InboundEmail,
    Message,
    Order,
    OutboxItem,
    PageView,
    Ticket,
    Visitor,
    WebhookDelivery,
    utcnow,
)
from helpdesk.models.people import ERASED
from inbox import queries
from tests.factories import make_agent, make_contact, make_location, make_store, make_visitor

#: Words that appear nowhere but in what Mira wrote, or what was written about her.
PHRASE = "qxzjv periwinkle teapot"
NOTE = "Mira wants the wkvqz discount"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) MiraBrowser/77.0"
PERSONAL = ["mira", "kowalski", "601234567", "601 234", "qxzjv", "periwinkle", "wkvqz", "mirabrowser", "cus_8842",
            "shopper-77", "/account/mira", "lovely chat"]


def png(color):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, "PNG")
    return buf.getvalue()


def mail(body, subject="Periwinkle teapot question", frm="Mira Kowalski <mira.k@example.com>"):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, "support@shop.test", subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes()


def order_body():
    """The generic connector's order fixture, placed just now (so the chat before it earns credit)."""
    from tests.connectors.commerce import fixture

    data = fixture("generic", "order_created.json")
    data["data"]["placed_at"] = data["data"]["updated_at"] = utcnow().isoformat()
    return json.dumps(data, default=str).encode()


@pytest.fixture
def mira(client, admin):
    """Mira has talked to the shop every way there is; Olek is another customer of the store."""
    store = make_store("Ceramika")
    agent = make_agent(name="Sam Support")
    mailbox = create_mailbox(store, "support@shop.test")
    # The shop's systems subscribe to events: copies wait in the outbox (nobody listens there).
    create_webhook_subscription(store, "http://127.0.0.1:9/hooks", ["ticket", "message", "rating"])
    # From the shop: the order (and her customer record) through the generic connector.
    mira = find_or_create_contact(store, email="mira.k@example.com", name="Mira Kowalski",
                                  platform="identify", platform_id="shopper-77")
    # A duplicate folded into her, with details of its own.
    old = make_contact(store, email="mira.old@example.com", name="Mira K.", phone="+48 601 234 567")
    merge_contacts(mira, old, agent)
    # The widget: a session with pages, an upload, a chat.
    visitor = start_session(store, make_visitor(store, mira), user_agent=USER_AGENT, timezone="Europe/Warsaw",
                            page={"url": "https://shop.example.pl/account/mira", "title": "Mira's account"})
    record_page_view(visitor, {"url": "https://shop.example.pl/teapots", "title": "Teapots"})
    photo = store_upload(store.id, f"visitor:{visitor.uid}", "cracked.png", png("blue"))
    shared = store_upload(store.id, f"visitor:{visitor.uid}", "logo.png", png("red"))
    unsent = store_upload(store.id, f"visitor:{visitor.uid}", "later.png", png("green"))
    first, _ = receive_customer_message(store, mira, "chat", f"Hello, my {PHRASE} cracked", visitor=visitor,
                                        attachment_ids=[photo.id, shared.id])
    # On her phone she chatted before logging in to the shop: an anonymous contact first.
    phone = make_visitor(store)
    anonymous = ensure_contact(store, phone, name="Mira on the phone")
    phoned, _ = receive_customer_message(store, anonymous, "chat", "Typed on my phone: qxzjv", visitor=phone)
    identify(store, phone, customer_id="shopper-77", signature=identity_signature(store, "shopper-77"))
    assert db.session.get(Ticket, phoned.ticket_id).contact_id == mira.id
    chat = first.ticket
    reply(chat, agent, f"Sorry Mira, I will replace the {PHRASE}")
    add_note(chat, agent, NOTE)
    transfer(chat, agent, to_agent=make_agent(name="Bea Backup"), note="Mira is upset about the qxzjv")
    rate_ticket(visitor, chat, 5, ["friendly"], "lovely chat")
    book_appointment(chat, agent, location=make_location(store),
                     starts_at=(utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0),
                     notes="Bring the qxzjv teapot")
    # Email: a new ticket from her address, answered (the answer waits in the outbox), and a
    # message that could not be read, kept in the mailbox's quarantine.
    emailed = db.session.get(Ticket, ingest_email(mailbox, mail(f"The {PHRASE} again"), source="raw").ticket_id)
    reply(emailed, agent, "We are on it, Mira.")
    quarantine(mailbox, mail("broken qxzjv"), source="raw", reason="unreadable", sender="mira.k@example.com",
               subject="Periwinkle")
    connector = connect_store(store, "generic", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = order_body()
    response = client.post(f"/webhooks/generic/{connector.key}", data=body, headers={
        "Content-Type": "application/json", **standard_headers(connector.secret, "msg_mira_1", body)})
    assert response.status_code == 200, response.get_data(as_text=True)
    # Another customer of the store, who must not lose anything; her upload has the same bytes.
    olek = make_contact(store, email="olek@example.com", name="Olek Nowak")
    olek_visitor = make_visitor(store, olek)
    olek_logo = store_upload(store.id, f"visitor:{olek_visitor.uid}", "logo.png", png("red"))
    olek_msg, _ = receive_customer_message(store, olek, "chat", f"Do you sell a {PHRASE} too?",
                                           visitor=olek_visitor, attachment_ids=[olek_logo.id])
    return SimpleNamespace(store=store, admin=admin, agent=agent, mailbox=mailbox, contact=mira, old=old,
                           anonymous=anonymous, phone_chat=phoned.ticket, visitor=visitor, chat=chat, emailed=emailed, photo=photo, shared=shared, unsent=unsent,
                           olek=olek, olek_ticket=olek_msg.ticket, olek_logo=olek_logo)


def upload_path(rel):
    return os.path.join(current_app.config["UPLOAD_FOLDER"], rel)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def dumped(document):
    return json.dumps(document, default=str).lower()


# ---- export ------------------------------------------------------------------------------

def test_the_export_holds_everything_about_the_customer_but_internal_notes(mira):
    doc = export_contact_data(mira.contact, by=mira.admin)
    assert doc["format"] == "helpdesk.contact-export.v1"
    assert doc["store"] == {"id": mira.store.id, "name": "Ceramika"}
    profile = doc["contact"]
    # The phone came with the duplicate merged into her.
    assert (profile["name"], profile["email"], profile["phone"]) == ("Mira Kowalski", "mira.k@example.com",
                                                                     "+48 601 234 567")
    assert profile["erased_at"] is None
    # The duplicate (its address moved to her at the merge) and the anonymous chat she began as.
    assert [(c["name"], c["email"]) for c in doc["merged_contacts"]] == [("Mira K.", None),
                                                                         ("Mira on the phone", None)]
    assert {(i["platform"], i["platform_id"]) for i in doc["platform_ids"]} == {
        ("identify", "shopper-77"), ("generic", "cus_8842")}
    addresses = {a["address"]: a for a in doc["email_addresses"]}
    assert set(addresses["mira.k@example.com"]["seen_in"]) == {"profile", "email", "order", "shop_customer"}
    assert addresses["mira.k@example.com"]["failing"] is False

    tickets = {t["id"]: t for t in doc["tickets"]}
    assert set(tickets) == {mira.chat.id, mira.emailed.id, mira.phone_chat.id}
    assert [m["text"] for m in tickets[mira.phone_chat.id]["messages"]] == ["Typed on my phone: qxzjv"]
    chat = tickets[mira.chat.id]
    texts = [(m["sender"], m["text"]) for m in chat["messages"]]
    assert ("customer", f"Hello, my {PHRASE} cracked") in texts
    assert ("agent", f"Sorry Mira, I will replace the {PHRASE}") in texts
    assert any("visit" in m["text"] and m["appointment_card"] for m in chat["messages"])  # what she was sent
    photo = next(a for m in chat["messages"] for a in m["attachments"] if a["filename"] == "cracked.png")
    assert photo["url"].startswith(current_app.config["PUBLIC_URL"] + "/media/attachments/")
    email = next(m for m in tickets[mira.emailed.id]["messages"] if m["sender"] == "customer")
    assert email["email"]["from"] == "mira.k@example.com" and email["email"]["subject"] == "Periwinkle teapot question"
    assert doc["ratings"] == [{"ticket_id": mira.chat.id, "stars": 5, "reasons": ["friendly"],
                               "comment": "lovely chat"}]
    assert len(doc["visitor_sessions"]) == 2  # her computer and her phone
    session = doc["visitor_sessions"][0]
    assert session["user_agent"] == USER_AGENT and session["timezone"] == "Europe/Warsaw"
    assert [p["url"] for p in session["pages"]] == ["https://shop.example.pl/account/mira",
                                                    "https://shop.example.pl/teapots"]
    assert [o["number"] for o in doc["orders"]] == ["PL-10077"]
    assert doc["shop_customer_records"][0]["name"] == "Mira Kowalski"
    assert doc["appointments"][0]["status"] == "booked" and "notes" not in doc["appointments"][0]
    assert [(e["status"], e["subject"]) for e in doc["inbound_emails"]] == [("quarantined", "Periwinkle")]

    # The shop's own records stay out: notes, the handoff note, visit notes, the contact's notes.
    text_of_all = dumped(doc)
    for internal in ("wkvqz", "upset about", "bring the qxzjv"):
        assert internal not in text_of_all
    # Olek is somebody else.
    assert "olek" not in text_of_all


def test_only_admins_export(mira):
    with pytest.raises(Forbidden):
        export_contact_data(mira.contact, by=mira.agent)


# ---- erasure -------------------------------------------------------------------------------

def search(q, window=None, monkeypatch=None):
    if window is not None:
        monkeypatch.setattr(queries, "SEARCH_RECENT_WINDOW", window)
    return [t.id for t in queries.search_tickets(select(Ticket), q, 25)]


def sqlite_index_terms_present(*trigrams):
    """Whether any of these trigrams is still written in the messages index's own pages."""
    blobs = db.session.scalars(text("SELECT block FROM messages_fts_data")).all()
    return any(t.encode() in (b or b"") for b in blobs for t in trigrams)


@pytest.mark.parametrize("window", [queries.SEARCH_RECENT_WINDOW, 1])  # 1: the index phase
def test_erased_text_is_gone_from_search_and_its_indexes(mira, monkeypatch, window):
    sqlite = db.engine.dialect.name == "sqlite"
    assert set(search("qxzjv periwinkle", window, monkeypatch)) == {mira.chat.id, mira.emailed.id,
                                                                   mira.olek_ticket.id}
    assert search("wkvqz", window, monkeypatch) == [mira.chat.id]  # a note
    assert search("kowalski", window, monkeypatch) != []
    if sqlite:
        assert sqlite_index_terms_present("qxz", "xzj", "zjv", "wkv", "kvq")

    erase_contact(mira.contact, by=mira.admin)

    assert search("qxzjv periwinkle", window, monkeypatch) == [mira.olek_ticket.id]
    assert search("qxzjv", window, monkeypatch) == [mira.olek_ticket.id]
    for term in ("wkvqz", "kowalski", "mira.k@example", "Mira K.", "upset about", "on the phone", "Typed on"):
        assert search(term, window, monkeypatch) == [], term
    if sqlite:
        # Olek's message still has the phrase; only his row may hold its trigrams now.
        olek_row = db.session.scalar(select(Message.id).where(Message.ticket_id == mira.olek_ticket.id))
        phrase = '"qxzjv periwinkle"'
        assert db.session.scalars(text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :p"),
                                  {"p": phrase}).all() == [olek_row]
        assert db.session.scalars(text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :p"),
                                  {"p": '"kowalski"'}).all() == []
        # Not only unsearchable: the erased note's trigrams are out of the index's pages too.
        assert not sqlite_index_terms_present("wkv", "kvq")
        for fts in ("messages_fts", "tickets_fts", "contacts_fts"):
            db.session.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


def test_erasure_removes_everything_personal_and_keeps_the_numbers(mira, sent_events):
    contact, chat = mira.contact, mira.chat
    ids = [contact.id, mira.old.id, mira.anonymous.id]
    files = {name: getattr(mira, name).storage_path for name in ("photo", "shared", "unsent", "olek_logo")}
    attachment_ids = [mira.photo.id, mira.shared.id, mira.unsent.id]
    assert all(os.path.exists(upload_path(p)) for p in files.values())
    order = db.session.scalar(select(Order).where(Order.contact_id == contact.id))
    order_id, total = order.id, order.total
    assert count(Attribution, Attribution.order_id == order_id) == 1
    uid = mira.visitor.uid
    phone_uid = db.session.scalar(select(Visitor.uid).where(Visitor.id == mira.phone_chat.visitor_id))
    assert count(OutboxItem, OutboxItem.kind == "email") >= 1
    assert count(OutboxItem, OutboxItem.kind == "webhook") > 5
    assert db.session.scalar(select(WebhookDelivery.body)) is not None

    placeholder = erase_contact(contact, by=mira.admin)
    db.session.expire_all()

    # The contact and the duplicate merged into it are anonymous placeholders.
    assert placeholder.id == contact.id
    for person in db.session.scalars(select(Contact).where(Contact.id.in_(ids))):
        assert person.name == f"Erased customer #{person.id}"
        assert (person.email, person.phone, person.locale, person.notes) == (None, None, None, "")
        assert person.erasure["by_agent_id"] == mira.admin.id
    assert count(ContactIdentity, ContactIdentity.contact_id.in_(ids)) == 0
    # Every word of her conversations; the rows stay (counts, response times).
    for message in db.session.scalars(select(Message).where(
            Message.ticket_id.in_([chat.id, mira.emailed.id, mira.phone_chat.id]))):
        assert (message.body_text, message.body_html) in ((ERASED, ERASED), ("", "")) and message.language is None
        assert set(message.meta) <= {"event", "claimed", "assignee_id", "assignee_name", "to_agent_id",
                                     "to_agent_name", "to_team_id", "to_team_name", "previous", "status",
                                     "snoozed_until", "minutes", "appointment_id", "starts_at", "location",
                                     "agent_name"}
    assert count(Message, Message.ticket_id == chat.id) > 4
    assert db.session.scalars(select(Handoff.note)).all() == [""]
    chat = db.session.get(Ticket, chat.id)
    assert (chat.subject, chat.last_message_preview, chat.rating, chat.rating_reasons, chat.rating_comment) == (
        "", ERASED, 5, ["friendly"], None)
    assert chat.assignee_id is not None and chat.visitor_id is None and chat.status is not None
    assert db.session.get(Ticket, mira.emailed.id).subject == ERASED
    # Attachments: rows now, files after the commit -- but the file Olek's upload shares stays.
    assert count(Attachment, Attachment.id.in_(attachment_ids)) == 0
    assert not os.path.exists(upload_path(files["photo"]))
    assert not os.path.exists(upload_path(files["unsent"]))
    assert files["olek_logo"] == files["shared"] and os.path.exists(upload_path(files["shared"]))
    assert count(OutboxItem, OutboxItem.kind == "forget_files", OutboxItem.status == "sent") == 1
    # Widget sessions, mail, the outbox's copies, the shop's records of her.
    assert count(Visitor, Visitor.uid.in_([uid, phone_uid])) == 0 and count(PageView) == 0
    assert count(EmailHeader) == 0 and count(InboundEmail) == 0 and count(EmailAutoReply) == 0
    assert count(OutboxItem, OutboxItem.kind == "email") == 0
    # Webhook copies about her conversations are gone; Olek's stay.
    about = [(item.payload["data"].get("ticket") or {}).get("id") or item.payload["data"]["message"]["ticket_id"]
             for item in db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "webhook"))]
    assert about and set(about) == {mira.olek_ticket.id}
    assert count(CommerceCustomer) == 0
    assert db.session.scalar(select(WebhookDelivery.body)) is None
    # The accounts keep the order and the sale, linked to the placeholder.
    order = db.session.get(Order, order_id)
    assert (order.total, order.email, order.contact_id, order.customer_id) == (total, None, contact.id, None)
    assert [line.title for line in order.lines] == ["Stoneware mug, blue", "Teapot 1.2 l"]
    assert count(Attribution, Attribution.order_id == order_id) == 1
    # The visit: no notes; cancelled, since it was ahead and nobody can be told.
    visit = db.session.scalar(select(Appointment))
    assert (visit.notes, str(visit.status)) == ("", "cancelled")
    # Olek keeps everything.
    olek = db.session.get(Contact, mira.olek.id)
    assert (olek.name, olek.email) == ("Olek Nowak", "olek@example.com")
    assert PHRASE in db.session.scalar(select(Message.body_text).where(Message.ticket_id == mira.olek_ticket.id))
    # Open inbox views hear of it; her widget's sockets are ended.
    erased = [e for e in sent_events if e["event"] == "contact.erased"]
    assert {e["room"] for e in erased} == {f"store:{mira.store.id}:agents", f"ticket:{chat.id}",
                                           f"ticket:{mira.emailed.id}", f"ticket:{mira.phone_chat.id}"}
    assert erased[0]["payload"]["contact"]["name"] == f"Erased customer #{contact.id}"
    assert erased[0]["payload"]["ticket_ids"] == sorted([chat.id, mira.emailed.id, mira.phone_chat.id])
    assert {(e["room"], e["namespace"]) for e in sent_events if e["event"] == "disconnect"} == {
        (f"visitor:{uid}", "/widget"), (f"visitor:{phone_uid}", "/widget")}
    assert any(e["event"] == "appointment.updated" for e in sent_events)


def test_the_export_after_erasure_holds_nothing_personal(mira):
    erase_contact(mira.contact, by=mira.admin)
    doc = export_contact_data(db.session.get(Contact, mira.contact.id), by=mira.admin)
    assert doc["contact"]["erased_at"] is not None
    assert doc["visitor_sessions"] == [] and doc["shop_customer_records"] == [] and doc["inbound_emails"] == []
    assert doc["email_addresses"] == [] and doc["platform_ids"] == []
    for message in (m for t in doc["tickets"] for m in t["messages"]):
        assert message["text"] in (ERASED, "") and message["attachments"] == [] and message["email"] is None
    text_of_all = dumped(doc)
    for word in PERSONAL:
        assert word not in text_of_all, word


def test_after_erasure_a_new_email_or_chat_starts_a_fresh_contact(mira, client):
    from widgets.tokens import issue

    token, uid = issue(mira.visitor), mira.visitor.uid
    before = client.post("/widget/api/session", json={"key": mira.store.widget_key, "token": token}).get_json()
    assert before["visitor"] == uid and before["messages"] != []
    erase_contact(mira.contact, by=mira.admin)
    # The token her browser keeps names a visitor that is gone: a new, empty session.
    answer = client.post("/widget/api/session", json={"key": mira.store.widget_key, "token": token}).get_json()
    assert answer["visitor"] != uid and answer["messages"] == [] and answer["ticket"] is None
    # Her next email (even one quoting the old ticket's tag) is a new customer's.
    result = ingest_email(mira.mailbox, mail("Hello again", subject=f"Re: Teapot [#{mira.emailed.id}]"),
                          source="raw")
    assert result.outcome == "created" and result.ticket_id != mira.emailed.id
    fresh = db.session.get(Ticket, result.ticket_id).contact
    assert fresh.id != mira.contact.id and fresh.email == "mira.k@example.com"


def test_only_admins_erase_and_nothing_changes_when_refused(mira):
    with pytest.raises(Forbidden):
        erase_contact(mira.contact, by=mira.agent)
    assert db.session.get(Contact, mira.contact.id).email == "mira.k@example.com"


def test_a_merged_duplicate_or_an_erased_customer_is_refused(mira):
    with pytest.raises(Conflict) as refused:
        erase_contact(mira.old, by=mira.admin)
    assert refused.value.field == "contact_id"
    erase_contact(mira.contact, by=mira.admin)
    contact = db.session.get(Contact, mira.contact.id)
    with pytest.raises(Conflict):
        erase_contact(contact, by=mira.admin)
    # The placeholder must not start holding personal data again.
    with pytest.raises(Conflict):
        update_contact(contact, mira.admin, name="Mira again")
    with pytest.raises(Conflict):
        merge_contacts(contact, db.session.get(Contact, mira.olek.id), mira.admin)


def test_recurring_question_reports_drop_erased_examples(mira):
    from datetime import date

    from helpdesk.actions.recurring_questions import finish_report, request_report
    from helpdesk.topics import opening_messages

    report = request_report(mira.admin, {"store_ids": None, "from": "2000-01-01", "to": "2100-01-01"})
    finish_report(report, {"topics": [{"label": "teapot", "example": f"Hello, my {PHRASE}",
                                       "example_ticket_id": mira.chat.id},
                                      {"label": "other", "example": "Olek's", "example_ticket_id": 0}]})
    erase_contact(mira.contact, by=mira.admin)
    db.session.expire_all()
    topics = db.session.get(type(report), report.id).result["topics"]
    assert [t["example"] for t in topics] == [ERASED, "Olek's"]
    texts = [t for _, t in opening_messages(None, date(2000, 1, 1), date(2100, 1, 1))]
    assert ERASED not in texts and any(PHRASE in t for t in texts)


def test_postgresql_trigram_indexes_find_no_erased_text(mira, monkeypatch):
    """PostgreSQL's search indexes (migration 0007's pg_trgm GIN indexes, which the test schema
    built from the models lacks) follow the rows: with the planner made to use them, an erased
    note is found by nothing."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_trgm indexes are PostgreSQL's; SQLite's FTS5 tables are checked above")
    import importlib.util

    path = os.path.join(os.path.dirname(current_app.root_path), "helpdesk", "migrations", "versions",
                        "0007_search_trigram_indexes.py")
    spec = importlib.util.spec_from_file_location("trgm_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    for name, definition in migration.INDEXES.items():
        db.session.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}"))
    db.session.commit()
    try:
        erase_contact(mira.contact, by=mira.admin)
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(text(
            "EXPLAIN SELECT id FROM messages WHERE body_text ILIKE '%wkvqz%'")))
        assert "ix_trgm_messages_body" in plan, plan
        for term in ("wkvqz", "kowalski", "mira.k@example"):
            assert search(term, 1, monkeypatch) == [], term
        assert db.session.scalar(text("SELECT count(*) FROM messages WHERE body_text ILIKE '%wkvqz%'")) == 0
        assert db.session.scalar(text("SELECT count(*) FROM contacts WHERE name ILIKE '%kowalski%'")) == 0
    finally:
        db.session.rollback()
        for name in migration.INDEXES:
            db.session.execute(text(f"DROP INDEX IF EXISTS {name}"))
        db.session.commit()


def test_nothing_new_is_written_into_an_erased_customers_conversation(mira):
    from helpdesk.actions.ratings import record_rating

    chat = db.session.get(Ticket, mira.chat.id)
    stamped = db.session.get(Contact, mira.contact.id).updated_at
    reply(chat, mira.agent, "Checking with the warehouse")  # still theirs: the reply is stored
    assert db.session.get(Contact, mira.contact.id).updated_at == stamped  # the lock changed nothing
    erase_contact(mira.contact, by=mira.admin)
    chat = db.session.get(Ticket, mira.chat.id)
    before = db.session.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == chat.id))
    # An agent whose screen still showed the chat, and a rating on its way, are refused.
    with pytest.raises(Conflict) as refused:
        reply(chat, mira.agent, "Here is your new teapot, Mira")
    assert refused.value.field == "ticket_id"
    db.session.rollback()
    with pytest.raises(NotFound):
        record_rating(db.session.get(Ticket, mira.chat.id), 2, ["slow_answer"], "Mira: still waiting")
    db.session.rollback()
    chat = db.session.get(Ticket, mira.chat.id)
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == chat.id)) == before
    assert "Mira" not in (chat.rating_comment or "")
