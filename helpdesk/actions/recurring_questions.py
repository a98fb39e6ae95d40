"""Recurring-questions reports too large to group while the admin waits: a row first, then
a job (``helpdesk.topics.build_report``) that fills it in."""
from helpdesk.actions import Forbidden, action
from helpdesk.extensions import db
from helpdesk.models import RecurringQuestionsReport, utcnow


@action
def request_report(agent, params):
    """Queue a report for ``params`` (JSON-safe: store ids, dates as ISO text, threshold).
    Admins only. Changes: inserts a queued report; enqueues the job after commit. Emits
    nothing (the page polls the report)."""
    from workers import enqueue

    if not agent.is_admin:
        raise Forbidden("Only admins see recurring questions.")
    report = RecurringQuestionsReport(requested_by_id=agent.id, params=params,
                                      status=RecurringQuestionsReport.QUEUED)
    db.session.add(report)
    db.session.flush()
    enqueue("helpdesk.topics.build_report", report.id)
    return report


@action
def finish_report(report, result=None, failed=False):
    """Store the job's result (or its failure). Emits nothing."""
    report.status = RecurringQuestionsReport.FAILED if failed else RecurringQuestionsReport.DONE
    report.result = result
    report.finished_at = utcnow()
    db.session.flush()
    return report
