"""Two workers at once never cancel a line twice nor send a notice twice (PostgreSQL)."""

from datetime import timedelta

import pytest
from django.core import mail

from notifications import services
from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import OrderException
from tests import concurrency
from tests.factories.promises import backorder_line
from tests.workflow.steps import noon, slip
from workflow import services as workflow

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(target, n=2):
    """Run target() in n threads released at the same moment; return their results."""
    return concurrency.race(lambda _i: target(), n, expect_success=True)


def test_two_workers_running_the_consent_deadline_sweep_cancel_the_line_once():
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    slip(b, days=45)
    assert OrderException.objects.filter(line=b.line, kind="consent_overdue", status="open").exists()
    mail.outbox.clear()
    after = noon(promised + timedelta(days=31))
    results = race(lambda: workflow.consent_deadlines_enforce(now=after))
    assert sorted(len(r) for r in results) == [0, 1]
    assert Cancellation.objects.filter(line=b.line).count() == 1
    assert OrderLine.objects.get(pk=b.line.pk).status == OrderLine.Status.CANCELLED
    assert Notice.objects.filter(kind="cancellation_refund_confirmation").count() == 1


def test_two_workers_sending_the_same_notice_send_one_email():
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=10)
    notice = Notice.objects.get(line=b.line)
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.PENDING)
    results = race(lambda: services.notice_send(notice_id=notice.pk), n=4)
    assert results.count("sent") == 1
    assert len(mail.outbox) == 1
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT and notice.attempts == 1


def test_two_sweeps_draining_the_outbox_send_each_notice_once():
    lines = [backorder_line("US", eta_days=14, channel_code="shop-us") for _ in range(3)]
    for b in lines:
        b.region.hold_notices_for_review = True
        b.region.save()
        slip(b, days=10)
    Notice.objects.update(status=Notice.Status.PENDING)
    race(lambda: services.notices_send_due(), n=2)
    assert len(mail.outbox) == 3
    assert set(Notice.objects.values_list("status", flat=True)) == {Notice.Status.SENT}
