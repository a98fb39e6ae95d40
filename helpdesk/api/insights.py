"""Rating reports (stars and reasons per agent, team or store over time), reply-time reports
(replies within the stores' reply targets) and the recurring questions report (opening messages
grouped into topics, with missing saved replies)."""
from datetime import date

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from helpdesk import topics
from helpdesk.actions import Forbidden, NotFound
from helpdesk.actions.recurring_questions import request_report
from helpdesk.api import bp
from helpdesk.api.access import ID
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_query
from helpdesk.api.openapi import operation
from helpdesk.extensions import db
from helpdesk.models import RecurringQuestionsReport
from helpdesk.schemas import StrictSchema
from inbox import rating_reports, reply_time_reports


#: Days a report may start or end on: the range and its default start are computed with a
#: margin of years, which datetime's first (1) and last (9999) years would not leave.
_DAYS = validate.Range(min=date(1970, 1, 1), max=date(9000, 12, 31))


class _RangeArgs(StrictSchema):
    date_from = fields.Date(validate=_DAYS,
                            metadata={"description": "First day (YYYY-MM-DD, UTC); default 29 days before date_to."})
    date_to = fields.Date(validate=_DAYS, metadata={"description": "Last day, included; default today."})

    max_days = rating_reports.MAX_DAYS

    @validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError(_("Must not be after date_to."), "date_from")
        if start and end and (end - start).days >= self.max_days:
            raise ValidationError(_("At most %(days)s days.", days=self.max_days), "date_from")


def date_range(args):
    """(date_from, date_to) from loaded args, with the defaults of the rating report."""
    default_from, default_to = rating_reports.default_range()
    date_to = args.get("date_to") or default_to
    date_from = args.get("date_from") or (date_to - (default_to - default_from))
    return date_from, date_to


class RatingReportArgs(_RangeArgs):
    by = fields.Str(load_default="agent", validate=validate.OneOf(rating_reports.GROUPINGS))
    period = fields.Str(load_default="week", validate=validate.OneOf(rating_reports.PERIODS))
    agent = fields.Int(validate=validate.Range(min=1))
    team = fields.Int(validate=validate.Range(min=1))
    store = fields.Int(validate=validate.Range(min=1))


class RatingGroupSchema(Schema):
    type = fields.Str()
    id = fields.Int(allow_none=True)
    name = fields.Str(allow_none=True)


class RatingRowSchema(Schema):
    period = fields.Str(metadata={"description": "First day of the day, week (Monday) or month."})
    group = fields.Nested(RatingGroupSchema)
    count = fields.Int()
    average = fields.Float(allow_none=True)
    distribution = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={"description": "Stars 1-5."})
    reasons = fields.Dict(keys=fields.Str(), values=fields.Int())


class RatingReportSchema(Schema):
    date_from = fields.Str(attribute="from", data_key="from")
    date_to = fields.Str(attribute="to", data_key="to")
    by = fields.Str()
    period = fields.Str()
    reasons = fields.List(fields.Str())
    rows = fields.List(fields.Nested(RatingRowSchema))
    totals = fields.List(fields.Nested(RatingRowSchema(exclude=("period",))))


class ReplyTimeReportArgs(RatingReportArgs):
    """The rating report's filters: range, grouping (agent, team, store, total), period."""


class FirstReplySchema(Schema):
    count = fields.Int(metadata={"description": "Conversations whose first reply (with a target) was written then."})
    median_seconds = fields.Float(allow_none=True, metadata={
        "description": "Median time from the conversation's start to that reply, in seconds (on the clock)."})


class ReplyTimeRowSchema(Schema):
    period = fields.Str(metadata={"description": "First day of the day, week (Monday) or month."})
    group = fields.Nested(RatingGroupSchema)
    replies = fields.Int(metadata={"description": "Agents' replies that answered a reply target's due time."})
    in_time = fields.Int(metadata={"description": "Of those, written by the due time."})
    in_time_rate = fields.Float(allow_none=True, metadata={"description": "in_time / replies (0 to 1)."})
    first_reply = fields.Nested(FirstReplySchema)


class ReplyTimeReportSchema(Schema):
    date_from = fields.Str(attribute="from", data_key="from")
    date_to = fields.Str(attribute="to", data_key="to")
    by = fields.Str()
    period = fields.Str()
    rows = fields.List(fields.Nested(ReplyTimeRowSchema))
    totals = fields.List(fields.Nested(ReplyTimeRowSchema(exclude=("period",))))


def reply_time_report_for(agent, args):
    """The reply-time report for loaded ``ReplyTimeReportArgs`` (the API and the inbox page)."""
    date_from, date_to = date_range(args)
    return reply_time_reports.reply_time_report(agent, date_from=date_from, date_to=date_to, by=args["by"],
                                                period=args["period"], agent_id=args.get("agent"),
                                                team_id=args.get("team"), store_id=args.get("store"))


class RecurringQuestionsArgs(_RangeArgs):
    store = fields.Int(validate=validate.Range(min=1))
    threshold = fields.Float(load_default=topics.DEFAULT_THRESHOLD, validate=validate.Range(min=0.01, max=0.99),
                             metadata={"description": "Cosine similarity a message needs to join a topic."})

    max_days = topics.MAX_DAYS


class SavedReplyBriefSchema(Schema):
    id = fields.Int()
    shortcut = fields.Str()
    title = fields.Str()


class TopicSchema(Schema):
    label = fields.Str()
    terms = fields.List(fields.Str())
    count = fields.Int()
    share = fields.Float()
    example = fields.Str()
    example_ticket_id = fields.Int()
    ticket_ids = fields.List(fields.Int())
    saved_replies = fields.List(fields.Nested(SavedReplyBriefSchema))
    missing_saved_reply = fields.Bool()


class RecurringQuestionsResultSchema(Schema):
    date_from = fields.Str(attribute="from", data_key="from")
    date_to = fields.Str(attribute="to", data_key="to")
    messages = fields.Int(metadata={"description": "Opening messages read."})
    clustered = fields.Int(metadata={"description": "Of those, in a recurring topic."})
    topics = fields.List(fields.Nested(TopicSchema))


class RecurringQuestionsSchema(Schema):
    id = fields.Int(allow_none=True, metadata={"description": "The queued report to poll, for large ranges."})
    status = fields.Str(metadata={"description": "done, queued or failed."})
    result = fields.Nested(RecurringQuestionsResultSchema, allow_none=True)


@bp.get("/reports/ratings")
@operation("Shoppers' ratings per agent, team, store or in total, per day, week or month: count, average "
           "stars, distribution and reasons. Agents get their own.", query=RatingReportArgs,
           response=RatingReportSchema, errors=(403,), tag="reports")
def get_rating_report():
    args = load_query(RatingReportArgs())
    date_from, date_to = date_range(args)
    report = rating_reports.rating_report(current_agent(), date_from=date_from, date_to=date_to, by=args["by"],
                                          period=args["period"], agent_id=args.get("agent"),
                                          team_id=args.get("team"), store_id=args.get("store"))
    return RatingReportSchema().dump(report)


@bp.get("/reports/reply-times")
@operation("Agents' replies within the stores' reply targets per agent, team, store or in total, per day, week "
           "or month: replies with a target, how many in time, the share, and the median time to a "
           "conversation's first reply. Agents get their own.", query=ReplyTimeReportArgs,
           response=ReplyTimeReportSchema, errors=(403,), tag="reports")
def get_reply_time_report():
    args = load_query(ReplyTimeReportArgs())
    return ReplyTimeReportSchema().dump(reply_time_report_for(current_agent(), args))


def recurring_questions_for(agent, args):
    """The report now (small ranges) or a queued one (large ranges). Admins only."""
    if not agent.is_admin:
        raise Forbidden(_("Only admins see recurring questions."))
    date_from, date_to = date_range(args)
    store_ids = [args["store"]] if args.get("store") else None
    if topics.count_opening_messages(store_ids, date_from, date_to) > topics.SYNC_LIMIT:
        report = request_report(agent, topics.report_params(store_ids, date_from, date_to, args["threshold"]))
        return {"id": report.id, "status": report.status, "result": report.result}
    result = topics.recurring_questions(store_ids, date_from, date_to, threshold=args["threshold"])
    return {"id": None, "status": "done", "result": result}


@bp.get("/reports/recurring-questions")
@operation("Shoppers' opening messages grouped into recurring topics, each with an example and whether a "
           "saved reply covers it (admins). Large ranges are queued: poll the returned id.",
           query=RecurringQuestionsArgs, response=RecurringQuestionsSchema, errors=(403,), tag="reports")
def get_recurring_questions():
    args = load_query(RecurringQuestionsArgs())
    return RecurringQuestionsSchema().dump(recurring_questions_for(current_agent(), args))


@bp.get(f"/reports/recurring-questions/<{ID}:report_id>")
@operation("A queued recurring-questions report: its status and, once done, the result.",
           response=RecurringQuestionsSchema, errors=(403,), tag="reports")
def get_recurring_questions_report(report_id):
    agent = current_agent()
    if not agent.is_admin:
        raise Forbidden(_("Only admins see recurring questions."))
    report = db.session.get(RecurringQuestionsReport, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return RecurringQuestionsSchema().dump({"id": report.id, "status": report.status, "result": report.result})

