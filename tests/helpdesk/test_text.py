"""The one sanitiser: what email HTML keeps, and what never reaches the screen."""
import pytest

from helpdesk.text import sanitize_email_html


@pytest.mark.parametrize("html", [
    "<style>p.MsoNormal{margin:0cm}</style><p>Hello</p>",
    "<STYLE type='text/css'>\np { color: red }\n</STYLE ><p>Hello</p>",
    "<head><title>Untitled document</title></head><p>Hello</p>",
    "<script>alert(document.cookie)</script><p>Hello</p>",
    "<p>Hello</p><script>var a = '</p>';",  # never closed: the rest is script, as a browser reads it
    "<template><b>draft</b></template><p>Hello</p>",
])
def test_the_code_of_scripts_and_style_sheets_never_shows_as_text(html):
    cleaned = sanitize_email_html(html)
    assert "Hello" in cleaned
    for code in ("MsoNormal", "color: red", "Untitled", "alert", "var a", "draft"):
        assert code not in cleaned


def test_text_after_a_style_sheet_and_allowed_markup_stay():
    cleaned = sanitize_email_html('<style>b{}</style><p>Code <b>SPRING15</b> at <a href="https://shop.test/">'
                                  "the shop</a></p><noscript>Enable images</noscript>")
    assert "<b>SPRING15</b>" in cleaned and 'href="https://shop.test/"' in cleaned
    assert "Enable images" in cleaned  # shown by a browser without scripts: it stays
