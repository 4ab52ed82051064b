"""The exception kinds besides delay notices: caps, broken guarantees, unconfirmed supply,
and the EU/UK rule that silence never ends a contract."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from orders.models import Cancellation, OrderLine
from promises.models import OrderException, Promise
from tests.factories.inventory import BackorderCapFactory
from tests.factories.promises import OrderExceptionFactory, backorder_line
from tests.workflow.steps import noon, run_job, slip
from workflow import services as workflow

pytestmark = pytest.mark.django_db


def assess(b):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return workflow.lines_assess(line_ids=[b.line.pk], now=timezone.now())


def open_kinds(line):
    return set(OrderException.objects.filter(line=line, status__in=["open", "in_progress"])
               .values_list("kind", flat=True))


def test_a_promise_beyond_a_caps_horizon_raises_a_cap_breach_until_it_is_back_within():
    b = backorder_line("US", eta_days=14)
    cap = BackorderCapFactory(sku=b.line.sku, max_backorder_qty=None, max_promise_days=5)
    assess(b)
    assert "cap_breach" in open_kinds(b.line)
    cap.max_promise_days = 60
    cap.save()
    assess(b)
    assert "cap_breach" not in open_kinds(b.line)


def test_a_broken_strategy_guarantee_raises_a_supplier_slip():
    b = backorder_line("US", eta_days=14)
    Promise.objects.filter(pk=b.line.pk).update(guarantee_broken=True)
    assess(b)
    assert "supplier_slip" in open_kinds(b.line)
    Promise.objects.filter(pk=b.line.pk).update(guarantee_broken=False)
    assess(b)
    assert "supplier_slip" not in open_kinds(b.line)


def test_an_exception_is_never_duplicated_for_the_same_line_and_kind():
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=5)
    slip(b, days=5)
    [exc] = OrderException.objects.filter(line=b.line, kind="delay_notice_due")
    assert exc.promise_version == b.promise.version and exc.revised_date == b.promise.ship_date


@pytest.mark.parametrize("region", ["EU", "UK"])
def test_silence_never_ends_an_eu_or_uk_contract(region):
    b = backorder_line(region, eta_days=14)
    slip(b, days=45)
    far = noon(b.promise.delivery_to + timedelta(days=60), region)
    run_job(workflow.consent_deadlines_enforce, now=far)
    run_job(workflow.past_due_sweep, now=far)
    assert b.refresh().line.status == OrderLine.Status.BACKORDERED
    assert not Cancellation.objects.exists()
    assert "consent_overdue" not in open_kinds(b.line)


def test_the_past_due_sweep_can_leave_us_cancellations_to_agents(settings):
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "PAST_DUE_AUTO_CANCEL": False}
    b = backorder_line("US", eta_days=14)
    OrderExceptionFactory(line=b.line, kind="past_due", due_by=timezone.localdate())
    assert run_job(workflow.past_due_sweep, now=noon(timezone.localdate() + timedelta(days=1))) == []
    assert b.refresh().line.status == OrderLine.Status.BACKORDERED
