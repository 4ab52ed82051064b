"""Benchmark (d): one hot SKU, orders placed one after another as its pool fills.

Data: the demo warehouses and channels; SKU HOT-1 in US-EAST with no stock and a confirmed
PO of 20,000 units; for each level a cold SKU of its own (COLD-<level>) with a PO and an
empty pool. Between levels the hot pool is filled to 0, 1,000, ..., 5,000 open one-unit
lines (orders of shopify-us, loaded with COPY, then promised by a full re-promise of the
pool, which also writes its ledger of free supply).

At each level, in one process: orders of one unit on shopify-us (`redistribute`) through
promises.intake.order_place, alternately on the hot and the cold SKU, each timed alone;
then available_to_promise on each; then, for comparison, orders on the hot pool while it
is marked dirty (a new mark before each), so intake runs the pool in full as it did for
every order before the ledger (the column "pool run in full").

django-q2 runs on Redis, as in production (bench.common.intake_broker).

Target (docs/design.md): the order at 5,000 open lines within 1.5x the empty-pool cost,
the cold SKU's measured between the hot orders (the machine's load drifts during a run and
moves both alike); the ratio to the hot pool's own first level is printed beside it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/intake_hot.py [--small]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    banner,
    copy_rows,
    db_recreate,
    django_setup,
    intake_broker,
    libpq_dsn,
    machine,
    migrate,
    redis_flush,
    result_emit,
    sequences_reset,
    summary,
    timed,
    vacuum_analyze,
)

DB_NAME = "bd_bench_intake_hot"
LEVELS = (0, 1_000, 2_000, 3_000, 4_000, 5_000)
PO_UNITS = 20_000
TARGET_RATIO = 1.5


def _ms(values) -> float:
    return statistics.median(values) * 1000


def catalogue_create(now) -> dict:
    from demo import data as demo
    from inventory.models import SKU, PurchaseOrder, PurchaseOrderLine, StockLevel, Supplier

    warehouses, channels = demo.reference_data_create()
    warehouse = warehouses["US-EAST"]
    supplier = Supplier.objects.create(code="hot", name="Hot supplier", lead_time_days=30)
    skus = {}
    for code in ["HOT-1", *(f"COLD-{level}" for level in LEVELS)]:
        sku = SKU.objects.create(code=code, name=code, backorder_allowed=True, lead_time_days=30,
                                 supplier=supplier)
        StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=0)
        po = PurchaseOrder.objects.create(number=f"PO-{code}", supplier=supplier, warehouse=warehouse,
                                          status=PurchaseOrder.Status.CONFIRMED,
                                          eta=now.date() + timedelta(days=20), dock_to_stock_days=1)
        PurchaseOrderLine.objects.create(purchase_order=po, sku=sku,
                                         qty_ordered=PO_UNITS if code == "HOT-1" else 1_000)
        skus[code] = sku
    return {"warehouse": warehouse, "channel": channels["shopify-us"], "skus": skus}


def hot_lines_add(url: str, world: dict, count: int, start: int, now) -> None:
    """COPY `count` open one-unit orders of the hot SKU (ids from `start`), then promise them."""
    import psycopg

    from orders.models import Customer, Order, OrderLine

    channel, warehouse, sku = world["channel"], world["warehouse"], world["skus"]["HOT-1"]
    with psycopg.connect(libpq_dsn(url)) as conn, conn.cursor() as cur:
        copy_rows(cur, Customer, ("id", "email", "name", "region_id", "locale"),
                  [(n, f"hot.{n}@example.com", f"Hot customer {n}", channel.region_id, "en_US")
                   for n in range(start, start + count)], now=now)
        copy_rows(cur, Order, ("id", "channel_id", "region_id", "external_id", "customer_id", "placed_at",
                               "currency", "paid_amount", "shipping_amount", "strategy", "status"),
                  [(n, channel.id, channel.region_id, f"HOT-BOOK-{n:06d}", n,
                    now - timedelta(seconds=10 * (start + count - n) + 600), "USD", "19.00", "0", "", "open")
                   for n in range(start, start + count)], now=now)
        copy_rows(cur, OrderLine, ("id", "order_id", "sku_id", "warehouse_id", "qty", "unit_price",
                                   "qty_shipped", "qty_cancelled", "status"),
                  [(n, n, sku.id, warehouse.id, 1, "19.00", 0, 0, "backordered")
                   for n in range(start, start + count)], now=now)
        sequences_reset(cur, [Customer, Order, OrderLine])
        conn.commit()


def pool_repromise(world: dict, now) -> None:
    from promises.models import DirtyPool
    from promises.services import pools_repromise_all

    pools_repromise_all(sku_ids=[world["skus"]["HOT-1"].id], now=now, cause="manual")
    DirtyPool.objects.all().delete()


def open_lines(sku) -> int:
    from orders.models import OrderLine

    return OrderLine.objects.open().filter(sku=sku).count()


def orders_time(world: dict, sku_code: str, n: int, tag: str) -> list[float]:
    from promises.intake import CustomerInput, LineInput, OrderInput, order_place

    channel = world["channel"]
    seconds = []
    for i in range(n):
        data = OrderInput(
            external_id=f"{tag}-{sku_code}-{i}", channel=channel.code, region="US", currency="USD",
            customer=CustomerInput(email=f"{tag}.{i}@bench.example.com", name=f"Bench {i}"),
            lines=(LineInput(sku=sku_code, qty=1, unit_price=Decimal("19.00")),))
        started = time.perf_counter()
        _order, created = order_place(data=data)
        seconds.append(time.perf_counter() - started)
        assert created
    return seconds


def atp_time(world: dict, sku_code: str, n: int) -> list[float]:
    from promises.intake import available_to_promise

    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        answer = available_to_promise(sku=sku_code, channel=world["channel"].code, region="US", qty=1)
        seconds.append(time.perf_counter() - started)
        assert answer.can_order, answer
    return seconds


def level_measure(world: dict, level: int, n: int, n_full: int) -> dict:
    from promises.services import pools_mark_dirty

    hot, cold = [], []
    cold_code = f"COLD-{level}"
    # Warm up: compiled reads, calendars, the pools' pages in PostgreSQL's cache.
    orders_time(world, "HOT-1", 5, f"WH{level}")
    orders_time(world, cold_code, 5, f"WC{level}")
    atp_time(world, "HOT-1", 5)
    for i in range(n):
        hot += orders_time(world, "HOT-1", 1, f"H{level}.{i}")
        cold += orders_time(world, cold_code, 1, f"C{level}.{i}")
    atp_hot, atp_cold = atp_time(world, "HOT-1", n), atp_time(world, cold_code, n)
    sku = world["skus"]["HOT-1"]
    full = []
    for i in range(n_full):
        # A new mark before each order: the ledger the last full run wrote is out of date again.
        pools_mark_dirty(pools={(sku.id, world["warehouse"].id)}, cause="manual", note="bench: run in full")
        full += orders_time(world, "HOT-1", 1, f"F{level}.{i}")
    return {"level": level, "open_lines_after": open_lines(sku), "hot": summary(hot), "cold": summary(cold),
            "atp_hot": summary(atp_hot), "atp_cold": summary(atp_cold),
            "full": summary(full) if full else None,
            "hot_ms": _ms(hot), "cold_ms": _ms(cold), "atp_hot_ms": _ms(atp_hot), "atp_cold_ms": _ms(atp_cold),
            "full_ms": _ms(full) if full else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer orders per level")
    args = parser.parse_args(argv)
    n, n_full = (20, 3) if args.small else (100, 10)

    banner(f"(d) hot SKU intake: {n} orders per level on the hot and on a cold SKU, pool of 0 to 5,000 lines")
    machine_info = machine()
    setup: dict[str, float] = {}
    with timed("create + migrate database", setup):
        url = db_recreate(DB_NAME)
        migrate(url)
    redis_flush(intake_broker()["REDIS_URL"])
    django_setup(url, **intake_broker())
    from django.utils import timezone

    now = timezone.now()
    world = catalogue_create(now)
    pool_repromise(world, now)
    rows = []
    for index, level in enumerate(LEVELS):
        waiting = open_lines(world["skus"]["HOT-1"])
        if level > waiting:
            with timed(f"load the hot pool to {level:,} open lines", setup):
                # Ids of a range of their own per level, above those intake gave meanwhile.
                hot_lines_add(url, world, level - waiting, 1_000_000 * (index + 1), now)
                pool_repromise(world, timezone.now())
            vacuum_analyze(url)
        row = level_measure(world, level, n, n_full)
        row["open_lines"] = level
        # Put the pool back in order for the next level: the dirty runs left it marked.
        pool_repromise(world, timezone.now())
        rows.append(row)
        print(f"  {level:>6,} open lines: hot {row['hot_ms']:6.1f} ms, cold {row['cold_ms']:6.1f} ms, "
              f"availability hot {row['atp_hot_ms']:5.1f} ms, run in full "
              f"{row['full_ms'] or 0:7.1f} ms", flush=True)

    base, top = rows[0], rows[-1]
    # The empty pool's cost is the cold SKU's, measured between the hot orders: the load
    # of a shared machine drifts during a run, and moves both alike. The ratio to the hot
    # pool's own first level is printed beside it.
    ratio = top["hot_ms"] / top["cold_ms"]
    atp_ratio = top["atp_hot_ms"] / top["atp_cold_ms"]
    ratio_start = top["hot_ms"] / base["hot_ms"]
    atp_ratio_start = top["atp_hot_ms"] / base["atp_hot_ms"]
    print()
    print("| open lines waiting in the pool | ms per order, hot SKU | cold SKU (empty pool), same run | "
          "hot, pool run in full | availability, hot | availability, cold |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['open_lines']:,} | {r['hot_ms']:.1f} | {r['cold_ms']:.1f} | "
              f"{r['full_ms']:.1f} | {r['atp_hot_ms']:.1f} | {r['atp_cold_ms']:.1f} |")
    print(f"\n  order at {top['open_lines']:,} open lines / empty pool at the same time: {ratio:.2f}x "
          f"(target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'missed'}); "
          f"availability {atp_ratio:.2f}x")
    print(f"  order at {top['open_lines']:,} open lines / the hot pool empty at the start: {ratio_start:.2f}x; "
          f"availability {atp_ratio_start:.2f}x")
    result = {"bench": "intake_hot", "small": args.small, "machine": machine_info, "setup": setup,
              "orders_per_level": n, "rows": rows, "ratio": ratio, "atp_ratio": atp_ratio,
              "ratio_to_start": ratio_start, "atp_ratio_to_start": atp_ratio_start,
              "target_ratio": TARGET_RATIO, "target_met": ratio <= TARGET_RATIO and atp_ratio <= TARGET_RATIO}
    result_emit(result)
    return result


if __name__ == "__main__":
    main()
