"""find_or_create_contact: what it finds, what it writes and when."""
from helpdesk.actions import action
from helpdesk.actions.contacts import find_or_create_contact
from helpdesk.extensions import db
from helpdesk.models import Contact
from tests.factories import make_store
from tests.sql import statements_run


def writes(statements):
    return [s for s in statements if s.startswith(("insert", "update", "delete"))]


def test_a_new_contact_is_written_at_once_with_everything_it_was_given():
    store = make_store()

    @action
    def create():
        contact = find_or_create_contact(store, email=" Dana@Example.com ", name="Dana", phone="+33 1 23",
                                         locale="fr")
        # Known before the commit: the ticket or message that follows refers to it.
        assert contact.id is not None
        return contact.id

    with statements_run() as statements:
        contact_id = create()
    assert len([s for s in writes(statements) if "contacts" in s]) == 1
    db.session.expire_all()
    contact = db.session.get(Contact, contact_id)
    assert (contact.email, contact.name, contact.phone, contact.locale) == ("dana@example.com", "Dana", "+33 1 23",
                                                                           "fr")
    assert contact.platform_ids == {} and contact.blocked is False and contact.created_at is not None


def test_finding_a_known_contact_writes_nothing_and_a_missing_name_is_filled_at_commit():
    store = make_store()
    first = find_or_create_contact(store, email="dana@example.com")
    db.session.expire_all()

    with statements_run() as statements:
        again = find_or_create_contact(store, email="DANA@example.com")
    assert again.id == first.id and writes(statements) == []

    @action
    def fill():
        contact = find_or_create_contact(store, email="dana@example.com", name="Dana Fischer")
        # Not flushed on its own: written with the transaction's next flush, at the latest its commit.
        assert contact in db.session.dirty
        return contact

    fill()
    db.session.expire_all()
    assert db.session.get(Contact, first.id).name == "Dana Fischer"


def test_a_contact_the_caller_already_read_is_not_read_again():
    store = make_store()
    known = find_or_create_contact(store, email="dana@example.com")
    db.session.refresh(known)  # as the caller holds it: loaded in this transaction
    with statements_run() as statements:
        found = find_or_create_contact(store, email="dana@example.com", by_email=known)
    assert found is known and statements == []
    # None: the caller read that nobody has the address; the contact is created.
    with statements_run() as statements:
        created = find_or_create_contact(store, email="new@example.com", by_email=None)
    assert created.id != known.id and created.email == "new@example.com"
    assert not [s for s in statements if s.startswith("select") and "contacts" in s]
