"""A store's automation rules ("when a customer message arrives, if ..., then ..."): the store's
agents read them, admins change them -- the same rules the settings page edits, through
``helpdesk.actions.automation``."""
from helpdesk.actions.automation import (
    automation_rule,
    automation_rules,
    delete_automation_rule,
    reorder_automation_rules,
    save_automation_rule,
)
from helpdesk.api import bp
from helpdesk.api.access import ID, admin_store_or_404, store_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json
from helpdesk.api.openapi import operation
from helpdesk.api.stores import RULE_ID
from helpdesk.automation_schemas import (
    AutomationRuleArgs,
    AutomationRuleListSchema,
    AutomationRuleSchema,
    RuleOrderArgs,
)

_RULES = f"/stores/<{ID}:store_id>/rules"
_DESCRIPTION = (
    "Rules are checked in order on each customer message (chat, email, contact form, API): `trigger` "
    "`ticket_created` on the first message of a new ticket, `customer_message` on every one. All the "
    "conditions given must match (none: always); words match whole words in any case. The actions go "
    "through the usual ticket changes, and the ticket's timeline says which rule did what. `stop`: the "
    "rules after a matching one are not checked."
)


def _list(store):
    return AutomationRuleListSchema().dump({"items": automation_rules(store)})


@bp.get(_RULES)
@operation("The store's automation rules, in the order they are checked.", response=AutomationRuleListSchema,
           tag="stores", description=_DESCRIPTION)
def list_automation_rules(store_id):
    return _list(store_or_404(store_id, current_agent()))


@bp.post(_RULES)
@operation("Add an automation rule at the end of the list (admins; up to 50 a store).", body=AutomationRuleArgs,
           response=AutomationRuleSchema, status=201, errors=(403,), tag="stores", description=_DESCRIPTION)
def create_automation_rule(store_id):
    store = admin_store_or_404(store_id, current_agent())
    rule = save_automation_rule(store, load_json(AutomationRuleArgs(store=store)))
    return AutomationRuleSchema().dump(rule), 201


@bp.put(f"{_RULES}/order")
@operation("Put the rules in a new order (admins): `ids` names every rule once; a list that misses or adds "
           "one (another admin changed the rules meanwhile) is refused with 409.", body=RuleOrderArgs,
           response=AutomationRuleListSchema, errors=(403, 409), tag="stores")
def reorder_automation_rule_list(store_id):
    store = admin_store_or_404(store_id, current_agent())
    reorder_automation_rules(store, load_json(RuleOrderArgs())["ids"])
    return _list(store)


@bp.get(f"{_RULES}/<{RULE_ID}:rule_id>")
@operation("One automation rule.", response=AutomationRuleSchema, tag="stores")
def get_automation_rule(store_id, rule_id):
    return AutomationRuleSchema().dump(automation_rule(store_or_404(store_id, current_agent()), rule_id))


@bp.put(f"{_RULES}/<{RULE_ID}:rule_id>")
@operation("Replace the automation rule ``rule_id`` in its place (admins); its id stays.", body=AutomationRuleArgs,
           response=AutomationRuleSchema, errors=(403,), tag="stores", description=_DESCRIPTION)
def replace_automation_rule(store_id, rule_id):
    store = admin_store_or_404(store_id, current_agent())
    automation_rule(store, rule_id)  # 404 before the body's fields
    rule = save_automation_rule(store, load_json(AutomationRuleArgs(store=store)), rule_id=rule_id)
    return AutomationRuleSchema().dump(rule)


@bp.delete(f"{_RULES}/<{RULE_ID}:rule_id>")
@operation("Remove the automation rule ``rule_id`` (admins).", status=204, errors=(403,), tag="stores")
def delete_automation_rule_view(store_id, rule_id):
    delete_automation_rule(admin_store_or_404(store_id, current_agent()), rule_id)
    return "", 204
