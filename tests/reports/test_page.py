"""The admin Reports page: who may use it, at-once downloads, background runs."""

import pytest
from django.core import mail
from django.urls import reverse

from reports.models import ReportRun

pytestmark = pytest.mark.django_db
PAGE = "/admin/reports/"




def test_the_page_is_reversed_under_the_admin():
    assert reverse("reports:page") == PAGE


@pytest.mark.parametrize(("who", "status"), [
    ("agent", 403), ("buyer", 403), ("finance", 200), ("ops", 200), ("root", 200)])
def test_finance_ops_and_superusers_may_use_the_page(client, users, who, status):
    client.force_login(users[who])
    assert client.get(PAGE).status_code == status


def test_anonymous_users_are_sent_to_the_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_role_matrix_grants_the_report_permission_to_finance_and_ops_only(users):
    allowed = {who for who, u in users.items() if u.has_perm("reports.run_report")}
    assert allowed == {"finance", "ops", "root", "finance2"}


def form(**overrides):
    data = {"kind": "exposure", "start": "2026-06-01", "end": "2026-06-30", "region": "",
            "channel": "", "format": "csv"}
    return {**data, **overrides}


def test_a_small_range_downloads_at_once(client, users, book):
    client.force_login(users["finance"])
    response = client.post(PAGE, form(end="2026-06-30", start="2026-06-10"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="exposure-20260610-20260630.csv"' in response["Content-Disposition"]
    assert b"USD,3,7,170.00,120.00" in response.content
    assert not ReportRun.objects.exists()


def test_a_bad_range_shows_the_form_again(client, users, db):
    client.force_login(users["finance"])
    response = client.post(PAGE, form(start="2026-06-30", end="2026-06-01"))
    assert response.status_code == 200
    assert "The end is before the start." in response.content.decode()


def test_a_large_range_runs_in_the_background_and_mails_a_link(
        client, users, book, settings, tmp_path, django_capture_on_commit_callbacks):
    # Given
    settings.REPORTS_ROOT = tmp_path
    client.force_login(users["finance"])
    # When a quarter is asked for (tasks run inline in tests)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(PAGE, form(start="2026-04-01", end="2026-06-30", format="pdf"))
    # Then a run is recorded, executed on commit, and its requester told where to download it
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?queued=1"
    assert len(callbacks) == 1
    run = ReportRun.objects.get()
    assert (run.requested_by, run.kind, run.format, run.status) == (users["finance"], "exposure", "pdf", "done")
    assert run.duration is not None and run.error == ""
    link = reverse("reports:download", args=[run.pk])
    assert [m.to for m in mail.outbox] == [["finance@example.com"]]
    assert link in mail.outbox[0].body
    # And the page lists the run with its link, which downloads the PDF
    page = client.get(f"{PAGE}?queued=1").content.decode()
    assert link in page and "runs in the background" in page
    download = client.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_run_is_downloaded_only_by_its_requester(client, users, book, settings, tmp_path,
                                                    django_capture_on_commit_callbacks):
    settings.REPORTS_ROOT = tmp_path
    client.force_login(users["finance"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, form(start="2026-01-01", end="2026-06-30"))
    link = reverse("reports:download", args=[ReportRun.objects.get().pk])
    client.force_login(users["finance2"])
    assert client.get(link).status_code == 404
    client.force_login(users["agent"])
    assert client.get(link).status_code == 403


def test_a_failed_run_records_its_error_and_tells_the_requester(users, db, monkeypatch):
    from datetime import date

    from reports import services

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "report_produce", broken)
    run = ReportRun.objects.create(requested_by=users["ops"], kind="refunds", format="xlsx",
                                   start=date(2026, 1, 1), end=date(2026, 6, 30))
    services.report_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "RuntimeError: disk full")
    assert mail.outbox[0].subject.startswith("Report failed")
    # A second execution of the same run does nothing
    assert services.report_run_execute(run_id=run.pk) is None


@pytest.mark.parametrize(("who", "shown"), [
    ("agent", False), ("buyer", False), ("finance", True), ("ops", True), ("root", True)])
def test_the_admin_index_leads_finance_and_ops_to_the_reports(client, users, who, shown):
    client.force_login(users[who])
    html = client.get("/admin/").content.decode()
    assert ('id="reports-link"' in html) is shown and (f'href="{PAGE}"' in html) is shown
