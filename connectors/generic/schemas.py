"""The shapes the generic connector accepts inside ``data``. Ids are strings (numbers are
accepted and turned into strings); amounts are decimal strings or JSON numbers, read exactly;
times are ISO 8601 with an offset. Unknown fields are ignored, so a platform may send more."""
from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from helpdesk.i18n import N_

Amount = fields.Decimal
_CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error=N_("A three-letter ISO 4217 code."))


class _Data(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _ids_as_text(self, data, **kwargs):
        if isinstance(data, dict):
            data = dict(data)
            for key in ("id", "order_id", "product_id"):
                if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
                    data[key] = str(data[key])
            if isinstance(data.get("currency"), str):
                data["currency"] = data["currency"].upper()
        return data


def _id(**kw):
    return fields.Str(validate=validate.Length(min=1, max=64), **kw)


def _money(**kw):
    return Amount(allow_nan=False, validate=validate.Range(min=0), **kw)


class CustomerData(_Data):
    id = _id(required=True)
    email = fields.Email(allow_none=True)
    phone = fields.Str(allow_none=True, validate=validate.Length(max=40))
    name = fields.Str(load_default="", validate=validate.Length(max=255))
    created_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime(allow_none=True)


class LineItemData(_Data):
    id = _id(allow_none=True)
    product_id = _id(allow_none=True)
    sku = fields.Str(allow_none=True, validate=validate.Length(max=128))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    quantity = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    unit_price = _money(required=True)
    total = _money()


class RefundItemData(_Data):
    id = _id(required=True)
    amount = _money(required=True)
    created_at = fields.AwareDateTime(allow_none=True)


class OrderData(_Data):
    id = _id(required=True)
    number = fields.Str(validate=validate.Length(max=64))
    email = fields.Email(allow_none=True)
    phone = fields.Str(allow_none=True, validate=validate.Length(max=40))
    customer = fields.Nested(CustomerData, allow_none=True)
    currency = fields.Str(required=True, validate=_CURRENCY)
    subtotal = _money(load_default=0)
    tax = _money(load_default=0)
    shipping = _money(load_default=0)
    discount = _money(load_default=0)
    total = _money(required=True)
    refunded = _money(allow_none=True)
    refunds = fields.List(fields.Nested(RefundItemData))
    status = fields.Str(validate=validate.OneOf(["open", "cancelled"]))
    financial_status = fields.Str(allow_none=True, validate=validate.Length(max=32))
    fulfillment_status = fields.Str(allow_none=True, validate=validate.Length(max=32))
    line_items = fields.List(fields.Nested(LineItemData))
    placed_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    url = fields.Url(allow_none=True)


class RefundData(RefundItemData):
    order_id = _id(required=True)
    currency = fields.Str(required=True, validate=_CURRENCY)


class ProductData(_Data):
    id = _id(required=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    description = fields.Str(load_default="", validate=validate.Length(max=20000))
    price = _money(allow_none=True)
    currency = fields.Str(allow_none=True, validate=_CURRENCY)
    image_url = fields.Url(allow_none=True)
    url = fields.Str(allow_none=True, validate=validate.Length(max=1024))
    active = fields.Bool(load_default=True)


class DeletedData(_Data):
    id = _id(required=True)
