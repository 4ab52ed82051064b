"""US, 16 CFR 435: what a supplier really does to a line — slips again, creeps day by day,
goes quiet — and what the customer does in between (accepts, then cancels).

The clock is frozen with time-machine; each step runs the real services.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import TestCase

from inventory.models import PurchaseOrder
from inventory.services import po_update
from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent, OrderException
from promises.services import pools_repromise_all
from tests.factories.promises import backorder_line
from tests.workflow.steps import noon, run_job, slip
from workflow import services as workflow
from workflow.fulfilment import order_cancel
from workflow.policies import USPolicy

pytestmark = pytest.mark.django_db

Kind = OrderException.Kind
START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def sent(line, kind):
    return Notice.objects.filter(line=line, kind=kind, status=Notice.Status.SENT)


def sweeps(day):
    """Run the day's scheduled jobs at midday New York time, as the worker would."""
    now = noon(day)
    return (run_job(workflow.consent_deadlines_enforce, now=now)
            + run_job(workflow.past_due_sweep, now=now))


def test_a_second_slip_never_moves_the_cancellation_date_of_a_long_delay():
    with time_machine.travel(START, tick=False) as clock:
        # Given a line promised for T whose ETA slips by 45 days: cancelled after T + 30
        b = backorder_line("US", eta_days=14)
        promised = b.promise.ship_date
        slip(b, days=45)
        deadline = promised + timedelta(days=30)
        assert b.promise.auto_cancel_on == deadline
        # When the supplier slips again ten days later, the customer having said nothing
        clock.shift(timedelta(days=10))
        slip(b, days=14)
        # Then the customer is told the new date, and the cancellation date stands
        [renewed] = sent(b.line, Notice.Kind.RENEWED_DELAY_NOTICE)
        assert renewed.context["cancel_on"] == deadline.isoformat() and renewed.context["fixed_deadline"]
        assert b.promise.auto_cancel_on == deadline
        consent_due = OrderException.objects.get(line=b.line, kind=Kind.CONSENT_OVERDUE,
                                                 status__in=OrderException.OPEN_STATUSES)
        assert consent_due.cancel_on == deadline
        # And the line is cancelled the day after that date, not after the new one
        assert sweeps(deadline) == []
        assert sweeps(deadline + timedelta(days=1)) == [b.line.pk]
        b.refresh()
        assert b.line.status == OrderLine.Status.CANCELLED
        assert Cancellation.objects.get(line=b.line).reason == Cancellation.Reason.NO_CONSENT


def test_a_creeping_slip_is_cancelled_at_the_date_the_customer_accepted_by_silence():
    with time_machine.travel(START, tick=False) as clock:
        # Given a line due to ship in a few days
        b = backorder_line("US", eta_days=3)
        promised = b.promise.ship_date
        agreed_dates, cancel_dates = set(), set()
        # When its PO slips one day every night, and the jobs run every day
        day = START.date()
        while b.line.status in OrderLine.OPEN_STATUSES and day < promised + timedelta(days=20):
            clock.move_to(noon(day))
            slip(b, days=1)
            sweeps(day)
            b.refresh()
            agreed_dates.add(b.promise.agreed_ship_date)
            if b.promise.auto_cancel_on:
                cancel_dates.add(b.promise.auto_cancel_on)
            day += timedelta(days=1)
        # Then the first delay was accepted by silence (a definite date within 30 days), the
        # next one fixed the cancellation at that date, which never moved again
        assert sent(b.line, Notice.Kind.DELAY_NOTICE).count() == 1
        assert sent(b.line, Notice.Kind.RENEWED_DELAY_NOTICE).exists()
        [cancel_on] = cancel_dates
        assert cancel_on in agreed_dates and cancel_on > promised
        # And the line was cancelled the day after it, with the refund owed
        cancellation = Cancellation.objects.get(line=b.line)
        assert b.line.status == OrderLine.Status.CANCELLED
        assert cancellation.reason == Cancellation.Reason.NO_CONSENT
        assert cancellation.cancelled_at.astimezone(noon(day).tzinfo).date() == cancel_on + timedelta(days=1)


def test_a_customer_who_accepted_can_still_cancel_until_the_line_ships():
    with time_machine.travel(START, tick=False):
        # Given a long delay the customer expressly accepted
        b = backorder_line("US", eta_days=14)
        slip(b, days=45)
        with TestCase.captureOnCommitCallbacks(execute=True):
            workflow.consent_record(line=b.line, version=b.promise.version, decision="accept",
                                    channel=DelayConsent.Channel.LINK)
        b.refresh()
        assert b.promise.agreed_ship_date == b.promise.ship_date and b.promise.auto_cancel_on is None
        # When the customer changes their mind about the same offer
        with TestCase.captureOnCommitCallbacks(execute=True):
            result = workflow.consent_record(line=b.line, version=b.promise.version, decision="cancel",
                                             channel=DelayConsent.Channel.LINK)
        # Then the line is cancelled at the customer's request, refund due
        b.refresh()
        assert result.created and b.line.status == OrderLine.Status.CANCELLED
        cancellation = Cancellation.objects.get(line=b.line)
        assert cancellation.initiated_by == Cancellation.Initiator.CUSTOMER
        assert list(DelayConsent.objects.filter(line=b.line).values_list("decision", flat=True).order_by("id")) \
            == ["accept", "cancel"]


def test_an_agreement_to_wait_with_no_date_is_never_cancelled_when_the_estimate_moves():
    with time_machine.travel(START, tick=False) as clock:
        # Given a line whose supplier stops confirming: the notice gives no date
        b = backorder_line("US", eta_days=14)
        with TestCase.captureOnCommitCallbacks(execute=True):
            po_update(po=b.po, status=PurchaseOrder.Status.DRAFT, reason="supplier went quiet")
        b.refresh()
        assert not b.promise.confirmed and b.promise.auto_cancel_on is not None
        [notice] = sent(b.line, Notice.Kind.DELAY_NOTICE)
        assert notice.context["unknown"] and notice.context["express_consent_required"]
        # When the customer expressly agrees to wait
        with TestCase.captureOnCommitCallbacks(execute=True):
            workflow.consent_record(line=b.line, version=b.promise.version, decision="accept",
                                    channel=DelayConsent.Channel.EMAIL_REPLY)
        b.refresh()
        assert b.promise.agreed_open_ended and b.promise.auto_cancel_on is None
        # And the estimate moves later, night after night, for two months
        for _ in range(6):
            clock.shift(timedelta(days=10))
            with TestCase.captureOnCommitCallbacks(execute=True):
                pools_repromise_all(cause="nightly", sku_ids=[b.line.sku_id])
            assert sweeps(datetime.now(UTC).date()) == []
        # Then the line is still open, and nothing asks for consent
        b.refresh()
        assert b.line.status == OrderLine.Status.BACKORDERED
        assert not OrderException.objects.filter(line=b.line, kind=Kind.CONSENT_OVERDUE,
                                                 status__in=OrderException.OPEN_STATUSES).exists()
        assert b.promise.auto_cancel_on is None
        # And the customer may still cancel
        with TestCase.captureOnCommitCallbacks(execute=True):
            workflow.consent_record(line=b.line, version=b.promise.version, decision="cancel",
                                    channel=DelayConsent.Channel.LINK)
        b.refresh()
        assert b.line.status == OrderLine.Status.CANCELLED


def test_the_refund_clock_starts_on_the_region_date_not_the_server_date():
    # Given a cancellation at 21:00 in New York on Tuesday 1 December (02:00 UTC on the 2nd)
    b = backorder_line("US", eta_days=14, unit_price=Decimal("10.00"))
    evening = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    with TestCase.captureOnCommitCallbacks(execute=True):
        [cancellation] = order_cancel(order=b.order, line_ids=[b.line.pk], reason="customer_request",
                                      initiated_by=Cancellation.Initiator.CUSTOMER, now=evening)
    # Then seven working days count from 1 December: 10 December, not 11
    assert cancellation.refund_due_by.isoformat() == "2026-12-10"
    assert USPolicy().refund_due_by(evening.date()).isoformat() == "2026-12-11"


def test_a_buyer_who_applied_for_credit_is_owed_shipment_within_50_days_not_30():
    with time_machine.travel(START, tick=False):
        # Given an order taken with no ship date stated, paid on the seller's credit
        b = backorder_line("US", eta_days=40, communicate=False)
        b.order.buyer_applied_for_credit = True
        b.order.save(update_fields=["buyer_applied_for_credit"])
        # When the supplier slips
        slip(b, days=30)
        # Then the date owed is the order date + 50 days (16 CFR 435.2(a)(2)), not + 30
        exc = OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE)
        assert exc.promised_date == START.date() + timedelta(days=50)
        assert "16 CFR 435.2(a)(2)" in exc.citations


def test_a_slip_learnt_after_t_without_a_notice_is_cancelled_when_its_assessment_commits():
    with time_machine.travel(START, tick=False) as clock:
        # Given a line promised for T whose PO nobody moved while T passed unshipped
        b = backorder_line("US", eta_days=3)
        promised = b.promise.ship_date
        clock.move_to(noon(promised + timedelta(days=2)))
        # When the ETA is moved at last: the slip is learnt after T, with no notice sent
        slip(b, days=7)
        # Then the order counts as cancelled (435.2(c)(5)) and is, without waiting for the
        # half-hourly sweep; no late delay notice goes out
        b.refresh()
        assert b.line.status == OrderLine.Status.CANCELLED
        assert Cancellation.objects.get(line=b.line).reason == Cancellation.Reason.PAST_DUE
        assert not sent(b.line, Notice.Kind.DELAY_NOTICE).exists()
