"""The outbox: one notice per cause, held when configured, retried, never sent twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from inventory.models import PurchaseOrder
from notifications import services
from notifications.models import Notice
from promises.intake import CustomerInput, LineInput, OrderInput, order_place
from promises.models import OrderException
from tests.factories.inventory import PurchaseOrderFactory, PurchaseOrderLineFactory, SKUFactory
from tests.factories.promises import backorder_line
from tests.notifications.backends import WorkerKilled
from tests.workflow.steps import emails_to, slip
from workflow import services as workflow

pytestmark = pytest.mark.django_db

Status = Notice.Status
FAILING = "tests.notifications.backends.FailingBackend"
KILLED = "tests.notifications.backends.KilledAfterSendBackend"


def delay_notice(line) -> Notice:
    return Notice.objects.get(line=line, kind__in=Notice.DELAY_KINDS)


def test_a_second_trigger_writes_no_second_notice_or_exception(slipped_us_line):
    b = slipped_us_line
    # When the same slip is assessed again (a retried task, the sweep)
    with TestCase.captureOnCommitCallbacks(execute=True):
        workflow.lines_assess(line_ids=[b.line.pk], now=timezone.now())
        workflow.lines_assess(line_ids=[b.line.pk], now=timezone.now())
    # Then there is still one notice for this (line, kind, promise version), and one exception
    notice = delay_notice(b.line)
    assert notice.idempotency_key == f"{b.line.pk}:delay_notice:{b.promise.version}"
    assert Notice.objects.count() == 1
    assert OrderException.objects.filter(line=b.line, kind="delay_notice_due").count() == 1


@pytest.mark.parametrize("hold_by", ["region", "channel", "HOLD_NOTICES_REGIONS"])
def test_a_delay_notice_is_held_for_review_and_its_exception_is_due_before_the_legal_deadline(hold_by, settings):
    b = backorder_line("US", eta_days=14)
    if hold_by == "region":
        b.region.hold_notices_for_review = True
        b.region.save()
    elif hold_by == "channel":
        b.channel.hold_notices_for_review = True
        b.channel.save()
    else:
        settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HOLD_NOTICES_REGIONS": ["US"]}
    promised = b.promise.ship_date
    slip(b, days=10)
    notice = delay_notice(b.line)
    assert notice.status == Status.HELD and hold_by.upper() in notice.held_reason.upper()
    assert not mail.outbox
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due")
    assert notice.context["notice_due_by"] == promised.isoformat()
    # The agent sees it two days before the deadline: the day before, it goes out by itself
    assert exc.status == "open" and exc.notice_state == "held"
    assert exc.due_by == promised - timedelta(days=2)
    # Nothing counts as told until it is sent
    assert b.promise.communicated_ship_date == promised


def test_an_agent_sends_a_held_notice_from_the_outbox(slipped_us_line, superuser):
    b = slipped_us_line
    notice = delay_notice(b.line)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.notice_release(notice=notice, user=superuser)
    notice.refresh_from_db()
    assert notice.status == Status.SENT and notice.released_by == superuser
    assert len(emails_to(b.customer.email)) == 1
    assert b.refresh().promise.communicated_ship_date == b.promise.ship_date


def test_a_newer_promise_supersedes_the_unsent_notice(slipped_us_line):
    b = slipped_us_line
    old = delay_notice(b.line)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=5)
    old.refresh_from_db()
    assert old.status == Status.SUPERSEDED
    [current] = Notice.objects.filter(line=b.line, status=Status.HELD)
    assert current.promise_version == b.promise.version


def test_a_failing_mail_server_is_retried_with_backoff_and_the_notice_is_never_lost(settings):
    settings.EMAIL_BACKEND = FAILING
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    notice = delay_notice(b.line)
    # The first try failed: recorded, not lost, retried after a backoff
    assert notice.status == Status.FAILED and notice.attempts == 1
    assert "SMTPServerDisconnected" in notice.last_error
    first_retry = notice.next_attempt_at
    assert timezone.now() < first_retry <= timezone.now() + timedelta(minutes=1, seconds=5)
    # The sweep does not retry before the backoff has passed
    assert services.notices_send_due() == {}
    # Still down at the retry: the wait doubles
    services.notices_send_due(now=first_retry)
    notice.refresh_from_db()
    assert notice.status == Status.FAILED and notice.attempts == 2
    assert notice.next_attempt_at - first_retry == timedelta(minutes=2)
    # The server comes back: the next sweep sends it, once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notices_send_due(now=notice.next_attempt_at) == {"sent": 1}
    assert services.notices_send_due(now=notice.next_attempt_at + timedelta(hours=1)) == {}
    notice.refresh_from_db()
    assert notice.status == Status.SENT and notice.attempts == 3
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == notice.message_id
    assert b.refresh().promise.communicated_ship_date == b.promise.ship_date


def test_a_notice_that_keeps_failing_gives_up_and_waits_for_an_agent(settings):
    settings.EMAIL_BACKEND = FAILING
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "NOTICE_MAX_ATTEMPTS": 2}
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    notice = delay_notice(b.line)
    services.notice_send(notice_id=notice.pk, now=notice.next_attempt_at)
    notice.refresh_from_db()
    assert notice.status == Status.FAILED and notice.next_attempt_at is None and notice.attempts == 2
    assert services.notices_send_due(now=timezone.now() + timedelta(days=1)) == {}


def _sent_by_a_worker_killed_right_after(line, settings, superuser):
    """Release the line's delay notice and send it with a worker that dies right after the
    mail server accepted the message; then the mail backend is healthy again."""
    notice = delay_notice(line)
    services.notice_release(notice=notice, user=superuser)
    settings.EMAIL_BACKEND = KILLED
    with pytest.raises(WorkerKilled):
        services.notice_send(notice_id=notice.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return notice


def test_a_worker_killed_after_the_email_went_out_never_sends_it_again(slipped_us_line, settings, superuser):
    b = slipped_us_line
    # Given a worker that died right after the mail server accepted the message
    notice = _sent_by_a_worker_killed_right_after(b.line, settings, superuser)
    notice.refresh_from_db()
    assert notice.status == Status.SENDING and len(mail.outbox) == 1
    # When the task is retried and the sweep runs, with a healthy backend
    assert services.notice_send(notice_id=notice.pk) == f"already_{Status.SENDING}"
    assert services.notices_send_due(now=timezone.now() + timedelta(hours=1)) == {}
    # Then no second e-mail went out; the row waits for an agent
    assert len(mail.outbox) == 1
    stuck = services.notices_stuck(now=timezone.now() + timedelta(minutes=20))
    assert list(stuck) == [notice]
    # The agent finds it in the mail log and marks it sent: its effects apply then
    assert services.notice_stuck_mark_sent(notice=notice, user=superuser)
    notice.refresh_from_db()
    assert notice.status == Status.SENT
    assert b.refresh().promise.communicated_ship_date == b.promise.ship_date
    assert not OrderException.objects.filter(line=b.line, status="open", kind="delay_notice_due").exists()


def test_a_stuck_notice_resent_by_an_agent_keeps_its_message_id(slipped_us_line, settings, superuser):
    notice = _sent_by_a_worker_killed_right_after(slipped_us_line.line, settings, superuser)
    assert services.notice_stuck_resend(notice=notice, user=superuser)
    assert services.notices_send_due() == {"sent": 1}
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.body == second.body


def test_a_notice_about_a_line_that_shipped_meanwhile_is_not_sent(slipped_us_line):
    from workflow.fulfilment import shipment_record

    b = slipped_us_line
    shipment_record(order=b.order, lines=[(b.line.pk, 1)])
    notice = delay_notice(b.line)
    assert notice.status == Status.SUPERSEDED
    assert services.notices_send_due() == {} and not mail.outbox


def test_intake_queues_one_backorder_confirmation_for_the_backordered_lines(run_on_commit, us_channel,
                                                                            us_warehouse):
    # Given a SKU with no stock and a confirmed PO in three weeks
    sku = SKUFactory(code="LAMP-1")
    po = PurchaseOrderFactory(warehouse=us_warehouse, status=PurchaseOrder.Status.CONFIRMED,
                              dock_to_stock_days=0)
    PurchaseOrderLineFactory(purchase_order=po, sku=sku, qty_ordered=10)
    data = OrderInput(external_id="W-1", channel=us_channel.code, region="US", currency="USD",
                      customer=CustomerInput(email="ada@example.com", name="Ada", locale="en-US"),
                      lines=(LineInput(sku="LAMP-1", qty=2, unit_price=Decimal("15.00")),))
    # When the order is placed (twice: the partner retries)
    with run_on_commit():
        order, created = order_place(data=data)
    with run_on_commit():
        order_place(data=data)
    # Then one confirmation went out, with the ship date
    notice = Notice.objects.get(kind=Notice.Kind.BACKORDER_CONFIRMATION)
    assert notice.idempotency_key == f"order-{order.pk}:backorder_confirmation:1"
    assert notice.status == Status.SENT
    [message] = mail.outbox
    ship = order.lines.get().promise.ship_date
    assert "2 × " in message.body and f"ships by {ship:%B} {ship.day}, {ship.year}" in message.body
    assert message.subject == "Order W-1: your item is on backorder"


def test_a_very_large_slip_can_run_the_workflow_right_after_the_re_promise_commits(settings):
    # Given the inline limit set below the size of this slip
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "WORKFLOW_INLINE_MAX_LINES": 0}
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    slip(b, days=10)
    # Then the same exception and notice follow in their own task, with the changes it carries
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due")
    assert exc.due_by == promised and "purchase order changed" in exc.cause
    assert delay_notice(b.line).status == Status.SENT and len(mail.outbox) == 1


def test_a_drain_out_of_time_hands_the_rest_to_the_next_drain(django_capture_on_commit_callbacks):
    from tests.factories.notifications import NoticeFactory

    b = backorder_line("US", eta_days=14)
    for _ in range(3):
        NoticeFactory(line=b.line)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.notices_send_due(batch=1, seconds=0) == {"sent": 1}
    assert len(callbacks) == 1 and Notice.objects.filter(status=Status.PENDING).count() == 2
    assert services.notices_send_due() == {"sent": 2}
