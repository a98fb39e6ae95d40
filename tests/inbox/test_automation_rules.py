"""The automation rules section of the store settings page (inbox/automation_rules.py): an admin
adds, edits, turns off and on, moves and deletes rules with plain forms; refused input says
why at the field and saves nothing; names and notes are shown as text; only admins get in."""
import html
import re

import pytest

from helpdesk.actions.automation import save_automation_rule
from helpdesk.extensions import db
from helpdesk.models import Store
from tests.factories import make_agent, make_store, make_team
from tests.inbox.test_views import sign_in


@pytest.fixture
def store():
    return make_store("Main shop")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


def url(store, rest=""):
    return f"/inbox/settings/stores/{store.id}{rest}"


def rules_of(store):
    db.session.expire_all()
    return db.session.get(Store, store.id).setting("automation_rules") or []


def form(token, **changes):
    """The rule form as the page sends it: a new rule, nothing ticked."""
    data = {"csrf_token": token, "name": "Refunds", "enabled": "1", "trigger": "ticket_created",
            "subject_words": "", "text_words": "", "senders": "", "languages": "", "business_hours": "",
            "has_order": "", "tags": "", "team_id": "", "agent_id": "", "status": "", "snooze_hours": "",
            "note": ""}
    data.update(changes)
    return data


def field_error(page, name):
    """The message shown for input ``name`` (ar-<name>-error), linked from the field."""
    found = re.search(rf'<p id="(ar-{name}-error)" class="error field-error">([^<]+)</p>', page)
    assert found, f"no error for {name}"
    assert re.search(rf'aria-describedby="[^"]*{found.group(1)}', page)
    return html.unescape(found.group(2))


def test_an_admin_adds_a_rule_with_every_part(client, store, admin):
    billing = make_team("Billing", store)
    ben = make_agent("Ben Billing", stores=[store])
    token = sign_in(client, admin)
    response = client.post(url(store, "/automation"), data=form(
        token, name="Refunds", trigger="customer_message", channels=["email", "form"],
        subject_words="refund, money back", text_words="Rückerstattung\nreturn", senders="@marketplace.example",
        languages="de, FR", business_hours="outside", has_order="yes", tags="Refund, billing",
        team_id=str(billing.id), agent_id=str(ben.id), status="snoozed", snooze_hours="12",
        note="Check the payment.", stop="1"))
    assert response.status_code == 302 and response.headers["Location"].endswith("#automation")
    rule, = rules_of(store)
    assert {k: v for k, v in rule.items() if k != "id"} == {
        "name": "Refunds", "enabled": True, "trigger": "customer_message", "stop": True,
        "conditions": {"channels": ["email", "form"], "subject_words": ["refund", "money back"],
                       "text_words": ["Rückerstattung", "return"], "senders": ["marketplace.example"],
                       "languages": ["de", "fr"], "business_hours": "outside", "has_order": True},
        "actions": {"tags": ["refund", "billing"], "team_id": billing.id, "agent_id": ben.id, "snooze_hours": 12,
                    "note": "Check the payment."}}
    page = client.get(url(store)).get_data(as_text=True)
    assert "Automation rule saved." in page
    row = page[page.index('data-rule="' + rule["id"]):]
    row = html.unescape(row[:row.index("</li>")])
    assert "Every customer message · by Email, Contact form · subject contains “refund”, “money back”" in row
    assert "from marketplace.example · written in German, French · outside business hours" in row
    assert ("add the tags refund, billing; send to the team Billing; assign to Ben Billing; "
            "snooze for 12 hours; leave a note; then stop") in row


def test_editing_fills_the_form_and_saves_the_rule_in_place(client, store, admin):
    first = save_automation_rule(store, {"name": "First", "actions": {"tags": ["a"]}})
    second = save_automation_rule(store, {"name": "Second", "conditions": {"text_words": ["parcel"]},
                                          "actions": {"status": "pending"}})
    token = sign_in(client, admin)
    page = client.get(url(store, f"?automation={second['id']}")).get_data(as_text=True)
    assert f'name="rule_id" value="{second["id"]}"' in page
    assert 'value="parcel"' in page and '<option value="pending" selected>' in page
    assert "Edit the rule “Second”" in html.unescape(page)
    response = client.post(url(store, "/automation"), data=form(
        token, rule_id=second["id"], name="Second, renamed", text_words="parcel, tracking", status="closed"))
    assert response.status_code == 302
    assert [(r["id"], r["name"]) for r in rules_of(store)] == [(first["id"], "First"),
                                                               (second["id"], "Second, renamed")]
    assert rules_of(store)[1]["actions"] == {"status": "closed"}
    assert rules_of(store)[1]["conditions"] == {"text_words": ["parcel", "tracking"]}


def test_turn_off_and_on_move_and_delete(client, store, admin):
    ids = [save_automation_rule(store, {"name": n, "actions": {"tags": [n.lower()]}})["id"] for n in "ABC"]
    token = sign_in(client, admin)
    post = lambda rest, **data: client.post(url(store, rest), data={"csrf_token": token, **data})  # noqa: E731
    assert post(f"/automation/{ids[1]}/enabled", enabled="0").status_code == 302
    assert [r["enabled"] for r in rules_of(store)] == [True, False, True]
    page = client.get(url(store)).get_data(as_text=True)
    assert "Automation rule turned off." in page and "Turn on<span class=\"sr-only\"> B</span>" in page
    post(f"/automation/{ids[1]}/enabled", enabled="1")
    assert [r["enabled"] for r in rules_of(store)] == [True, True, True]
    post(f"/automation/{ids[2]}/move", direction="up")
    assert [r["name"] for r in rules_of(store)] == ["A", "C", "B"]
    post(f"/automation/{ids[0]}/move", direction="down")
    assert [r["name"] for r in rules_of(store)] == ["C", "A", "B"]
    post(f"/automation/{ids[1]}/move", direction="down")  # last already
    assert [r["name"] for r in rules_of(store)] == ["C", "A", "B"]
    page = client.get(url(store)).get_data(as_text=True)
    rows = re.findall(r'data-rule="(\w+)"', page)
    assert rows == [ids[2], ids[0], ids[1]]
    first_row = page[page.index(f'data-rule="{ids[2]}"'):page.index(f'data-rule="{ids[0]}"')]
    assert "Move up" not in first_row and "Move down" in first_row
    assert post(f"/automation/{ids[0]}/delete").status_code == 302
    assert [r["name"] for r in rules_of(store)] == ["C", "B"]
    post(f"/automation/{ids[0]}/delete")  # gone already: said, not an error page
    assert "That rule no longer exists." in client.get(url(store)).get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"name": ""}, "name", "Give the rule a name."),
    ({"tags": "x", "text_words": "fine, " + "y" * 101}, "text_words",
     f"“{'y' * 101}”: Longer than maximum length 100."),
    ({"tags": "x", "senders": "not an address"}, "senders", "“not an address”: Use an email address (like "
                                                            "orders@marketplace.example) or a domain (like "
                                                            "marketplace.example)."),
    ({"tags": "x", "languages": "German"}, "languages", "“German”: Use a language code, like de or fr."),
    ({"status": "snoozed"}, "snooze_hours", "Not a valid integer."),
    ({"status": "snoozed", "snooze_hours": "1000"}, "snooze_hours",
     "Must be greater than or equal to 1 and less than or equal to 720."),
    ({"agent_id": "987654"}, "agent_id", "No such agent for this store."),
    ({}, "actions", "Choose at least one action, or tick “Stop processing further rules”."),
])
def test_a_refused_rule_says_why_at_the_field_keeps_what_was_typed_and_saves_nothing(
        client, store, admin, changes, field, message):
    token = sign_in(client, admin)
    response = client.post(url(store, "/automation"), data=form(token, subject_words="keep <this>", **changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, field) == message
    assert "The rule was not saved: correct the fields marked below." in page
    assert 'value="keep &lt;this&gt;"' in page
    assert rules_of(store) == []


def test_html_in_names_and_notes_is_shown_as_text(client, store, admin):
    token = sign_in(client, admin)
    client.post(url(store, "/automation"), data=form(token, name="<img src=x onerror=alert(1)>",
                                                      tags="x", note="<script>alert(2)</script>"))
    page = client.get(url(store)).get_data(as_text=True)
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_a_rule_naming_an_agent_who_left_says_so(client, store, admin):
    ben = make_agent("Ben Gone")
    save_automation_rule(store, {"name": "Ben's", "actions": {"agent_id": ben.id}})
    ben.active = False
    db.session.commit()
    sign_in(client, admin)
    page = html.unescape(client.get(url(store)).get_data(as_text=True))
    assert "assign to Ben Gone (no longer works here: skipped)" in page


def test_only_admins_change_rules(client, store):
    rule = save_automation_rule(store, {"name": "Keep", "actions": {"tags": ["keep"]}})
    token = sign_in(client, make_agent("Rita", stores=[store]))
    for rest, data in (("/automation", form("", tags="x")), (f"/automation/{rule['id']}/enabled", {"enabled": "0"}),
                       (f"/automation/{rule['id']}/move", {"direction": "up"}),
                       (f"/automation/{rule['id']}/delete", {})):
        assert client.post(url(store, rest), data={**data, "csrf_token": token}).status_code == 403
    assert [(r["name"], r["enabled"]) for r in rules_of(store)] == [("Keep", True)]


def test_a_post_without_the_csrf_token_is_refused(client, store, admin):
    sign_in(client, admin)
    data = form("", tags="x")
    del data["csrf_token"]
    assert client.post(url(store, "/automation"), data=data).status_code == 400
    assert rules_of(store) == []


def test_lists_typed_with_an_arabic_or_full_width_comma_are_split_too(client, store, admin):
    token = sign_in(client, admin)
    response = client.post(url(store, "/automation"), data=form(
        token, text_words="استرداد، إرجاع", tags="refund，billing"))
    assert response.status_code == 302
    rule, = rules_of(store)
    assert rule["conditions"]["text_words"] == ["استرداد", "إرجاع"]
    assert rule["actions"]["tags"] == ["refund", "billing"]
