"""Marshmallow schemas of a store's automation rules (``helpdesk.actions.automation``): what an
admin may save (``AutomationRuleArgs``, for the API and the settings page alike) and how a rule
is shown (``AutomationRuleSchema``).

Kept beside ``helpdesk.schemas`` rather than in it: that module is long already, and a rule is
one resource with its own nested parts. Every message is a msgid (``N_``), translated where it
is shown.
"""
import re
import unicodedata

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from helpdesk.i18n import N_
from helpdesk.models import Channel
from helpdesk.schemas import StrictSchema, TextLength

TRIGGERS = ("ticket_created", "customer_message")
CHANNELS = tuple(Channel.values())
BUSINESS_HOURS = ("during", "outside")
#: What a rule may set the status to: "closed" is for noise (a marketplace's notifications).
RULE_STATUSES = ("pending", "resolved", "closed")

#: Most rules a store may have, words (or addresses, languages, tags) in one list, and the
#: longest word: every customer message is checked against them.
MAX_RULES = 50
MAX_WORDS = 50
MAX_WORD_LENGTH = 100
MAX_NAME_LENGTH = 100
MAX_NOTE_LENGTH = 2000
MAX_SNOOZE_HOURS = 30 * 24
#: Tag.name's column.
MAX_TAG_LENGTH = 64

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_LANGUAGE = r"^[a-z]{2,3}$"
_WORD_CHARACTER = re.compile(r"\w")


def normal_words(text):
    """``text`` as rules compare it: NFC (a decomposed "é" from one mail program equals the
    composed one typed in the form), runs of whitespace as one space, trimmed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


class StrictBool(fields.Boolean):
    """true or false only: marshmallow's Boolean also reads 1, "yes", "on"... (the forms
    send real booleans once the view has read them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Word(fields.Str):
    """A word or phrase a subject or message must contain, normalised (``normal_words``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return normal_words(super()._deserialize(value, attr, data, **kwargs))


def _has_word_character(word):
    # Matched as a whole word: a "word" of punctuation alone would have no edges to match on.
    if not _WORD_CHARACTER.search(word):
        raise ValidationError(_("Use words with at least one letter or digit."))


class Sender(fields.Str):
    """An email address or a domain, lower-cased ("@shop.example" is the domain)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        return text[1:] if text.startswith("@") else text


def _address_or_domain(text):
    if not (_EMAIL.match(text) or _DOMAIN.match(text)):
        raise ValidationError(_("Use an email address (like orders@marketplace.example) or a domain (like "
                                "marketplace.example)."))


class Lowered(fields.Str):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


def _word_list(description):
    word = Word(validate=[validate.Length(min=1), validate.Length(max=MAX_WORD_LENGTH), _has_word_character])
    return fields.List(word, validate=validate.Length(max=MAX_WORDS), metadata={"description": description})


def _distinct(values):
    """``values`` without repeats (compared without case), first spelling and order kept."""
    seen, out = set(), []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


class RuleConditionsArgs(StrictSchema):
    """All given must match; none given: every message of the trigger matches."""

    channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), validate=validate.Length(max=len(CHANNELS)),
                           metadata={"description": "The message came by one of these: chat, email, form, api."})
    subject_words = _word_list("The subject contains one of these words or phrases (whole words, any case).")
    text_words = _word_list("The message text contains one of these words or phrases (whole words, any case).")
    senders = fields.List(Sender(validate=[validate.Length(max=254), _address_or_domain]),
                          validate=validate.Length(max=MAX_WORDS), metadata={
                              "description": "The sender's email address is one of these, or is at one of these "
                                             "domains (or their subdomains)."})
    languages = fields.List(Lowered(validate=validate.Regexp(
        _LANGUAGE, error=N_("Use a language code, like de or fr."))), validate=validate.Length(max=MAX_WORDS),
        metadata={"description": "The message's detected language (ISO 639-1) is one of these."})
    business_hours = fields.Str(allow_none=True, validate=validate.OneOf(BUSINESS_HOURS), metadata={
        "description": "during or outside the store's business hours; null: any time."})
    has_order = StrictBool(allow_none=True, metadata={
        "description": "true: the customer has an order with the store; false: none; null: either."})

    @post_load
    def _compact(self, data, **kwargs):
        # Stored without the conditions left empty, so a rule reads as what it checks.
        for key in ("channels", "subject_words", "text_words", "senders", "languages"):
            if key in data:
                data[key] = _distinct(data[key])
        return {key: value for key, value in data.items() if value not in (None, [], "")}


class RuleActionsArgs(StrictSchema):
    tags = fields.List(Lowered(validate=[validate.Length(min=1), validate.Length(max=MAX_TAG_LENGTH)]),
                       validate=validate.Length(max=MAX_WORDS), metadata={"description": "Tags added to the ticket."})
    team_id = fields.Int(strict=True, allow_none=True, metadata={"description": "A team of the store (or of every "
                                                                               "store) the ticket goes to."})
    agent_id = fields.Int(strict=True, allow_none=True, metadata={
        "description": "An active agent of the store the ticket is assigned to."})
    status = fields.Str(allow_none=True, validate=validate.OneOf(RULE_STATUSES), metadata={
        "description": "pending, resolved or closed (closed: noise nobody needs to answer)."})
    snooze_hours = fields.Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_SNOOZE_HOURS),
                              metadata={"description": f"Snooze the ticket this many hours (1 to {MAX_SNOOZE_HOURS})."})
    note = fields.Str(allow_none=True, validate=TextLength(max=MAX_NOTE_LENGTH), metadata={
        "description": "An internal note for the agents on the rule's timeline entry (plain text)."})

    @validates_schema
    def _one_status(self, data, **kwargs):
        if data.get("status") and data.get("snooze_hours"):
            raise ValidationError(_("Set a status or snooze the ticket, not both."), "snooze_hours")

    @post_load
    def _compact(self, data, **kwargs):
        if "tags" in data:
            data["tags"] = _distinct(tag for tag in (" ".join(t.split()) for t in data["tags"]) if tag)
        if isinstance(data.get("note"), str):
            data["note"] = data["note"].strip()
        return {key: value for key, value in data.items() if value not in (None, [], "")}


class AutomationRuleArgs(StrictSchema):
    """One automation rule. ``store``: the store it is for, to check that its team and agent
    belong there (the OpenAPI document builds it without)."""

    name = fields.Str(required=True, validate=[validate.Length(min=1, error=N_("Give the rule a name.")),
                                               validate.Length(max=MAX_NAME_LENGTH)], metadata={
        "description": "Shown on the timeline of the tickets it acts on (plain text)."})
    enabled = StrictBool(load_default=True)
    trigger = fields.Str(load_default="ticket_created", validate=validate.OneOf(TRIGGERS), metadata={
        "description": "ticket_created: the first customer message of a new ticket; customer_message: every "
                       "customer message."})
    conditions = fields.Nested(RuleConditionsArgs, load_default=dict)
    actions = fields.Nested(RuleActionsArgs, load_default=dict)
    stop = StrictBool(load_default=False, metadata={
        "description": "When this rule matches, the rules after it are not checked."})

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    @validates_schema(skip_on_field_errors=False)
    def _known_team_and_agent(self, data, **kwargs):
        actions = data.get("actions")
        if not isinstance(actions, dict):
            return
        if not actions and not data.get("stop"):
            raise ValidationError(_("Choose at least one action, or tick “Stop processing further rules”."), "actions")
        if self.store is None:
            return
        from helpdesk.actions.automation import rule_agent, rule_team

        errors = {}
        if actions.get("team_id") is not None and rule_team(self.store, actions["team_id"]) is None:
            errors["team_id"] = [_("No such team for this store.")]
        if actions.get("agent_id") is not None and rule_agent(self.store, actions["agent_id"]) is None:
            errors["agent_id"] = [_("No such agent for this store.")]
        if errors:
            raise ValidationError({"actions": errors})


class RuleOrderArgs(StrictSchema):
    ids = fields.List(fields.Str(validate=validate.Length(max=64)), required=True,
                      validate=validate.Length(max=MAX_RULES),
                      metadata={"description": "Every rule's id, in the order they are to be checked."})


# ---- output ---------------------------------------------------------------------------------

class RuleConditionsSchema(Schema):
    channels = fields.List(fields.Str())
    subject_words = fields.List(fields.Str())
    text_words = fields.List(fields.Str())
    senders = fields.List(fields.Str())
    languages = fields.List(fields.Str())
    business_hours = fields.Str(allow_none=True)
    has_order = fields.Bool(allow_none=True)


class RuleActionsSchema(Schema):
    tags = fields.List(fields.Str())
    team_id = fields.Int(allow_none=True)
    agent_id = fields.Int(allow_none=True)
    status = fields.Str(allow_none=True)
    snooze_hours = fields.Int(allow_none=True)
    note = fields.Str(allow_none=True)


class AutomationRuleSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    enabled = fields.Bool()
    trigger = fields.Str()
    conditions = fields.Nested(RuleConditionsSchema)
    actions = fields.Nested(RuleActionsSchema)
    stop = fields.Bool()


class AutomationRuleListSchema(Schema):
    items = fields.List(fields.Nested(AutomationRuleSchema), metadata={"description": "In the order they are checked."})
