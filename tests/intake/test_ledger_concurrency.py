"""The ledger of free supply under real concurrent connections on PostgreSQL: orders racing
with receipts, cancellations and the dirty-pool worker never promise a unit twice, and the
ledger ends equal to the supply less what the stored promises hold."""

from collections import Counter
from datetime import timedelta

import pytest

from core.errors import BusinessRefusal
from inventory.models import PurchaseOrderLine, StockLevel
from inventory.services import receipt_record
from orders.models import Order, OrderLine
from promises.models import DirtyPool, PoolSupply, Promise
from promises.services import dirty_pools_repromise, pools_repromise_all
from tests import concurrency
from tests.intake.helpers import MONDAY, place, us_pool
from tests.intake.test_incremental_property import _ledger_matches_promises
from workflow.fulfilment import order_cancel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_orders_racing_receipts_cancellations_and_the_worker_keep_the_ledger_exact():
    # Given a pool with stock and a PO, promised in full: the ledger knows it
    sku, warehouse, po = us_pool(on_hand=6, po_qty=20)
    for i in range(4):
        place(sku, external_id=f"OLD-{i}", qty=2, now=MONDAY - timedelta(hours=i + 1))
    pools_repromise_all(sku_ids=[sku.id], now=MONDAY)
    assert PoolSupply.objects.filter(sku=sku).exists() and not DirtyPool.objects.exists()
    old_orders = list(Order.objects.order_by("pk"))

    def client(i):
        if i == 3:
            return receipt_record(po_number=po.number, lines=[(sku.code, 5)], received_at=MONDAY)
        if i in (7, 11):
            return order_cancel(order=old_orders[{7: 0, 11: 1}[i]], reason="customer_request", initiated_by="customer",
                                now=MONDAY)
        if i in (5, 13):
            return dirty_pools_repromise(now=MONDAY, max_passes=3)
        return place(sku, external_id=f"NEW-{i}", qty=1 + i % 3, now=MONDAY + timedelta(seconds=i))

    # When sixteen connections do all of it at once
    results = concurrency.race(client, 16)
    # Then nothing failed but refusals for lack of supply
    assert all(not isinstance(r, Exception) or (isinstance(r, BusinessRefusal) and r.code == "no_supply")
               for r in results), results
    # No source promised beyond its quantity
    used = Counter()
    for sources in Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES).values_list("sources", flat=True):
        for s in sources:
            used[s["po_line"]] += s["qty"]
    stock = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    line = PurchaseOrderLine.objects.get(pk=po.lines.get().pk)
    assert used[None] <= stock.on_hand and used[line.pk] <= line.qty_ordered - line.qty_received
    # And once the worker has re-promised what the races marked, the ledger is exact
    dirty_pools_repromise(now=MONDAY)
    assert not DirtyPool.objects.exists()
    _ledger_matches_promises([sku], warehouse)
    assert PoolSupply.objects.filter(sku=sku, po_line__isnull=True).exists()
