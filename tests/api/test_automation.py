"""/api/v1/stores/<id>/rules: the store's agents read its automation rules, admins add, replace,
reorder and remove them; bad input is 422 with the field at fault and changes nothing; a rule
saved here acts on the next API message."""
from helpdesk.extensions import db
from helpdesk.models import Store, Ticket
from tests.api.conftest import api_for
from tests.factories import make_agent, make_store, make_team

RULE = {"name": "Refunds <b>now</b>", "trigger": "ticket_created",
        "conditions": {"subject_words": ["refund", "money back"], "channels": ["email", "api"]},
        "actions": {"tags": ["refund"], "status": "pending", "note": "<script>alert(1)</script>"}}


def _rules(store_id):
    db.session.expire_all()
    return db.session.get(Store, store_id).setting("automation_rules") or []


def test_an_admin_adds_reads_replaces_and_removes_a_rule(app, admin_api, store):
    base = f"/stores/{store.id}/rules"
    created = admin_api.post(base, RULE)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    rule_id = body.pop("id")
    assert body == {"name": "Refunds <b>now</b>", "enabled": True, "trigger": "ticket_created", "stop": False,
                    "conditions": {"subject_words": ["refund", "money back"], "channels": ["email", "api"]},
                    "actions": {"tags": ["refund"], "status": "pending", "note": "<script>alert(1)</script>"}}
    assert admin_api.get(f"{base}/{rule_id}").get_json()["name"] == "Refunds <b>now</b>"

    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    assert [r["id"] for r in agent_api.get(base).get_json()["items"]] == [rule_id]
    assert agent_api.get(f"{base}/{rule_id}").status_code == 200
    assert agent_api.post(base, RULE).status_code == 403
    assert agent_api.put(f"{base}/{rule_id}", RULE).status_code == 403
    assert agent_api.delete(f"{base}/{rule_id}").status_code == 403

    replaced = admin_api.put(f"{base}/{rule_id}", {**RULE, "name": "Refunds", "enabled": False, "stop": True})
    assert replaced.status_code == 200, replaced.get_json()
    assert (replaced.get_json()["id"], replaced.get_json()["enabled"], replaced.get_json()["stop"]) == (
        rule_id, False, True)
    assert _rules(store.id)[0]["name"] == "Refunds"

    assert admin_api.delete(f"{base}/{rule_id}").status_code == 204
    assert admin_api.delete(f"{base}/{rule_id}").status_code == 404
    assert admin_api.get(f"{base}/{rule_id}").status_code == 404
    assert admin_api.put(f"{base}/{rule_id}", RULE).status_code == 404
    assert admin_api.get(base).get_json() == {"items": []}


def test_another_stores_rules_are_not_found(app, store):
    other = make_store("Other shop")
    agent_api = api_for(app, make_agent("Olena", stores=[store]))
    assert agent_api.get(f"/stores/{other.id}/rules").status_code == 404
    assert agent_api.get(f"/stores/{store.id}/rules").status_code == 200


def test_reorder(admin_api, store):
    base = f"/stores/{store.id}/rules"
    ids = [admin_api.post(base, {**RULE, "name": name}).get_json()["id"] for name in ("A", "B", "C")]
    moved = admin_api.put(f"{base}/order", {"ids": [ids[2], ids[0], ids[1]]})
    assert moved.status_code == 200, moved.get_json()
    assert [r["name"] for r in moved.get_json()["items"]] == ["C", "A", "B"]
    assert [r["name"] for r in _rules(store.id)] == ["C", "A", "B"]
    stale = admin_api.put(f"{base}/order", {"ids": ids[:2]})
    assert stale.status_code == 409 and "ids" in stale.get_json()["errors"]
    assert admin_api.put(f"{base}/order", {"ids": [ids[0]] * 3}).status_code == 409
    assert [r["name"] for r in _rules(store.id)] == ["C", "A", "B"]


def test_bad_rules_are_refused_with_the_field_and_nothing_is_saved(admin_api, store):
    base = f"/stores/{store.id}/rules"
    theirs = make_team("Their team", make_store("Other shop"))
    for body, path in [
        ({**RULE, "name": ""}, ["name"]),
        ({**RULE, "trigger": "hourly"}, ["trigger"]),
        ({**RULE, "enabled": "yes"}, ["enabled"]),
        ({**RULE, "conditions": {"channels": ["fax"]}}, ["conditions", "channels", "0"]),
        ({**RULE, "conditions": {"text_words": ["w"] * 51}}, ["conditions", "text_words"]),
        ({**RULE, "conditions": {"text_words": ["x" * 101]}}, ["conditions", "text_words", "0"]),
        ({**RULE, "conditions": {"has_order": "yes"}}, ["conditions", "has_order"]),
        ({**RULE, "actions": {"team_id": theirs.id}}, ["actions", "team_id"]),
        ({**RULE, "actions": {"agent_id": 987654}}, ["actions", "agent_id"]),
        ({**RULE, "actions": {"status": "closed", "snooze_hours": 2}}, ["actions", "snooze_hours"]),
        ({**RULE, "actions": {}}, ["actions"]),
        ({**RULE, "colour": "red"}, ["colour"]),
    ]:
        response = admin_api.post(base, body)
        assert response.status_code == 422, (body, response.get_json())
        errors = response.get_json()["errors"]
        for key in path:
            errors = errors[key]
        assert isinstance(errors, list) and errors and all(isinstance(t, str) for t in errors), (path, errors)
    assert _rules(store.id) == []
    for n in range(50):
        assert admin_api.post(base, {**RULE, "name": f"R{n}"}).status_code == 201
    full = admin_api.post(base, {**RULE, "name": "One more"})
    assert full.status_code == 422 and full.get_json()["message"] == "A store can have up to 50 automation rules."
    assert len(_rules(store.id)) == 50


def test_a_german_admin_reads_the_field_messages_in_german(app, store):
    german = make_agent("Greta Admin", role="admin")
    german.locale = "de"
    db.session.commit()
    response = api_for(app, german).post(f"/stores/{store.id}/rules", {**RULE, "conditions": {"channels": ["fax"]}})
    assert response.status_code == 422
    text = response.get_json()["errors"]["conditions"]["channels"]["0"][0]
    assert text != "Must be one of: chat, email, form, api." and "chat" in text


def test_a_rule_saved_through_the_api_acts_on_the_next_api_message(app, admin_api, api, store):
    response = admin_api.post(f"/stores/{store.id}/rules", RULE)
    assert response.status_code == 201
    created = api.post("/tickets", {"store_id": store.id, "contact_email": "dana@example.test",
                                    "subject": "Money back for order 7", "body": "Please."})
    assert created.status_code == 201, created.get_json()
    db.session.expire_all()
    ticket = db.session.get(Ticket, created.get_json()["id"])
    assert ([t.name for t in ticket.tags], ticket.status) == (["refund"], "pending")


def test_the_rules_are_in_the_openapi_document(api):
    spec = api.get("/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/stores/{store_id}/rules"]) == {"get", "post"}
    assert set(paths["/api/v1/stores/{store_id}/rules/{rule_id}"]) == {"get", "put", "delete"}
    assert set(paths["/api/v1/stores/{store_id}/rules/order"]) == {"put"}
    schemas = spec["components"]["schemas"]
    assert {"AutomationRuleArgs", "AutomationRule", "RuleConditionsArgs", "RuleActionsArgs"} <= set(schemas)
    assert schemas["AutomationRuleArgs"]["required"] == ["name"]
