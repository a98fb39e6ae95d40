"""Reply targets: when a ticket's reply is due (set by customer messages in the UPDATE they make
anyway, kept while unanswered, answered by an agent's public reply, cleared by resolving), and
the business-hours arithmetic across closed nights, weekends and daylight-saving changes."""
from datetime import datetime, timedelta, timezone

import pytest

from helpdesk.actions.academy import accept_policies, complete_intro, start_practice
from helpdesk.actions.messages import add_note, receive_customer_message, reply
from helpdesk.actions.service_levels import MAX_DAYS_WALKED, add_open_time, due_after
from helpdesk.actions.stores import update_store_settings
from helpdesk.actions.tickets import change_status, merge_tickets, open_ticket
from helpdesk.extensions import db
from helpdesk.models import Message, Store, Ticket
from tests.factories import make_agent, make_contact, make_store
from tests.sql import statements_run

UTC = timezone.utc
#: Chat: 2 minutes for the first answer, 5 for every next; email and the form: 4 and 8 hours.
TARGETS = {"reply_target_chat_first_minutes": 2, "reply_target_chat_next_minutes": 5,
           "reply_target_email_first_minutes": 240, "reply_target_email_next_minutes": 480}


class Clock:
    """The time the message actions read (helpdesk.actions.messages.utcnow)."""

    def __init__(self, now):
        self.now = now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr("helpdesk.actions.messages.utcnow", lambda: clock.now)
    return clock


@pytest.fixture
def store():
    return make_store("Linen Lane", **TARGETS)


@pytest.fixture
def agent():
    return make_agent(name="Sam Carter")


def stored_due(ticket_id):
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id).reply_due_at


def write(store, contact, text="Hello?", channel="chat", **kw):
    return receive_customer_message(store, contact, channel, text, **kw)[0].ticket


# ---- set, kept, answered ----------------------------------------------------------------------

def test_the_first_message_sets_the_first_reply_target_in_the_update_it_makes_anyway(store, clock, sent_events):
    contact = make_contact(store)
    with statements_run() as statements:
        ticket = write(store, contact, "Do you ship to Kyiv?")
    assert ticket.reply_due_at == clock.now + timedelta(minutes=2)
    assert stored_due(ticket.id) == clock.now + timedelta(minutes=2)
    updates = [s for s in statements if s.startswith("update tickets")]
    assert len(updates) == 1 and "reply_due_at" in updates[0], updates
    # The live payload carries it: the queue counts down from it.
    (payload,) = [e["payload"] for e in sent_events if e["event"] == "ticket.updated"
                  and e["room"] == f"ticket:{ticket.id}"]
    assert datetime.fromisoformat(payload["ticket"]["reply_due_at"]) == clock.now + timedelta(minutes=2)


@pytest.mark.parametrize("channel", ["chat", "email"])
def test_a_target_costs_the_message_paths_no_statement_of_its_own(channel, clock):
    """The same conversation in a store with targets and one without sends the same statements."""
    def statements_of(store):
        contact = make_contact(store)
        write(store, contact, "first", channel)
        with statements_run() as statements:
            write(store, contact, "second", channel)
        return [s.split(" ")[0] + " " + s.split(" ")[1] for s in statements]

    plain = statements_of(make_store("No targets"))
    with_targets = statements_of(make_store("Targets", **TARGETS))
    assert with_targets == plain


def test_the_due_time_is_kept_while_the_customer_waits_and_answered_by_a_reply(store, agent, clock):
    contact = make_contact(store)
    ticket = write(store, contact, "Is the linen shirt in stock?")
    due = clock.now + timedelta(minutes=2)
    clock.advance(minutes=1)
    write(store, contact, "Size M please")  # the clock runs from the oldest unanswered message
    assert stored_due(ticket.id) == due
    clock.advance(seconds=30)
    ticket = db.session.get(Ticket, ticket.id)
    answer = reply(ticket, agent, "Yes, we have M.")
    assert ticket.reply_due_at is None and stored_due(ticket.id) is None
    answer = db.session.get(Message, answer.id)
    assert answer.reply_due_at == due and answer.created_at <= answer.reply_due_at  # in time


def test_an_internal_note_answers_nothing(store, agent, clock):
    ticket = write(store, make_contact(store))
    due = ticket.reply_due_at
    note = add_note(ticket, agent, "Checking the stock first")
    assert stored_due(ticket.id) == due
    assert db.session.get(Message, note.id).reply_due_at is None


def test_a_message_after_an_answer_gets_the_next_reply_target(store, agent, clock):
    contact = make_contact(store)
    ticket = write(store, contact)
    reply(ticket, agent, "Hi! How can I help?")
    clock.advance(minutes=10)
    write(store, contact, "Do you have it in blue?")
    assert stored_due(ticket.id) == clock.now + timedelta(minutes=5)
    # Answered late this time: the reply keeps the due time it missed.
    clock.advance(minutes=7)
    late = reply(db.session.get(Ticket, ticket.id), agent, "Sorry, only in white.")
    late = db.session.get(Message, late.id)
    assert late.created_at > late.reply_due_at


def test_email_and_form_follow_the_email_targets_and_an_offline_chat_too(store, clock):
    contact = make_contact(store)
    assert write(store, contact, channel="email").reply_due_at == clock.now + timedelta(hours=4)
    assert write(store, contact, channel="form").reply_due_at == clock.now + timedelta(hours=4)
    # Left while nobody was available: answered later, by email, so not held to the chat's minutes.
    assert write(store, contact, channel="chat", offline=True).reply_due_at == clock.now + timedelta(hours=4)


def test_no_target_means_no_due_time(clock):
    contact_store = make_store("Quiet", reply_target_chat_first_minutes=0, reply_target_email_first_minutes=30)
    assert write(contact_store, make_contact(contact_store)).reply_due_at is None
    # The API channel has no target of its own.
    assert write(contact_store, make_contact(contact_store), channel="api").reply_due_at is None


def test_resolving_clears_the_due_time_and_the_customer_writing_again_starts_a_new_one(store, agent, clock):
    contact = make_contact(store)
    ticket = write(store, contact, channel="email")
    change_status(ticket, "resolved", agent)
    assert stored_due(ticket.id) is None
    clock.advance(hours=1)
    again = write(store, contact, "One more thing", channel="email")
    assert again.id == ticket.id and again.status == "open"
    assert stored_due(ticket.id) == clock.now + timedelta(hours=4)  # nobody answered yet: first reply
    change_status(db.session.get(Ticket, ticket.id), "closed", agent)
    assert stored_due(ticket.id) is None


def test_a_snoozed_ticket_keeps_its_due_time_and_so_does_its_waking(store, agent, clock):
    contact = make_contact(store)
    ticket = write(store, contact, channel="email")
    due = ticket.reply_due_at
    change_status(ticket, "snoozed", agent, snoozed_until=datetime.now(UTC) + timedelta(days=1))
    assert stored_due(ticket.id) == due
    clock.advance(hours=1)
    woken = write(store, contact, "Hello again", channel="email")
    assert woken.status == "open" and stored_due(ticket.id) == due


def test_practice_chats_never_get_a_due_time(clock):
    trainee = make_agent(name="New Nina", academy=False)
    complete_intro(trainee)
    accept_policies(trainee, [])
    ticket = start_practice(trainee)
    practice_store = db.session.get(Store, ticket.store_id)
    update_store_settings(practice_store, **TARGETS)
    write(practice_store, ticket.contact, "Still there?", ticket=db.session.get(Ticket, ticket.id))
    assert stored_due(ticket.id) is None


def test_a_merge_keeps_the_longer_waiting_customers_due_time(store, agent, clock):
    contact = make_contact(store)
    source = open_ticket(store, contact, "email")
    receive_customer_message(store, contact, "email", "Where is order 1001?", ticket=source)
    first_due = clock.now + timedelta(hours=4)
    clock.advance(hours=1)
    target = open_ticket(store, contact, "email")
    receive_customer_message(store, contact, "email", "Order 1001 again", ticket=target)
    admin = make_agent(name="Ada Admin", role="admin")
    merge_tickets(db.session.get(Ticket, source.id), db.session.get(Ticket, target.id), by=admin)
    assert stored_due(target.id) == first_due
    assert stored_due(source.id) is None  # closed


# ---- business hours ---------------------------------------------------------------------------

PARIS_WEEKDAYS = [{"days": [0, 1, 2, 3, 4], "open": "09:00", "close": "17:00"}]
PARIS_EVERY_DAY = [{"days": list(range(7)), "open": "09:00", "close": "17:00"}]


def paris(hours, only=True):
    # Not saved: due_after reads the settings only.
    return Store(settings={"timezone": "Europe/Paris", "business_hours": hours,
                           "reply_target_business_hours_only": only})


def local(*args):
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_target_spans_a_closed_night():
    # Tuesday 16:00: one hour left that day, the second from Wednesday's opening.
    assert due_after(paris(PARIS_WEEKDAYS), local(2026, 1, 13, 16, 0), 120) == local(2026, 1, 14, 10, 0)


def test_a_message_at_night_is_due_after_opening():
    assert due_after(paris(PARIS_WEEKDAYS), local(2026, 1, 14, 3, 0), 30) == local(2026, 1, 14, 9, 30)


def test_a_target_spans_the_weekend():
    # Friday 16:30: half an hour on Friday, the rest on Monday.
    assert due_after(paris(PARIS_WEEKDAYS), local(2026, 1, 16, 16, 30), 60) == local(2026, 1, 19, 9, 30)


def test_a_target_across_the_spring_change_to_summer_time():
    """Paris moves to UTC+2 in the night of 28 to 29 March 2026: Sunday's 09:00 is 07:00 UTC,
    not the 08:00 Saturday's offset would give."""
    due = due_after(paris(PARIS_EVERY_DAY), local(2026, 3, 28, 16, 0), 120)
    assert due == local(2026, 3, 29, 10, 0) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def test_the_autumn_day_that_lasts_25_hours_counts_25_hours():
    sundays = [{"days": [6], "open": "00:00", "close": "24:00"}]
    due = due_after(paris(sundays), datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 25 * 60)
    assert due == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Monday 00:00 in Paris, winter time


def test_without_the_option_or_without_hours_every_hour_counts():
    start = local(2026, 1, 16, 16, 30)
    assert due_after(paris(PARIS_WEEKDAYS, only=False), start, 60) == start + timedelta(hours=1)
    assert due_after(paris([]), start, 60) == start + timedelta(hours=1)  # no hours: always open


def test_a_store_that_is_never_open_falls_back_to_the_clock():
    start = datetime(2026, 1, 16, 16, 30, tzinfo=UTC)
    never = [{"days": [0], "open": "10:00", "close": "09:00"}]  # written around the settings' check
    assert due_after(paris(never), start, 60) == start + timedelta(hours=1)
    # Open a minute a week: two weeks of intervals hold two minutes, not an hour.
    a_minute = [{"days": [0], "open": "09:00", "close": "09:01"}]
    assert due_after(paris(a_minute), start, 60) == start + timedelta(hours=1)


def test_the_walk_is_bounded():
    week = ((),) * 6 + (((540, 541),),)  # Sundays 09:00-09:01
    start = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
    assert add_open_time(start, 2, week, UTC) == datetime(2026, 1, 18, 9, 1, tzinfo=UTC)  # the second Sunday
    assert add_open_time(start, MAX_DAYS_WALKED, week, UTC) is None


def test_business_hours_apply_to_the_due_times_messages_get(clock):
    store = make_store("Paris", timezone="Europe/Paris", business_hours=PARIS_WEEKDAYS,
                       reply_target_business_hours_only=True, **TARGETS)
    clock.now = local(2026, 1, 16, 16, 30).astimezone(UTC)  # Friday afternoon
    ticket = write(store, make_contact(store), "Can I still order for Monday?", channel="email")
    assert stored_due(ticket.id) == local(2026, 1, 19, 12, 30)  # half an hour Friday, 3.5 h Monday


# ---- targets changed: the tickets already waiting follow them ---------------------------------

NO_TARGETS = {key: 0 for key in TARGETS}


def test_setting_targets_for_the_first_time_gives_waiting_tickets_their_due_times(agent, clock):
    store = make_store("Late Starter")
    started = clock.now
    waiting = write(store, make_contact(store), "Do you ship to Lviv?")
    clock.advance(minutes=1)
    write(store, waiting.contact, "Hello?")  # the clock runs from the oldest unanswered one
    answered_once = write(store, make_contact(store), "Gift wrap?")
    reply(answered_once, agent, "Yes, free.")
    clock.advance(minutes=3)
    again = clock.now
    write(store, answered_once.contact, "And a card?")
    clock.advance(minutes=1)
    write(store, answered_once.contact, "Thanks!")
    by_email = write(store, make_contact(store), "Invoice please", channel="email")
    snoozed = write(store, make_contact(store), "Back in stock when?", channel="email")
    change_status(snoozed, "snoozed", agent, snoozed_until=datetime.now(UTC) + timedelta(days=1))
    answered = write(store, make_contact(store), "Opening hours?")
    reply(answered, agent, "9 to 5.")
    resolved = write(store, make_contact(store), "Nothing more", channel="email")
    change_status(resolved, "resolved", agent)
    closed = write(store, make_contact(store), "Bye", channel="email")
    change_status(closed, "closed", agent)
    by_api = write(store, make_contact(store), "Order 7", channel="api")
    assert all(stored_due(t.id) is None for t in (waiting, answered_once, by_email, snoozed))

    update_store_settings(db.session.get(Store, store.id), **TARGETS)
    assert stored_due(waiting.id) == started + timedelta(minutes=2)  # first reply
    assert stored_due(answered_once.id) == again + timedelta(minutes=5)  # next reply
    assert stored_due(by_email.id) == clock.now + timedelta(hours=4)
    assert stored_due(snoozed.id) == clock.now + timedelta(hours=4)
    for ticket in (answered, resolved, closed, by_api):
        assert stored_due(ticket.id) is None


def test_practice_chats_stay_without_a_due_time_when_targets_are_set(clock):
    trainee = make_agent(name="New Nina", academy=False)
    complete_intro(trainee)
    accept_policies(trainee, [])
    ticket = start_practice(trainee)
    practice_store = db.session.get(Store, ticket.store_id)
    write(practice_store, ticket.contact, "Still there?", ticket=db.session.get(Ticket, ticket.id))
    update_store_settings(practice_store, **TARGETS)
    assert stored_due(ticket.id) is None


def test_changing_a_target_moves_the_due_times_and_removing_them_clears_them(store, agent, clock):
    started = clock.now
    chat = write(store, make_contact(store))
    email = write(store, make_contact(store), channel="email")
    assert stored_due(chat.id) == started + timedelta(minutes=2)
    clock.advance(minutes=1)
    update_store_settings(db.session.get(Store, store.id), reply_target_chat_first_minutes=10)
    assert stored_due(chat.id) == started + timedelta(minutes=10)  # still from the message, not now
    assert stored_due(email.id) == started + timedelta(hours=4)
    update_store_settings(db.session.get(Store, store.id), reply_target_email_first_minutes=0)
    assert stored_due(email.id) is None and stored_due(chat.id) == started + timedelta(minutes=10)
    update_store_settings(db.session.get(Store, store.id), **NO_TARGETS)
    assert stored_due(chat.id) is None


def test_business_hours_only_is_honoured_when_the_targets_change(clock):
    store = make_store("Paris", timezone="Europe/Paris", business_hours=PARIS_WEEKDAYS, **TARGETS)
    clock.now = local(2026, 1, 16, 16, 30).astimezone(UTC)  # Friday afternoon
    ticket = write(store, make_contact(store), "Can I still order for Monday?", channel="email")
    assert stored_due(ticket.id) == local(2026, 1, 16, 20, 30)  # on the clock
    update_store_settings(db.session.get(Store, store.id), reply_target_business_hours_only=True)
    assert stored_due(ticket.id) == local(2026, 1, 19, 12, 30)  # half an hour Friday, 3.5 h Monday
    update_store_settings(db.session.get(Store, store.id), reply_target_business_hours_only=False)
    assert stored_due(ticket.id) == local(2026, 1, 16, 20, 30)


def test_new_business_hours_move_the_due_times_when_only_business_hours_count(clock):
    store = make_store("Paris", timezone="Europe/Paris", business_hours=PARIS_WEEKDAYS,
                       reply_target_business_hours_only=True, **TARGETS)
    clock.now = local(2026, 1, 16, 16, 30).astimezone(UTC)  # Friday afternoon
    ticket = write(store, make_contact(store), "Can I still order for Monday?", channel="email")
    assert stored_due(ticket.id) == local(2026, 1, 19, 12, 30)
    # Open on Saturdays too: the 3.5 hours left after Friday's close are Saturday morning's.
    update_store_settings(db.session.get(Store, store.id), business_hours=PARIS_EVERY_DAY)
    assert stored_due(ticket.id) == local(2026, 1, 17, 12, 30)


def test_recomputing_costs_the_same_statements_for_few_or_many_tickets(clock):
    def statements_of(count):
        store = make_store(f"{count} waiting")
        for _ in range(count):
            write(store, make_contact(store), channel="email")
        with statements_run() as statements:
            update_store_settings(db.session.get(Store, store.id), **TARGETS)
        assert [s for s in statements if s.startswith("update tickets")], statements
        return [s.split(" ")[0] for s in statements]

    assert statements_of(2) == statements_of(12)


def test_a_settings_change_that_leaves_the_targets_alone_reads_no_tickets(store, clock):
    write(store, make_contact(store))
    with statements_run() as statements:
        update_store_settings(db.session.get(Store, store.id), greeting="Hi there!", **TARGETS)
    assert not [s for s in statements if "from tickets" in s or s.startswith("update tickets")], statements
