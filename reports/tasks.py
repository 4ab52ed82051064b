"""django-q2 entry points of reports."""

from reports import services
from reports.services import report_run_execute as _execute


def report_run_execute(run_id: int) -> None:
    """Produce the file of a queued report run (idempotent)."""
    _execute(run_id=run_id)


def monthly_reports_send():
    """On the first of the month: e-mail the previous month's reports to the Finance group."""
    return {"sent": services.monthly_reports_send()}
