"""pools_lock: every pool asked for, missing stock rows created, nothing outside a transaction."""

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from inventory.models import StockLevel
from inventory.services import pools_lock
from tests.factories.inventory import SKUFactory, WarehouseFactory


def test_pool_locks_outside_a_transaction_are_refused():
    with pytest.raises(TransactionManagementError, match="needs a transaction"):
        pools_lock([(1, 1)])


@pytest.mark.django_db
def test_pools_of_two_warehouses_and_a_missing_row():
    a, b = SKUFactory(), SKUFactory()
    w1, w2 = WarehouseFactory(code="W1"), WarehouseFactory(code="W2")
    StockLevel.objects.create(sku=a, warehouse=w2, on_hand=3)  # not asked for
    StockLevel.objects.create(sku=b, warehouse=w1, on_hand=4)
    StockLevel.objects.create(sku=b, warehouse=w2, on_hand=5)
    with transaction.atomic():
        got = pools_lock([(a.id, w1.id), (b.id, w2.id), (b.id, w1.id)])
    assert set(got) == {(a.id, w1.id), (b.id, w2.id), (b.id, w1.id)}
    assert (got[(b.id, w1.id)].on_hand, got[(b.id, w2.id)].on_hand, got[(a.id, w1.id)].on_hand) == (4, 5, 0)
    assert StockLevel.objects.count() == 4  # (a, W1) created; (a, W2) untouched
    assert StockLevel.objects.get(sku=a, warehouse=w1).history.count() == 1
