"""Re-promising learns what changed on a supply row from its field tracker, not a read."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import PurchaseOrder
from promises.models import DirtyPool
from tests.factories.inventory import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def test_an_eta_change_marks_its_pools_dirty_without_reading_the_po_back():
    # Given a confirmed PO, loaded as the admin or the API loads it
    warehouse = WarehouseFactory()
    po = PurchaseOrderFactory(warehouse=warehouse, status=PurchaseOrder.Status.CONFIRMED)
    line = PurchaseOrderLineFactory(purchase_order=po)
    DirtyPool.objects.all().delete()
    po = PurchaseOrder.objects.get(pk=po.pk)
    # When its ETA moves
    po.eta += timedelta(days=9)
    with CaptureQueriesContext(connection) as queries:
        po.save()
    # Then its pool is marked, and no statement read the PO row to learn what changed
    assert DirtyPool.objects.filter(sku_id=line.sku_id, warehouse=warehouse).exists()
    table = PurchaseOrder._meta.db_table
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]
    assert reads == []


def test_a_save_that_changes_nothing_watched_marks_nothing():
    po = PurchaseOrderFactory(status=PurchaseOrder.Status.CONFIRMED)
    PurchaseOrderLineFactory(purchase_order=po)
    DirtyPool.objects.all().delete()
    po = PurchaseOrder.objects.get(pk=po.pk)
    po.notes = "called the supplier"
    po.save()
    assert not DirtyPool.objects.exists()
