"""The agent's email signature through the profile actions (what the profile page, its JSON
and the REST API call): stored as clean plain text, cleared with "", refused when too long."""
import pytest

from helpdesk.actions import ActionError
from helpdesk.actions.profile import save_profile, set_signature, update_profile
from helpdesk.extensions import db
from helpdesk.models import Agent
from helpdesk.signatures import MAX_SIGNATURE_LENGTH
from tests.factories import make_agent


def _stored(agent):
    db.session.expire_all()
    return db.session.get(Agent, agent.id).signature


def test_a_signature_is_stored_as_plain_text_and_cleared_with_nothing(sent_events):
    agent = make_agent("Sam Carter")
    set_signature(agent, "  Sam Carter\r\nShoe expert <b>@</b> Linen  \r\n\r\n")
    assert _stored(agent) == "Sam Carter\nShoe expert <b>@</b> Linen"  # markup stays text, shown escaped
    assert not [e for e in sent_events if e["event"] == "agent.updated"]  # nobody else's screen shows it
    # Only the agent's own devices: their reply boxes read it again.
    changed = [(e["room"], e["payload"]) for e in sent_events if e["event"] == "signature.changed"]
    assert changed == [(f"agent:{agent.id}", {"store_id": None})]
    set_signature(agent, "Sam Carter\nShoe expert <b>@</b> Linen")  # the same: nothing to say
    assert len([e for e in sent_events if e["event"] == "signature.changed"]) == 1
    set_signature(agent, "   ")
    assert _stored(agent) is None
    assert len([e for e in sent_events if e["event"] == "signature.changed"]) == 2
    set_signature(agent, "Sam")
    set_signature(agent, None)
    assert _stored(agent) is None


def test_line_breaks_count_once_and_a_longer_signature_is_refused_not_cut():
    agent = make_agent()
    lines = "\r\n".join(["x" * 99] * 10)  # 990 characters and 9 line breaks: 999 as stored
    set_signature(agent, lines)
    assert len(_stored(agent)) == 999
    with pytest.raises(ActionError) as refused:
        set_signature(agent, "y" * (MAX_SIGNATURE_LENGTH + 1))
    assert (refused.value.field, refused.value.status) == ("signature", 422)
    db.session.rollback()
    assert len(_stored(agent)) == 999


def test_the_profile_form_saves_the_signature_with_the_name_or_leaves_it():
    agent = make_agent("Sam")
    save_profile(agent, name="Sam C.", title="Stylist", signature="Sam C.\nLinen")
    assert _stored(agent) == "Sam C.\nLinen"
    update_profile(agent, name="Sam", title="")  # no signature given: unchanged
    assert _stored(agent) == "Sam C.\nLinen"
    with pytest.raises(ActionError):  # a refused name saves no signature either
        save_profile(agent, name=" ", signature="Other")
    db.session.rollback()
    assert _stored(agent) == "Sam C.\nLinen"
