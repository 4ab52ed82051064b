"""Benchmark (c): order intake under 16 concurrent clients, beside pgbench on the same server.

Data: 200 SKUs stocked in the 3 demo warehouses (600 pools), most with a little stock,
30 confirmed POs of 20 lines, a book of 5,000 open lines already promised; 30 SKUs carry a
cap (at most 40 units on backorder, promises within 60 days); some SKUs sell from stock
only, some beyond confirmed supply.

16 client processes (multiprocessing, each with its own django.setup() and connection)
place orders of 1-3 lines through promises.intake.order_place for ~20 s, with SKUs drawn
from a skewed distribution so that pools contend. Afterwards the bench checks: no supply
source promised beyond its quantity (sum of Promise.sources qty per stock pool and per PO
line <= supply), every open line promised, no cap's backorder units above its limit.

Runs: one process for half the time (the single-process figure); then the 16 processes;
then, on a copy of the database as the 16 found it, as many processes as the machine has
cores for the same time, checked the same way: what the same code does when the clients do
not outnumber the cores. Each run reports the clients' CPU time per attempt, and, when the
server is on this machine, PostgreSQL's (its processes' share of the cores, read from
/proc, in the middle of the run) and how busy the machine was.

Floor, same run: pgbench on a scratch database, a custom script of one single-row UPDATE
per transaction, 16 clients, 2 threads, 10 s. django-q2 runs on Redis, as in production
(bench.common.intake_broker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/intake.py [--small]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    banner,
    copy_rows,
    cpu_during,
    cpu_ms_per,
    db_copy,
    db_recreate,
    db_url,
    django_setup,
    intake_broker,
    libpq_dsn,
    machine,
    migrate,
    ms_or_na,
    postgres_process,
    redis_flush,
    result_emit,
    sequences_reset,
    server_is_local,
    summary,
    timed,
    vacuum_analyze,
)

DB_NAME = "bd_bench_intake"
#: The database as the 16-process run found it, for the run with one client per core.
CORES_DB_NAME = "bd_bench_intake_cores"
PGBENCH_DB = "bd_bench_pgbench"
N_SKUS = 200
BOOK_LINES = 5_000
CAPPED_SKUS = 30
SEED = 11
# The peer (docs/design.md "Performance targets"): Saleor 3.23 allocate_stocks on this machine, allocation only, without HTTP.
SALEOR = {"one_process": 44.0, "many_processes": 75.0, "pgbench_tps": 9800.0}


# --- Data -------------------------------------------------------------------------------------


def dataset_load(url: str, now) -> dict:
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
    supplier = Supplier.objects.create(code="bench", name="Bench supplier", lead_time_days=45)
    wh_ids = sorted(w.id for w in warehouses.values())
    regions = {r.code: r for r in Region.objects.all()}
    today = timezone.localdate()
    counts = {}
    with psycopg.connect(libpq_dsn(url)) as conn, conn.cursor() as cur:
        sku_rows = []
        for i in range(1, N_SKUS + 1):
            kind = rng.random()
            backorder_allowed = kind >= 0.10           # 10 % sell from stock only
            sell_beyond = 0.10 <= kind < 0.20          # 10 % sell beyond confirmed supply
            sku_rows.append((i, f"S-{i:04d}", f"Intake item {i}", backorder_allowed, sell_beyond,
                             rng.choice((0, 0, 0, 2)), 45, supplier.id))
        counts["skus"] = copy_rows(cur, SKU, ("id", "code", "name", "backorder_allowed", "sell_beyond_supply",
                                              "safety_stock", "lead_time_days", "supplier_id"), sku_rows, now=now)
        stock, sid = [], 0
        for sku in range(1, N_SKUS + 1):
            for wh in wh_ids:
                sid += 1
                stock.append((sid, sku, wh, rng.choice((0, 5, 10, 20, 40))))
        counts["stock_levels"] = copy_rows(cur, StockLevel, ("id", "sku_id", "warehouse_id", "on_hand"), stock, now=now)
        pos, pols, pl = [], [], 0
        for n in range(1, 31):
            wh = wh_ids[n % 3]
            pos.append((n, f"PO-I-{n:03d}", supplier.id, wh, "confirmed", today + timedelta(days=rng.randint(5, 60)), 1))
            for sku in rng.sample(range(1, N_SKUS + 1), 20):
                pl += 1
                pols.append((pl, n, sku, rng.randint(20, 80), 0))
        counts["purchase_orders"] = copy_rows(cur, PurchaseOrder, (
            "id", "number", "supplier_id", "warehouse_id", "status", "eta", "dock_to_stock_days"), pos, now=now)
        counts["po_lines"] = copy_rows(cur, PurchaseOrderLine, (
            "id", "purchase_order_id", "sku_id", "qty_ordered", "qty_received"), pols, now=now)
        copy_rows(cur, Customer, ("id", "email", "name", "region_id", "locale"),
                  [(i, f"book.{i}@example.com", f"Book customer {i}", regions["US"].id, "en_US")
                   for i in range(1, 1001)], now=now)
        chans = list(Channel.objects.select_related("region"))
        region_wh = {code: r.default_warehouse_id for code, r in regions.items()}
        orders, lines = [], []
        for n in range(1, BOOK_LINES + 1):
            c = rng.choice(chans)
            orders.append((n, c.id, c.region_id, f"BOOK-{n:06d}", rng.randint(1, 1000),
                           now - timedelta(seconds=rng.randint(600, 20 * 86400)),
                           {"US": "USD", "EU": "EUR", "UK": "GBP"}[c.region.code], "23.95", "4.95", "", False, "open"))
            lines.append((n, n, _sku_pick(rng), region_wh[c.region.code], 1, "19.00", 0, 0, "backordered"))
        counts["book_orders"] = copy_rows(cur, Order, (
            "id", "channel_id", "region_id", "external_id", "customer_id", "placed_at", "currency",
            "paid_amount", "shipping_amount", "strategy", "essential_date", "status"), orders, now=now)
        counts["book_lines"] = copy_rows(cur, OrderLine, (
            "id", "order_id", "sku_id", "warehouse_id", "qty", "unit_price", "qty_shipped",
            "qty_cancelled", "status"), lines, now=now)
        sequences_reset(cur, [SKU, StockLevel, PurchaseOrder, PurchaseOrderLine, Customer, Order, OrderLine])
        conn.commit()
    counts["capped_skus"] = rng.sample(range(1, N_SKUS + 1), CAPPED_SKUS)
    return counts


def caps_create(sku_ids) -> None:
    """Caps leave room for 40 more units on backorder than the promised book holds now."""
    from inventory.models import BackorderCap
    from promises.selectors import open_backorder_qty

    for sku_id in sku_ids:
        BackorderCap.objects.create(sku_id=sku_id, max_backorder_qty=open_backorder_qty(sku_id=sku_id) + 40,
                                    max_promise_days=60, note="bench cap")


def _sku_pick(rng) -> int:
    """Skewed: the first SKUs are the best sellers, so concurrent orders meet in their pools."""
    return 1 + int(N_SKUS * rng.random() ** 2)


# --- Clients ----------------------------------------------------------------------------------


def client_run(index: int, url: str, ready, start, duration: float, out, tag: str = "") -> None:
    """One client process: set Django up, wait for the start, place orders until the deadline."""
    django_setup(url, **intake_broker())
    from core.errors import BusinessRefusal, InvalidInput
    from inventory.models import Channel
    from promises.intake import (
        CustomerInput,
        LineInput,
        OrderInput,
        available_to_promise,
        order_place,
    )

    rng = random.Random(1000 + index)
    channels = [(c.code, c.region.code) for c in Channel.objects.select_related("region")]
    currency = {"US": "USD", "EU": "EUR", "UK": "GBP"}
    available_to_promise(sku="S-0001", channel=channels[0][0], region=channels[0][1], qty=1)  # warm up
    from django.db import connection

    connection.close()  # the run opens a fresh connection, as a web worker would have one
    ready.put(index)
    start.wait()
    t0, cpu0 = time.time(), time.process_time()
    deadline = t0 + duration
    created = 0
    refusals: Counter = Counter()
    errors: Counter = Counter()
    latencies = []
    n = 0
    while time.time() < deadline:
        n += 1
        code, region = rng.choice(channels)
        skus = set()
        for _ in range(rng.choice((1, 1, 2, 3))):
            skus.add(_sku_pick(rng))
        data = OrderInput(
            external_id=f"I{tag}{index:02d}-{n:06d}", channel=code, region=region, currency=currency[region],
            customer=CustomerInput(email=f"c{index}.{n % 300}@bench.example.com", name=f"Client {index}"),
            lines=tuple(LineInput(sku=f"S-{s:04d}", qty=rng.choice((1, 1, 2)), unit_price=Decimal("19.00"))
                        for s in sorted(skus)),
        )
        started = time.perf_counter()
        try:
            _order, was_created = order_place(data=data)
            created += was_created
        except BusinessRefusal as exc:
            refusals[exc.code] += 1
        except InvalidInput as exc:
            errors[f"invalid:{exc.errors}"] += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors[type(exc).__name__ + ": " + str(exc).splitlines()[0][:120]] += 1
            from django.db import connection as conn

            conn.close()
        latencies.append(time.perf_counter() - started)
    out.put({"index": index, "t0": t0, "t_end": time.time(), "cpu_s": time.process_time() - cpu0,
             "attempts": n, "created": created,
             "refusals": dict(refusals), "errors": dict(errors), "latencies": latencies})


def clients_run(url: str, clients: int, duration: float, tag: str = "") -> dict:
    ctx = mp.get_context("spawn")
    start, ready, out = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=client_run, args=(i, url, ready, start, duration, out, tag))
             for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:  # every client has set Django up and warmed up
        ready.get(timeout=300)
    started = time.time()
    start.set()
    cpu = cpu_during(duration, {"postgres": postgres_process} if server_is_local() else {})
    results = [out.get(timeout=duration + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    ended = max(r["t_end"] for r in results)
    window = ended - started
    created = sum(r["created"] for r in results)
    attempts = sum(r["attempts"] for r in results)
    refusals: Counter = Counter()
    errors: Counter = Counter()
    latencies = []
    for r in results:
        refusals.update(r["refusals"])
        errors.update(r["errors"])
        latencies += r["latencies"]
    client_cpu = sum(r["cpu_s"] for r in results)
    return {"clients": clients, "window_s": window, "attempts": attempts, "created": created,
            "refused": sum(refusals.values()), "refusals": dict(refusals), "errors": dict(errors),
            "orders_per_s": created / window, "attempts_per_s": attempts / window,
            "latency": summary(latencies) if latencies else None,
            # CPU per attempt: the clients' own (Python: Django, intake), and PostgreSQL's,
            # from its share of the cores in the middle of the window times its length.
            "client_cpu_ms_per_attempt": client_cpu / attempts * 1000 if attempts else None,
            "postgres_cores": cpu.get("postgres"), "machine_busy": cpu["machine_busy"],
            "postgres_cpu_ms_per_attempt": cpu_ms_per(cpu.get("postgres"), window, attempts)}


# --- Checks -----------------------------------------------------------------------------------


def checks(url: str) -> dict:
    """Oversell per supply source, unpromised open lines, cap breaches."""
    from django.db import connection
    from django.utils import timezone

    from inventory.models import SKU, BackorderCap, PurchaseOrderLine, StockLevel
    from orders.models import OrderLine
    from promises.models import Promise
    from promises.selectors import open_backorder_qty

    open_ = ", ".join(f"'{s}'" for s in OrderLine.OPEN_STATUSES)
    pr, ol = Promise._meta.db_table, OrderLine._meta.db_table
    src = f"""SELECT l.sku_id, l.warehouse_id, e->>'kind' AS kind, (e->>'po_line')::bigint AS po_line,
                     (e->>'qty')::int AS qty
              FROM {pr} p JOIN {ol} l ON l.id = p.line_id CROSS JOIN LATERAL jsonb_array_elements(p.sources) e
              WHERE l.status IN ({open_})"""
    with connection.cursor() as cur:
        cur.execute(f"""WITH src AS ({src})
            SELECT s.sku_id, s.warehouse_id, s.q, GREATEST(st.on_hand - k.safety_stock, 0)
            FROM (SELECT sku_id, warehouse_id, sum(qty) q FROM src WHERE kind = 'stock' GROUP BY 1, 2) s
            LEFT JOIN {StockLevel._meta.db_table} st ON st.sku_id = s.sku_id AND st.warehouse_id = s.warehouse_id
            JOIN {SKU._meta.db_table} k ON k.id = s.sku_id
            WHERE st.id IS NULL OR s.q > GREATEST(st.on_hand - k.safety_stock, 0)""")
        stock_over = cur.fetchall()
        cur.execute(f"""WITH src AS ({src})
            SELECT s.po_line, s.q, pl.qty_ordered - pl.qty_received
            FROM (SELECT po_line, sum(qty) q FROM src WHERE kind = 'purchase_order' GROUP BY 1) s
            LEFT JOIN {PurchaseOrderLine._meta.db_table} pl ON pl.id = s.po_line
            WHERE pl.id IS NULL OR s.q > pl.qty_ordered - pl.qty_received""")
        po_over = cur.fetchall()
        cur.execute(f"""SELECT count(*) FROM {ol} l LEFT JOIN {pr} p ON p.line_id = l.id
                        WHERE l.status IN ({open_}) AND p.line_id IS NULL""")
        unpromised = cur.fetchone()[0]
        cur.execute(f"""SELECT count(*), COALESCE(sum(q), 0) FROM (SELECT sum(qty) q FROM ({src}) s
                        GROUP BY sku_id, warehouse_id, kind, po_line) t""")
        sources, units = cur.fetchone()
    today = timezone.localdate()
    cap_qty_breaches, horizon_lines = [], 0
    for cap in BackorderCap.objects.filter(active=True):
        if cap.max_backorder_qty is not None:
            qty = open_backorder_qty(sku_id=cap.sku_id, channel_id=cap.channel_id, region_id=cap.region_id)
            if qty > cap.max_backorder_qty:
                cap_qty_breaches.append((cap.pk, cap.sku_id, qty, cap.max_backorder_qty))
        if cap.max_promise_days is not None:
            lines = OrderLine.objects.open().filter(promise__ship_date__gt=today + timedelta(days=cap.max_promise_days))
            if cap.sku_id:
                lines = lines.filter(sku_id=cap.sku_id)
            if cap.channel_id:
                lines = lines.filter(order__channel_id=cap.channel_id)
            if cap.region_id:
                lines = lines.filter(order__region_id=cap.region_id)
            horizon_lines += lines.filter(order__external_id__startswith="I").count()
    return {"supply_sources_used": sources, "units_promised_from_supply": units,
            "stock_oversold_pools": len(stock_over), "po_oversold_lines": len(po_over),
            "oversell_examples": (stock_over + po_over)[:5], "open_lines_without_promise": unpromised,
            "cap_qty_breaches": len(cap_qty_breaches), "cap_breach_examples": cap_qty_breaches[:5],
            "new_lines_beyond_cap_horizon": horizon_lines}


# --- pgbench ----------------------------------------------------------------------------------


def pgbench_run(clients: int = 16, threads: int = 2, seconds: int = 10) -> dict:
    """pgbench's single-row UPDATE transactions on a scratch database (scale 1: 100,000 rows)."""
    if not shutil.which("pgbench"):
        return {"error": "pgbench not found"}
    db_recreate(PGBENCH_DB)
    parts = urlsplit(db_url(PGBENCH_DB))
    env = dict(os.environ)
    conn_args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                 "-U", parts.username or "postgres"]
    if parts.password:
        env["PGPASSWORD"] = parts.password
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", *conn_args, PGBENCH_DB], env=env, check=True,
                   capture_output=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("\\set id random(1, 100000)\n"
                     "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :id;\n")
    try:
        run = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(threads), "-T", str(seconds),
                              "-f", script.name, *conn_args, PGBENCH_DB], env=env, check=True,
                             capture_output=True, text=True)
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", run.stdout)
    return {"tps": float(match.group(1)) if match else None,
            "latency_ms": float(latency.group(1)) if latency else None,
            "clients": clients, "threads": threads, "seconds": seconds}


def _pct(value) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


@contextmanager
def _database(name: str):
    """Point this process's Django connection at database `name` for the block."""
    from django.db import connection

    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="5 s instead of 20 s")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    duration = args.seconds or (5.0 if args.small else 20.0)

    banner(f"(c) intake: {args.clients} client processes for {duration:g} s, then pgbench")
    machine_info = machine()  # before the run: the commit measured, the load on the machine
    setup: dict[str, float] = {}
    with timed("create + migrate database", setup):
        url = db_recreate(DB_NAME)
        migrate(url)
    redis_flush(intake_broker()["REDIS_URL"])
    django_setup(url, **intake_broker())
    from django.db import connection
    from django.utils import timezone

    from promises.services import pools_repromise_all

    with timed("load data + promise the book", setup):
        counts = dataset_load(url, timezone.now())
        pools_repromise_all(cause="nightly")
        caps_create(counts["capped_skus"])
    vacuum_analyze(url)
    connection.close()

    with timed("intake, 1 process (the single-process figure)", setup):
        single = clients_run(url, 1, duration / 2, tag="S")
    print(f"    1 process: {single['created']:,} orders in {single['window_s']:.1f} s = "
          f"{single['orders_per_s']:.1f} orders/s ({single['attempts_per_s']:.1f} attempts/s, "
          f"p50 {single['latency']['p50'] * 1000:.1f} ms)" if single["latency"] else "    1 process: no orders")
    with timed("copy the database as the next run finds it", setup):
        cores_url = db_copy(DB_NAME, CORES_DB_NAME)
    with timed(f"intake, {args.clients} processes", setup):
        run = clients_run(url, args.clients, duration)
    with timed("checks (oversell, caps)", setup):
        check = checks(url)
    # The same run from the same data with as many clients as cores: what the code costs
    # when the clients do not outnumber the cores (docs/performance.md, (c)).
    cores = os.cpu_count() or 1
    with timed(f"intake, {cores} processes (one per core), from the same data", setup):
        per_core = clients_run(cores_url, cores, duration, tag="C")
    with timed("checks of that run", setup), _database(CORES_DB_NAME):
        check_cores = checks(cores_url)
    with timed("pgbench -c 16 -j 2 -T 10, one UPDATE per transaction", setup):
        pg = pgbench_run()

    ok = all(c["stock_oversold_pools"] == 0 and c["po_oversold_lines"] == 0 and c["cap_qty_breaches"] == 0
             and c["open_lines_without_promise"] == 0 for c in (check, check_cores))
    tps = pg.get("tps")
    ratio = run["orders_per_s"] / tps if tps else None
    print()
    print(f"  orders placed         {run['created']:>8,} in {run['window_s']:.1f} s = {run['orders_per_s']:8.1f} orders/s "
          f"({run['attempts_per_s']:.1f} attempts/s; {run['refused']:,} refused: {run['refusals']})")
    if run["errors"]:
        print(f"  errors                {run['errors']}")
    lat = run["latency"]
    if lat:
        print(f"  order_place latency   p50 {lat['p50'] * 1000:.1f} ms, p95 {lat['p95'] * 1000:.1f} ms, max {lat['max'] * 1000:.1f} ms")
    for label, r in ((f"{args.clients} processes", run), (f"{cores} processes", per_core), ("1 process", single)):
        print(f"  {label:<13} {r['orders_per_s']:6.1f} orders/s, {r['attempts_per_s']:6.1f} attempts/s; "
              f"CPU per attempt: clients {ms_or_na(r['client_cpu_ms_per_attempt'])}, PostgreSQL "
              f"{ms_or_na(r['postgres_cpu_ms_per_attempt'])}; machine busy {_pct(r['machine_busy'])}")
    if tps:
        print(f"  pgbench single-row UPDATE: {tps:,.0f} TPS -> orders/s = {ratio * 100:.2f} % of pgbench "
              f"(Saleor allocate_stocks: 0.4-0.8 %, {SALEOR['many_processes']:g}/s)")
    print(f"  run with {cores} processes: oversold {check_cores['stock_oversold_pools'] + check_cores['po_oversold_lines']}, "
          f"cap breaches {check_cores['cap_qty_breaches']}, open lines without promise "
          f"{check_cores['open_lines_without_promise']}")
    print(f"  oversold stock pools {check['stock_oversold_pools']}, oversold PO lines {check['po_oversold_lines']}, "
          f"cap breaches {check['cap_qty_breaches']}, open lines without promise {check['open_lines_without_promise']}, "
          f"new lines beyond a cap horizon {check['new_lines_beyond_cap_horizon']}  -> {'OK' if ok else 'FAILED'}")
    result = {"bench": "intake", "small": args.small, "machine": machine_info, "counts": counts, "setup": setup,
              "run": run, "single_process": single, "checks": check,
              "per_core": per_core, "checks_per_core": check_cores, "pgbench": pg, "ratio_to_pgbench": ratio, "saleor": SALEOR,
              "vs_saleor_many": run["orders_per_s"] / SALEOR["many_processes"], "correct": ok}
    result_emit(result)
    return result


if __name__ == "__main__":
    main()
