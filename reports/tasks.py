"""django-q2 entry points of reports."""

from reports.services import report_run_execute as _execute


def report_run_execute(run_id: int) -> None:
    """Produce the file of a queued report run (idempotent)."""
    _execute(run_id=run_id)
