"""Report pages for ratings, reply times and recurring questions (the inbox's reports area).
Data comes from the same functions as /api/v1/reports/ratings, /reply-times and
/recurring-questions."""
from flask import abort, render_template, request
from flask_login import current_user, login_required

from helpdesk.actions import ActionError
from helpdesk.actions.ratings import REASON_LABELS
from helpdesk.api.errors import check_values
from helpdesk.api.insights import (RatingReportArgs, RecurringQuestionsArgs, ReplyTimeReportArgs, date_range,
                                   recurring_questions_for, reply_time_report_for)
from helpdesk.extensions import db
from helpdesk.models import Agent, RecurringQuestionsReport, Store, Team
from inbox import rating_reports
from inbox.reports import bp


def _args(schema):
    """The page's filters; refusals are answered by the blueprint (inbox.reports)."""
    return check_values(schema.load({k: v for k, v in request.args.items() if v != "" and k in schema.fields}))


def _choices(admin):
    return {
        "agents": db.session.scalars(db.select(Agent).order_by(Agent.name)).all() if admin else [],
        "teams": db.session.scalars(db.select(Team).order_by(Team.name)).all() if admin else [],
        "stores": db.session.scalars(db.select(Store).order_by(Store.name)).all(),
    }


@bp.route("/ratings")
@login_required
def ratings_page():
    args = _args(RatingReportArgs())
    date_from, date_to = date_range(args)
    try:
        report = rating_reports.rating_report(current_user, date_from=date_from, date_to=date_to, by=args["by"],
                                              period=args["period"], agent_id=args.get("agent"),
                                              team_id=args.get("team"), store_id=args.get("store"))
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    admin = current_user.is_admin
    return render_template("inbox/reports_ratings.html", report=report, args=args, admin=admin,
                           reason_labels=REASON_LABELS, **_choices(admin))


@bp.route("/reply-times")
@login_required
def reply_times_page():
    args = _args(ReplyTimeReportArgs())
    try:
        report = reply_time_report_for(current_user, args)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    admin = current_user.is_admin
    return render_template("inbox/reports_reply_times.html", report=report, args=args, admin=admin,
                           **_choices(admin))


@bp.route("/recurring-questions")
@login_required
def recurring_questions_page():
    if not current_user.is_admin:
        abort(403)
    args = _args(RecurringQuestionsArgs())
    report_id = request.args.get("report", "")
    if report_id.isdigit() and len(report_id) < 10:
        report = db.session.get(RecurringQuestionsReport, int(report_id))
        if report is None:
            abort(404)
        answer = {"id": report.id, "status": report.status, "result": report.result}
    else:
        answer = recurring_questions_for(current_user, args)
    date_from, date_to = date_range(args)
    return render_template("inbox/reports_topics.html", answer=answer, args=args, date_from=date_from,
                           date_to=date_to, admin=True, **_choices(True))
