"""Languages: the catalogs there are, my inbox language, a store's languages and own texts."""
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from helpdesk import i18n
from helpdesk.actions import Forbidden
from helpdesk.actions.languages import MAX_LABEL, MAX_TEXT, set_agent_language, update_store_languages
from helpdesk.api import bp
from helpdesk.api.access import ID, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.schemas import AgentSchema, StrictSchema

_CODE = validate.Regexp(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


class LanguageSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    direction = fields.Str()


class LanguageListSchema(Schema):
    items = fields.List(fields.Nested(LanguageSchema))


class AgentLanguageArgs(StrictSchema):
    language = fields.Str(required=True, validate=[validate.Length(max=16), _CODE])


class PrechatLabelsArgs(StrictSchema):
    name = fields.Str(allow_none=True, validate=validate.Length(max=MAX_LABEL))
    email = fields.Str(allow_none=True, validate=validate.Length(max=MAX_LABEL))
    order_number = fields.Str(allow_none=True, validate=validate.Length(max=MAX_LABEL))
    topic = fields.Str(allow_none=True, validate=validate.Length(max=MAX_LABEL))


class StoreTextsArgs(StrictSchema):
    greeting = fields.Str(allow_none=True, validate=validate.Length(max=MAX_TEXT))
    offline_message = fields.Str(allow_none=True, validate=validate.Length(max=MAX_TEXT))
    prechat = fields.Nested(PrechatLabelsArgs, allow_none=True)


class StoreLanguagesArgs(StrictSchema):
    languages = fields.List(fields.Str(validate=[validate.Length(max=16), _CODE]),
                            validate=validate.Length(min=1, max=20))
    texts = fields.Dict(keys=fields.Str(validate=[validate.Length(max=16), _CODE]),
                        values=fields.Nested(StoreTextsArgs), validate=validate.Length(max=20))


class StoreLanguagesSchema(Schema):
    store_id = fields.Int()
    languages = fields.List(fields.Str())
    available = fields.List(fields.Str())
    texts = fields.Dict()


def _languages():
    return [{"code": c, "name": i18n.language_name(c), "direction": "rtl" if i18n.is_rtl(c) else "ltr"}
            for c in i18n.available()]


@bp.get("/languages")
@operation("The languages with a translation (for the inbox and the store's shoppers).",
           response=LanguageListSchema, tag="languages")
def list_languages():
    current_agent()
    return LanguageListSchema().dump({"items": _languages()})


@bp.put("/agents/me/language")
@operation("Set the language the inbox speaks to me.", body=AgentLanguageArgs, response=AgentSchema,
           tag="languages")
def put_my_language():
    args = load_json(AgentLanguageArgs())
    return AgentSchema().dump(set_agent_language(current_agent(), args["language"]))


@bp.get(f"/stores/<{ID}:store_id>/languages")
@operation("The store's shopper languages (first = default) and its own texts per language.",
           response=StoreLanguagesSchema, tag="languages")
def get_store_languages(store_id):
    return _dump(store_or_404(store_id, current_agent()))


@bp.patch(f"/stores/<{ID}:store_id>/languages")
@operation("Set the store's languages and its own greeting, offline notice and pre-chat labels per "
           "language (admins; plain text, shown escaped).", body=StoreLanguagesArgs,
           response=StoreLanguagesSchema, errors=(403,), tag="languages")
def patch_store_languages(store_id):
    agent = current_agent()
    store = store_or_404(store_id, agent)
    if not agent.is_admin:
        raise Forbidden(_("Only admins can do this."))
    args = load_json(StoreLanguagesArgs())
    update_store_languages(store, languages=args.get("languages"), texts=args.get("texts"))
    return _dump(store)


def _dump(store):
    return StoreLanguagesSchema().dump({"store_id": store.id, "languages": i18n.store_languages(store),
                                        "available": list(i18n.available()),
                                        "texts": store.setting("texts") or {}})
