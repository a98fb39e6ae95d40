"""Offline spelling with pyspellchecker's shipped dictionaries: words are corrected; case,
punctuation, links, emails, order numbers and @mentions come through untouched."""
import pytest

from helpdesk.assist.spelling import LANGUAGES, NoDictionary, correct, pick_language


def test_english_typos():
    assert correct("You will recieve teh ordr tomorrow.", "en") == "You will receive the order tomorrow."


def test_german_typos_keep_noun_capitals():
    assert correct("Sie werden Ihre Bestelung morgen erhalen.", "de") == \
        "Sie werden Ihre Bestellung morgen erhalten."


def test_case_is_kept_and_short_acronyms_are_left_alone():
    assert correct("Teh parcel. THNAKS, sent by UPS", "en") == "The parcel. THANKS, sent by UPS"


def test_links_emails_numbers_and_mentions_pass_through():
    text = ("Hi Ira, teh ordr #A1234 (SKU rd-42xl) is at https://shop.tset/ordr?id=teh, "
            "write to suport@exmple.tset or ask @bobb — thnaks!")
    assert correct(text, "en") == (
        "Hi Ira, the order #A1234 (SKU rd-42xl) is at https://shop.tset/ordr?id=teh, "
        "write to suport@exmple.tset or ask @bobb — thanks!")


def test_whitespace_and_line_breaks_are_kept():
    assert correct("teh\n\n  ordr\t!", "en") == "the\n\n  order\t!"


def test_ukrainian_has_no_dictionary():
    # pyspellchecker ships no uk dictionary: the inbox says so instead of "correcting" it.
    assert "uk" not in LANGUAGES and {"en", "de"} <= LANGUAGES
    with pytest.raises(NoDictionary) as info:
        pick_language("Дякуємо за замовлення, ми надішлемо його завтра", ["uk", "en"])
    assert info.value.language == "uk"


def test_language_is_picked_by_known_words():
    assert pick_language("Ihre Bestelung ist unterwegs, vielen Dank", ["en", "de"]) == "de"
    assert pick_language("Your ordr is on its way, thanks", ["de", "en"]) == "en"
    # A typo-ridden draft in a language with a dictionary is not mistaken for Ukrainian.
    assert pick_language("You will recieve teh ordr tomorrow", ["uk", "en"]) == "en"
