"""Admin flows of the promise engine: receipts through the service, explanations, re-promise."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from inventory.models import PurchaseOrderLine, Receipt, StockLevel
from promises.models import DirtyPool, Promise, PromiseChange
from promises.services import dirty_pools_repromise, pools_mark_dirty
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = pytest.mark.django_db


def test_receipt_added_in_the_admin_updates_stock_po_and_releases_backorders(
        admin_client, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        sku, warehouse, po = us_pool(on_hand=0, po_qty=10, now=now)
        order, _ = place(sku, now=now)
    line = PurchaseOrderLine.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:inventory_receipt_add"), {
            "po_line": line.pk, "qty": 4, "received_at_0": now.date().isoformat(),
            "received_at_1": "10:00:00", "reference": "ASN-1"})
    assert response.status_code == 302, response.content[:800]
    line.refresh_from_db()
    assert line.qty_received == 4
    assert StockLevel.objects.get(sku=sku, warehouse=warehouse).on_hand == 4
    assert Receipt.objects.get().received_by.username == "admin"
    promise = Promise.objects.get(line__order=order)
    assert promise.stock_qty == 1
    assert PromiseChange.objects.get().cause == PromiseChange.Cause.RECEIPT


def test_over_receipt_in_the_admin_is_refused_and_changes_nothing(admin_client):
    sku, warehouse, po = us_pool(on_hand=0, po_qty=10)
    line = PurchaseOrderLine.objects.get()
    response = admin_client.post(reverse("admin:inventory_receipt_add"), {
        "po_line": line.pk, "qty": 11, "received_at_0": "2026-11-20", "received_at_1": "10:00:00"})
    assert response.status_code == 200 and "Only 10 still open" in response.content.decode()
    assert not Receipt.objects.exists() and StockLevel.objects.get().on_hand == 0


def test_order_line_page_explains_its_promise(admin_client):
    sku, _, po = us_pool(on_hand=0)
    order, _ = place(sku)
    line = order.lines.get()
    page = admin_client.get(reverse("admin:orders_orderline_change", args=[line.pk])).content.decode()
    assert "Why this date" in page and f"from {po.number}" in page and "Strategy redistribute" in page


def test_a_worker_dying_mid_pool_leaves_old_promises_and_the_mark(monkeypatch):
    sku, warehouse, _ = us_pool(on_hand=2, po_qty=0)
    order, _ = place(sku)
    before = Promise.objects.get()
    StockLevel.objects.filter(sku=sku).update(on_hand=0)
    pools_mark_dirty(pools={(sku.id, warehouse.id)}, cause="stock_adjustment")

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("promises.services.promises_write", die)
    with pytest.raises(SystemExit):
        dirty_pools_repromise()
    assert Promise.objects.get().stock_qty == before.stock_qty == 1
    assert DirtyPool.objects.count() == 1
    monkeypatch.undo()
    dirty_pools_repromise()
    assert Promise.objects.get().stock_qty == 0 and not DirtyPool.objects.exists()


def test_repromise_action_queues_the_orders_pools(admin_client, django_capture_on_commit_callbacks):
    # On the day the order is placed: its pool's re-promise runs on commit, and later its
    # ship date would have passed unshipped (a past-due line, cancelled at once in the US)
    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        sku, _, _ = us_pool(on_hand=1)
        order, _ = place(sku)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("admin:orders_order_changelist"),
                                     {"action": "repromise_now", "_selected_action": [order.pk]})
    assert response.status_code == 302
    assert DirtyPool.objects.get().note == "re-promise requested in the admin"
    assert len(callbacks) == 1
