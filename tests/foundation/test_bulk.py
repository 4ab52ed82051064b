"""core.bulk's helpers for steps over thousands of rows."""

import gc
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from core.bulk import commit_without_waiting_for_disk, gc_paused


def test_gc_paused_stops_the_collector_inside_and_restores_it_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner exit leaves it paused
            pass
        assert not gc.isenabled()
        raise RuntimeError("a failed step")
    assert gc.isenabled()


def test_gc_paused_leaves_a_collector_the_caller_disabled_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's synchronous_commit")
def test_commit_without_waiting_for_disk_applies_to_the_current_transaction_only():
    with connection.cursor() as cursor, transaction.atomic():
        commit_without_waiting_for_disk()
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db
def test_a_parent_and_its_children_are_stored_as_save_and_bulk_create_would(
        django_assert_max_num_queries):
    from decimal import Decimal

    from django.forms.models import model_to_dict

    from core.bulk import parent_and_children_insert
    from inventory.models import Channel
    from orders.models import Customer, Order, OrderLine
    from tests.factories.inventory import SKUFactory, WarehouseFactory, region

    us = region("US")
    channel = Channel.objects.create(code="bulk-us", name="Bulk", region=us)
    customer = Customer.objects.create(channel=channel, email="b@example.com", name="B", region=us,
                                       locale="en_US")
    warehouse = WarehouseFactory(code="US-BULK", country="US", serves=["US"])
    skus = [SKUFactory() for _ in range(3)]
    order = Order(channel=channel, region=us, external_id="BULK-1", customer=customer,
                  placed_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC), currency="USD",
                  paid_amount=Decimal("61.50"))
    # Two lines of one SKU: the ids follow the input order, not the SKU.
    lines = [OrderLine(sku=skus[i], warehouse=warehouse, qty=q, unit_price=Decimal(p))
             for i, q, p in ((2, 3, "9.50"), (0, 1, "20.00"), (2, 1, "13.00"))]
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 3):
        parent_and_children_insert(order, lines, link="order")
    assert order.pk and not order._state.adding and order.created_at and order.updated_at
    stored = Order.objects.get()
    assert model_to_dict(stored) == model_to_dict(order)
    assert (stored.created_at, stored.updated_at, stored.status) == (order.created_at, order.updated_at, "open")
    assert [line.pk for line in lines] == sorted(line.pk for line in lines)
    assert [model_to_dict(line) for line in lines] == [
        model_to_dict(line) for line in OrderLine.objects.order_by("pk")]
    assert [(line.order_id, line.sku_id, line.qty, line.qty_shipped, line.status) for line in lines] == [
        (order.pk, skus[2].pk, 3, 0, "backordered"), (order.pk, skus[0].pk, 1, 0, "backordered"),
        (order.pk, skus[2].pk, 1, 0, "backordered")]
    assert all(line.order is order and not line._state.adding for line in lines)
