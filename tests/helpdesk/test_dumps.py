"""helpdesk.dumps: a compiled schema returns exactly what ``schema.dump`` returns."""
import datetime as dt
import decimal
import io
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump
from PIL import Image

from helpdesk import dumps
from helpdesk.actions.attachments import store_upload
from helpdesk.actions.messages import receive_customer_message, reply
from helpdesk.actions.tickets import update_ticket
from helpdesk.dumps import DumpMismatch, _compile, compiled
from helpdesk.schemas import ContactSchema, MessageSchema, PublicMessageSchema, TicketSchema
from tests.factories import make_agent, make_contact, make_store, make_ticket


def _png():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 10)).save(out, "PNG")
    return out.getvalue()


def test_the_suite_compares_every_compiled_dump_with_marshmallow():
    # Set by tests/conftest.py before the app is imported: the event payloads of every test
    # are built both ways.
    assert dumps.CHECK


def test_the_payload_schemas_compile_and_dump_as_marshmallow_does():
    store = make_store()
    agent = make_agent("Sam Carter")
    contact = make_contact(store, email="dana@example.com", name="Dana <b>Scully</b>")
    ticket = make_ticket(store, contact)
    upload = store_upload(store.id, f"contact:{contact.id}", "photo.png", _png(), "image/png")
    customer, _new = receive_customer_message(store, contact, "chat", "a photo of the parcel",
                                              attachment_ids=[upload.id])
    answer = reply(ticket, agent, "Here is the one you asked about",
                   meta={"product_card": {"id": 7, "title": "Blue jacket", "price": "49.00"}})
    update_ticket(ticket, agent, tags=["refund", "vip"], assignee_id=agent.id)
    assert customer.attachments and customer.attachments[0].thumbnail_path and ticket.tags and ticket.assignee
    for schema in (TicketSchema(), MessageSchema(), PublicMessageSchema(), ContactSchema()):
        fast = _compile(schema)
        assert fast is not None, type(schema).__name__
        objects = {TicketSchema: [ticket], ContactSchema: [contact]}.get(type(schema), [customer, answer])
        for obj in objects:
            assert repr(fast(obj)) == repr(schema.dump(obj))  # types and key order too


class _Inner(Schema):
    id = fields.Int()
    label = fields.Str(data_key="name")


class _Everything(Schema):
    text = fields.Str()
    raw = fields.Str()
    count = fields.Int()
    ratio = fields.Float()
    price = fields.Decimal(places=2)
    as_text = fields.Int(as_string=True)
    flag = fields.Bool()
    at = fields.DateTime()
    stamp = fields.DateTime(format="timestamp")
    day = fields.DateTime(format="%d.%m.%Y")
    extra = fields.Dict()
    one = fields.Nested(_Inner)
    several = fields.Nested(_Inner, many=True)
    listed = fields.List(fields.Nested(_Inner))
    words = fields.List(fields.Str())
    renamed = fields.Str(attribute="other")
    path = fields.Str(attribute="one.label")
    absent = fields.Str()
    defaulted = fields.Str(dump_default="none given")
    called = fields.Int(dump_default=lambda: 41 + 1)
    secret = fields.Str(load_only=True)
    method = fields.Method("get_method")
    skipped = fields.Method("get_skipped")
    function = fields.Function(lambda obj: repr(obj.count))

    def get_method(self, obj):
        return f"#{obj.count}"

    def get_skipped(self, obj):
        from marshmallow import missing

        return missing


def _everything(**changes):
    inner = SimpleNamespace(id=3, label="inner")
    values = dict(
        text="plain", raw=b"caf\xc3\xa9", count="7", ratio=1, price=decimal.Decimal("2.5"), as_text=5, flag=1,
        at=dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc), stamp=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
        day=dt.datetime(2026, 3, 4), extra={"a": [1]}, one=inner, several=[inner, inner], listed=[inner],
        words=["x", 2], other="renamed", defaulted=None, secret="never", called=None,
    )
    values.update(changes)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("changes", [
    {},
    dict(text=None, count=None, ratio=None, price=None, flag=None, at=None, stamp=None, day=None, extra=None, one=None,
         several=None, listed=None, words=None, other=None, as_text=None),
    dict(flag="no", count=True, extra={}, several=[], listed=[]),
])
def test_every_kind_of_field_dumps_as_marshmallow_does(changes):
    schema = _Everything()
    fast = _compile(schema)
    obj = _everything(**changes)
    # repr: True == 1 and Decimal("2.5") == Decimal("2.50"), but not in JSON.
    assert repr(fast(obj)) == repr(schema.dump(obj))
    assert "absent" not in fast(obj) and "skipped" not in fast(obj) and "secret" not in fast(obj)


def test_a_dropped_attribute_takes_the_fields_default():
    schema = _Everything()
    obj = _everything()
    del obj.defaulted, obj.called
    assert _compile(schema)(obj)["defaulted"] == "none given" == schema.dump(obj)["defaulted"]
    assert _compile(schema)(obj)["called"] == 42


def test_a_dict_is_read_by_key_as_marshmallow_reads_it():
    class Page(Schema):
        items = fields.List(fields.Nested(_Inner))
        next_cursor = fields.Str(allow_none=True)
        count = fields.Int()

    schema = Page()
    page = {"items": [SimpleNamespace(id=1, label="a"), {"id": "2", "label": "b"}], "next_cursor": None}
    assert repr(_compile(schema)(page)) == repr(schema.dump(page))
    assert _compile(schema)(page) == {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "next_cursor": None}
    # A key the dict lacks is looked up as an attribute, as marshmallow does.
    assert repr(_compile(_Inner())({"label": "no id"})) == repr(_Inner().dump({"label": "no id"}))


def test_another_mapping_is_left_to_marshmallow():
    from collections import UserDict

    obj = UserDict({"id": "5", "label": "user dict"})
    assert _compile(_Inner())(obj) == _Inner().dump(obj) == {"id": 5, "name": "user dict"}


def test_a_schema_with_dump_hooks_is_left_to_marshmallow():
    class Hooked(_Inner):
        @post_dump
        def shout(self, data, **kwargs):
            return {**data, "name": data["name"].upper()}

    schema = Hooked()
    assert _compile(schema) is None
    assert compiled(schema) == schema.dump

    class Outer(Schema):
        inner = fields.Nested(Hooked)
        inners = fields.List(fields.Nested(Hooked))

    outer = SimpleNamespace(inner=SimpleNamespace(id=1, label="a"), inners=[SimpleNamespace(id=2, label="b")])
    assert repr(_compile(Outer())(outer)) == repr(Outer().dump(outer))
    assert _compile(Outer())(outer) == {"inner": {"id": 1, "name": "A"},
                                                              "inners": [{"id": 2, "name": "B"}]}


def test_a_compiled_dump_that_differs_from_marshmallow_raises_under_the_check():
    calls = []

    class Unsteady(Schema):
        n = fields.Method("get_n")

        def get_n(self, obj):
            calls.append(1)
            return len(calls)

    with pytest.raises(DumpMismatch):
        compiled(Unsteady())(SimpleNamespace())
