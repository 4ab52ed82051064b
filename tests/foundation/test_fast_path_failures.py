"""The fast database paths when things go wrong: a failing batch, a mark that races a
re-promise, concurrent marks, a COPY that fails, and that query counting sees them."""

import logging
import threading

import pytest
from django.db import DataError, close_old_connections, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

import promises.services as promise_services
from core.bulk import copy_rows
from inventory.models import StockLevel
from promises.models import DirtyPool
from promises.services import dirty_pools_repromise, pools_mark_dirty
from tests.factories.inventory import SKUFactory
from tests.intake.helpers import MONDAY, place, us_pool

postgres_only = pytest.mark.postgres


def _second_pool(warehouse):
    sku = SKUFactory()
    StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=5)
    return sku


@pytest.mark.django_db
def test_a_failing_pool_is_retried_alone_and_does_not_hold_back_the_others(monkeypatch, caplog):
    good, warehouse, _ = us_pool(on_hand=2)
    bad = _second_pool(warehouse)
    place(good, qty=1, now=MONDAY)
    place(bad, qty=1, now=MONDAY)
    DirtyPool.objects.all().delete()
    pools_mark_dirty(pools={(good.id, warehouse.id), (bad.id, warehouse.id)}, cause="stock_adjustment")

    real = promise_services.pools_repromise

    def failing_for_bad_pool(states, **kwargs):
        if (bad.id, warehouse.id) in states:
            raise RuntimeError("this pool's data cannot be re-promised")
        return real(states, **kwargs)

    monkeypatch.setattr(promise_services, "pools_repromise", failing_for_bad_pool)
    with caplog.at_level(logging.ERROR, logger="promises.services"):
        result = dirty_pools_repromise(now=MONDAY, max_passes=1)

    left = set(DirtyPool.objects.values_list("sku_id", "warehouse_id"))
    assert left == {(bad.id, warehouse.id)}, "the bad pool stays dirty, the good one is done"
    assert result.pools == 1
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "retrying them one by one" in messages
    assert f"dirty pool mark {DirtyPool.objects.get().id} failed" in messages


@pytest.mark.django_db
def test_every_pool_failing_raises_and_leaves_every_mark(monkeypatch):
    sku, warehouse, _ = us_pool(on_hand=2)
    other = _second_pool(warehouse)
    pools_mark_dirty(pools={(sku.id, warehouse.id), (other.id, warehouse.id)}, cause="stock_adjustment")

    def always_failing(states, **kwargs):
        raise RuntimeError("nothing can be re-promised")

    monkeypatch.setattr(promise_services, "pools_repromise", always_failing)
    with pytest.raises(RuntimeError, match="every one of 2 dirty pools failed"):
        dirty_pools_repromise(now=MONDAY, max_passes=1)
    assert DirtyPool.objects.count() == 2


@pytest.mark.django_db
def test_a_mark_that_arrives_during_the_re_promise_survives_it(monkeypatch):
    sku, warehouse, _ = us_pool(on_hand=2)
    place(sku, qty=1, now=MONDAY)
    DirtyPool.objects.all().delete()
    pools_mark_dirty(pools={(sku.id, warehouse.id)}, cause="stock_adjustment")
    first = DirtyPool.objects.get()

    real = promise_services.pools_repromise

    def marked_meanwhile(states, **kwargs):
        result = real(states, **kwargs)
        pools_mark_dirty(pools={(sku.id, warehouse.id)}, cause="po_eta_changed", note="newer")
        return result

    monkeypatch.setattr(promise_services, "pools_repromise", marked_meanwhile)
    dirty_pools_repromise(now=MONDAY, max_passes=1)

    mark = DirtyPool.objects.get()
    assert mark.id == first.id and mark.generation == first.generation + 1
    assert mark.note == "newer", "the newer mark is kept for the next pass"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_marks_of_one_pool_merge_into_one_row_counting_every_mark(monkeypatch):
    # The re-promise task would run at once (tests run tasks synchronously) and clear the mark.
    monkeypatch.setattr(promise_services, "enqueue_on_commit", lambda *args, **kwargs: None)
    sku, warehouse, _ = us_pool(on_hand=2)
    DirtyPool.objects.all().delete()
    threads, per_thread, errors = 8, 10, []
    start = threading.Barrier(threads)

    def mark():
        try:
            start.wait()
            for _ in range(per_thread):
                pools_mark_dirty(pools={(sku.id, warehouse.id)}, cause="stock_adjustment")
        except Exception as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=mark) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    close_old_connections()
    assert errors == []
    mark_row = DirtyPool.objects.get(sku_id=sku.id, warehouse_id=warehouse.id)
    assert mark_row.generation == threads * per_thread


@postgres_only
@pytest.mark.django_db
def test_copy_is_seen_by_query_counting_and_execute_wrappers():
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (n integer NOT NULL, label text)")
    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(wrapper):
        with connection.cursor() as cursor:
            copy_rows(cursor, table="copy_probe", columns="n, label", rows=[(1, "a"), (2, "b")])
    assert [q["sql"] for q in queries.captured_queries] == ["COPY copy_probe (n, label) FROM STDIN"]
    assert seen == ["COPY copy_probe (n, label) FROM STDIN"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM copy_probe")
        assert cursor.fetchone() == (2,)


@postgres_only
@pytest.mark.django_db
def test_a_failing_copy_raises_djangos_error_and_writes_nothing():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (n integer NOT NULL)")
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO copy_probe VALUES (7)")
        copy_rows(cursor, table="copy_probe", columns="n", rows=[(1,), ("not a number",)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM copy_probe")
        assert cursor.fetchone() == (0,), "the whole transaction rolled back"


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("full", [False, True], ids=["few pools", "full run (server-side cursor)"])
def test_pool_loads_are_seen_by_query_counting(full):
    from django.utils import timezone

    from promises.selectors import pools_load

    sku, warehouse, _ = us_pool(on_hand=2)
    place(sku, qty=1, now=MONDAY)
    pools = None if full else {(sku.id, warehouse.id)}
    with CaptureQueriesContext(connection) as queries:
        states = pools_load(pools=pools, today=timezone.localdate())
    assert len(states[(sku.id, warehouse.id)].lines) == 1
    assert any("orders_orderline" in q["sql"] for q in queries.captured_queries)
