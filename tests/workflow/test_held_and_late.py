"""Held notices never outlast the law's deadline, and an EU/UK line past its delivery date
(told, or the 30-day default) is flagged with the customer's rights."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from notifications import services
from notifications.models import Notice
from promises.models import OrderException
from tests.factories.promises import backorder_line
from tests.workflow.steps import noon, run_job, slip
from workflow import services as workflow

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_a_held_notice_is_due_for_an_agent_first_then_goes_out_by_itself_before_its_deadline(settings):
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HELD_NOTICE_RELEASE_DAYS": 1}
    with time_machine.travel(START, tick=False):
        # Given an EU region that holds delay notices for an agent's review
        b = backorder_line("EU", eta_days=14)
        b.region.hold_notices_for_review = True
        b.region.save()
        told = b.promise.communicated_delivery_to
        slip(b, days=20)
        notice = Notice.objects.get(line=b.line, kind=Notice.Kind.DELAY_NOTICE)
        assert notice.status == Notice.Status.HELD
        # Then its exception is due two days before the notice's deadline, for an agent
        exc = OrderException.objects.get(line=b.line, kind="delay_notice_due")
        assert date.fromisoformat(notice.context["notice_due_by"]) == told
        assert exc.due_by == told - timedelta(days=2) and exc.notice_state == "held"
    # And nobody acts: two days before the deadline it still waits
    assert run_job(services.held_notices_release, now=noon(told - timedelta(days=2), "EU")) == []
    # The day before the deadline it goes out by itself, and the customer is told
    assert run_job(services.held_notices_release, now=noon(told - timedelta(days=1), "EU")) == [notice.pk]
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT and "sent by itself" in notice.held_reason
    exc.refresh_from_db()
    assert exc.status == "resolved" and exc.notified_at is not None


def test_an_eu_line_with_no_delivery_date_told_is_past_due_after_the_30_day_default():
    # Given an EU order placed on 7 December whose customer was never given a date
    placed = START
    b = backorder_line("EU", eta_days=60, communicate=False, placed_at=placed)
    assert b.promise.communicated_delivery_to is None
    # When the past-due sweep runs on day 30, nothing; on day 31, the line is flagged
    day30 = date(2027, 1, 6)
    run_job(workflow.past_due_sweep, now=noon(day30, "EU"))
    assert not OrderException.objects.filter(line=b.line, kind="past_due").exists()
    run_job(workflow.past_due_sweep, now=noon(day30 + timedelta(days=1), "EU"))
    exc = OrderException.objects.get(line=b.line, kind="past_due")
    # Then with the customer's rights, and the product has not cancelled anything
    assert exc.promised_date == day30 and "30-day default" in exc.cause
    assert "Art. 18(1)" in exc.citations
    b.refresh()
    assert b.line.status in ("backordered", "allocated")


def test_a_uk_line_past_the_delivery_date_told_is_flagged_on_the_uk_day():
    b = backorder_line("UK", eta_days=5)
    told = b.promise.communicated_delivery_to
    # On the day told the line is not late; the next day it is
    run_job(workflow.past_due_sweep, now=noon(told, "UK"))
    assert not OrderException.objects.filter(line=b.line, kind="past_due").exists()
    run_job(workflow.past_due_sweep, now=noon(told + timedelta(days=1), "UK"))
    exc = OrderException.objects.get(line=b.line, kind="past_due")
    assert "CRA 2015 s.28" in exc.citations
