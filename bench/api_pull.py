"""Benchmark: pull every order of the large demo book through the partner API's cursor.

Data: `manage.py seed_demo --size large` (100,000 orders) on its own PostgreSQL database,
bd_bench_api (dropped and recreated; `--reuse` keeps a seeded one). A key holding every
channel and `orders:read` pulls GET /api/v1/orders/?page_size=100 from a real gunicorn
server on 127.0.0.1 that the script starts and stops.

Runs, same process, same data:
  * 1 client walks the whole book (every `next` link, ~1,000 pages);
  * 8 clients (processes) walk it together: the book is cut into 8 slices at cursor
    positions and each client pulls one slice, so the book is pulled once at 8-way
    concurrency.
Each page is timed from request to parsed JSON. Queries per page are counted in-process
(Django test client, CaptureQueriesContext) on pages spread over the book.

Floor, same run: the same pages fetched with raw SQL through psycopg — the three queries a
page needs (the keyset page of orders with channel, region and customer; their lines
with SKU, warehouse and promise; their cancellations), rows fetched, no HTTP, no JSON —
by 1 and by 8 processes over the same slices.

Not part of `make test`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api_pull.py
    .venv/bin/python bench/api_pull.py --reuse              # keep the seeded database
    .venv/bin/python bench/api_pull.py --size default       # quick check on 3,000 orders
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    ROOT,
    banner,
    bench_env,
    bench_lock,
    db_recreate,
    db_url,
    libpq_dsn,
    load_average,
    machine,
    migrate,
    result_emit,
    summary,
    timed,
    vacuum_analyze,
)

DB_NAME = "bd_bench_api"
PAGE_SIZE = 100
SERVER_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "False",
    "API_THROTTLE_RATE": "100000000/min",
}

# The three queries behind one page, as the ORM sends them (api.selectors.orders_visible),
# minus the ORM: keyset page of orders with channel, region, customer; lines with SKU,
# warehouse, promise; cancellations.
SQL_PAGE_FIRST = """
SELECT o.*, ch.code, r.code, cu.email, cu.name, cu.locale, s.updated_at AS sync_updated_at
FROM orders_order o JOIN orders_ordersync s ON s.order_id = o.id
JOIN inventory_channel ch ON ch.id = o.channel_id
JOIN inventory_region r ON r.id = o.region_id JOIN orders_customer cu ON cu.id = o.customer_id
WHERE s.channel_id = ANY(%(channels)s)
ORDER BY s.updated_at, s.order_id LIMIT %(limit)s"""
SQL_PAGE_AFTER = """
SELECT o.*, ch.code, r.code, cu.email, cu.name, cu.locale, s.updated_at AS sync_updated_at
FROM orders_order o JOIN orders_ordersync s ON s.order_id = o.id
JOIN inventory_channel ch ON ch.id = o.channel_id
JOIN inventory_region r ON r.id = o.region_id JOIN orders_customer cu ON cu.id = o.customer_id
WHERE s.channel_id = ANY(%(channels)s)
  AND (s.updated_at, s.order_id) > (%(at)s, %(id)s)
ORDER BY s.updated_at, s.order_id LIMIT %(limit)s"""
SQL_LINES = """
SELECT l.*, s.code, s.preorder, w.code, w.timezone, p.*
FROM orders_orderline l JOIN inventory_sku s ON s.id = l.sku_id
JOIN inventory_warehouse w ON w.id = l.warehouse_id
LEFT JOIN promises_promise p ON p.line_id = l.id
WHERE l.order_id = ANY(%(ids)s) ORDER BY l.id"""
SQL_CANCELLATIONS = """
SELECT c.* FROM orders_cancellation c WHERE c.order_id = ANY(%(ids)s)
ORDER BY c.cancelled_at, c.id"""


# --- Set-up -----------------------------------------------------------------------------------


def manage(url: str, *args: str, **extra: str) -> str:
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=bench_env(url, **extra),
                         check=True, capture_output=True, text=True)
    return out.stdout


def database_prepare(url: str, *, size: str, reuse: bool) -> dict:
    import psycopg

    timings: dict = {}
    if reuse:
        try:
            with psycopg.connect(libpq_dsn(url)) as conn:
                orders = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
            if orders:
                bench_lock(DB_NAME)  # wait for any other run on this database
                print(f"  reusing {DB_NAME}: {orders:,} orders")
                return timings
        except psycopg.Error:
            pass
    db_recreate(DB_NAME)
    with timed("migrate", timings):
        migrate(url)
    with timed(f"seed_demo --size {size}", timings):
        manage(url, "seed_demo", "--size", size, "--no-progress")
    with timed("VACUUM ANALYZE", timings):
        vacuum_analyze(url)
    return timings


def key_create(url: str) -> str:
    import psycopg

    with psycopg.connect(libpq_dsn(url)) as conn:
        channels = [r[0] for r in conn.execute("SELECT code FROM inventory_channel ORDER BY code")]
    out = manage(url, "create_api_key", f"bench {int(time.time())}", "--channels",
                 ",".join(channels), "--scopes", "orders:read")
    return out.rstrip("\n").splitlines()[-1]


def slices_plan(url: str, clients: int) -> list[tuple[tuple | None, int]]:
    """Cut the book into `clients` runs of whole pages: (start position, pages) each."""
    import psycopg

    with psycopg.connect(libpq_dsn(url)) as conn:
        keys = conn.execute("SELECT updated_at, order_id FROM orders_ordersync "
                            "ORDER BY updated_at, order_id").fetchall()
    pages = -(-len(keys) // PAGE_SIZE)
    per_client = -(-pages // clients)
    plan = []
    for c in range(clients):
        first_page = c * per_client
        if first_page >= pages:
            break
        start = None if first_page == 0 else keys[first_page * PAGE_SIZE - 1]
        plan.append((start, min(per_client, pages - first_page)))
    return plan


# --- The API server ---------------------------------------------------------------------------


class Server:
    """gunicorn serving config.wsgi on 127.0.0.1:port, started and stopped by the bench."""

    def __init__(self, url: str, port: int, workers: int, key: str):
        self.url, self.port, self.workers, self.key = url, port, workers, key
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        log = open(ROOT / "bench" / "out" / "api_pull_gunicorn.log", "w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--worker-class", "sync", "--keep-alive", "30",
             "--timeout", "120", "--log-level", "warning"],
            cwd=ROOT, env=bench_env(self.url, **SERVER_ENV), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        import requests

        headers = {"Authorization": f"Api-Key {self.key}"}
        probe = f"{self.base}/api/v1/orders/?page_size=1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"gunicorn exited ({self.proc.returncode}); see bench/out/api_pull_gunicorn.log")
            try:
                r = requests.get(probe, headers=headers, timeout=30)
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if r.status_code != 200:
                sys.exit(f"gunicorn answered {r.status_code}: {r.text[:300]}")
            # Workers import lazily: warm every one (fresh connections) before measuring.
            for _ in range(self.workers * 4):
                requests.get(probe, headers=headers, timeout=60)
            return
        sys.exit("gunicorn did not come up within 120 s")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --- Clients ----------------------------------------------------------------------------------


def _api_client(args) -> dict:
    """Pull `pages` pages from `start` (None: the beginning); time each page."""
    base, key, start, pages, barrier = args
    import requests

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from api.pagination import cursor_token  # the token format, without django.setup()

    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    url = f"{base}/api/v1/orders/?page_size={PAGE_SIZE}"
    if start is not None:
        url += f"&cursor={cursor_token(start)}"
    latencies, rows = [], 0
    barrier.wait()
    started = time.perf_counter()
    for _ in range(pages):
        t0 = time.perf_counter()
        response = session.get(url, timeout=120)
        body = response.json()
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {body}")
        rows += len(body["results"])
        url = body["next"]
        if url is None:
            break
    return {"latencies": latencies, "rows": rows, "seconds": time.perf_counter() - started}


def _floor_client(args) -> dict:
    """The same pages with raw SQL: three queries per page, rows fetched."""
    dsn, channels, start, pages, barrier = args
    import psycopg

    latencies, rows = [], 0
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT 1")
        barrier.wait()
        started = time.perf_counter()
        position = start
        for _ in range(pages):
            t0 = time.perf_counter()
            if position is None:
                page = conn.execute(SQL_PAGE_FIRST, {"channels": channels, "limit": PAGE_SIZE + 1}).fetchall()
            else:
                page = conn.execute(SQL_PAGE_AFTER, {"channels": channels, "limit": PAGE_SIZE + 1,
                                                     "at": position[0], "id": position[1]}).fetchall()
            more = len(page) > PAGE_SIZE
            page = page[:PAGE_SIZE]
            ids = [r[0] for r in page]
            conn.execute(SQL_LINES, {"ids": ids}).fetchall()
            conn.execute(SQL_CANCELLATIONS, {"ids": ids}).fetchall()
            conn.rollback()  # read-only: end the implicit transaction, as autocommit requests do
            latencies.append(time.perf_counter() - t0)
            rows += len(page)
            if not more or not page:
                break
            position = _position(page[-1])
        return {"latencies": latencies, "rows": rows, "seconds": time.perf_counter() - started}


def _position(row) -> tuple:
    # orders_order.* starts with id; the page query ends with the sync clock.
    return (row[-1], row[0])


def walk(kind: str, client, jobs_for, plan) -> dict:
    """Run one client process per slice of the plan, all at once; aggregate the pages."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(len(plan))
        jobs = [jobs_for(start, pages, barrier) for start, pages in plan]
        with ctx.Pool(len(plan)) as pool:
            results = pool.map(client, jobs)
    latencies = [lat for r in results for lat in r["latencies"]]
    busiest = max(r["seconds"] for r in results)
    stats = summary(latencies)
    return {
        "kind": kind, "clients": len(plan), "pages": len(latencies),
        "rows": sum(r["rows"] for r in results), "seconds": busiest,
        "pages_per_s": len(latencies) / busiest, "p50_ms": stats["p50"] * 1000,
        "p95_ms": stats["p95"] * 1000, "max_ms": stats["max"] * 1000,
    }


# --- Queries per page -------------------------------------------------------------------------


def queries_per_page(url: str, key: str, samples: int = 20) -> dict:
    """Count the SQL queries of pages spread over the book, in-process (same code path)."""
    code = f"""
import json, sys
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_AUTHORIZATION="Api-Key {key}")
url = "/api/v1/orders/?page_size={PAGE_SIZE}"
client.get(url)  # the once-a-minute last-used write happens here, not in a sample
counts, page = [], 0
while url and len(counts) < {samples}:
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).json()
    counts.append(len(ctx.captured_queries))
    url = body["next"]
    page += 1
    # Skip ahead so the samples cover the whole book, not its first pages only.
    for _ in range(40):
        if not url:
            break
        url = client.get(url).json()["next"]
print(json.dumps(counts))
"""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT,
                         env=bench_env(url, **{**SERVER_ENV, "ALLOWED_HOSTS": "testserver"}),
                         check=True, capture_output=True, text=True)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    return {"samples": len(counts), "min": min(counts), "max": max(counts), "counts": counts}


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--reuse", action="store_true", help="Keep an already seeded database.")
    parser.add_argument("--clients", default="1,8", help="Concurrency levels (default 1,8).")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn sync workers (default: 2 x CPUs + 1).")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    url = db_url(DB_NAME)

    banner(f"API pulls: {args.size} demo book, pages of {PAGE_SIZE}, gunicorn x{workers}")
    setup = database_prepare(url, size=args.size, reuse=args.reuse)
    key = key_create(url)
    with timed("queries per page (in-process)"):
        qpp = queries_per_page(url, key)
    print(f"  queries per page: {qpp['min']}..{qpp['max']} over {qpp['samples']} pages spread "
          "over the book")

    import psycopg

    dsn = libpq_dsn(url)
    with psycopg.connect(dsn) as conn:
        channels = [r[0] for r in conn.execute("SELECT id FROM inventory_channel")]
    runs = []
    load_before = load_average()

    def floor_jobs(start, pages, barrier):
        return (dsn, channels, start, pages, barrier)

    # Warm the buffers once (both paths read the same rows) before timing anything.
    walk("warm-up", _floor_client, floor_jobs, slices_plan(url, 1))
    for clients in levels:
        floor = walk("floor (raw SQL)", _floor_client, floor_jobs, slices_plan(url, clients))
        runs.append(floor)
        print(_line(floor))
    with Server(url, args.port, workers, key) as server:
        def api_jobs(start, pages, barrier):
            return (server.base, key, start, pages, barrier)

        for clients in levels:
            api = walk("API (gunicorn)", _api_client, api_jobs, slices_plan(url, clients))
            runs.append(api)
            print(_line(api))

    floors = {r["clients"]: r for r in runs if r["kind"].startswith("floor")}
    print("\n| clients | API pages/s | floor pages/s | ratio | API p95 page | floor p95 page | queries/page |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        if not r["kind"].startswith("API"):
            continue
        f = floors[r["clients"]]
        print(f"| {r['clients']} | {r['pages_per_s']:.1f} | {f['pages_per_s']:.1f} | "
              f"{f['pages_per_s'] / r['pages_per_s']:.1f}x slower | {r['p95_ms']:.0f} ms | "
              f"{f['p95_ms']:.1f} ms | {qpp['min']}..{qpp['max']} |")
    result_emit({"bench": "api_pull", "size": args.size, "page_size": PAGE_SIZE,
                 "gunicorn_workers": workers, "setup": setup, "queries_per_page": qpp,
                 "runs": runs, "load_before": load_before, "load_after": load_average(),
                 "machine": machine()})


def _line(r: dict) -> str:
    return (f"  {r['kind']:<16} {r['clients']} client(s): {r['pages']:>5} pages, {r['rows']:>7,} rows "
            f"in {r['seconds']:7.1f} s = {r['pages_per_s']:7.1f} pages/s; page p50 "
            f"{r['p50_ms']:7.1f} ms, p95 {r['p95_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
