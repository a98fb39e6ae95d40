"""Localization (issue 7): catalogs complete and compiled, locale selection, per-store texts,
emails in the contact's language, message language detection, the language settings API."""
import io
import logging
import os
import re
from datetime import datetime, timezone

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from helpdesk import i18n
from helpdesk.actions.assist import request_assist
from helpdesk.actions.email import receive_form_submission
from helpdesk.actions.languages import set_agent_language
from helpdesk.actions.messages import reply
from helpdesk.extensions import db
from helpdesk.models import Message
from tests.api.conftest import Api, admin, admin_api, agent, api, login  # noqa: F401 -- fixtures
from tests.assist_server import assist_server, provider  # noqa: F401 -- fixtures
from tests.factories import make_agent, make_contact, make_store, make_ticket, make_token
from tests.workers.conftest import smtp_server  # noqa: F401 -- fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPLETE = ("de", "uk")  # besides English, the source
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{[\w.]+\}")


def _catalog(lang):
    with open(os.path.join(i18n.TRANSLATIONS, lang, "LC_MESSAGES", "messages.po"), "rb") as fh:
        return read_po(fh, locale=lang)


def _used_msgids():
    """Every msgid the code and templates use now (the same extraction as `helpdesk i18n extract`)."""
    method_map = [("helpdesk/**.py", "python"), ("inbox/**.py", "python"), ("widgets/**.py", "python"),
                  ("connectors/**.py", "python"), ("workers/**.py", "python"),
                  ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
                **{k: None for k in i18n.KEYWORDS}}
    ids = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(ROOT, method_map, keywords=keywords):
        ids.add(msg[0] if isinstance(msg, (tuple, list)) else msg)
    return {m for m in ids if m}


# ---- catalogs -------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ("en",) + COMPLETE)
def test_every_string_the_code_uses_is_in_the_catalog(lang):
    # A new _("...") fails here until `helpdesk i18n update` ran and someone translated it.
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(lang) if m.id}
    missing = sorted(_used_msgids() - have)
    assert not missing, f"{len(missing)} msgids missing from {lang}: run `helpdesk i18n update`: {missing[:20]}"


@pytest.mark.parametrize("lang", COMPLETE)
def test_german_and_ukrainian_translate_every_string_with_the_same_placeholders(lang):
    untranslated, broken = [], []
    for msg in _catalog(lang):
        if not msg.id:
            continue
        ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
        strings = [msg.string] if isinstance(msg.string, str) else list(msg.string)
        if "fuzzy" in msg.flags or not all(strings):
            untranslated.append(ids[0])
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) - wanted or (len(strings) == 1 and set(PLACEHOLDER.findall(s)) != wanted)
               for s in strings):
            broken.append(ids[0])
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated: {untranslated[:20]}"
    assert not broken, f"{lang}: placeholders differ: {broken}"


@pytest.mark.parametrize("lang", ("en", "de", "uk", "ar"))
def test_the_committed_mo_files_match_their_po_files(lang):
    # The app reads the .mo files: a .po edited without `helpdesk i18n compile` is caught.
    po = _catalog(lang)
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    fresh = _pairs(read_mo(compiled))
    with open(os.path.join(i18n.TRANSLATIONS, lang, "LC_MESSAGES", "messages.mo"), "rb") as fh:
        committed = _pairs(read_mo(fh))
    assert committed == fresh


def _pairs(catalog):
    def key(v):
        return v if isinstance(v, str) else tuple(v)

    return {key(m.id): key(m.string) for m in catalog if m.id}


def test_the_rtl_catalog_translates_the_widget():
    ar = {m.id: m.string for m in _catalog("ar") if m.id and isinstance(m.id, str)}
    for msgid in ("Open chat", "Type your message…", "Before we start", "Send", "Your name"):
        assert ar.get(msgid), msgid
    assert i18n.is_rtl("ar") and i18n.is_rtl("ar-EG") and not i18n.is_rtl("de")


def test_the_app_reads_the_catalogs(app):
    with app.test_request_context():
        assert [str(_t("Open chat", lang)) for lang in ("en", "de", "uk", "ar")] == \
            ["Open chat", "Chat öffnen", "Відкрити чат", "فتح الدردشة"]
        # Errors raised by actions are translated when they are read, for whoever reads them.
        from helpdesk.actions import ActionError

        error = ActionError("Write something first.", "body")
        with force_locale("de"):
            assert error.as_dict()["message"] == "Schreiben Sie zuerst etwas."


def _t(msgid, lang):
    from flask_babel import gettext

    with force_locale(lang):
        return gettext(msgid)


# ---- locale selection -----------------------------------------------------------------------

def test_normalize_maps_browser_codes_to_catalogs():
    assert i18n.normalize("de-DE") == "de" and i18n.normalize("UK") == "uk" and i18n.normalize("en_GB") == "en"
    assert i18n.normalize("fr") is None and i18n.normalize("<script>") is None and i18n.normalize(None) is None


def test_the_shopper_gets_the_stores_language_the_browser_prefers(app):
    store = make_store(languages=["en", "de", "uk"])
    assert i18n.negotiate(store, accept="uk-UA,uk;q=0.9,en;q=0.5") == "uk"
    assert i18n.negotiate(store, accept="fr-FR,de;q=0.8") == "de"
    assert i18n.negotiate(store, accept="fr-FR") == "en"  # the store's first language
    assert i18n.negotiate(store, accept=["de-AT", "en"]) == "de"  # navigator.languages
    # The shop's page overrides the browser (Helpdesk.setLanguage / data-language).
    assert i18n.negotiate(store, requested="uk", accept="de") == "uk"
    # ...but only among the store's languages: Arabic has a catalog, this store does not offer it.
    assert i18n.negotiate(store, requested="ar", accept="de") == "de"


def test_a_store_language_without_a_catalog_falls_back_to_english_with_a_warning(app, client, caplog):
    store = make_store(languages=["fr", "xx-YY"])
    with caplog.at_level(logging.WARNING, logger="helpdesk.i18n"):
        assert i18n.store_languages(store) == ["en"]
        resp = client.get(f"/widget/frame?key={store.widget_key}", headers={"Accept-Language": "fr"})
    assert resp.status_code == 200 and '<html lang="en" dir="ltr">' in resp.get_data(as_text=True)
    warned = [r for r in caplog.records if "no catalog" in r.getMessage()]
    assert warned and {r.language for r in warned} >= {"fr", "xx-YY"}


def test_the_widget_frame_and_session_speak_the_shoppers_language(client):
    store = make_store(languages=["en", "de", "uk"])
    frame = client.get(f"/widget/frame?key={store.widget_key}", headers={"Accept-Language": "de-DE,de;q=0.9"})
    html = frame.get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in html and "Bevor wir beginnen" in html and "Ihr Name" in html
    assert "Accept-Language" in frame.headers["Vary"]
    # The page's choice (?lang= from Helpdesk.setLanguage) beats the browser's.
    html = client.get(f"/widget/frame?key={store.widget_key}&lang=uk", headers={"Accept-Language": "de"}).get_data(
        as_text=True)
    assert '<html lang="uk"' in html and "Перш ніж почати" in html
    # The session records the panel's language on the visitor.
    resp = client.post("/widget/api/session", json={"key": store.widget_key, "locale": "uk"})
    assert resp.get_json()["store"]["locale"] == "uk"
    assert resp.get_json()["store"]["greeting"] == "Вітаємо! Чим можемо допомогти?"
    from widgets.tokens import visitor_from_token

    assert visitor_from_token(resp.get_json()["token"], store).locale == "uk"


def test_an_rtl_language_sets_the_frames_direction(client):
    store = make_store(languages=["ar", "en"])
    html = client.get(f"/widget/frame?key={store.widget_key}", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html and "قبل أن نبدأ" in html


def test_the_launcher_labels_come_translated_with_the_ping(client):
    store = make_store(languages=["en", "de"])
    resp = client.post("/widget/api/ping", json={"key": store.widget_key, "lang": "de"})
    assert resp.get_json()["labels"]["open"] == "Chat öffnen"


# ---- per-store texts ------------------------------------------------------------------------

def test_store_texts_override_the_default_per_language_and_markup_stays_text(client):
    store = make_store(languages=["en", "de"], greeting="Hello from the shop",
                       texts={"de": {"greeting": "<b>Moin!</b>", "prechat": {"name": "<i>Vorname</i>"}}})
    de = client.post("/widget/api/session", json={"key": store.widget_key, "locale": "de"}).get_json()["store"]
    # JSON carries the text as written; the panel only ever sets it as textContent.
    assert de["greeting"] == "<b>Moin!</b>"
    assert de["offline_message"].startswith("Wir sind gerade nicht da")  # no override: the translation
    en = client.post("/widget/api/session", json={"key": store.widget_key, "locale": "en"}).get_json()["store"]
    assert en["greeting"] == "Hello from the shop"  # the old single greeting: the first language's
    html = client.get(f"/widget/frame?key={store.widget_key}&lang=de").get_data(as_text=True)
    assert "&lt;i&gt;Vorname&lt;/i&gt;" in html and "<i>Vorname" not in html


def test_the_store_languages_api_validates_and_saves(app, admin_api, api):
    store = make_store()
    body = {"languages": ["de", "en"], "texts": {"de": {"greeting": "Hallo!", "prechat": {"name": "Vorname"}}}}
    resp = admin_api.patch(f"/stores/{store.id}/languages", body)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["languages"] == ["de", "en"]
    assert resp.get_json()["texts"] == {"de": {"greeting": "Hallo!", "prechat": {"name": "Vorname"}}}
    bad = [({"languages": ["fr"]}, 422, "languages"), ({"languages": []}, 422, "languages"),
           ({"texts": {"uk": {"greeting": "Привіт"}}}, 422, "texts.uk"),
           ({"texts": {"de": {"greeting": "x" * 501}}}, 422, "texts"),
           ({"texts": {"de": {"colour": "red"}}}, 422, "texts")]
    for payload, status, field in bad:
        resp = admin_api.patch(f"/stores/{store.id}/languages", payload)
        assert resp.status_code == status and field in resp.get_json()["errors"], (payload, resp.get_json())
    assert api.patch(f"/stores/{store.id}/languages", {"languages": ["en"]}).status_code == 403
    assert api.get(f"/stores/{store.id}/languages").get_json()["languages"] == ["de", "en"]


# ---- the agent's language -------------------------------------------------------------------

def test_an_agent_chooses_the_inbox_language(app, client):
    agent = make_agent(name="Jana")
    csrf = login(client, agent)
    assert 'id="agent-language"' in client.get("/inbox/").get_data(as_text=True)
    resp = client.put("/api/v1/agents/me/language", json={"language": "de"}, headers={"X-CSRFToken": csrf})
    assert resp.status_code == 200 and resp.get_json()["locale"] == "de"
    page = client.get("/inbox/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de"' in page and "Abmelden" in page  # "Sign out"
    # Without the CSRF token the session cannot change it.
    assert client.put("/api/v1/agents/me/language", json={"language": "uk"}).status_code in (400, 403)
    api = Api(app.test_client(), make_token(agent))
    assert api.put("/agents/me/language", {"language": "fr"}).status_code == 422


# ---- formatting -----------------------------------------------------------------------------

def test_dates_and_money_are_formatted_for_the_locale_in_the_stores_time_zone():
    store = make_store(timezone="Europe/Kyiv")
    at = datetime(2026, 11, 3, 7, 5, tzinfo=timezone.utc)  # 09:05 in Kyiv
    assert i18n.format_datetime(at, store, locale="de") == "03.11.2026, 09:05"
    assert i18n.format_datetime(at, store, locale="en") == "Nov 3, 2026, 9:05\u202fAM"
    assert i18n.format_money(1234.5, "EUR", locale="de") == "1.234,50\xa0€"
    assert i18n.format_number(1234567.5, locale="uk") == "1\xa0234\xa0567,5"
    assert i18n.format_datetime(at, make_store(timezone="Mars/Olympus"), locale="en").endswith("7:05\u202fAM")


# ---- emails in the contact's language -------------------------------------------------------

def test_automatic_and_agent_emails_use_the_contacts_language(app, smtp_server):  # noqa: F811
    store = make_store("Socken GmbH", languages=["en", "de", "uk"], timezone="Europe/Berlin",
                       contact_form={"acknowledge": True})
    with app.test_request_context():
        receive_form_submission(store, email="jonas@example.test", name="Jonas", body="Wo bleibt mein Paket?",
                                locale="de")
    (ack,) = smtp_server.wait_for(1)
    text = ack.get_body(("plain",)).get_content()
    assert "Hallo Jonas," in text and "Vielen Dank, dass Sie Socken GmbH kontaktiert haben" in text
    assert "Eingegangen am " in text and "(Zeitzone Europe/Berlin)" in text  # a German date, the store's zone
    assert '<html lang="de" dir="ltr">' in ack.get_body(("html",)).get_content()
    # A Ukrainian contact's reply email: footer and sender line in Ukrainian.
    contact = make_contact(store, email="oksana@example.test", name="Оксана", locale="uk-UA")
    ticket = make_ticket(store, contact=contact, channel="email", text="Де моє замовлення? Чекаю вже тиждень.")
    reply(ticket, make_agent("Max"), "Ваше замовлення вже в дорозі.")
    (mail,) = smtp_server.wait_for(2)[1:]
    assert "щоб продовжити, дайте відповідь на цей лист" in mail.get_body(("plain",)).get_content()
    assert "Max з Socken GmbH" in str(mail["From"])


def test_a_contact_language_the_store_does_not_offer_gets_the_stores_first(app):
    store = make_store(languages=["de", "en"])
    assert i18n.contact_locale(make_contact(store, locale="fr"), store) == "de"
    assert i18n.contact_locale(make_contact(store, locale="en-GB"), store) == "en"


# ---- message language -----------------------------------------------------------------------

def test_the_language_of_each_message_is_detected_and_stored(app, api):
    store = make_store()
    ticket = make_ticket(store, text="Hallo, wo ist meine Bestellung? Ich warte seit einer Woche.")
    first = ticket.messages.order_by(Message.id).first()
    assert first.language == "de"
    answer = reply(ticket, make_agent(), "Доброго дня! Ваше замовлення вже відправлено.")
    assert answer.language == "uk"
    assert reply(ticket, make_agent(), "ok!").language is None  # too short to tell
    items = api.get(f"/tickets/{ticket.id}/messages").get_json()["items"]
    assert [m["language"] for m in items] == ["de", "uk", None]


def test_detection_needs_a_few_words():
    assert i18n.detect_language("Can you help me with a refund please") == "en"
    assert i18n.detect_language("Мені потрібна допомога з поверненням") == "uk"
    assert i18n.detect_language("Danke") is None and i18n.detect_language("") is None
    assert i18n.detect_language("https://shop.example/p/1 a@b.example") is None


def test_the_language_is_read_from_the_start_of_a_long_text():
    start = ("Guten Tag, leider ist meine Bestellung immer noch nicht angekommen. "
             "Können Sie bitte nachsehen, wo das Paket gerade ist? ") * 5
    rest = "Мені потрібна допомога з поверненням товару, який я купила минулого тижня. " * 20
    assert i18n.detect_language(rest) == "uk"
    assert i18n.detect_language(start[:i18n.SAMPLE_LENGTH] + rest) == "de"


# ---- field messages in the reader's language --------------------------------------------

def test_marshmallow_messages_are_translated_with_their_numbers(app):
    with app.test_request_context(), force_locale("de"):
        errors = i18n.translate_errors({
            "title": ["Missing data for required field."], "body": ["Longer than maximum length 120."],
            "n": ["Must be greater than or equal to 1 and less than or equal to 5."], "x": ["Unknown field."],
            "items": {0: ["Not a valid integer."]}, "status": ["Must be one of: open, closed."],
        })
    assert errors == {
        "title": ["Fehlende Daten für ein Pflichtfeld."], "body": ["Länger als die maximale Länge 120."],
        "n": ["Muss größer oder gleich 1 und kleiner oder gleich 5 sein."], "x": ["Unbekanntes Feld."],
        "items": {0: ["Keine gültige Ganzzahl."]}, "status": ["Muss einer der folgenden Werte sein: open, closed."],
    }
    with app.test_request_context(), force_locale("uk"):
        assert i18n.translate_message("Shorter than minimum length 3.") == "Коротше за мінімальну довжину 3."
        # Not marshmallow's and not in the catalog: left as it is.
        assert i18n.translate_message("Bespoke text.") == "Bespoke text."


def test_every_marshmallow_message_has_a_german_and_ukrainian_translation():
    for lang in COMPLETE:
        have = {m.id: m.string for m in _catalog(lang) if m.id}
        missing = [m for m in i18n.MARSHMALLOW_MESSAGES if not have.get(m)]
        assert not missing, (lang, missing)


def _agent_speaking(language):
    agent = make_agent()
    set_agent_language(agent, language)
    return agent


def test_a_german_agent_gets_german_field_messages_from_the_api(app):
    agent = _agent_speaking("de")
    api = Api(app.test_client(), make_token(agent))
    resp = api.post("/saved-replies", {"shortcut": "no spaces!", "body": "x" * 10001, "colour": "red"},
                    headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["message"] == "Einige Felder sind ungültig."
    assert body["errors"] == {"shortcut": ["Nur Buchstaben, Ziffern, - und _."],
                              "title": ["Fehlende Daten für ein Pflichtfeld."],
                              "body": ["Die Länge muss zwischen 1 und 10000 liegen."],
                              "colour": ["Unbekanntes Feld."]}
    # The same request from an English agent stays English.
    english = Api(app.test_client(), make_token(_agent_speaking("en")))
    assert english.post("/saved-replies", {"colour": "red"}).get_json()["errors"]["colour"] == ["Unknown field."]


def test_a_german_agent_gets_german_field_messages_from_the_inbox(app, client):
    agent = _agent_speaking("de")
    csrf = login(client, agent)
    resp = client.post("/inbox/api/tickets/bulk", json={"ticket_ids": [0], "status": "gone"},
                       headers={"X-CSRFToken": csrf, "Accept-Language": "en"})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert errors["ticket_ids"] == {"0": ["Muss größer oder gleich 1 und kleiner oder gleich 2147483647 sein."]}
    assert errors["status"][0].startswith("Muss einer der folgenden Werte sein: ")


# ---- translation knows its source -----------------------------------------------------------

def test_the_translate_prompt_names_the_drafts_detected_language(app, provider):  # noqa: F811
    store = make_store()
    ticket = make_ticket(store, contact=make_contact(store, locale="en"),
                         text="Де моє замовлення? Я чекаю вже тиждень.")
    row = request_assist(make_agent(), ticket, "translate", "Ihr Paket wird heute verschickt, vielen Dank für Ihre Geduld.")
    assert row.language == "uk"
    system = provider.requests[0]["body"]["messages"][0]["content"]
    assert 'translate "draft" from German (de) into Ukrainian (uk).' in system
    # Too short to tell: the prompt does not guess a source.
    request_assist(make_agent(), ticket, "translate", "Danke!")
    assert 'translate "draft" into Ukrainian (uk).' in provider.requests[1]["body"]["messages"][0]["content"]
