"""The admin Reports page: request a report, download it or follow its background run."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from reports.forms import ReportRequestForm
from reports.models import ReportRun
from reports.rendering import CONTENT_TYPES
from reports.selectors import ReportFilter
from reports.services import report_produce, report_run_request, report_runs_later

PERMISSION = "reports.run_report"
RUNS_SHOWN = 25


def _require_permission(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def reports_page(request):
    """Show the form and the user's runs; a POST downloads at once or starts a run."""
    _require_permission(request)
    form = ReportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        f = ReportFilter(start=data["start"], end=data["end"], region=data["region"] or None,
                         channel=data["channel"] or None)
        if report_runs_later(f=f):
            report_run_request(user=request.user, kind=data["kind"], fmt=data["format"], f=f)
            return redirect(f"{request.path}?queued=1")
        produced = report_produce(kind=data["kind"], f=f, fmt=data["format"])
        response = HttpResponse(produced.content, content_type=CONTENT_TYPES[produced.fmt])
        response["Content-Disposition"] = f'attachment; filename="{produced.filename}"'
        return response
    runs = ReportRun.objects.filter(requested_by=request.user)[:RUNS_SHOWN]
    return TemplateResponse(request, "reports/page.html", {
        **admin.site.each_context(request),
        "title": "Reports", "form": form, "runs": runs, "queued": "queued" in request.GET,
    })


def run_download(request, pk: int):
    """Send the file of one of the user's finished runs."""
    _require_permission(request)
    run = get_object_or_404(ReportRun, pk=pk)
    if run.requested_by_id != request.user.pk and not request.user.is_superuser:
        raise Http404
    if run.status != ReportRun.Status.DONE or not run.file:
        raise Http404
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=run.filename,
                        content_type=CONTENT_TYPES[run.format])
