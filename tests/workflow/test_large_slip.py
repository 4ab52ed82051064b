"""A slip of a busy SKU: hundreds of lines get their exception, notice and history at once
(COPY on PostgreSQL, bulk inserts on SQLite)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase

from notifications.models import Notice
from orders.models import Customer, Order, OrderLine
from promises.models import OrderException
from promises.services import promises_mark_communicated, promises_recompute_all
from tests.factories.promises import backorder_line
from tests.workflow.steps import slip

pytestmark = pytest.mark.django_db

LINES = 250


@pytest.mark.parametrize("deferred_parts", [None, 3], ids=["inline", "deferred-in-3-parts"])
def test_a_slip_of_250_lines_raises_one_exception_and_one_notice_each_with_history(
        deferred_parts, settings, monkeypatch):
    assessed: list[list[int]] = []
    if deferred_parts:
        # A slip above the inline limit: assessed after commit, in parts of whole orders
        settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "WORKFLOW_INLINE_MAX_LINES": 0,
                                   "WORKFLOW_DEFERRED_PARTS": deferred_parts}
        from notifications import signals

        enqueue = signals.enqueue_on_commit

        def recording(func, *args, **kwargs):
            if func == "promises.tasks.recorded_changes_assess":
                assessed.append(list(args[0]))
            return enqueue(func, *args, **kwargs)

        monkeypatch.setattr(signals, "enqueue_on_commit", recording)
    # Given 250 more lines of the same pool, promised and told (setup's tasks run here)
    with TestCase.captureOnCommitCallbacks(execute=True):
        b = backorder_line("US", eta_days=14)
        po_line = b.po.lines.get()
        po_line.qty_ordered = LINES + 10
        po_line.save()
        customers = Customer.objects.bulk_create([
            Customer(email=f"bulk{i}@example.com", name=f"Bulk {i}", region=b.region, locale="en_US")
            for i in range(LINES)])
        orders = Order.objects.bulk_create([
            Order(channel=b.channel, region=b.region, external_id=f"BULK-{i}", customer=c,
                  placed_at=datetime.now(UTC), currency="USD") for i, c in enumerate(customers)])
        OrderLine.objects.bulk_create([
            OrderLine(order=o, sku=b.line.sku, warehouse=b.warehouse, qty=1, unit_price=Decimal("9.00"))
            for o in orders])
        promises_recompute_all(cause="manual", sku_ids=[b.line.sku_id])
        promises_mark_communicated()
    # When the PO slips
    assessed.clear()
    slip(b, days=10)
    if deferred_parts:  # three tasks took a third of the lines each, every line once
        assert len(assessed) == deferred_parts
        assert sorted(sum(assessed, [])) == sorted(OrderLine.objects.values_list("id", flat=True))
        assert max(map(len, assessed)) - min(map(len, assessed)) <= 1
    # Then every line has its exception (resolved: the notice went out), notice and history
    exceptions = OrderException.objects.filter(kind="delay_notice_due")
    assert exceptions.count() == LINES + 1
    assert set(exceptions.values_list("status", flat=True)) == {"resolved"}
    history = OrderException.history.filter(kind="delay_notice_due")
    assert history.filter(history_type="+").count() == LINES + 1
    assert history.filter(history_type="~").count() == LINES + 1  # resolved when sent
    assert Notice.objects.filter(kind="delay_notice", status=Notice.Status.SENT).count() == LINES + 1
    assert len(mail.outbox) == LINES + 1
    # And the slip back resolves nothing twice and tells everyone the good news
    mail.outbox.clear()
    slip(b, days=-10)
    assert Notice.objects.filter(kind="earlier_date", status=Notice.Status.SENT).count() == LINES + 1
    assert not OrderException.objects.filter(status="open").exists()


def test_a_large_slip_is_split_into_balanced_parts_of_whole_orders():
    from types import SimpleNamespace

    from promises.workflow import large_slip_parts

    # order 1 has three lines, orders 2-5 one each; line 10 changed twice
    changes = [SimpleNamespace(order_id=o, line_id=line) for o, line in
               [(1, 10), (1, 11), (1, 12), (2, 20), (3, 30), (4, 40), (5, 50), (1, 10)]]
    parts = large_slip_parts(changes, parts=2)
    assert parts == [[10, 11, 12, 50], [20, 30, 40]]  # 4 and 3 lines, orders whole
    assert large_slip_parts(changes, parts=1) == [[10, 11, 12, 20, 30, 40, 50]]
    assert len(large_slip_parts(changes, parts=9)) == 5  # no empty parts
