"""helpdesk.signatures: how signature text is stored, which placeholders a store's may name,
how they are filled (explicit replacement, never str.format), and the HTML it becomes."""
import pytest

from helpdesk.signatures import (
    MAX_SIGNATURE_LENGTH,
    Signature,
    clean_signature,
    fill_placeholders,
    reply_signature,
    store_signature,
    unknown_placeholders,
)
from tests.factories import make_agent, make_store


def test_clean_signature_keeps_lines_and_drops_what_is_not_text():
    assert clean_signature("\r\n  Sam Carter  \r\nLinen & Co\x00\x07\t \n\n") == "Sam Carter\nLinen & Co"
    assert clean_signature("a\rb") == "a\nb"
    assert clean_signature(None) == "" and clean_signature("  \n ") == ""
    assert len(clean_signature("x" * (MAX_SIGNATURE_LENGTH + 50))) == MAX_SIGNATURE_LENGTH


@pytest.mark.parametrize("text, unknown", [
    ("{agent_name}\n{store_name} support", []),
    ("Hours: 9-5 {no braces in here", []),
    ("{agent}, {Store_Name} and {agent}", ["{agent}", "{Store_Name}"]),
    ("{0.__class__} {agent_name.upper} {}", ["{0.__class__}", "{agent_name.upper}", "{}"]),
])
def test_unknown_placeholders_are_named_once_each(text, unknown):
    assert unknown_placeholders(text) == unknown


def test_placeholders_are_filled_in_one_explicit_pass():
    text = "Best,\n{agent_name}\n{store_name} · {store_name}"
    assert fill_placeholders(text, agent_name="Sam", store_name="Linen & Co") == "Best,\nSam\nLinen & Co · Linen & Co"
    # A name that itself reads like a placeholder (or format syntax) is not filled again.
    assert fill_placeholders("{agent_name} / {store_name}", agent_name="{store_name}", store_name="{0} %s") == \
        "{store_name} / {0} %s"


def test_without_an_agent_agent_name_and_the_line_it_empties_are_left_out():
    text = "{agent_name}\n\nThe {store_name} team\nCall us, {agent_name}"
    assert fill_placeholders(text, agent_name="", store_name="Linen") == "The Linen team\nCall us,"


def test_the_html_is_escaped_with_links_and_addresses_clickable():
    html = str(Signature('Sam <script>alert(1)</script>\n<img src=x onerror="alert(2)">\n'
                         "help@linen-shop.com · https://linen-shop.com/help").html)
    assert "<script" not in html and "<img" not in html and "onerror=\"alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert '<a href="mailto:help@linen-shop.com"' in html and '<a href="https://linen-shop.com/help"' in html
    assert html.count("<br>") == 2


def test_the_agents_own_signature_comes_first_then_the_stores():
    store = make_store("Linen & Co", signature="{agent_name}\n{store_name}")
    sam = make_agent("Sam Carter")
    assert reply_signature(store, sam).text == "Sam Carter\nLinen & Co"
    sam.signature = "Sam, shoe expert"
    assert reply_signature(store, sam).text == "Sam, shoe expert"
    assert store_signature(store).text == "Linen & Co"  # automatic mail: the store's only
    bare = make_store("Bare")
    assert store_signature(bare) is None and reply_signature(bare, make_agent()) is None
