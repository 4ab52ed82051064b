"""Concurrency guarantees, proven on PostgreSQL with real concurrent connections."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import BusinessRefusal
from inventory.models import BackorderCap, StockLevel
from orders.models import Order, OrderLine
from promises.models import DirtyPool, Promise
from promises.services import dirty_pools_repromise
from tests import concurrency
from tests.factories.inventory import SKUFactory
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLIENTS = 16


def race(fn, n=CLIENTS):
    return concurrency.race(fn, n)


def units_promised_per_source():
    used = Counter()
    for sources in Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES).values_list(
            "sources", flat=True):
        for s in sources:
            used[(s["kind"], s["reference"])] += s["qty"]
    return used


def test_sixteen_clients_racing_for_the_last_units_never_oversell():
    # Given 5 units in stock and nothing inbound
    sku, _, _ = us_pool(on_hand=5, po_qty=0)
    # When 16 clients order one each at the same moment
    results = race(lambda i: place(sku, external_id=f"R-{i}", now=MONDAY + timedelta(seconds=i)))
    # Then exactly 5 are accepted, the rest refused for lack of supply
    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, BusinessRefusal)]
    assert len(accepted) == 5 and len(refused) == CLIENTS - 5, results
    assert {r.code for r in refused} == {"no_supply"}
    assert units_promised_per_source() == {("stock", "US-EAST"): 5}
    assert Order.objects.count() == 5


def test_sixteen_clients_racing_for_a_cap_never_break_it():
    # Given plenty of inbound supply but a cap of 4 backordered units
    sku, _, po = us_pool(on_hand=0, po_qty=100)
    BackorderCap.objects.create(sku=sku, max_backorder_qty=4)
    # When 16 clients order one each at once
    results = race(lambda i: place(sku, external_id=f"C-{i}", now=MONDAY + timedelta(seconds=i)))
    # Then exactly 4 are accepted and the cap holds
    accepted = [r for r in results if isinstance(r, tuple)]
    assert len(accepted) == 4, results
    assert {r.code for r in results if isinstance(r, BusinessRefusal)} == {"cap_exceeded"}
    assert units_promised_per_source() == {("purchase_order", po.number): 4}


def test_concurrent_reposts_of_one_external_id_create_one_order():
    sku, _, _ = us_pool(on_hand=50)
    results = race(lambda i: place(sku, external_id="SAME-1"), n=20)
    orders = {r[0].pk for r in results if isinstance(r, tuple)}
    assert len(orders) == 1 and Order.objects.count() == 1, results
    assert sum(1 for r in results if isinstance(r, tuple) and r[1]) == 1


def test_first_orders_of_one_new_customer_at_once_all_land_on_one_customer():
    from orders.models import Customer

    _, warehouse, _ = us_pool(on_hand=50)
    # One SKU per order, so the orders do not wait for each other on a pool lock.
    skus = [SKUFactory() for _ in range(CLIENTS)]
    StockLevel.objects.bulk_create(StockLevel(sku=sku, warehouse=warehouse, on_hand=5) for sku in skus)
    # Sixteen first orders of a customer never seen, in any case of the address, at once.
    results = race(lambda i: place(skus[i], external_id=f"NEW-{i}",
                                   email="New.Customer@Example.com" if i % 2 else "new.customer@example.com"))
    assert all(isinstance(r, tuple) and r[1] for r in results), results
    assert Customer.objects.count() == 1
    assert Order.objects.filter(customer=Customer.objects.get()).count() == CLIENTS


def test_a_first_order_that_meets_an_uncommitted_insert_of_its_customer_takes_that_customer(
        monkeypatch):
    import threading

    from django.db import connection, transaction

    from inventory.models import Channel
    from orders.models import Customer
    from promises import intake

    us_pool(on_hand=5)
    channel = Channel.objects.select_related("region").get(code="shopify-us")
    given = intake.CustomerInput(email="race@example.com", name="Race")
    inserted, release, found, reads = threading.Event(), threading.Event(), {}, Counter()
    find = intake._customer_find
    monkeypatch.setattr(intake, "_customer_find",
                        lambda *a: reads.update([threading.current_thread().name]) or find(*a))

    def first():  # inserts the customer and holds its transaction open
        try:
            with transaction.atomic():
                found["first"] = intake._customer(given, channel.region, channel)
                inserted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def second():  # its insert waits for the first's row, then does nothing
        try:
            inserted.wait(timeout=30)
            found["second"] = intake._customer(given, channel.region, channel)
        finally:
            connection.close()

    threads = [threading.Thread(target=first, name="first"), threading.Thread(target=second, name="second")]
    for thread in threads:
        thread.start()
    inserted.wait(timeout=30)
    waiting = 0
    for _ in range(500):  # until the second's insert waits on the first's row
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
            waiting = cursor.fetchone()[0]
        if waiting:
            break
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert waiting == 1
    assert found["first"].pk == found["second"].pk == Customer.objects.get().pk
    # The second read the customer once the first committed, by a statement of its own.
    assert reads == {"second": 1}


def test_two_workers_drain_dirty_pools_without_recomputing_one_pool_twice_at_once():
    # Given 30 pools with three orders each, promised from stock
    first, warehouse, _ = us_pool(on_hand=3, po_qty=0)
    skus = [first] + [SKUFactory() for _ in range(29)]
    for sku in skus[1:]:
        StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=3)
    for sku in skus:
        for _ in range(3):
            place(sku)
    # When the stock is written off without signals and all 30 pools are marked dirty
    # (rows written directly: marking through the service would run the task at once here)
    StockLevel.objects.update(on_hand=0)
    DirtyPool.objects.bulk_create([
        DirtyPool(sku=sku, warehouse=warehouse, cause="stock_adjustment", marked_at=timezone.now())
        for sku in skus
    ])
    # And two workers run the coalescing task at the same time, on the day the orders were
    # placed (at the real clock their ship dates are long past: the US sweep would cancel
    # lines and mark their pools again, a re-promise of its own after the race)
    results = race(lambda i: dirty_pools_repromise(now=MONDAY + timedelta(hours=1)), n=2)
    # Then every pool was recomputed exactly once, no mark is left, no stock is promised
    assert not DirtyPool.objects.exists()
    assert sum(r.pools for r in results) == 30, results
    assert sum(len(r.changes) for r in results) == 90
    assert not Promise.objects.filter(stock_qty__gt=0).exists()
