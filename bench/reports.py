"""Benchmark: the three finance reports over the large demo book, against their selectors.

Data: `manage.py seed_demo --size large` (100,000 orders) on its own PostgreSQL database,
bd_bench_reports (dropped and recreated; `--reuse` keeps a seeded one).

For each report (exposure, refunds, performance), over the whole book (a year up to today
plus the promises ahead), same process, same data, warm buffers:
  * floor: the report's selectors alone (`reports.documents.report_build`: every query,
    rows fetched, no rendering);
  * CSV, XLSX and PDF: the same build plus rendering.
Each is run --repeat times; the median is reported with its ratio to the floor, and the
queries each report issues.

Not part of `make test`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/reports.py
    .venv/bin/python bench/reports.py --reuse             # keep the seeded database
    .venv/bin/python bench/reports.py --size default --db-name bd_bench_reports_small
                                                          # 3,000 orders: memory flat?
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    ROOT,
    banner,
    bench_env,
    db_recreate,
    db_url,
    django_setup,
    libpq_dsn,
    machine,
    migrate,
    result_emit,
    timed,
    vacuum_analyze,
)

DB_NAME = "bd_bench_reports"
KINDS = ("exposure", "refunds", "performance")


def manage(url: str, *args: str) -> str:
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=bench_env(url),
                         check=True, capture_output=True, text=True)
    return out.stdout


def database_prepare(url: str, name: str, *, size: str, reuse: bool) -> dict:
    import psycopg

    timings: dict = {}
    if reuse:
        try:
            with psycopg.connect(libpq_dsn(url)) as conn:
                orders = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
            if orders:
                print(f"  reusing {name}: {orders:,} orders")
                return timings
        except psycopg.Error:
            pass
    db_recreate(name)
    with timed("migrate", timings):
        migrate(url)
    with timed(f"seed_demo --size {size}", timings):
        manage(url, "seed_demo", "--size", size, "--no-progress")
    with timed("VACUUM ANALYZE", timings):
        vacuum_analyze(url)
    return timings


def measure(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--reuse", action="store_true", help="Keep an already seeded database.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db-name", default=DB_NAME, help="Database to (re)create and use.")
    args = parser.parse_args()
    url = db_url(args.db_name)

    banner(f"Finance reports: {args.size} demo book")
    setup = database_prepare(url, args.db_name, size=args.size, reuse=args.reuse)
    django_setup(url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from orders.models import Order
    from reports.documents import report_build
    from reports.rendering import report_render
    from reports.selectors import ReportFilter

    today = timezone.localdate()
    f = ReportFilter(start=today - timedelta(days=365), end=today + timedelta(days=120))
    orders = Order.objects.count()
    print(f"  {orders:,} orders; range {f.start}..{f.end}")
    runs = []
    for kind in KINDS:
        report_build(kind=kind, f=f)  # warm the buffers
        with CaptureQueriesContext(connection) as captured:
            report = report_build(kind=kind, f=f)
        floor = measure(lambda kind=kind: report_build(kind=kind, f=f), args.repeat)
        row = {"kind": kind, "queries": len(captured), "floor_s": floor,
               "rows": sum(len(t.rows) for t in report.tables)}
        for fmt in ("csv", "xlsx", "pdf"):
            size = len(report_render(report, fmt))
            row[f"{fmt}_s"] = measure(
                lambda kind=kind, fmt=fmt: report_render(report_build(kind=kind, f=f), fmt), args.repeat)
            row[f"{fmt}_bytes"] = size
            # Peak Python memory of one build and render: flat in the number of orders when
            # the figures are aggregated in SQL (compare --size default with large).
            tracemalloc.start()
            report_render(report_build(kind=kind, f=f), fmt)
            row[f"{fmt}_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        runs.append(row)
        print(f"  {kind:<12} {row['queries']:>2} queries; selectors {floor:6.2f} s, CSV "
              f"{row['csv_s']:6.2f} s, XLSX {row['xlsx_s']:6.2f} s, PDF {row['pdf_s']:6.2f} s; peak "
              f"{row['csv_peak_mb']:.1f} / {row['xlsx_peak_mb']:.1f} / {row['pdf_peak_mb']:.1f} MB")

    print("\n| report | queries | selectors (floor) | CSV | ratio | XLSX | ratio | PDF | ratio | peak MB csv/xlsx/pdf |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['kind']} | {r['queries']} | {r['floor_s']:.2f} s | {r['csv_s']:.2f} s | "
              f"{r['csv_s'] / r['floor_s']:.2f}x | {r['xlsx_s']:.2f} s | {r['xlsx_s'] / r['floor_s']:.2f}x | "
              f"{r['pdf_s']:.2f} s | {r['pdf_s'] / r['floor_s']:.2f}x | "
              f"{r['csv_peak_mb']:.1f} / {r['xlsx_peak_mb']:.1f} / {r['pdf_peak_mb']:.1f} |")
    result_emit({"bench": "reports", "size": args.size, "orders": orders, "setup": setup,
                 "runs": runs, "machine": machine()})


if __name__ == "__main__":
    main()
