"""The widget in other languages, in real Chromium: a German browser gets the German widget
and pre-chat form; the shop's page switches it to Arabic (Helpdesk.setLanguage), which the
panel lays out right to left. Screenshots are kept in test-artifacts/."""
import pytest
from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, screenshot
from tests.widgets.test_browser import demo, open_widget, panel, shopper  # noqa: F401 -- fixtures

pytestmark = pytest.mark.browser


def test_a_german_browser_sees_the_german_widget_and_pre_chat_form(shopper):  # noqa: F811
    page = shopper(PHONE, locale="de-DE")
    expect(page.locator("#hd-launcher")).to_have_attribute("aria-label", "Chat öffnen")
    frame = open_widget(page)
    expect(frame.locator("html")).to_have_attribute("lang", "de")
    expect(frame.locator("#hd-greeting")).to_have_text("Hallo! Wie können wir Ihnen heute helfen?")
    expect(frame.locator("#hd-prechat h2")).to_have_text("Bevor wir beginnen")
    expect(frame.locator("[data-field=email] span").first).to_contain_text("E-Mail")
    expect(frame.locator("#hd-text")).to_have_attribute("placeholder", "Schreiben Sie Ihre Nachricht…")
    expect(page.locator("#hd-launcher")).to_have_attribute("aria-label", "Chat schließen")
    screenshot(page, "widget-de-phone.png")
    assert not page.errors, page.errors


def test_the_shop_switches_the_widget_to_arabic_which_reads_right_to_left(shopper):  # noqa: F811
    page = shopper(DESKTOP)  # an English browser: the shop's choice wins
    page.evaluate("Helpdesk.setLanguage('ar')")
    frame = open_widget(page)
    html = frame.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(frame.locator("#hd-prechat h2")).to_have_text("قبل أن نبدأ")
    expect(frame.locator("#hd-text")).to_have_attribute("placeholder", "اكتب رسالتك…")
    # Mirrored: the header's avatar sits at the right edge, the close button at the left.
    avatar = frame.locator("#hd-avatar").bounding_box()
    close = frame.locator("#hd-close").bounding_box()
    assert avatar["x"] > close["x"], (avatar, close)
    direction = frame.locator("#hd-compose").evaluate("e => getComputedStyle(e).direction")
    assert direction == "rtl"
    # The send arrow points the way the text runs.
    arrow = frame.locator("#hd-send svg").evaluate("e => getComputedStyle(e).transform")
    assert arrow.startswith("matrix(-1"), arrow
    screenshot(page, "widget-ar-desktop.png")
    assert not page.errors, page.errors
