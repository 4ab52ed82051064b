"""Benchmark (a): a full re-promise of 1,000,000 open order lines, beside its floor.

Data: 20,000 SKUs stocked in the 3 demo warehouses (60,000 pools), 2,000 confirmed or
in-transit POs of 25 lines each (50,000 PO lines, ETAs over 10 weeks), ~50,000 customers,
~500,000 open orders of 1-3 lines (1,000,000 lines), loaded with psycopg COPY.

Runs of promises.services.pools_repromise_all(cause="nightly"):
  run 1  no promises yet: every promise row is inserted;
  run 2  nothing changed: reads and engine, (almost) no writes;
  run 3  after one SQL UPDATE moving every PO's ETA by +7 days: many promises change.
Floor, same run, same data: read the rows the re-promise reads with a plain psycopg
named cursor (stock + SKU policy, open PO lines, open order lines joined to orders and
channels, their promises), COPY 1,000,000 promise rows into a temp table and UPDATE every
promise row FROM it. Target (docs/design.md): each run within 3x the floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/repromise_full.py [--small] [--profile]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    banner,
    copy_rows,
    db_recreate,
    django_setup,
    libpq_dsn,
    load_average,
    machine,
    migrate,
    result_emit,
    sequences_reset,
    timed,
    vacuum_analyze,
)

DB_NAME = "bd_bench_repromise"
FULL = {"skus": 20_000, "pos": 2_000, "po_lines_per_po": 25, "customers": 50_000, "lines": 1_000_000}
SMALL = {"skus": 2_000, "pos": 200, "po_lines_per_po": 25, "customers": 5_000, "lines": 100_000}
TARGET_RATIO = 3.0
SEED = 20251123


# --- Data -------------------------------------------------------------------------------------


def dataset_load(url: str, size: dict, now: datetime) -> dict:
    """Create the catalog, supply and open orders with COPY; return row counts."""
    import psycopg
    from django.utils import timezone

    from demo import data as demo
    from inventory.models import (
        SKU,
        Channel,
        PurchaseOrder,
        PurchaseOrderLine,
        Region,
        StockLevel,
        Supplier,
    )
    from orders.models import Customer, Order, OrderLine

    rng = random.Random(SEED)
    warehouses, channels = demo.reference_data_create()
    for code, name, country, lead in demo.SUPPLIERS:
        Supplier.objects.get_or_create(code=code, defaults={"name": name, "country": country,
                                                            "lead_time_days": lead})
    suppliers = list(Supplier.objects.order_by("id").values_list("id", flat=True))
    regions = {r.code: r for r in Region.objects.all()}
    wh_ids = sorted(w.id for w in warehouses.values())
    region_wh = {code: r.default_warehouse_id for code, r in regions.items()}
    today = timezone.localdate()
    counts = {}

    with psycopg.connect(libpq_dsn(url)) as conn, conn.cursor() as cur:
        n_skus = size["skus"]
        prices = [Decimal(p[2]) for p in demo.PRODUCTS]
        sku_price = {}
        sku_rows = []
        for i in range(1, n_skus + 1):
            sku_price[i] = str(prices[i % len(prices)])
            sku_rows.append((
                i, f"B-{i:06d}", f"Bench item {i}", True, False, rng.random() < 0.10,
                2 if rng.random() < 0.15 else 0, 45, suppliers[i % len(suppliers)], True,
            ))
        counts["skus"] = copy_rows(cur, SKU, (
            "id", "code", "name", "backorder_allowed", "preorder", "sell_beyond_supply",
            "safety_stock", "lead_time_days", "supplier_id", "active"), sku_rows, now=now)

        stock_rows, sid = [], 0
        for sku in range(1, n_skus + 1):
            for wh in wh_ids:
                sid += 1
                on_hand = 0 if rng.random() < 0.4 else rng.randint(1, 40)
                stock_rows.append((sid, sku, wh, on_hand))
        counts["stock_levels"] = copy_rows(cur, StockLevel, ("id", "sku_id", "warehouse_id", "on_hand"),
                                           stock_rows, now=now)

        po_rows, pol_rows, pol_id = [], [], 0
        for n in range(1, size["pos"] + 1):
            wh = wh_ids[n % len(wh_ids)]
            status = "in_transit" if rng.random() < 0.2 else "confirmed"
            eta = today + timedelta(days=rng.randint(0, 69))  # spread over 10 weeks
            po_rows.append((n, f"PO-B-{n:05d}", suppliers[n % len(suppliers)], wh, status, eta,
                            rng.choice((1, 2, 3))))
            for sku in rng.sample(range(1, n_skus + 1), size["po_lines_per_po"]):
                pol_id += 1
                pol_rows.append((pol_id, n, sku, rng.randint(5, 40), 0))
        counts["purchase_orders"] = copy_rows(cur, PurchaseOrder, (
            "id", "number", "supplier_id", "warehouse_id", "status", "eta", "dock_to_stock_days"),
            po_rows, now=now)
        counts["po_lines"] = copy_rows(cur, PurchaseOrderLine, (
            "id", "purchase_order_id", "sku_id", "qty_ordered", "qty_received"), pol_rows, now=now)

        cust_rows, by_region = [], defaultdict(list)
        for i in range(1, size["customers"] + 1):
            code = rng.choice(("US", "US", "EU", "EU", "UK"))
            cust_rows.append((i, f"bench.{i}@example.com", f"Customer {i}", regions[code].id,
                              rng.choice(demo.LOCALES[code])))
            by_region[code].append(i)
        counts["customers"] = copy_rows(cur, Customer, ("id", "email", "name", "region_id", "locale"),
                                        cust_rows, now=now)

        chan = {c.code: c for c in Channel.objects.select_related("region")}
        mix = [chan[code] for code in demo.CHANNEL_MIX]
        currency = {"US": "USD", "EU": "EUR", "UK": "GBP"}
        order_rows, line_rows = [], []
        target, line_id, order_id = size["lines"], 0, 0
        span = 30 * 24 * 3600
        while line_id < target:
            order_id += 1
            c = rng.choice(mix)
            rcode = c.region.code
            placed = now - timedelta(seconds=int(rng.random() ** 1.3 * span))
            n_lines = min(rng.choice((1, 2, 3)), target - line_id)
            wh = region_wh[rcode]
            total = Decimal("4.95")
            skus = set()
            while len(skus) < n_lines:
                # Skewed demand: low ids are the best sellers (pools of up to a few hundred lines).
                skus.add(1 + int(n_skus * rng.random() ** 1.6))
            for sku in skus:
                line_id += 1
                qty = rng.choice((1, 1, 1, 2, 3))
                total += Decimal(sku_price[sku]) * qty
                line_rows.append((line_id, order_id, sku, wh, qty, sku_price[sku], 0, 0, "backordered"))
            strategy = "gain" if rng.random() < 0.02 else ""
            order_rows.append((order_id, c.id, c.region_id, f"B{order_id:08d}", rng.choice(by_region[rcode]),
                               placed, currency[rcode], str(total), "4.95", strategy, False, "open"))
        counts["orders"] = copy_rows(cur, Order, (
            "id", "channel_id", "region_id", "external_id", "customer_id", "placed_at", "currency",
            "paid_amount", "shipping_amount", "strategy", "essential_date", "status"), order_rows, now=now)
        counts["order_lines"] = copy_rows(cur, OrderLine, (
            "id", "order_id", "sku_id", "warehouse_id", "qty", "unit_price", "qty_shipped",
            "qty_cancelled", "status"), line_rows, now=now)
        sequences_reset(cur, [SKU, StockLevel, PurchaseOrder, PurchaseOrderLine, Customer, Order, OrderLine])
        conn.commit()
    return counts


# --- Floor ------------------------------------------------------------------------------------


def _tables():
    from inventory.models import SKU, Channel, PurchaseOrder, PurchaseOrderLine, StockLevel
    from orders.models import Order, OrderLine
    from promises.models import Promise

    return {m.__name__: m._meta.db_table for m in (SKU, Channel, PurchaseOrder, PurchaseOrderLine,
                                                    StockLevel, Order, OrderLine, Promise)}


def floor_queries() -> dict[str, str]:
    """The four reads of promises.selectors.pools_load, as plain SQL over every pool."""
    from inventory.models import PurchaseOrder
    from orders.models import OrderLine
    from promises.selectors import PROMISE_FIELDS

    t = _tables()
    supply = ", ".join(f"'{s}'" for s in PurchaseOrder.SUPPLY_STATUSES)
    open_ = ", ".join(f"'{s}'" for s in OrderLine.OPEN_STATUSES)
    return {
        "stock": f"""SELECT s.sku_id, s.warehouse_id, s.on_hand, k.safety_stock, k.lead_time_days,
                    k.sell_beyond_supply FROM {t['StockLevel']} s JOIN {t['SKU']} k ON k.id = s.sku_id""",
        "po_lines": f"""SELECT l.id, l.sku_id, p.warehouse_id, l.qty_ordered, l.qty_received, l.eta, p.eta,
                    p.dock_to_stock_days, p.number FROM {t['PurchaseOrderLine']} l
                    JOIN {t['PurchaseOrder']} p ON p.id = l.purchase_order_id
                    WHERE p.status IN ({supply}) AND l.qty_ordered > l.qty_received""",
        "order_lines": f"""SELECT l.id, l.sku_id, l.warehouse_id, l.qty, l.qty_shipped, l.qty_cancelled,
                    l.status, l.order_id, o.region_id, o.placed_at, o.strategy, c.strategy, c.priority
                    FROM {t['OrderLine']} l JOIN {t['Order']} o ON o.id = l.order_id
                    JOIN {t['Channel']} c ON c.id = o.channel_id WHERE l.status IN ({open_})""",
        "promises": f"""SELECT p.line_id, {', '.join('p.' + f for f in PROMISE_FIELDS)}
                    FROM {t['Promise']} p JOIN {t['OrderLine']} l ON l.id = p.line_id
                    WHERE l.status IN ({open_})""",
    }


def floor_measure(url: str) -> dict:
    """Read what the re-promise reads, then COPY + UPDATE every promise row, with psycopg.

    Reads go through named (server-side) cursors, 5,000 rows a fetch, into Python tuples
    (dates, datetimes and JSON parsed), then are dropped. The write streams: a second
    connection COPYs one row per promise (sources serialised with json.dumps, as the app
    does) into a temp table while the promises are read again; its own cost is that pass
    minus the promise read before it. Then one UPDATE ... FROM sets every promise row.
    """
    import psycopg

    from promises.services import PROMISE_COLUMNS

    t = _tables()
    out: dict[str, float] = {}
    rows = {}
    queries = floor_queries()
    with psycopg.connect(libpq_dsn(url)) as conn:
        for name, sql in queries.items():
            with timed(f"floor read {name}", out):
                n = 0
                with conn.cursor(name=f"floor_{name}") as cur:
                    cur.execute(sql)
                    while batch := cur.fetchmany(5000):
                        n += len(batch)
                rows[name] = n
        conn.commit()
        now = datetime.now(UTC)
        cols = ", ".join(PROMISE_COLUMNS)
        with psycopg.connect(libpq_dsn(url)) as writer:
            writer.execute(f"CREATE TEMP TABLE floor_promise (LIKE {t['Promise']} INCLUDING DEFAULTS)")
            started = time.perf_counter()
            with conn.cursor(name="floor_promises_again") as cur, writer.cursor() as wcur:
                cur.execute(queries["promises"])
                with wcur.copy(f"COPY floor_promise ({cols}) FROM STDIN") as copy:
                    while batch := cur.fetchmany(5000):
                        for r in batch:
                            # (line_id, ship_date, delivery_from, delivery_to, confirmed,
                            #  supply_date, stock_qty, sources, rule, strategy,
                            #  guarantee_broken, version, ...)
                            copy.write_row((r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.dumps(r[7]),
                                            r[8], r[9], r[10], r[11], now))
            conn.commit()
            both = time.perf_counter() - started
            out["floor write COPY into temp table"] = max(both - out["floor read promises"], 0.0)
            print(f"  {'floor write COPY into temp table':<44} {out['floor write COPY into temp table']:9.2f} s"
                  f"  (read + COPY pass {both:.2f} s)")
            sets = ", ".join(f"{c} = t.{c}" for c in PROMISE_COLUMNS[1:])
            with timed("floor write UPDATE ... FROM every promise", out), writer.cursor() as cur:
                cur.execute(f"UPDATE {t['Promise']} p SET {sets} FROM floor_promise t "
                            f"WHERE p.line_id = t.line_id")
                updated = cur.rowcount
                writer.commit()
    out["read"] = sum(v for k, v in out.items() if k.startswith("floor read"))
    out["write"] = out["floor write COPY into temp table"] + out["floor write UPDATE ... FROM every promise"]
    out["total"] = out["read"] + out["write"]
    out["rows"] = rows
    out["promises_updated"] = updated
    return out


# --- Measuring the application ----------------------------------------------------------------


class Phases:
    """Wall time inside the application's own functions (wrappers, no profiler overhead)."""

    def __init__(self):
        self.acc: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, module, name: str, key: str) -> None:
        original = getattr(module, name)
        acc, calls = self.acc, self.calls

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                acc[key] += time.perf_counter() - started
                calls[key] += 1

        setattr(module, name, wrapper)

    def install(self) -> None:
        from promises import selectors, services
        from promises.models import PromiseChange

        self.wrap(services, "pools_load", "load")
        self.wrap(selectors, "_po_supply_add", "load: PO lines")
        self.wrap(selectors, "_demand_add", "load: order lines + promises")
        self.wrap(services, "pools_repromise", "repromise")
        self.wrap(services, "pools_allocate", "engine")
        self.wrap(services, "promises_write", "write")
        self.wrap(services, "_promises_copy_upsert", "write: promises COPY + upsert")
        self.wrap(PromiseChange.objects, "bulk_create", "write: promise changes")
        if hasattr(services, "_changes_copy"):
            self.wrap(services, "_changes_copy", "write: promise changes")
        from promises.ports import workflow

        self.wrap(workflow(), "promise_changes_assess", "workflow")

    def take(self) -> dict[str, float]:
        snap = dict(self.acc)
        self.acc.clear()
        self.calls.clear()
        return snap


def breakdown(total: float, p: dict[str, float]) -> dict[str, float]:
    load = p.get("load", 0.0)
    engine = p.get("engine", 0.0)
    write = p.get("write", 0.0)
    repromise = p.get("repromise", 0.0)
    return {
        "load (DB read + row construction)": load,
        "  of which stock + SKU policy": load - p.get("load: PO lines", 0) - p.get("load: order lines + promises", 0),
        "  of which PO lines": p.get("load: PO lines", 0.0),
        "  of which order lines + promises": p.get("load: order lines + promises", 0.0),
        "engine (allocate, calendars)": engine,
        "promise rows (compare, build, changes)": repromise - engine - write - p.get("workflow", 0.0),
        "write": write,
        "  of which promises COPY + upsert": p.get("write: promises COPY + upsert", 0.0),
        "  of which PromiseChange rows": p.get("write: promise changes", 0.0),
        "  of which line statuses + order sync clocks": write - p.get("write: promises COPY + upsert", 0)
        - p.get("write: promise changes", 0),
        "workflow (the port's promise_changes_assess)": p.get("workflow", 0.0),
        "locks, marks, commit (deferred FK checks)": total - load - repromise,
    }


def repromise_run(label: str, phases: Phases, profile: bool = False) -> dict:
    from promises.services import pools_repromise_all

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    load_before = load_average()
    cpu = time.process_time()
    started = time.perf_counter()
    result = pools_repromise_all(cause="nightly")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        import io
        import pstats

        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(30)
        print(f"--- cProfile of {label} (tottime; the profiler inflates Python-heavy parts) ---")
        print(buf.getvalue())
    parts = breakdown(seconds, phases.take())
    print(f"  {label:<44} {seconds:9.2f} s  ({result.lines / seconds:,.0f} lines/s; "
          f"{result.pools} pools, {result.lines} lines, {result.written} written, "
          f"{len(result.changes)} changes)", flush=True)
    print(f"      bench process CPU {cpu:.2f} s; load average before {load_before[0]:.2f}, "
          f"after {load_average()[0]:.2f}")
    for k, v in parts.items():
        print(f"      {k:<42} {v:8.2f} s")
    return {"seconds": seconds, "cpu_seconds": cpu, "pools": result.pools, "lines": result.lines,
            "written": result.written, "changes": len(result.changes), "breakdown": parts,
            "load_average": [load_before[0], load_average()[0]]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100,000 lines instead of 1,000,000")
    parser.add_argument("--profile", action="store_true", help="cProfile runs 2 and 3 (slower)")
    args = parser.parse_args(argv)
    size = SMALL if args.small else FULL

    banner(f"(a) full re-promise: {size['lines']:,} lines, {size['skus']:,} SKUs, "
           f"{size['pos'] * size['po_lines_per_po']:,} PO lines")
    machine_info = machine()  # before the run: the commit measured, the load on the machine
    setup: dict[str, float] = {}
    with timed("create + migrate database", setup):
        url = db_recreate(DB_NAME)
        migrate(url)
    django_setup(url)
    from django.db import connection
    from django.utils import timezone

    from inventory.models import PurchaseOrder
    from orders.models import OrderLine
    from promises.models import Promise

    now = timezone.now()
    with timed("load data (psycopg COPY)", setup):
        counts = dataset_load(url, size, now)
    print("   ", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    with timed("VACUUM ANALYZE", setup):
        vacuum_analyze(url)
    open_lines = OrderLine.objects.open().count()

    phases = Phases()
    phases.install()
    runs = {}
    runs["run 1: first re-promise (all inserts)"] = repromise_run("run 1: first (all inserts)", phases)
    assert Promise.objects.count() == open_lines, "every open line has a promise after run 1"
    vacuum_analyze(url)
    floors = [floor_measure(url)]
    vacuum_analyze(url)
    runs["run 2: nothing changed"] = repromise_run("run 2: nothing changed", phases, args.profile)
    vacuum_analyze(url)
    with timed("UPDATE every PO's ETA by +7 days (one SQL)", setup), connection.cursor() as cur:
        cur.execute(f"UPDATE {PurchaseOrder._meta.db_table} SET eta = eta + 7")
    vacuum_analyze(url)
    runs["run 3: all PO ETAs +7 days"] = repromise_run("run 3: all PO ETAs +7 days", phases, args.profile)
    vacuum_analyze(url)
    floors.append(floor_measure(url))
    # The floor is measured twice (after runs 1 and 3); the lower one is the floor.
    floor = min(floors, key=lambda f: f["total"])
    for i, f in enumerate(floors, start=1):
        print(f"  floor #{i}: read {f['read']:.2f} s + write {f['write']:.2f} s = {f['total']:.2f} s")

    print()
    print(f"  {'phase':<40} {'seconds':>9} {'lines/s':>10} {'written':>9} {'changes':>9} {'x floor':>8}")
    table = []
    for label, r in runs.items():
        ratio = r["seconds"] / floor["total"]
        table.append({"label": label, "seconds": r["seconds"], "cpu_seconds": r["cpu_seconds"],
                      "load_average": r["load_average"], "lines_per_s": r["lines"] / r["seconds"],
                      "written": r["written"], "changes": r["changes"], "ratio": ratio,
                      "breakdown": r["breakdown"]})
        print(f"  {label:<40} {r['seconds']:9.2f} {r['lines'] / r['seconds']:10,.0f} "
              f"{r['written']:9,} {r['changes']:9,} {ratio:8.2f}")
    print(f"  {'floor (read + COPY + UPDATE, psycopg)':<40} {floor['total']:9.2f} "
          f"{open_lines / floor['total']:10,.0f}")
    worst = max(t["ratio"] for t in table)
    verdict = "met" if worst <= TARGET_RATIO else "MISSED"
    print(f"  target: within {TARGET_RATIO:g}x the floor -> worst {worst:.2f}x: {verdict}")
    result = {"bench": "repromise", "small": args.small, "machine": machine_info, "counts": counts,
              "open_lines": open_lines, "setup": setup, "floor": floor, "floors": floors, "runs": table,
              "target_ratio": TARGET_RATIO, "worst_ratio": worst, "target_met": worst <= TARGET_RATIO}
    result_emit(result)
    return result


if __name__ == "__main__":
    main()
