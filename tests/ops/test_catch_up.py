"""After a crash, the delay notices owed are written within two minutes of the workers
coming back (the minutely catch-up), not at the next 15-minute slip sweep."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.utils import timezone
from django_q.models import Schedule

from notifications import tasks
from notifications.models import Notice
from promises.models import OrderException
from promises.schedules import schedules_setup
from tests.factories.promises import backorder_line
from tests.workflow.steps import slip

pytestmark = pytest.mark.django_db


@pytest.fixture
def deferred(settings):
    """Every slip is assessed in a task of its own after its re-promise commits."""
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "WORKFLOW_INLINE_MAX_LINES": 0,
                               "WORKFLOW_DEFERRED_PARTS": 1}


def _catch_up(after: timedelta):
    with time_machine.travel(timezone.now() + after, tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return tasks.owed_notices_catch_up()


def test_the_catch_up_runs_every_minute_on_the_notices_cluster(settings):
    settings.NOTICES_CLUSTER = "desk-notices"
    schedules_setup()
    job = Schedule.objects.get(func="notifications.tasks.owed_notices_catch_up")
    assert (job.schedule_type, job.minutes, job.cluster) == (Schedule.MINUTES, 1, "desk-notices")


def test_a_notice_lost_between_the_assessments_two_commits_is_written_within_a_minute(deferred, monkeypatch):
    from notifications import services
    from workflow import assessment

    b = backorder_line("US", eta_days=14)
    # Given a worker killed after the slip's exceptions committed, before its notices
    original = assessment._notices_write_after

    def killed(due, *, now):
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(assessment, "_notices_write_after", killed)
    slip(b, days=10)
    monkeypatch.setattr(assessment, "_notices_write_after", original)
    assert OrderException.objects.filter(line=b.line, kind="delay_notice_due", status="open").exists()
    assert not Notice.objects.filter(line=b.line).exists()
    # When the workers come back at once: the slip sweep would wait two minutes for it
    with time_machine.travel(timezone.now() + timedelta(seconds=40), tick=False):
        assert services.lines_unnoticed() == []
    # Then the catch-up, the next minute, writes the notice once and it is sent
    assert _catch_up(timedelta(seconds=40)) == {"assessed": 1}
    notice = Notice.objects.get(line=b.line, kind="delay_notice")
    assert (notice.status, notice.promise_version) == (Notice.Status.SENT, b.promise.version)
    assert [m.to for m in mail.outbox] == [[b.customer.email]]
    # And running it again writes nothing more
    assert _catch_up(timedelta(seconds=100)) == {"assessed": 0}
    assert Notice.objects.filter(line=b.line).count() == 1


def test_a_follow_up_assessment_lost_with_its_worker_is_done_by_the_catch_up(deferred, monkeypatch):
    from workflow import ports

    b = backorder_line("US", eta_days=14)
    # Given a slip whose follow-up assessment task died with its worker (never ran)
    enqueue = ports.enqueue_on_commit

    def lost(func, *args, **kwargs):
        if func != "workflow.tasks.recorded_changes_assess":
            return enqueue(func, *args, **kwargs)

    monkeypatch.setattr(ports, "enqueue_on_commit", lost)
    slip(b, days=10)
    monkeypatch.undo()
    assert not OrderException.objects.filter(line=b.line, kind="delay_notice_due").exists()
    # When the catch-up runs within the half minute the task may still be queued: nothing
    assert _catch_up(timedelta(seconds=10)) == {"assessed": 0}
    # Then, once that has passed, it raises the exception and writes the notice
    assert _catch_up(timedelta(seconds=40)) == {"assessed": 1}
    assert OrderException.objects.filter(line=b.line, kind="delay_notice_due").exists()
    assert Notice.objects.get(line=b.line, kind="delay_notice").status == Notice.Status.SENT


@pytest.mark.postgres
def test_the_catch_up_waits_while_a_repromise_or_an_assessment_runs():
    from core.urgency import urgent_work

    holding, release = threading.Event(), threading.Event()

    def assessment_running():
        try:
            with urgent_work():
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=assessment_running)
    worker.start()
    try:
        assert holding.wait(10)
        assert tasks.owed_notices_catch_up() == {"skipped": "urgent work running"}
    finally:
        release.set()
        worker.join()
    assert tasks.owed_notices_catch_up() == {"assessed": 0}
