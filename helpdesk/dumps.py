"""Straight-line versions of marshmallow output schemas, for payloads built all the time.

Each chat message and each email is dumped two or three times before anyone hears of it
(the message for agents, the ticket it moved, the shopper's copy), and every page of the
queue dumps 50 tickets. ``Schema.dump`` walks its fields generically: per field a
``serialize`` call, an accessor that first asks whether the object is a mapping, a
``missing`` check, the field's ``_serialize``. ``compiled(schema)`` writes the same walk out
as one function for that schema: an attribute read and the known field types' conversion
inline, everything else through the field's own ``_serialize``, nested schemas compiled in
turn. ``bench/payloads.py``: a ticket 39-53 us through marshmallow, 17-23 us compiled; a
queue page of 50 tickets 2.0-2.9 ms against 0.65-1.0 ms.

The schema stays the only description of a payload. What the function cannot reproduce
exactly (dump hooks, a custom accessor, a mapping other than a dict) is left to
``schema.dump`` itself; a dotted attribute goes through marshmallow's own accessor. With
``HELPDESK_CHECK_DUMPS=1`` (the test suite sets it) every compiled dump is compared with
``schema.dump`` of the same object and a difference raises, so each payload the tests build
checks the compiler (by ``repr``: the same types, values and key order).
"""
import os

from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import ensure_text_type, missing

CHECK = os.environ.get("HELPDESK_CHECK_DUMPS") == "1"


class DumpMismatch(AssertionError):
    pass


def compiled(schema):
    """A function of one object returning ``schema.dump(obj)``."""
    dump = _compile(schema) if not schema.many else None
    if dump is None:
        return schema.dump
    if not CHECK:
        return dump

    def checked(obj):
        fast, slow = dump(obj), schema.dump(obj)
        # repr, not ==: True == 1 and Decimal("2.5") == Decimal("2.50"), but JSON tells them apart.
        if repr(fast) != repr(slow):
            raise DumpMismatch(f"{type(schema).__name__}: compiled {fast!r} != dump {slow!r}")
        return fast

    return checked


def _text(value):
    # fields.String: None stays None, bytes are UTF-8, anything else its str().
    if value is None or type(value) is str:
        return value
    return ensure_text_type(value)


def _compile(schema):
    """The dump of one object by ``schema`` as a function; None when it cannot be exact."""
    if (schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or schema.dict_class is not dict
            or type(schema).get_attribute is not Schema.get_attribute):
        return None
    names = {"_missing": missing, "_text": _text, "_schema": schema}
    fields_ = list(schema.dump_fields.items())
    conversions = [_conversion(field, n, attr_name, names) for n, (attr_name, field) in enumerate(fields_)]
    # Marshmallow's accessor reads an object with ``__getitem__`` by key first, then as an
    # attribute; anything else as an attribute. A dict (a page: items and a cursor) has its
    # own function; other mappings are rare enough to leave to marshmallow.
    source = "\n".join([
        "def dump(obj):",
        "    if type(obj) is dict:",
        "        return _by_key(obj)",
        "    if hasattr(type(obj), '__getitem__'):",
        "        return _schema.dump(obj, many=False)",
        "    return _by_attribute(obj)",
        *_body("_by_attribute", fields_, conversions, names, "getattr(obj, {a!r}, _missing)"),
        *_body("_by_key", fields_, conversions, names, "obj[{a!r}] if {a!r} in obj else getattr(obj, {a!r}, _missing)"),
    ])
    exec(compile(source, f"<dump of {type(schema).__name__}>", "exec"), names)  # noqa: S102
    return names["dump"]


def _body(name, fields_, conversions, names, read):
    lines = [f"def {name}(obj):", "    out = {}"]
    for n, ((attr_name, field), conversion) in enumerate(zip(fields_, conversions)):
        key = field.data_key if field.data_key is not None else attr_name
        attribute = field.attribute if field.attribute is not None else attr_name
        names[f"_f{n}"] = field
        if not field._CHECK_ATTRIBUTE:  # Method, Function: computed from the object itself
            if type(field)._serialize is fields.Method._serialize and field._serialize_method is not None:
                names[f"_m{n}"] = field._serialize_method
                lines.append(f"    v = _m{n}(obj)")
            else:
                lines.append(f"    v = _f{n}._serialize(None, {attr_name!r}, obj)")
            lines += ["    if v is not _missing:", f"        out[{key!r}] = v"]
            continue
        if "." in attribute:  # a path into related objects: marshmallow's own accessor
            lines += [f"    v = _f{n}.serialize({attr_name!r}, obj, accessor=_schema.get_attribute)",
                      "    if v is not _missing:", f"        out[{key!r}] = v"]
            continue
        lines.append(f"    v = {read.format(a=attribute)}")
        if field.dump_default is missing:
            lines += ["    if v is not _missing:", f"        out[{key!r}] = {conversion}"]
        else:
            names[f"_d{n}"] = field.dump_default
            lines += ["    if v is _missing:", f"        v = _d{n}() if callable(_d{n}) else _d{n}",
                      f"    out[{key!r}] = {conversion}"]
    lines.append("    return out")
    return lines


def _conversion(field, n, attr_name, names):
    """The expression that turns ``v`` into what ``field._serialize`` would return."""
    serialize = type(field)._serialize
    if serialize is fields.String._serialize:
        return "_text(v)"
    if (serialize is fields.Number._serialize and type(field)._format_num is fields.Number._format_num
            and not field.as_string):
        names[f"_t{n}"] = field.num_type
        return f"None if v is None else _t{n}(v)"
    if serialize is fields.DateTime._serialize:
        format_func = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        if format_func is not None:
            names[f"_t{n}"] = format_func
            return f"None if v is None else _t{n}(v)"
    if serialize is fields.Mapping._serialize and not field.key_field and not field.value_field:
        names[f"_t{n}"] = field.mapping_type
        return f"None if v is None else _t{n}(v)"
    if serialize is fields.Nested._serialize:
        one = _compile(field.schema)
        if one is not None:
            names[f"_n{n}"] = one
            if field.schema.many or field.many:
                return f"None if v is None else [_n{n}(each) for each in v]"
            return f"None if v is None else _n{n}(v)"
    inner = getattr(field, "inner", None)
    if (serialize is fields.List._serialize and type(inner)._serialize is fields.Nested._serialize
            and not (inner.schema.many or inner.many)):
        one = _compile(inner.schema)
        if one is not None:
            names[f"_n{n}"] = one
            return f"None if v is None else [_n{n}(each) for each in v]"
    return f"_f{n}._serialize(v, {attr_name!r}, obj)"
