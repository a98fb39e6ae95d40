"""Posts and FAQ over /api/v1: admins write, agents read and search; input is validated."""
from helpdesk.models import FaqEntry, Post, PostRead
from tests.api.conftest import count
from tests.factories import make_agent, make_store, make_team


def test_admin_publishes_and_agent_reads_with_unread_count(api, admin_api, agent, sent_events):
    response = admin_api.post("/posts", {"title": "Holiday hours", "body": "We close at 14:00 on the 24th."})
    assert response.status_code == 201, response.json
    post = response.json
    assert post["audience"] == "all" and post["read"] is True and post["author"]["name"] == "Ada Admin"
    assert {e["room"] for e in sent_events if e["event"] == "post.published"} == {f"agent:{agent.id}",
                                                                                f"agent:{post['author']['id']}"}
    listed = api.get("/posts").json
    assert listed["unread"] == 1 and [(p["id"], p["read"]) for p in listed["items"]] == [(post["id"], False)]
    read = api.post(f"/posts/{post['id']}/read")
    assert read.status_code == 200 and read.json["unread"] == 0
    assert api.post(f"/posts/{post['id']}/read").status_code == 200  # again: still one mark
    assert count(PostRead) == 2  # the author's and the agent's
    assert api.get("/posts", query={"unread": "true"}).json["items"] == []


def test_agents_cannot_write_posts_or_faq(api):
    assert api.post("/posts", {"title": "x"}).status_code == 403
    assert api.post("/faq", {"question": "q", "answer": "a"}).status_code == 403
    assert count(Post) == 0 and count(FaqEntry) == 0


def test_posts_for_other_audiences_are_not_found(api, admin_api, client):
    other = make_store("Other")
    restricted = make_agent(stores=[other])
    team = make_team("Night shift")
    post = admin_api.post("/posts", {"title": "Team only", "audience": "team", "team_id": team.id}).json
    assert api.post(f"/posts/{post['id']}/read").status_code == 404
    assert api.get("/posts").json["items"] == []
    assert admin_api.get("/posts", query={"manage": "true"}).json["items"][0]["id"] == post["id"]
    assert restricted is not None


def test_post_validation_is_422_with_fields(admin_api):
    body = admin_api.post("/posts", {"title": "", "audience": "everyone", "pinned": "sometimes"}).json
    assert set(body["errors"]) == {"title", "audience", "pinned"}
    body = admin_api.post("/posts", {"title": "x", "audience": "store"}).json
    assert body["status"] == 404 and "store_id" in body["errors"]
    assert admin_api.get("/posts", query={"limit": "0"}).status_code == 422


def test_pinned_is_json_true_or_false_but_the_query_string_reads_words(api, admin_api):
    for value in (1, "yes", "on", "true"):
        body = admin_api.post("/posts", {"title": "News", "pinned": value}).json
        assert (body["status"], body["errors"]) == (422, {"pinned": ["Not a valid boolean."]}), value
    post = admin_api.post("/posts", {"title": "News", "pinned": True}).json
    assert post["pinned"] is True
    body = admin_api.patch(f"/posts/{post['id']}", {"pinned": 0}).json
    assert (body["status"], body["errors"]) == (422, {"pinned": ["Not a valid boolean."]})
    assert admin_api.patch(f"/posts/{post['id']}", {"pinned": False}).json["pinned"] is False
    # A query string has no JSON types: its booleans are still words.
    for unread in ("true", "1", "yes", "on"):
        assert api.get("/posts", query={"unread": unread}).json["items"][0]["id"] == post["id"]
    assert len(admin_api.get("/posts", query={"manage": "1", "unread": "false"}).json["items"]) == 1
    # Marking read takes no fields, so no body is needed; a body, if any, is still an object.
    assert api.post(f"/posts/{post['id']}/read", data=b"").status_code == 200
    assert api.post(f"/posts/{post['id']}/read", data=b"[]").json["errors"] == {"_schema": ["Send a JSON object."]}


def test_admin_edits_and_deletes_a_post(admin_api):
    store = make_store()
    post = admin_api.post("/posts", {"title": "Old"}).json
    edited = admin_api.patch(f"/posts/{post['id']}", {"title": "New", "audience": "store", "store_id": store.id,
                                                      "pinned": True})
    assert edited.status_code == 200
    assert (edited.json["title"], edited.json["store_id"], edited.json["pinned"]) == ("New", store.id, True)
    assert admin_api.delete(f"/posts/{post['id']}").status_code == 204
    assert admin_api.patch(f"/posts/{post['id']}", {"title": "x"}).status_code == 404


def test_faq_crud_and_search(api, admin_api):
    created = admin_api.post("/faq", {"question": "Can I return sale items?", "answer": "Yes, within 14 days.",
                                      "tags": ["Returns"]})
    assert created.status_code == 201 and created.json["tags"] == ["returns"]
    admin_api.post("/faq", {"question": "How long is shipping?", "answer": "Returns are free, shipping takes 3 days."})
    found = api.get("/faq", query={"q": "RETURN"}).json["items"]
    assert [f["question"] for f in found] == ["Can I return sale items?", "How long is shipping?"]
    assert found[0]["answer_html"] == "Yes, within 14 days."
    entry_id = created.json["id"]
    assert admin_api.patch(f"/faq/{entry_id}", {"answer": "Within 30 days."}).json["answer"] == "Within 30 days."
    assert api.patch(f"/faq/{entry_id}", {"answer": "x"}).status_code == 403
    assert admin_api.delete(f"/faq/{entry_id}").status_code == 204
    assert [f["question"] for f in api.get("/faq").json["items"]] == ["How long is shipping?"]
    body = admin_api.post("/faq", {"question": "q", "answer": "a", "tags": ["x" * 41], "store_id": 0}).json
    assert set(body["errors"]) == {"tags", "store_id"}
