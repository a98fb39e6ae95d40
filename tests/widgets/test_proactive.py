"""Proactive invitation rules and the per-visitor frequency cap."""
from helpdesk.extensions import db
from helpdesk.models import Visitor
from tests.factories import make_store, make_visitor
from widgets.tokens import issue

RULES = [{"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 20,
          "message": "Need help choosing a size? <b>Ask us</b>", "bogus": "dropped"},
         {"id": "incomplete"}]


def test_rules_are_public_and_cleaned(client):
    store = make_store(proactive_rules=RULES)
    body = client.get(f"/widget/api/rules?key={store.widget_key}").get_json()
    assert body["rules"] == [{"id": "sizes", "url_contains": "/products/", "min_seconds_on_page": 20,
                              "message": "Need help choosing a size? <b>Ask us</b>"}]
    assert body["cap_hours"] == 24
    assert client.get("/widget/api/rules?key=nope").status_code == 404


def test_invitation_is_shown_once_per_cap_window(client, sent_events):
    store = make_store(proactive_rules=RULES)
    visitor = make_visitor(store)
    token = issue(visitor)
    first = client.post("/widget/api/invitations", json={"token": token, "rule_id": "sizes"}).get_json()
    assert first == {"show": True, "message": "Need help choosing a size? <b>Ask us</b>"}
    assert [e["room"] for e in sent_events if e["event"] == "visitor.updated"] == [f"store:{store.id}:agents"]
    second = client.post("/widget/api/invitations", json={"token": token, "rule_id": "sizes"}).get_json()
    assert second == {"show": False}
    assert db.session.get(Visitor, visitor.id).attributes["invited_by_rule"] == "sizes"


def test_invitation_refuses_bad_input(client):
    store = make_store(proactive_rules=RULES)
    token = issue(make_visitor(store))
    assert client.post("/widget/api/invitations", data="{", content_type="application/json").status_code == 400
    assert client.post("/widget/api/invitations", json={"token": "forged", "rule_id": "sizes"}).status_code == 401
    r = client.post("/widget/api/invitations", json={"token": token, "rule_id": "nope"})
    assert r.status_code == 422 and "rule_id" in r.get_json()["errors"]
