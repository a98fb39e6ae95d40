"""Posts: only admins publish; each audience reaches exactly its agents (rooms asserted);
agents list what is meant for them with unread marks, and reading is idempotent."""
import pytest

from helpdesk.actions import ActionError, Forbidden, NotFound
from helpdesk.actions.posts import (
    create_post,
    delete_post,
    list_posts,
    mark_post_read,
    post_or_404,
    unread_count,
    update_post,
)
from helpdesk.extensions import db
from helpdesk.models import Post, PostRead
from tests.factories import make_agent, make_store, make_team


def published(events):
    return [e for e in events if e["event"] == "post.published"]


@pytest.fixture
def world():
    main, other = make_store("Main"), make_store("Other")
    team = make_team("Returns")
    admin = make_agent(name="Ada", role="admin")
    member = make_agent(name="Mo", stores=[main], teams=[team])
    outsider = make_agent(name="Oz", stores=[other])
    return main, other, team, admin, member, outsider


def test_agents_cannot_publish_edit_or_delete(world):
    main, _, _, admin, member, _ = world
    with pytest.raises(Forbidden):
        create_post(member, title="Hi", body="x")
    post = create_post(admin, title="Hi", body="x")
    with pytest.raises(Forbidden):
        update_post(member, post, title="Changed")
    with pytest.raises(Forbidden):
        delete_post(member, post)
    db.session.expire_all()
    assert db.session.get(Post, post.id).title == "Hi"


def test_post_to_everyone_goes_to_each_active_agents_room_once(world, sent_events):
    _, _, _, admin, member, outsider = world
    sent_events.clear()
    post = create_post(admin, title="New returns policy", body="Read <this> at https://example.com/p")
    rooms = [e["room"] for e in published(sent_events)]
    assert rooms == [f"agent:{a.id}" for a in sorted((admin, member, outsider), key=lambda a: a.id)]
    payload = published(sent_events)[0]["payload"]["post"]
    assert payload["id"] == post.id and payload["audience"] == "all"
    # The body is plain text made safe by helpdesk.text: escaped, links made clickable.
    assert "&lt;this&gt;" in payload["body_html"] and 'href="https://example.com/p"' in payload["body_html"]
    assert "read" not in payload


def test_post_to_a_store_goes_to_the_store_room(world, sent_events):
    main, _, _, admin, _, _ = world
    sent_events.clear()
    create_post(admin, title="Main shop closes early", audience="store", store_id=main.id)
    assert [e["room"] for e in published(sent_events)] == [f"store:{main.id}:agents"]


def test_post_to_a_team_goes_to_its_members_only(world, sent_events):
    _, _, team, admin, member, _ = world
    sent_events.clear()
    create_post(admin, title="Returns team meeting", audience="team", team_id=team.id)
    assert [e["room"] for e in published(sent_events)] == [f"agent:{member.id}"]


def test_bad_audience_is_refused_and_nothing_is_sent(world, sent_events):
    _, _, _, admin, _, _ = world
    sent_events.clear()
    with pytest.raises(ActionError) as exc:
        create_post(admin, title="x", audience="team", team_id=999)
    assert exc.value.field == "team_id"
    with pytest.raises(ActionError):
        create_post(admin, title="x", audience="store")
    with pytest.raises(ActionError):
        create_post(admin, title="   ")
    assert published(sent_events) == [] and db.session.query(Post).count() == 0


def test_agents_list_only_their_posts_with_unread_marks(world):
    main, other, team, admin, member, outsider = world
    everyone = create_post(admin, title="Everyone")
    for_main = create_post(admin, title="Main only", audience="store", store_id=main.id)
    for_other = create_post(admin, title="Other only", audience="store", store_id=other.id)
    for_team = create_post(admin, title="Team", audience="team", team_id=team.id, pinned=True)

    mine = list_posts(member)
    assert [p.id for p in mine] == [for_team.id, for_main.id, everyone.id]  # pinned first, then newest
    assert all(p.read is False for p in mine)
    assert unread_count(member) == 3
    assert [p.id for p in list_posts(outsider)] == [for_other.id, everyone.id]
    # The author has read their own posts; admins managing see every post.
    assert unread_count(admin) == 0
    assert {p.id for p in list_posts(admin, everything=True)} == {everyone.id, for_main.id, for_other.id, for_team.id}

    mark_post_read(member, for_main)
    mark_post_read(member, for_main)  # twice is still one read mark
    assert db.session.query(PostRead).filter_by(agent_id=member.id).count() == 1
    assert unread_count(member) == 2
    assert [p.id for p in list_posts(member, unread_only=True)] == [for_team.id, everyone.id]
    assert {p.id: p.read for p in list_posts(member)}[for_main.id] is True


def test_an_agent_cannot_read_or_mark_another_audiences_post(world):
    _, other, _, admin, member, _ = world
    post = create_post(admin, title="Other only", audience="store", store_id=other.id)
    with pytest.raises(NotFound):
        post_or_404(member, post.id)
    with pytest.raises(NotFound):
        mark_post_read(member, post)
    assert db.session.query(PostRead).filter_by(agent_id=member.id).count() == 0


def test_edit_moves_the_audience_and_delete_removes_read_marks(world):
    main, _, _, admin, member, outsider = world
    post = create_post(admin, title="Everyone")
    mark_post_read(member, post)
    update_post(admin, post, title="Main only now", audience="store", store_id=main.id, body="Body")
    assert (post.title, post.audience, post.store_id, post.body) == ("Main only now", "store", main.id, "Body")
    assert list_posts(outsider) == []
    delete_post(admin, post)
    assert db.session.query(Post).count() == 0 and db.session.query(PostRead).count() == 0
