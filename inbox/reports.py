"""Report pages of the inbox: monthly metrics with charts (plain SVG, no script needed) and
CSV export, and the chat archive. Data comes from ``helpdesk.reports``, the same functions
the REST API uses; agents see their own, admins everyone's."""
from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest

from helpdesk.actions import ActionError
from helpdesk.api.errors import check_values
from helpdesk.api.reports import ArchiveArgs, MetricsArgs, archive_page, csv_response, metrics_report
from helpdesk.extensions import db
from helpdesk.i18n import translate_errors
from helpdesk.models import Agent, Store, Team

bp = Blueprint("reports", __name__, url_prefix="/inbox/reports")

#: Charted series: (key in a metrics row, label, how to read the value, its weight). Counts
#: have no weight: a month's bar is their sum over the rows (agents, teams, stores). Rates and
#: averages are weighted by what they are made of, so an agent with no ratings that month
#: does not pull the month's average rating down to half.
SERIES = (
    ("chats", _l("Chats"), lambda row: row["chats"], None),
    ("sales_count", _l("Sales"), lambda row: row["sales_count"], None),
    ("conversion_rate", _l("Conversion rate (%)"), lambda row: (row["conversion_rate"] or 0) * 100,
     lambda row: row["customers"]),
    ("first_response", _l("First response, average seconds"),
     lambda row: row["first_response"]["average_seconds"] or 0, lambda row: row["first_response"]["count"]),
    ("rating", _l("Average rating"), lambda row: row["rating"]["average"] or 0, lambda row: row["rating"]["count"]),
)


def _args(schema):
    return check_values(schema.load({k: v for k, v in request.args.items() if v != ""}))


@bp.errorhandler(ValidationError)
def _invalid_filters(exc):
    """Filters refused by a page's schema, or later (a cursor that does not decode): a 400
    page that names them, for every report page on this blueprint."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return BadRequest("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in translate_errors(messages).items()))


def _month_labels(months):
    """``{"2026-11": {"name": "November 2026", "short": "Nov", "year": "26"}}`` in the agent's
    language: the table and the bars' titles use the name; under a bar, short over year (both
    on one line overlapped the neighbours')."""
    labels = {}
    for month in months:
        first_day = date.fromisoformat(f"{month}-01")
        labels[month] = {"name": format_date(first_day, "LLLL yyyy"), "short": format_date(first_day, "LLL"),
                         "year": format_date(first_day, "yy")}
    return labels


def _chart(report, labels, value_of, weight_of=None):
    """Bars per month as numbers the template draws in SVG: a count summed over the rows'
    groups, a rate or average weighted by ``weight_of`` (None: nothing to average that month).
    ``labels``: ``_month_labels`` of the report's months."""
    totals = {month: 0 for month in report["months"]}
    weights = {month: 0 for month in report["months"]}
    for row in report["rows"]:
        weight = 1 if weight_of is None else weight_of(row)
        totals[row["month"]] += value_of(row) * weight
        weights[row["month"]] += weight
    bars = []
    for month in report["months"]:
        if weight_of is None:
            value = totals[month]
        else:
            value = round(totals[month] / weights[month], 1) if weights[month] else None
        bars.append({**labels[month], "value": value})
    peak = max((b["value"] or 0 for b in bars), default=0) or 1
    for bar in bars:
        bar["height"] = round(100 * (bar["value"] or 0) / peak, 1)
    return bars


@bp.route("/")
@login_required
def metrics_page():
    args = _args(MetricsArgs())
    try:
        report = metrics_report(current_user, args)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    if args["format"] == "csv":
        return csv_response(report)
    labels = _month_labels(report["months"])
    charts = [{"key": key, "label": str(label), "bars": _chart(report, labels, value_of, weight_of)}
              for key, label, value_of, weight_of in SERIES]
    admin = current_user.is_admin
    return render_template(
        "inbox/reports.html", report=report, charts=charts, args=args, admin=admin,
        month_labels=labels,
        agents=db.session.scalars(db.select(Agent).order_by(Agent.name)).all() if admin else [],
        teams=db.session.scalars(db.select(Team).order_by(Team.name)).all() if admin else [],
        stores=db.session.scalars(db.select(Store).order_by(Store.name)).all(),
        csv_query={**{k: v for k, v in request.args.items() if k != "format"}, "format": "csv"},
    )


@bp.route("/archive")
@login_required
def archive():
    args = _args(ArchiveArgs())
    try:
        result = archive_page(current_user, args)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return render_template("inbox/reports_archive.html", result=result, args=args, admin=current_user.is_admin,
                           tabs=(("all", _("All")), ("sales", _("Resulted in a sale")), ("top_rated", _("Top-rated"))))
from inbox import report_pages  # noqa: E402,F401 -- ratings and recurring questions pages on this blueprint
