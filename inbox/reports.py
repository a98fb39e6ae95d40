"""Report pages of the inbox: monthly metrics with charts (plain SVG, no script needed) and
CSV export, and the chat archive. Data comes from ``helpdesk.reports``, the same functions
the REST API uses; agents see their own, admins everyone's."""
from flask import Blueprint, abort, render_template, request
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

#: Charted series: (key in a metrics row, label, how to read the value).
SERIES = (
    ("chats", _l("Chats"), lambda row: row["chats"]),
    ("sales_count", _l("Sales"), lambda row: row["sales_count"]),
    ("conversion_rate", _l("Conversion rate (%)"), lambda row: round((row["conversion_rate"] or 0) * 100, 1)),
    ("first_response", _l("First response, average seconds"), lambda row: row["first_response"]["average_seconds"] or 0),
    ("rating", _l("Average rating"), lambda row: row["rating"]["average"] or 0),
)


def _args(schema):
    return check_values(schema.load({k: v for k, v in request.args.items() if v != ""}))


@bp.errorhandler(ValidationError)
def _invalid_filters(exc):
    """Filters refused by a page's schema, or later (a cursor that does not decode): a 400
    page that names them, for every report page on this blueprint."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return BadRequest("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in translate_errors(messages).items()))


def _chart(report, value_of):
    """Bars per month (summed over the rows' groups) as numbers the template draws in SVG."""
    totals = {month: 0 for month in report["months"]}
    counts = {month: 0 for month in report["months"]}
    for row in report["rows"]:
        totals[row["month"]] += value_of(row)
        counts[row["month"]] += 1
    averaged = report["by"] != "total"
    bars = []
    for month in report["months"]:
        value = totals[month]
        if averaged and counts[month] and value_of not in (SERIES[0][2], SERIES[1][2]):
            value = round(value / counts[month], 1)  # rates and averages are averaged across groups
        bars.append({"month": month, "value": value})
    peak = max((b["value"] for b in bars), default=0) or 1
    for bar in bars:
        bar["height"] = round(100 * bar["value"] / peak, 1)
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
    charts = [{"key": key, "label": str(label), "bars": _chart(report, fn)} for key, label, fn in SERIES]
    admin = current_user.is_admin
    return render_template(
        "inbox/reports.html", report=report, charts=charts, args=args, admin=admin,
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
