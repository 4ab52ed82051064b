"""One timeline per order: what happened to it, in time order, with who did it, on the order,
order-line and exception pages, in a number of queries that does not grow with the order."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from notifications.timeline import order_timeline
from orders.models import Cancellation, Order
from promises.models import OrderException
from tests.factories.orders import OrderLineFactory
from tests.factories.promises import OrderExceptionFactory, backorder_line
from tests.workflow.steps import slip
from workflow import services as workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked(superuser, frozen_clock):
    """A US line slipped 45 days, its held notice sent by an agent, then cancelled for a
    refund, the refund recorded, and the order's paid amount corrected in the admin."""
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    frozen_clock.shift(timedelta(hours=1))
    slip(b, days=45)
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due")
    frozen_clock.shift(timedelta(hours=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        workflow.exception_notice_send_now(exception=exc, user=superuser)
    frozen_clock.shift(timedelta(hours=1))
    workflow.exception_note_add(exception=exc, note="Customer rang: does not want to wait", user=superuser)
    frozen_clock.shift(timedelta(hours=1))
    consent_exc = OrderException.objects.get(line=b.line, kind="consent_overdue")
    with TestCase.captureOnCommitCallbacks(execute=True):
        workflow.exception_cancel_refund(exception=consent_exc, user=superuser, decided_by="customer",
                                         note="asked on the phone")
    frozen_clock.shift(timedelta(hours=1))
    cancellation = Cancellation.objects.get(line=b.line)
    cancellation.refunded_at, cancellation.refund_reference = timezone.now(), "RF-1"
    cancellation._history_user = superuser
    cancellation.save()
    frozen_clock.shift(timedelta(hours=1))
    order = Order.objects.get(pk=b.order.pk)
    order.history.all().delete()  # as for an order written in bulk: no history yet
    order.paid_amount = order.paid_amount - 5
    order._history_user = superuser
    order.save()
    return b


def test_the_order_timeline_tells_the_whole_story_in_time_order(worked):
    entries = order_timeline(worked.order)
    titles = [e.title for e in entries]
    assert [e.at for e in entries] == sorted(e.at for e in entries)

    def first(text):
        return next(i for i, t in enumerate(titles) if text in t)

    moved = first("Promise moved")
    raised = first("Exception raised: Delay notice due")
    notice = first("E-mail to the customer: Delay notice")
    sent_on_request = first("Delay notice sent on request")
    note = first("Note")
    cancelled = first("Cancelled 1 unit(s)")
    refunded = first("Refunded 40.00 USD")
    edited = first("Order edited")
    assert moved <= raised < sent_on_request < note < cancelled < refunded < edited
    assert notice < note
    by_title = {e.title: e for e in entries}
    assert by_title["Note"].who == "root" and "does not want to wait" in by_title["Note"].detail
    assert entries[notice].body and "delay" in entries[notice].body.lower()  # the e-mail as sent
    assert ("paid amount", "40.00", "35.00") in entries[edited].changes and entries[edited].who == "root"
    refund_edit = next(e for e in entries if e.title == "Refund recorded")
    assert ("refund reference", "—", "RF-1") in refund_edit.changes and refund_edit.who == "root"
    assert entries[refunded].who == "root"
    assert "Exception raised: Consent awaited" in " ".join(titles)


def test_the_order_and_line_pages_show_the_timeline(client, superuser, worked):
    client.force_login(superuser)
    html = client.get(reverse("admin:orders_order_change", args=[worked.order.pk])).content.decode()
    assert 'id="timeline"' in html and "Order edited" in html and "Refunded 40.00 USD" in html
    assert "<del>40.00</del>" in html and "35.00" in html
    line_html = client.get(reverse("admin:orders_orderline_change", args=[worked.line.pk])).content.decode()
    assert "Timeline of line" in line_html and "Cancelled 1 unit(s)" in line_html
    exc = OrderException.objects.filter(line=worked.line).first()
    exc_html = client.get(reverse("admin:promises_orderexception_change", args=[exc.pk])).content.decode()
    assert "Timeline of line" in exc_html and "Customer rang" in exc_html


def _order_with_lines(n, user):
    """An order with a slipped line and `n` more lines, each with an exception an agent
    wrote a note on and an edit of its own."""
    b = backorder_line("US", eta_days=14)
    slip(b, days=45)
    for _ in range(n):
        line = OrderLineFactory(order=b.order, sku=b.line.sku, warehouse=b.warehouse)
        exc = OrderExceptionFactory(line=line, kind="cap_breach")
        workflow.exception_note_add(exception=exc, note="called", user=user)
        line.unit_price += 1
        line._history_user = user
        line.save()
    return b.order


def test_the_timeline_costs_the_same_queries_for_a_small_and_a_large_order(
        client, superuser, django_assert_max_num_queries):
    client.force_login(superuser)
    small, large = _order_with_lines(0, superuser), _order_with_lines(8, superuser)
    assert len(order_timeline(large)) >= len(order_timeline(small)) + 3 * 8
    for order in (small, large):
        with django_assert_max_num_queries(11):  # one per kind of record, and the users named
            order_timeline(order)
        line = order.lines.order_by("pk").first()
        with django_assert_max_num_queries(45):
            response = client.get(reverse("admin:orders_orderline_change", args=[line.pk]))
        assert response.status_code == 200 and 'id="timeline"' in response.content.decode()
