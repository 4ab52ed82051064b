"""Produce report files: at once for small ranges, through a background run for large ones."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.queue import enqueue_on_commit
from reports.documents import report_build
from reports.models import ReportFormat, ReportKind, ReportRun, report_filename
from reports.rendering import report_render
from reports.selectors import ReportFilter, orders_in_range_count

#: Above either limit a report from the admin runs in the background and is e-mailed.
INLINE_MAX_DAYS = 31
INLINE_MAX_ORDERS = 20_000


class ReportInputError(ValueError):
    """A report asked for with bad parameters; `field` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes
    fmt: str


def report_format_for(path: str | Path) -> str:
    """Return the format of a file name from its extension (.pdf, .csv, .xlsx)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ReportFormat.values:
        raise ReportInputError("out", f"unknown file extension {Path(path).suffix or '(none)'!r}: "
                                      f"use .pdf, .csv or .xlsx")
    return suffix


def report_filter_check(*, kind: str, start: date, end: date, region: str | None,
                        channel: str | None) -> ReportFilter:
    """Return the filter of a report request, or raise ReportInputError naming the bad field."""
    from inventory.models import Channel, Region

    if kind not in ReportKind.values:
        raise ReportInputError("kind", f"unknown report {kind!r}: use {', '.join(ReportKind.values)}")
    if end < start:
        raise ReportInputError("end", f"end {end} is before start {start}")
    if region and not Region.objects.filter(code=region).exists():
        raise ReportInputError("region", f"unknown region {region!r}")
    if channel and not Channel.objects.filter(code=channel).exists():
        raise ReportInputError("channel", f"unknown channel {channel!r}")
    return ReportFilter(start=start, end=end, region=region or None, channel=channel or None)


def report_produce(*, kind: str, f: ReportFilter, fmt: str) -> ReportFile:
    """Build the report and render it in the format."""
    content = report_render(report_build(kind=kind, f=f), fmt)
    scope = "-".join(x for x in (f.region, f.channel) if x)
    return ReportFile(report_filename(kind, f.start, f.end, scope, fmt), content, fmt)


def report_runs_later(*, f: ReportFilter) -> bool:
    """Whether a report is too large to produce while the user waits."""
    if (f.end - f.start) > timedelta(days=INLINE_MAX_DAYS - 1):
        return True
    return orders_in_range_count(f=f) > INLINE_MAX_ORDERS


def report_run_request(*, user, kind: str, fmt: str, f: ReportFilter) -> ReportRun:
    """Record a background run of a report and enqueue it once the transaction commits."""
    with transaction.atomic():
        run = ReportRun.objects.create(
            requested_by=user, kind=kind, format=fmt, start=f.start, end=f.end,
            region=f.region or "", channel=f.channel or "",
        )
        enqueue_on_commit("reports.tasks.report_run_execute", run.pk)
    return run


def report_run_execute(*, run_id: int) -> ReportRun | None:
    """Produce a queued run's file, record how it went, and e-mail its requester a link.

    Idempotent: a run that is no longer queued (done, failed, or taken by another worker)
    is left alone.
    """
    claimed = ReportRun.objects.filter(pk=run_id, status=ReportRun.Status.QUEUED).update(
        status=ReportRun.Status.RUNNING)
    if not claimed:
        return None
    run = ReportRun.objects.select_related("requested_by").get(pk=run_id)
    f = ReportFilter(start=run.start, end=run.end, region=run.region or None,
                     channel=run.channel or None)
    began = time.monotonic()
    try:
        produced = report_produce(kind=run.kind, f=f, fmt=run.format)
    except Exception as error:  # recorded for the requester; the worker goes on
        run.status, run.error = ReportRun.Status.FAILED, f"{type(error).__name__}: {error}"
    else:
        run.file.save(produced.filename, ContentFile(produced.content), save=False)
        run.status = ReportRun.Status.DONE
    run.duration = timedelta(seconds=time.monotonic() - began)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "file", "duration", "finished_at"])
    _run_mail(run)
    return run


def _run_mail(run: ReportRun) -> None:
    user = run.requested_by
    if user is None or not user.email:
        return
    if run.status == ReportRun.Status.DONE:
        link = settings.SITE_URL + reverse("reports:download", args=[run.pk])
        subject = f"Report ready: {run.get_kind_display()} {run.start}..{run.end}"
        body = f"Your report is ready ({run.get_format_display()}):\n\n{link}\n"
    else:
        subject = f"Report failed: {run.get_kind_display()} {run.start}..{run.end}"
        body = f"The report could not be produced:\n\n{run.error}\n"
    send_mail(subject, body, None, [user.email])


#: The role whose members get the previous month's reports on the first of each month.
MONTHLY_REPORTS_GROUP = "Finance"


def last_month(today: date) -> ReportFilter:
    """Return the filter of the calendar month before `today`'s."""
    end = today.replace(day=1) - timedelta(days=1)
    return ReportFilter(start=end.replace(day=1), end=end)


def monthly_reports_send(*, today: date | None = None) -> int:
    """E-mail the previous month's three reports (PDF and XLSX) to each member of the
    Finance group with an address; return how many were sent."""
    from django.contrib.auth import get_user_model
    from django.core.mail import EmailMessage

    f = last_month(today or timezone.localdate())
    recipients = list(get_user_model().objects.filter(groups__name=MONTHLY_REPORTS_GROUP, is_active=True)
                      .exclude(email="").values_list("email", flat=True).distinct())
    if not recipients:
        return 0
    files = [report_produce(kind=kind, f=f, fmt=fmt) for kind in ReportKind.values for fmt in ("pdf", "xlsx")]
    for address in recipients:
        message = EmailMessage(
            subject=f"Backorder reports for {f.start:%B %Y}",
            body=(f"The backorder exposure, refunds and cancellations and promise performance reports "
                  f"for {f.start} to {f.end} are attached (PDF and XLSX). Definitions: docs/reports.md.\n"),
            to=[address])
        for produced in files:
            message.attach(produced.filename, produced.content, _MIME[produced.fmt])
        message.send()
    return len(recipients)


_MIME = {"pdf": "application/pdf", "csv": "text/csv",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
