"""Report runs: who asked for which report, and the file it produced."""

from django.conf import settings
from django.db import models

from reports.storage import report_storage


class ReportKind(models.TextChoices):
    EXPOSURE = "exposure", "Backorder exposure"
    REFUNDS = "refunds", "Refunds and cancellations"
    PERFORMANCE = "performance", "Promise performance"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX (Excel)"


class ReportRun(models.Model):
    """One report produced in the background for a user, with its file or its error."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="report_runs"
    )
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    format = models.CharField(max_length=4, choices=ReportFormat.choices)
    start = models.DateField()
    end = models.DateField()
    region = models.CharField(max_length=2, blank=True)
    channel = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="runs/%Y/%m/", storage=report_storage, blank=True)
    duration = models.DurationField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_report", "Can download finance and ops reports")]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="report_run_by_user")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start}..{self.end} ({self.status})"

    @property
    def filename(self) -> str:
        scope = "-".join(x for x in (self.region, self.channel) if x)
        return report_filename(self.kind, self.start, self.end, scope, self.format)


def report_filename(kind: str, start, end, scope: str, fmt: str) -> str:
    return f"{kind}-{start:%Y%m%d}-{end:%Y%m%d}{'-' + scope if scope else ''}.{fmt}"
