"""Reports: agents' monthly metrics and the chat archive. Agents see their own, admins everyone's."""
from flask import Response
from marshmallow import Schema, fields, validate

from helpdesk import reports
from helpdesk.api import bp
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import activity_cursor, after_activity_cursor, page
from helpdesk.extensions import db
from helpdesk.i18n import N_
from helpdesk.models import Ticket
from helpdesk.schemas import StrictSchema, TicketSchema

_MONTH_PATTERN = validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error=N_("Use YYYY-MM."))
#: The months reports.parse_month accepts. Compared as text, which orders "YYYY-MM" by date.
_MONTH_RANGE = validate.Range(min="2000-01", max="2999-12")


def _supported_month(text):
    # The pattern alone let "0000-01" through to parse_month, whose refusal was a 500.
    # A text that is no month at all is left to the pattern's message.
    if _MONTH_PATTERN.regex.match(text):
        _MONTH_RANGE(text)


_MONTH = [_MONTH_PATTERN, _supported_month]


class MetricsArgs(StrictSchema):
    month_from = fields.Str(validate=_MONTH, metadata={
        "description": "First month (YYYY-MM, 2000-01 to 2999-12); default 5 months ago."})
    month_to = fields.Str(validate=_MONTH, metadata={
        "description": "Last month (YYYY-MM, 2000-01 to 2999-12); default this month."})
    by = fields.Str(load_default="agent", validate=validate.OneOf(reports.GROUPINGS))
    agent = fields.Int(validate=validate.Range(min=1))
    team = fields.Int(validate=validate.Range(min=1))
    store = fields.Int(validate=validate.Range(min=1))
    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "csv"]),
                        metadata={"description": "csv answers text/csv (one line per month and group)."})


class MetricsGroupSchema(Schema):
    type = fields.Str()
    id = fields.Int(allow_none=True)
    name = fields.Str(allow_none=True)


class FirstResponseSchema(Schema):
    count = fields.Int()
    average_seconds = fields.Float(allow_none=True)
    within_target = fields.Int()
    within_target_rate = fields.Float(allow_none=True)


class RatingSummarySchema(Schema):
    count = fields.Int()
    average = fields.Float(allow_none=True)
    distribution = fields.Dict(keys=fields.Str(), values=fields.Int())


class MetricsRowSchema(Schema):
    month = fields.Str()
    group = fields.Nested(MetricsGroupSchema)
    customers = fields.Int(metadata={"description": "Distinct customers the agent chatted with."})
    chats = fields.Int()
    sales_count = fields.Int()
    sales_value = fields.Dict(keys=fields.Str(), values=fields.Str(),
                              metadata={"description": "Per currency, decimal strings."})
    conversion_rate = fields.Float(allow_none=True)
    first_response = fields.Nested(FirstResponseSchema)
    rating = fields.Nested(RatingSummarySchema)


class MetricsSchema(Schema):
    months = fields.List(fields.Str())
    by = fields.Str()
    first_response_target_seconds = fields.Int()
    rows = fields.List(fields.Nested(MetricsRowSchema))


class ArchiveArgs(StrictSchema):
    tab = fields.Str(load_default="all", validate=validate.OneOf(reports.ARCHIVE_TABS))
    q = fields.Str(validate=validate.Length(min=1, max=200))
    store = fields.Int(validate=validate.Range(min=1))
    agent = fields.Int(validate=validate.Range(min=1))
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.Str(validate=validate.Length(max=200))


class SaleSchema(Schema):
    orders = fields.Int()
    value = fields.Dict(keys=fields.Str(), values=fields.Str())


class ArchiveItemSchema(Schema):
    ticket = fields.Nested(TicketSchema)
    sale = fields.Nested(SaleSchema, allow_none=True)


class ArchivePageSchema(Schema):
    items = fields.List(fields.Nested(ArchiveItemSchema))
    next_cursor = fields.Str(allow_none=True)


def metrics_report(agent, args):
    """The metrics report for ``args`` (MetricsArgs), as ``reports.metrics`` builds it."""
    if "month_from" in args or "month_to" in args:
        labels = reports.months_between(args.get("month_from") or args["month_to"],
                                        args.get("month_to") or args["month_from"])
    else:
        labels = reports.last_months(6)
    return reports.metrics(agent, labels, by=args["by"], agent_id=args.get("agent"), team_id=args.get("team"),
                           store_id=args.get("store"))


def csv_response(report):
    filename = f"metrics-{report['months'][0]}-{report['months'][-1]}.csv"
    return Response(reports.metrics_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def archive_page(agent, args):
    query = reports.archive_query(agent, tab=args["tab"], q=args.get("q"), store_id=args.get("store"),
                                  agent_id=args.get("agent"))
    if args.get("cursor"):
        query = after_activity_cursor(query, Ticket, args["cursor"])
    limit = args["limit"]
    rows = db.session.scalars(query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
                              .limit(limit + 1)).unique().all()
    rows, next_cursor = page(rows, limit, activity_cursor)
    sales = reports.sales_of([t.id for t in rows])
    return {"items": [{"ticket": t, "sale": sales.get(t.id)} for t in rows], "next_cursor": next_cursor}


@bp.get("/reports/metrics")
@operation("Monthly metrics per agent, team, store or in total: customers, chats, sales (count and value per "
           "currency), conversion rate, first response time against the 30-second target, ratings. Agents get "
           "their own; `format=csv` answers CSV.", query=MetricsArgs, response=MetricsSchema, errors=(403,),
           csv=True, tag="reports")
def get_metrics():
    args = load_query(MetricsArgs())
    report = metrics_report(current_agent(), args)
    if args["format"] == "csv":
        return csv_response(report)
    return MetricsSchema().dump(report)


@bp.get("/reports/archive")
@operation("Past conversations, searchable; tab `sales` (with the sale value) or `top_rated`. Agents get "
           "their own.", query=ArchiveArgs, response=ArchivePageSchema, errors=(403,), tag="reports")
def get_archive():
    args = load_query(ArchiveArgs())
    return ArchivePageSchema().dump(archive_page(current_agent(), args))


