"""FAQ: admins write entries, agents search them (words, case-insensitive substrings,
question matches ranked above answer matches, store-restricted agents see their stores')."""
import pytest

from helpdesk.actions import ActionError, Forbidden, NotFound
from helpdesk.actions.faq import (
    create_faq_entry,
    delete_faq_entry,
    faq_entry_or_404,
    search_faq,
    search_words,
    update_faq_entry,
)
from helpdesk.extensions import db
from helpdesk.models import FaqEntry
from tests.factories import make_agent, make_store


@pytest.fixture
def faq():
    main, other = make_store("Main"), make_store("Other")
    admin = make_agent(name="Ada", role="admin")
    entries = {
        "returns": create_faq_entry(admin, question="How do RETURNS work?",
                                    answer="Shoppers send items back within 30 days.", tags=["Returns", "returns"]),
        "shipping": create_faq_entry(admin, question="How long does shipping take?",
                                     answer="Three to five days. Returns are free."),
        "sizes": create_faq_entry(admin, question="Do the sneakers run small?", answer="Order one size up.",
                                  store_id=main.id),
        "other": create_faq_entry(admin, question="Other shop's return address?", answer="Berlin.",
                                  store_id=other.id),
        "percent": create_faq_entry(admin, question="Is there a 100% cotton shirt?", answer="Yes, the linen_shirt."),
    }
    return main, other, admin, entries


def ids(rows):
    return [r.id for r in rows]


def test_only_admins_manage_the_faq(faq):
    main, _, _, entries = faq
    agent = make_agent(stores=[main])
    with pytest.raises(Forbidden):
        create_faq_entry(agent, question="q", answer="a")
    with pytest.raises(Forbidden):
        update_faq_entry(agent, entries["returns"], answer="changed")
    with pytest.raises(Forbidden):
        delete_faq_entry(agent, entries["returns"])
    assert db.session.query(FaqEntry).count() == 5


def test_entries_are_validated_and_tags_normalised(faq):
    _, _, admin, entries = faq
    assert entries["returns"].tags == ["returns"]
    assert entries["returns"].updated_by_id == admin.id
    with pytest.raises(ActionError) as exc:
        create_faq_entry(admin, question="  ", answer="a")
    assert exc.value.field == "question"
    with pytest.raises(ActionError) as exc:
        create_faq_entry(admin, question="q", answer="a", store_id=4242)
    assert exc.value.field == "store_id"


def test_search_is_case_insensitive_and_ranks_question_over_answer(faq):
    _, _, admin, entries = faq
    found = search_faq(admin, "return")
    # "RETURNS" and "return" in questions beat "Returns" in an answer (newest edit first among equals);
    # the other shop's entry matches too for an admin.
    assert ids(found) == [entries["other"].id, entries["returns"].id, entries["shipping"].id]


def test_search_folds_the_case_of_every_letter(faq):
    """Cyrillic and accented capitals match their small letters, on SQLite as on PostgreSQL."""
    _, _, admin, _ = faq
    kyiv = create_faq_entry(admin, question="ДОСТАВКА до Києва?", answer="Два дні.")
    change = create_faq_entry(admin, question="Adresse ändern?", answer="ÄNDERUNG bis 14 Uhr möglich.")
    assert ids(search_faq(admin, "доставка")) == [kyiv.id]
    assert ids(search_faq(admin, "КИЄВА")) == [kyiv.id]
    assert ids(search_faq(admin, "änderung")) == [change.id]
    assert ids(search_faq(admin, "ÄNDERN")) == [change.id]


def test_more_matching_words_rank_higher(faq):
    _, _, admin, entries = faq
    found = search_faq(admin, "shipping days returns")
    assert ids(found)[0] == entries["shipping"].id


def test_restricted_agent_sees_global_and_own_store_entries_only(faq):
    main, other, _, entries = faq
    agent = make_agent(stores=[main])
    assert set(ids(search_faq(agent, ""))) == {entries[k].id for k in ("returns", "shipping", "sizes", "percent")}
    assert entries["other"].id not in ids(search_faq(agent, "return"))
    assert search_faq(agent, "return", store_id=other.id) == []
    with pytest.raises(NotFound):
        faq_entry_or_404(agent, entries["other"].id)


def test_like_wildcards_are_searched_literally(faq):
    _, _, admin, entries = faq
    assert ids(search_faq(admin, "100%")) == [entries["percent"].id]
    assert ids(search_faq(admin, "linen_shirt")) == [entries["percent"].id]
    assert search_words("%%% !!") == []


def test_update_and_delete(faq):
    _, _, admin, entries = faq
    other_admin = make_agent(role="admin")
    update_faq_entry(other_admin, entries["sizes"], question="Do sneakers fit true to size?", store_id=None,
                     tags=["Fit"])
    entry = entries["sizes"]
    assert (entry.question, entry.store_id, entry.tags, entry.updated_by_id) == (
        "Do sneakers fit true to size?", None, ["fit"], other_admin.id)
    delete_faq_entry(admin, entry)
    assert db.session.get(FaqEntry, entry.id) is None
