"""Automation rules: each condition and action, the trigger, order and the stop flag, what the
timeline says, the paths that never run rules, the cost for stores without rules, validation."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connectors.base import LineRecord, OrderRecord
from helpdesk.actions import ActionError, Conflict, NotFound, action
from helpdesk.actions import automation as automation_module
from helpdesk.actions.agents import set_access
from helpdesk.actions.automation import (
    apply_automation_rules,
    automation_rules,
    compiled_rules,
    delete_automation_rule,
    move_automation_rule,
    reorder_automation_rules,
    save_automation_rule,
    set_automation_rule_enabled,
)
from helpdesk.actions.commerce import upsert_order
from helpdesk.actions.email import create_mailbox, ingest_email
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.extensions import db
from helpdesk.models import Message, MessageKind, Store, Ticket, utcnow
from tests.connectors.email.conftest import MANIFEST, eml
from tests.factories import make_agent, make_contact, make_store, make_team
from tests.sql import statements_run


def rule(name="Refunds", **parts):
    """A rule as an admin would send it: ``conditions``/``actions`` keys given flat."""
    conditions = {k: parts.pop(k) for k in list(parts) if k in (
        "channels", "subject_words", "text_words", "senders", "languages", "business_hours", "has_order")}
    actions = {k: parts.pop(k) for k in list(parts) if k in (
        "tags", "team_id", "agent_id", "status", "snooze_hours", "note")}
    return {"name": name, "conditions": conditions, "actions": actions, **parts}


def write(store, text, channel="email", contact=None, **kw):
    message, _created = receive_customer_message(store, contact or make_contact(store), channel, text, **kw)
    return message


def tags_of(ticket):
    db.session.expire_all()
    return sorted(t.name for t in db.session.get(Ticket, ticket.id).tags)


def rule_events(ticket):
    return db.session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.EVENT)
        .order_by(Message.id)).all()


def automation_events(ticket):
    return [m for m in rule_events(ticket) if m.meta.get("event") == "automation"]


@pytest.fixture
def store():
    return make_store("Linen & Co")


# ---- conditions ---------------------------------------------------------------------------

@pytest.mark.parametrize("words, text, matches", [
    (["refund"], "I would like a REFUND please", True),
    (["refund"], "Refund!", True),
    (["refund"], "Was it refunded already?", False),          # whole words only
    (["money back"], "I want my money\nback now", True),     # a phrase over a line break
    (["rückerstattung"], "Bitte um RÜCKERSTATTUNG.", True),  # Unicode, any case
    (["café"], "Le cafe\u0301 est froid", True),             # a decomposed é equals the composed one
    (["повернення"], "Хочу оформити повернення коштів", True),
    (["c++"], "Do you sell c++ books?", True),
    (["straße"], "Meine STRASSE fehlt in der Adresse", True),  # case folding, not only lower case
    (["e-mail"], "Your E-Mail bounced", True),
    (["e-mail"], "Your email bounced", False),
    (["order 1001"], "about order 10012", False),
    (["wrong", "broken"], "It arrived broken", True),
    (["wrong"], "It arrived wrongly packed", False),
])
def test_message_words_match_whole_words_in_any_case(store, words, text, matches):
    save_automation_rule(store, rule(text_words=words, tags=["flagged"]))
    message = write(store, text)
    assert tags_of(message.ticket) == (["flagged"] if matches else [])


def test_subject_words_look_at_the_subject_only(store):
    save_automation_rule(store, rule(subject_words=["refund"], tags=["refund"]))
    hit = write(store, "Please check my order", subject="Refund for order 1001")
    miss = write(store, "A refund, in the text only", subject="Order 1002")
    assert tags_of(hit.ticket) == ["refund"]
    assert tags_of(miss.ticket) == []


def test_the_channel_condition(store):
    save_automation_rule(store, rule(channels=["chat", "form"], tags=["live"]))
    assert tags_of(write(store, "Hello there", channel="chat").ticket) == ["live"]
    assert tags_of(write(store, "Hello there", channel="form").ticket) == ["live"]
    assert tags_of(write(store, "Hello there", channel="email").ticket) == []
    assert tags_of(write(store, "Hello there", channel="api").ticket) == []


def test_the_sender_is_an_address_or_a_domain_and_its_subdomains(store):
    save_automation_rule(store, rule(senders=["Orders@Amazon.example", "@marketplace.example"], status="closed"))
    closed = [write(store, "Update", contact=make_contact(store, email=email)).ticket for email in (
        "orders@amazon.example", "noreply@marketplace.example", "bot@mail.marketplace.example")]
    kept = [write(store, "Update", contact=make_contact(store, email=email)).ticket for email in (
        "other@amazon.example", "someone@notmarketplace.example")]
    db.session.expire_all()
    assert [db.session.get(Ticket, t.id).status for t in closed] == ["closed"] * 3
    assert [db.session.get(Ticket, t.id).status for t in kept] == ["open"] * 2


def test_the_detected_language(store):
    german = make_team("Deutsch", store)
    save_automation_rule(store, rule(languages=["de"], team_id=german.id))
    de = write(store, "Guten Tag, ich habe eine Frage zu meiner Bestellung und der Lieferung.")
    en = write(store, "Good morning, I have a question about my order and its delivery.")
    assert de.language == "de" and en.language == "en"
    db.session.expire_all()
    assert db.session.get(Ticket, de.ticket_id).team_id == german.id
    assert db.session.get(Ticket, en.ticket_id).team_id is None


@pytest.mark.parametrize("when, during", [("during", True), ("outside", False)])
def test_during_and_outside_business_hours(when, during, monkeypatch):
    # Open Monday 09:00-17:00 in Berlin; the messages come on Monday 2024-03-04.
    store = make_store("Hours", timezone="Europe/Berlin", business_hours=[{"days": [0], "open": "09:00",
                                                                           "close": "17:00"}])
    save_automation_rule(store, rule(business_hours=when, tags=["hours"]))
    moments = {True: datetime(2024, 3, 4, 10, 0, tzinfo=timezone.utc),    # 11:00 in Berlin
               False: datetime(2024, 3, 4, 20, 0, tzinfo=timezone.utc)}   # 21:00 in Berlin
    tagged = {}
    for inside, moment in moments.items():
        monkeypatch.setattr("helpdesk.actions.messages.utcnow", lambda moment=moment: moment)
        tagged[inside] = tags_of(write(store, "Hello").ticket) == ["hours"]
    assert tagged == {during: True, not during: False}


@action
def put_order(store, contact):
    record = OrderRecord(platform_id=f"o-{contact.id}", number="#1001", currency="EUR", total=Decimal("80.00"),
                         placed_at=utcnow() - timedelta(days=3), email=contact.email,
                         lines=[LineRecord(title="Linen shirt", quantity=1, unit_price=Decimal("80.00"),
                                           total=Decimal("80.00"))])
    return upsert_order(store, "generic", record)


def test_whether_the_customer_has_an_order(store):
    save_automation_rule(store, rule("Customers", has_order=True, tags=["customer"]))
    save_automation_rule(store, rule("Prospects", has_order=False, tags=["prospect"]))
    buyer, browser = make_contact(store, email="buyer@example.test"), make_contact(store, email="new@example.test")
    assert put_order(store, buyer).contact_id == buyer.id
    assert tags_of(write(store, "Where is it?", contact=buyer).ticket) == ["customer"]
    assert tags_of(write(store, "Do you ship?", contact=browser).ticket) == ["prospect"]


def test_no_conditions_match_every_new_ticket(store):
    save_automation_rule(store, rule("Everything", tags=["triage"]))
    assert tags_of(write(store, "Anything at all", channel="chat").ticket) == ["triage"]


def test_all_conditions_must_match(store):
    save_automation_rule(store, rule(channels=["email"], text_words=["refund"], tags=["refund"]))
    assert tags_of(write(store, "A refund please", channel="chat").ticket) == []
    assert tags_of(write(store, "Where is my parcel", channel="email").ticket) == []
    assert tags_of(write(store, "A refund please", channel="email").ticket) == ["refund"]


# ---- triggers -------------------------------------------------------------------------------

def test_ticket_created_runs_on_the_first_message_only_and_customer_message_on_each(store):
    save_automation_rule(store, rule("New", text_words=["refund"], tags=["refund"]))
    save_automation_rule(store, rule("Each", trigger="customer_message", text_words=["urgent"], tags=["urgent"]))
    contact = make_contact(store)
    first = write(store, "Hello, a question", contact=contact)
    write(store, "Actually I want a refund, urgent", contact=contact)
    assert tags_of(first.ticket) == ["urgent"]  # the refund came second: not a new ticket any more
    other = write(store, "A refund", contact=make_contact(store))
    assert tags_of(other.ticket) == ["refund"]


def test_the_email_intake_opens_the_ticket_first_and_still_counts_as_created(store):
    save_automation_rule(store, rule(subject_words=["parcel"], tags=["shipping"]))
    mailbox = create_mailbox(store, MANIFEST["mailbox"], name="Support")
    result = ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw")
    assert result.outcome == "created"
    ticket = db.session.get(Ticket, result.ticket_id)
    assert tags_of(ticket) == ["shipping"]
    assert automation_events(ticket)[0].body_text == "Rule “Refunds”: added the tag shipping."


def test_a_german_email_goes_to_the_german_team_through_the_real_intake(store, sent_events):
    german = make_team("Deutsch", store)
    save_automation_rule(store, rule("German", languages=["de"], team_id=german.id, tags=["de"]))
    mailbox = create_mailbox(store, MANIFEST["mailbox"], name="Support")
    result = ingest_email(mailbox, eml("46-german-reply-webde.eml"), source="raw")
    db.session.expire_all()
    ticket = db.session.get(Ticket, result.ticket_id)
    assert (ticket.team_id, tags_of(ticket)) == (german.id, ["de"])
    updated = [e["payload"]["ticket"] for e in sent_events
               if e["event"] == "ticket.updated" and e["room"] == f"store:{store.id}:agents"]
    assert updated[-1]["team_id"] == german.id and updated[-1]["tags"] == ["de"]


def test_automatic_mail_that_stores_no_message_runs_no_rule(store):
    save_automation_rule(store, rule("Everything", trigger="customer_message", tags=["seen"]))
    mailbox = create_mailbox(store, MANIFEST["mailbox"], name="Support")
    before = db.session.scalar(select(func.count()).select_from(Message))
    result = ingest_email(mailbox, eml("26-bounce-unknown-message.eml"), source="raw")
    assert result.outcome != "created"
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.meta["event"].as_string() == "automation")) == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == before
    # The same rule on mail that is a message: it runs.
    assert ingest_email(mailbox, eml("01-plain-ascii.eml"), source="raw").outcome == "created"
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.meta["event"].as_string() == "automation")) == 1


# ---- actions --------------------------------------------------------------------------------

def test_each_action_and_what_the_timeline_says(store, sent_events):
    billing = make_team("Billing", store)
    ben = make_agent(name="Ben Billing")
    save_automation_rule(store, rule(text_words=["refund"], tags=["refund", "billing"], team_id=billing.id,
                                     agent_id=ben.id, status="pending", note="Check the order's payment first."))
    message = write(store, "I want a refund")
    db.session.expire_all()
    ticket = db.session.get(Ticket, message.ticket_id)
    assert (ticket.team_id, ticket.assignee_id, ticket.status) == (billing.id, ben.id, "pending")
    assert tags_of(ticket) == ["billing", "refund"]
    event, = automation_events(ticket)
    assert event.body_text == ("Rule “Refunds”: added the tags refund, billing; sent it to the team Billing; "
                               "assigned it to Ben Billing; set the status to Pending.")
    assert event.author_agent_id is None and event.meta["rule_name"] == "Refunds"
    assert event.meta["note"] == "Check the order's payment first."
    assert [d["action"] for d in event.meta["done"]] == ["tags", "team", "agent", "status"]
    # The actions' own events and updates left after the commit, to agents only.
    changes = [e["payload"]["changes"] for e in sent_events
               if e["event"] == "ticket.updated" and e["room"] == f"store:{store.id}:agents"]
    assert ["tags"] in changes and ["team"] in changes and ["assignee"] in changes and ["status"] in changes
    assert not any(e["room"].startswith("visitor:") and e["event"] == "message.created"
                   and e["payload"]["message"].get("kind") == "event" for e in sent_events)


@pytest.mark.parametrize("status", ["pending", "resolved", "closed"])
def test_set_status(store, status):
    save_automation_rule(store, rule(status=status))
    message = write(store, "Automatic notification")
    db.session.expire_all()
    assert db.session.get(Ticket, message.ticket_id).status == status


def test_snooze_for_hours(store):
    save_automation_rule(store, rule("Later", snooze_hours=48))
    message = write(store, "Not now")
    db.session.expire_all()
    ticket = db.session.get(Ticket, message.ticket_id)
    assert ticket.status == "snoozed"
    assert timedelta(hours=47, minutes=59) < ticket.snoozed_until - utcnow() <= timedelta(hours=48)
    assert automation_events(ticket)[0].body_text == "Rule “Later”: snoozed it for 48 hours."


def test_a_note_alone(store):
    save_automation_rule(store, rule("Heads-up", note="VIP: answer within the hour."))
    ticket = write(store, "Hi").ticket
    event, = automation_events(ticket)
    assert event.body_text == "Rule “Heads-up” left a note." and event.meta["note"] == "VIP: answer within the hour."


def test_a_rule_with_nothing_new_to_do_leaves_no_line(store):
    save_automation_rule(store, rule(trigger="customer_message", tags=["seen"]))
    contact = make_contact(store)
    ticket = write(store, "One", contact=contact).ticket
    write(store, "Two", contact=contact)
    write(store, "Three", contact=contact)
    assert len(automation_events(ticket)) == 1


def test_an_agent_who_lost_access_is_skipped_with_a_line_and_the_message_stays(store):
    ben = make_agent(name="Ben Gone", stores=[store])
    save_automation_rule(store, rule(agent_id=ben.id, tags=["vip"]))
    set_access(ben, all_stores=False, stores=[make_store("Elsewhere")], by=make_agent(role="admin"))
    message = write(store, "Hello")
    db.session.expire_all()
    ticket = db.session.get(Ticket, message.ticket_id)
    assert db.session.get(Message, message.id) is not None
    assert ticket.assignee_id is None and tags_of(ticket) == ["vip"]
    event, = automation_events(ticket)
    assert event.body_text == ("Rule “Refunds”: added the tag vip; did not assign it to Ben Gone, who no longer "
                               "works at this store.")
    assert event.meta["skipped"] == [{"action": "agent", "agent_id": ben.id, "reason": "no_access"}]


def test_a_deactivated_agent_and_a_removed_team_are_skipped(store):
    ben = make_agent(name="Ben Away")
    team = make_team("Gone", store)
    save_automation_rule(store, rule(agent_id=ben.id, team_id=team.id))
    ben.active = False
    db.session.delete(team)
    db.session.commit()
    ticket = write(store, "Hello").ticket
    event, = automation_events(ticket)
    assert [s["action"] for s in event.meta["skipped"]] == ["team", "agent"]


def test_a_step_refused_anyway_is_skipped_and_the_message_and_other_steps_stay(store, monkeypatch):
    ben = make_agent(name="Ben")
    save_automation_rule(store, rule(agent_id=ben.id, tags=["vip"]))

    def refused(*args, **kwargs):
        raise Conflict("This ticket is closed.", "status")

    monkeypatch.setattr("helpdesk.actions.tickets.assign", refused)
    message = write(store, "Hello")
    db.session.expire_all()
    assert db.session.get(Message, message.id) is not None and tags_of(message.ticket) == ["vip"]
    event, = automation_events(message.ticket)
    assert event.body_text == ("Rule “Refunds”: added the tag vip; could not do this: assigned it to Ben "
                               "(This ticket is closed.).")
    assert event.meta["skipped"] == [{"action": "agent", "agent_id": ben.id, "agent_name": "Ben",
                                      "reason": "refused"}]


def test_a_closed_ticket_is_not_assigned(store):
    ben = make_agent(name="Ben")
    save_automation_rule(store, rule("Noise", status="closed", stop=False))
    save_automation_rule(store, rule("Ben's", agent_id=ben.id))
    ticket = write(store, "Notification").ticket
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id is None
    assert automation_events(ticket)[-1].meta["skipped"][0]["reason"] == "closed"


def test_rules_run_in_order_and_stop_ends_the_run(store):
    save_automation_rule(store, rule("First", text_words=["refund"], tags=["first"]))
    save_automation_rule(store, rule("Stopper", text_words=["refund"], tags=["stopped"], stop=True))
    save_automation_rule(store, rule("Never", text_words=["refund"], tags=["never"]))
    save_automation_rule(store, rule("Other", text_words=["parcel"], tags=["other"]))
    ticket = write(store, "refund please").ticket
    assert tags_of(ticket) == ["first", "stopped"]
    assert [e.meta["rule_name"] for e in automation_events(ticket)] == ["First", "Stopper"]
    # A stop rule that does not match stops nothing.
    assert tags_of(write(store, "parcel").ticket) == ["other"]


def test_a_later_rule_sees_the_earlier_ones_status_last_wins(store):
    ids = [save_automation_rule(store, rule("A", status="pending"))["id"],
           save_automation_rule(store, rule("B", status="resolved"))["id"]]
    assert db.session.get(Ticket, write(store, "x").ticket_id).status == "resolved"
    reorder_automation_rules(store, list(reversed(ids)))
    db.session.expire_all()
    assert db.session.get(Ticket, write(store, "x").ticket_id).status == "pending"


def test_disabled_rules_do_nothing(store):
    saved = save_automation_rule(store, rule(tags=["on"], enabled=False))
    assert tags_of(write(store, "Hi").ticket) == []
    set_automation_rule_enabled(store, saved["id"], True)
    assert tags_of(write(store, "Hi").ticket) == ["on"]


# ---- never ----------------------------------------------------------------------------------

def test_practice_tickets_are_never_touched(store):
    save_automation_rule(store, rule(tags=["auto"], status="closed"))
    contact = make_contact(store)
    tickets = {}
    for practice in (True, False):
        ticket = Ticket(store_id=store.id, contact_id=contact.id, channel="chat", status="open",
                        is_practice=practice, tags=[])
        db.session.add(ticket)
        db.session.commit()
        receive_customer_message(store, contact, "chat", "Hello", ticket=ticket)
        tickets[practice] = ticket.id
    db.session.expire_all()
    practice, real = db.session.get(Ticket, tickets[True]), db.session.get(Ticket, tickets[False])
    assert (practice.status, tags_of(practice), automation_events(practice)) == ("open", [], [])
    assert (real.status, tags_of(real)) == ("closed", ["auto"])


def test_agents_messages_run_no_rule(store):
    save_automation_rule(store, rule(trigger="customer_message", text_words=["refund"], tags=["refund"]))
    contact = make_contact(store)
    ticket = write(store, "Hello", contact=contact).ticket
    reply(ticket, make_agent(), "Would you like a refund?")
    assert tags_of(ticket) == []
    write(store, "Yes, a refund please", contact=contact)  # the customer's own words do
    assert tags_of(ticket) == ["refund"]


def test_a_blocked_customers_hidden_message_runs_no_rule(store):
    save_automation_rule(store, rule(tags=["seen"]))
    contact = make_contact(store)
    contact.blocked = True
    db.session.commit()
    message = write(store, "Spam", contact=contact)
    assert message.hidden and tags_of(message.ticket) == []
    assert tags_of(write(store, "Not spam").ticket) == ["seen"]  # another customer's is tagged


def test_what_a_rule_does_runs_no_rule_again(store, monkeypatch):
    """The actions a rule takes could one day store a customer message (or call the rules
    themselves): the rules then do not run a second time inside the first run."""
    save_automation_rule(store, rule(tags=["once"]))
    runs = []
    real_carry_out = automation_module._carry_out

    def carry_out(compiled, store_, ticket):
        runs.append(compiled.id)
        # What a looping action would do: the same message through the rules again.
        apply_automation_rules(store_, ticket, ticket.messages.first(), first=True)
        real_carry_out(compiled, store_, ticket)

    monkeypatch.setattr(automation_module, "_carry_out", carry_out)
    ticket = write(store, "Hello").ticket
    assert len(runs) == 1 and tags_of(ticket) == ["once"]
    assert db.session.info.get("helpdesk_automation_running") is None  # and the guard was let go


# ---- cost ---------------------------------------------------------------------------------

def test_a_store_without_rules_sends_no_statement_and_compiles_nothing(store, monkeypatch):
    compiled = []
    monkeypatch.setattr(automation_module.CompiledRule, "of", lambda r: compiled.append(r))
    message = write(store, "Hello")
    with statements_run() as seen:
        apply_automation_rules(store, message.ticket, message, first=True)
    assert seen == [] and compiled == []


def test_rules_that_do_not_match_send_no_statement(store):
    save_automation_rule(store, rule(text_words=["refund"], senders=["shop.example"], tags=["x"]))
    message = write(store, "Hello")
    with statements_run() as seen:
        apply_automation_rules(store, message.ticket, message, first=True)
    assert seen == []


def test_word_lists_are_compiled_once_per_rules_version(store, monkeypatch):
    made = []
    real = automation_module._words
    monkeypatch.setattr(automation_module, "_words", lambda words: made.append(list(words)) or real(words))
    automation_module._COMPILED.clear()
    save_automation_rule(store, rule(text_words=["refund"], tags=["refund"]))
    for n in range(3):
        write(store, f"refund {n}")
    assert made.count(["refund"]) == 1
    saved = automation_rules(store)[0]
    save_automation_rule(store, rule(text_words=["return"], tags=["refund"]), rule_id=saved["id"])
    assert tags_of(write(store, "a return").ticket) == ["refund"]
    assert made.count(["return"]) == 1


def test_rules_written_without_a_version_are_compiled_from_their_content():
    store = make_store("Hand-made", automation_rules=[{"id": "a", "name": "A", "conditions": {"text_words": ["x"]},
                                                       "actions": {"tags": ["x"]}}])
    first = compiled_rules(store, store.setting("automation_rules"))
    store.settings = {**store.settings, "automation_rules": [
        {"id": "a", "name": "A", "conditions": {"text_words": ["y"]}, "actions": {"tags": ["y"]}}]}
    db.session.commit()
    second = compiled_rules(store, store.setting("automation_rules"))
    assert (first[0].text.tokens, second[0].text.tokens) == ({"x"}, {"y"})


# ---- storage and validation -------------------------------------------------------------------

def test_add_replace_toggle_move_and_delete(store):
    a = save_automation_rule(store, rule("A", tags=["a"]))
    b = save_automation_rule(store, rule("B", tags=["b"]))
    c = save_automation_rule(store, rule("C", tags=["c"]))
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert a == {"id": a["id"], "name": "A", "enabled": True, "trigger": "ticket_created", "conditions": {},
                 "actions": {"tags": ["a"]}, "stop": False}
    save_automation_rule(store, rule("A2", tags=["a2"]), rule_id=a["id"])
    assert [(r["id"], r["name"]) for r in automation_rules(store)] == [(a["id"], "A2"), (b["id"], "B"), (c["id"], "C")]
    move_automation_rule(store, c["id"], -1)
    move_automation_rule(store, a["id"], -1)  # already first: stays
    assert [r["name"] for r in automation_rules(store)] == ["A2", "C", "B"]
    set_automation_rule_enabled(store, b["id"], False)
    assert automation_rules(store)[2]["enabled"] is False
    delete_automation_rule(store, c["id"])
    assert [r["name"] for r in automation_rules(store)] == ["A2", "B"]
    with pytest.raises(NotFound):
        delete_automation_rule(store, c["id"])
    with pytest.raises(NotFound):
        save_automation_rule(store, rule("C"), rule_id=c["id"])
    with pytest.raises(Conflict):
        reorder_automation_rules(store, [a["id"]])  # a list that misses one
    version = db.session.get(Store, store.id).settings["automation_rules_version"]
    set_automation_rule_enabled(store, b["id"], True)
    assert db.session.get(Store, store.id).settings["automation_rules_version"] != version


def test_names_and_notes_are_stored_as_plain_text_and_lists_cleaned(store):
    saved = save_automation_rule(store, rule(name="  <b>Refunds</b> <script>x()</script> ",
                                             text_words=[" Money   Back ", "money back", "REFUND"],
                                             tags=["Refund", "refund", " VIP "], note="<img src=x onerror=alert(1)>"))
    assert saved["name"] == "<b>Refunds</b> <script>x()</script>"
    assert saved["conditions"] == {"text_words": ["Money Back", "REFUND"]}
    assert saved["actions"]["tags"] == ["refund", "vip"] and saved["actions"]["note"] == "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize("data, field", [
    (rule(name=""), "name"),
    (rule(tags=["x"], trigger="sometimes"), "trigger"),
    (rule(tags=["x"], channels=["fax"]), "conditions.channels.0"),
    (rule(tags=["x"], text_words=["x" * 101]), "conditions.text_words.0"),
    (rule(tags=["x"], text_words=["w"] * 51), "conditions.text_words"),
    (rule(tags=["x"], subject_words=["!!!"]), "conditions.subject_words.0"),
    (rule(tags=["x"], senders=["not an address"]), "conditions.senders.0"),
    (rule(tags=["x"], languages=["german"]), "conditions.languages.0"),
    (rule(tags=["x"], business_hours="lunch"), "conditions.business_hours"),
    (rule(tags=["x"], has_order="yes"), "conditions.has_order"),
    (rule(tags=["x"], enabled="yes"), "enabled"),
    (rule(tags=["x"] * 51), "actions.tags"),
    (rule(tags=["x" * 65]), "actions.tags.0"),
    (rule(status="open"), "actions.status"),
    (rule(status="closed", snooze_hours=4), "actions.snooze_hours"),
    (rule(snooze_hours=0), "actions.snooze_hours"),
    (rule(note="n" * 2001), "actions.note"),
    (rule(team_id=999999), "actions.team_id"),
    (rule(agent_id=999999), "actions.agent_id"),
    (rule(), "actions"),  # nothing to do, and not a stop rule
    ({**rule(tags=["x"]), "colour": "red"}, "colour"),
])
def test_a_bad_rule_is_refused_naming_its_field_and_nothing_is_saved(store, data, field):
    with pytest.raises(ActionError) as refused:
        save_automation_rule(store, data)
    assert refused.value.field == field and refused.value.status == 422
    assert automation_rules(store) == []


def test_a_team_or_agent_of_another_store_is_unknown_here(store):
    other = make_store("Other")
    theirs = make_team("Their team", other)
    outsider = make_agent(name="Outsider", stores=[other])
    for data, field in ((rule(team_id=theirs.id), "actions.team_id"), (rule(agent_id=outsider.id), "actions.agent_id")):
        with pytest.raises(ActionError) as refused:
            save_automation_rule(store, data)
        assert refused.value.field == field and refused.value.message == (
            "No such team for this store." if "team" in field else "No such agent for this store.")
    everywhere = make_team("Everywhere")
    assert save_automation_rule(store, rule(team_id=everywhere.id))["actions"] == {"team_id": everywhere.id}


def test_a_stop_rule_may_have_no_action(store):
    assert save_automation_rule(store, rule("VIP senders", senders=["vip.example"], stop=True))["stop"] is True


def test_at_most_fifty_rules(store):
    for n in range(50):
        save_automation_rule(store, rule(f"R{n}", tags=["x"]))
    with pytest.raises(ActionError) as refused:
        save_automation_rule(store, rule("One too many", tags=["x"]))
    assert refused.value.message == "A store can have up to 50 automation rules."
    assert len(automation_rules(store)) == 50
