"""Store settings through the action itself (what a script or job calls, without a form's or
the API's own validation first): the first refusal names its field, dotted when nested, and
nothing is saved."""
import pytest

from helpdesk.actions import ActionError
from helpdesk.actions.stores import save_invitation_rule, update_store_settings
from helpdesk.extensions import db
from tests.factories import make_store


@pytest.mark.parametrize("changes, field", [
    ({"business_hours": [{"days": [1], "open": "09:00", "close": "18:00"},
                         {"days": [2], "open": "9", "close": "18:00"}]}, "business_hours.1.open"),
    ({"prechat": {"enabled": True, "fields": {"name": "sometimes", "email": "required",
                                              "order_number": "off", "topic": "off"}}}, "prechat.fields.name"),
    ({"widget_position": "top"}, "widget_position"),
    ({"colour": "red"}, "colour"),
])
def test_a_refusal_names_the_field_at_fault_and_saves_nothing(changes, field):
    store = make_store("Linen Lane", widget_position="left")
    with pytest.raises(ActionError) as refused:
        update_store_settings(store, **changes)
    assert refused.value.field == field and refused.value.status == 422
    assert refused.value.message and not refused.value.message.startswith("{")
    db.session.rollback()
    db.session.expire_all()
    assert store.settings == {"widget_position": "left"}


def test_an_invitation_rule_refused_by_the_schema_names_its_field():
    store = make_store("Linen Lane")
    with pytest.raises(ActionError) as refused:
        save_invitation_rule(store, {"id": "Sizes Help", "message": "Hi"})
    assert refused.value.field == "id"


def test_the_store_signature_is_clean_text_and_unknown_placeholders_are_refused(sent_events):
    store = make_store("Linen Lane")
    update_store_settings(store, signature="  {agent_name}\r\nThe {store_name} team <3  \r\n")
    db.session.expire_all()
    assert store.settings["signature"] == "{agent_name}\nThe {store_name} team <3"
    # The store's agents' reply boxes read theirs again; saving it unchanged says nothing.
    changed = [(e["room"], e["payload"]) for e in sent_events if e["event"] == "signature.changed"]
    assert changed == [(f"store:{store.id}:agents", {"store_id": store.id})]
    update_store_settings(store, signature="{agent_name}\nThe {store_name} team <3", greeting="Hi!")
    assert len([e for e in sent_events if e["event"] == "signature.changed"]) == 1
    with pytest.raises(ActionError) as refused:
        update_store_settings(store, signature="{agent_name} of {store}")
    assert refused.value.field == "signature" and refused.value.status == 422
    assert "{store}" in refused.value.message and "{agent_name}" in refused.value.message
    db.session.rollback()
    db.session.expire_all()
    assert store.settings["signature"] == "{agent_name}\nThe {store_name} team <3"
