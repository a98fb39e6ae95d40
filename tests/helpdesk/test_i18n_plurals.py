"""Counted strings for the inbox scripts: one form per CLDR plural category of the locale."""
from flask_babel import force_locale

from helpdesk.i18n import plural_forms


def test_english_has_one_and_other(app):
    with app.test_request_context(), force_locale("en"):
        forms = plural_forms("%(num)s chat waiting", "%(num)s chats waiting")
    assert forms == {"one": "%(num)s chat waiting", "other": "%(num)s chats waiting"}


def test_ukrainian_gets_a_form_for_each_of_its_categories(app):
    with app.test_request_context(), force_locale("uk"):
        forms = plural_forms("%(num)s chat waiting", "%(num)s chats waiting")
    assert set(forms) == {"one", "few", "many", "other"}
    assert all("%(num)s" in text for text in forms.values())
    # 1 chat, 2 chats and 5 chats are three different words in Ukrainian.
    assert len({forms["one"], forms["few"], forms["many"]}) == 3


def test_the_inbox_page_carries_counted_strings_as_objects(client):
    from tests.factories import make_agent
    from tests.inbox.test_views import sign_in

    sign_in(client, make_agent())
    page = client.get("/inbox/").get_data(as_text=True)
    assert '"home_waiting": {"one": "%(num)s chat waiting", "other": "%(num)s chats waiting"}' in page
