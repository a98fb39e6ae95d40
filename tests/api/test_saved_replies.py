"""Saved replies: personal for everyone, shared ones by admins, visible per store and team."""
from helpdesk.actions.saved_replies import create_saved_reply
from helpdesk.extensions import db
from helpdesk.models import SavedReply
from tests.api.conftest import api_for, count
from tests.factories import make_agent, make_store, make_team


def shortcuts(response):
    assert response.status_code == 200, response.get_json()
    return [r["shortcut"] for r in response.get_json()["items"]]


def test_agent_creates_and_lists_personal_replies(api, agent):
    response = api.post("/saved-replies", {"shortcut": "thanks", "title": "Thank you", "body": "Thanks!"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["agent_id"], body["approved"], body["store_id"]) == (agent.id, False, None)
    assert shortcuts(api.get("/saved-replies")) == ["thanks"]


def test_shared_reply_is_admin_only(api, admin_api, store):
    refused = api.post("/saved-replies", {"shortcut": "ship", "title": "Shipping", "body": "3-5 days",
                                          "personal": False, "store_id": store.id})
    assert refused.status_code == 403 and refused.get_json()["status"] == 403
    assert count(SavedReply) == 0
    made = admin_api.post("/saved-replies", {"shortcut": "ship", "title": "Shipping", "body": "3-5 days",
                                             "personal": False, "store_id": store.id})
    assert made.status_code == 201 and made.get_json()["approved"] is True and made.get_json()["agent_id"] is None
    assert shortcuts(api.get("/saved-replies")) == ["ship"]


def test_visibility_by_store_team_owner_and_approval(app, admin, store):
    other_store = make_store()
    team = make_team("VIP", store)
    member = make_agent(stores=[store], teams=[team])
    outsider = make_agent(stores=[store])
    colleague = make_agent()
    create_saved_reply(admin, shortcut="all", title="Everyone", body="b", personal=False)
    create_saved_reply(admin, shortcut="here", title="This store", body="b", personal=False, store_id=store.id)
    create_saved_reply(admin, shortcut="there", title="Other store", body="b", personal=False,
                       store_id=other_store.id)
    create_saved_reply(admin, shortcut="vip", title="Team", body="b", personal=False, team_id=team.id)
    pending = create_saved_reply(admin, shortcut="draft", title="Draft", body="b", personal=False)
    pending.approved = False  # fixture: a shared reply awaiting approval
    db.session.commit()
    create_saved_reply(colleague, shortcut="mine", title="Colleague's own", body="b")

    assert shortcuts(api_for(app, member).get("/saved-replies")) == ["all", "here", "vip"]
    assert shortcuts(api_for(app, outsider).get("/saved-replies")) == ["all", "here"]
    assert shortcuts(api_for(app, colleague).get("/saved-replies")) == ["all", "here", "mine", "there"]
    assert shortcuts(api_for(app, admin).get("/saved-replies")) == ["all", "draft", "here", "there", "vip"]


def test_q_filters_on_shortcut_and_title(api):
    for shortcut, title in (("refund", "Money back"), ("ship", "Delivery times"), ("hello", "Refund policy")):
        assert api.post("/saved-replies", {"shortcut": shortcut, "title": title, "body": "x"}).status_code == 201
    assert shortcuts(api.get("/saved-replies", query={"q": "REFUND"})) == ["hello", "refund"]
    assert shortcuts(api.get("/saved-replies", query={"q": "deliv"})) == ["ship"]
    assert api.get("/saved-replies", query={"q": ""}).status_code == 422


def test_edit_and_delete_own_reply(api):
    reply_id = api.post("/saved-replies", {"shortcut": "hi", "title": "Hi", "body": "Hello"}).get_json()["id"]
    response = api.patch(f"/saved-replies/{reply_id}", {"body": "Hello there", "shortcut": "hey"})
    assert response.status_code == 200 and response.get_json()["body"] == "Hello there"
    assert api.patch(f"/saved-replies/{reply_id}", {"approved": True}).status_code == 403
    assert api.delete(f"/saved-replies/{reply_id}").status_code == 204
    assert count(SavedReply) == 0
    assert api.delete(f"/saved-replies/{reply_id}").status_code == 404


def test_others_replies_are_404_and_shared_ones_403(app, api, admin):
    colleague = make_agent()
    theirs = create_saved_reply(colleague, shortcut="x", title="x", body="x")
    shared = create_saved_reply(admin, shortcut="s", title="s", body="s", personal=False)
    assert api.patch(f"/saved-replies/{theirs.id}", {"title": "mine now"}).status_code == 404
    assert api.delete(f"/saved-replies/{theirs.id}").status_code == 404
    assert api.patch(f"/saved-replies/{shared.id}", {"title": "changed"}).status_code == 403
    assert api.delete(f"/saved-replies/{shared.id}").status_code == 403
    assert count(SavedReply) == 2 and db.session.get(SavedReply, shared.id).title == "s"


def test_validation_and_unknown_references(api, admin_api):
    response = api.post("/saved-replies", {"shortcut": "has space", "title": "", "body": "x", "color": "red"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"shortcut", "title", "color"}
    for payload, field in (({"store_id": 424242}, "store_id"), ({"team_id": 424242}, "team_id")):
        made = admin_api.post("/saved-replies", {"shortcut": "s", "title": "t", "body": "b", "personal": False,
                                                 **payload})
        assert made.status_code == 404 and field in made.get_json()["errors"]
    assert count(SavedReply) == 0
