"""Benchmark: pull every order of the large demo book through the partner API's cursor.

Data: `manage.py seed_demo --size large` (100,000 orders) on its own PostgreSQL database,
bd_bench_api (dropped and recreated; `--reuse` keeps a seeded one). A key holding every
channel and `orders:read` pulls GET /api/v1/orders/?page_size=100 from a real gunicorn
server on 127.0.0.1 that the script starts and stops, with the options of the Procfile's
`web:` line (bench/http_load.py reads them) except --max-requests (no restarts mid-walk),
and with Redis as production has it (the key's record and rate counts: two round trips a page).

Runs, same process, same data:
  * 1 client walks the whole book (every `next` link, ~1,000 pages);
  * 8 clients (processes) walk it together: the book is cut into 8 slices at cursor
    positions and each client pulls one slice, so the book is pulled once at 8-way
    concurrency.
Each page is timed from request to parsed JSON (http.client, one keep-alive connection per
client). Queries per page are counted in-process (Django test client,
CaptureQueriesContext) on 20 pages spread over the book; --profile also times a page's
parts in-process and writes a cProfile of 50 pages.

Floor, same run: the same pages fetched with raw SQL through psycopg — the three queries a
page needs (the keyset page of orders with channel, region and customer; their lines
with SKU, warehouse and promise; their cancellations), rows fetched, no HTTP, no JSON —
by 1 and by 8 processes over the same slices.

Not part of `make test`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api_pull.py
    .venv/bin/python bench/api_pull.py --reuse              # keep the seeded database
    .venv/bin/python bench/api_pull.py --small              # quick check on 3,000 orders (--size default)
    .venv/bin/python bench/api_pull.py --reuse --pages 200  # only the book's last 200 pages
    .venv/bin/python bench/api_pull.py --reuse --profile-only  # where a page's time goes
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

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
from bench.http_load import HOST, SERVER_ENV, Gunicorn, production_options, served_env  # noqa: E402

DB_NAME = "bd_bench_api"
PAGE_SIZE = 100
#: A page through the API within this many times the raw-SQL floor of the same run.
TARGET_RATIO = 3.0

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


def slices_plan(url: str, clients: int, last_pages: int | None = None) -> list[tuple[tuple | None, int]]:
    """Cut the book (or its last `last_pages` pages) into `clients` runs of whole pages:
    (start position, pages) each."""
    import psycopg

    with psycopg.connect(libpq_dsn(url)) as conn:
        keys = conn.execute("SELECT updated_at, order_id FROM orders_ordersync "
                            "ORDER BY updated_at, order_id").fetchall()
    skip = 0 if not last_pages else max(0, len(keys) - last_pages * PAGE_SIZE)
    pages = -(-(len(keys) - skip) // PAGE_SIZE)
    per_client = -(-pages // clients)
    plan = []
    for c in range(clients):
        first_page = c * per_client
        if first_page >= pages:
            break
        at = skip + first_page * PAGE_SIZE
        start = None if at == 0 else keys[at - 1]
        plan.append((start, min(per_client, pages - first_page)))
    return plan


def sample_links(url: str, samples: int) -> list[str]:
    """Page links (path and query) at `samples` cursor positions spread evenly over the book."""
    import psycopg

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from api.pagination import cursor_token  # the token format, without django.setup()

    with psycopg.connect(libpq_dsn(url)) as conn:
        total = conn.execute("SELECT count(*) FROM orders_ordersync").fetchone()[0]
        step = max(1, total // samples)
        keys = conn.execute("SELECT updated_at, order_id FROM (SELECT updated_at, order_id, row_number() "
                            "OVER (ORDER BY updated_at, order_id) AS n FROM orders_ordersync) t "
                            "WHERE n %% %s = 0 ORDER BY n LIMIT %s", (step, samples - 1)).fetchall()
    base = f"/api/v1/orders/?page_size={PAGE_SIZE}"
    return [base] + [f"{base}&cursor={cursor_token(k)}" for k in keys]


# --- The API server ---------------------------------------------------------------------------


def server_warm(server, key: str) -> None:
    """Check the API answers a page, then warm every worker (they import lazily) before measuring."""
    headers = {"Authorization": f"Api-Key {key}"}
    probe = f"/api/v1/orders/?page_size={PAGE_SIZE}"
    for n in range(server.workers * 4):
        conn = http.client.HTTPConnection(HOST, server.port, timeout=120)  # a new one: any worker
        conn.request("GET", probe, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if n == 0 and response.status != 200:
            sys.exit(f"gunicorn answered {response.status}: {body[:300]!r}")


# --- Clients ----------------------------------------------------------------------------------


def _api_client(args) -> dict:
    """Pull `pages` pages from `start` (None: the beginning) on one connection; time each page."""
    port, key, start, pages, barrier = args
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from api.pagination import cursor_token  # the token format, without django.setup()

    headers = {"Authorization": f"Api-Key {key}", "Accept": "application/json"}
    # http.client: a few times cheaper per request than requests, and the client shares the
    # cores with the server. It opens a new connection when the server closed the last one.
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    link = f"/api/v1/orders/?page_size={PAGE_SIZE}"
    if start is not None:
        link += f"&cursor={cursor_token(start)}"
    latencies, rows = [], 0
    barrier.wait()
    started = time.perf_counter()
    for _ in range(pages):
        t0 = time.perf_counter()
        conn.request("GET", link, headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {body}")
        rows += len(body["results"])
        if body["next"] is None:
            break
        parts = urlsplit(body["next"])
        link = f"{parts.path}?{parts.query}"
    conn.close()
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
    load_start = load_average()[0]
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
        "load_start": load_start, "load_end": load_average()[0],
    }


# --- Queries per page -------------------------------------------------------------------------


def queries_per_page(url: str, key: str, samples: int = 20) -> dict:
    """Count the SQL queries of pages spread over the book, in-process (same code path)."""
    links = sample_links(url, samples)
    code = f"""
import json
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_AUTHORIZATION="Api-Key {key}")
links = {links!r}
client.get(links[0])  # the once-a-minute last-used write happens here, not in a sample
counts = []
for link in links:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(link).status_code == 200
    counts.append(len(ctx.captured_queries))
print(json.dumps(counts))
"""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT,
                         env=bench_env(url, **{**SERVER_ENV, "ALLOWED_HOSTS": "testserver"}),
                         check=True, capture_output=True, text=True)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    return {"samples": len(counts), "min": min(counts), "max": max(counts), "counts": counts}


# --- Where a page's time goes -----------------------------------------------------------------


def page_profile(url: str, key: str, pages: int = 50, top: int = 30) -> dict:
    """Time the parts of a page in-process on `pages` pages spread over the book, then profile them.

    Parts: the whole request through the Django test client; DRF's `initial` (key, scope,
    throttle); the view's `get` (the page's SQL and its representation); JSON rendering;
    the rest (middleware, routing, the response) is the whole minus those. Runs in a
    process of its own.
    """
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_page_profile, (url, key, pages, top))


def _page_profile(url: str, key: str, pages: int, top: int) -> dict:
    import cProfile
    import io
    import pstats

    from bench.common import django_setup

    django_setup(url, **{**SERVER_ENV, "ALLOWED_HOSTS": "testserver"})
    from django.test import Client, RequestFactory
    from rest_framework.renderers import JSONRenderer

    from api.views.orders import OrderListView

    auth = f"Api-Key {key}"
    client = Client(HTTP_AUTHORIZATION=auth)
    links = sample_links(url, pages)
    for link in links[:5]:  # warm up; the once-a-minute last-used write happens here
        client.get(link)
    parts: dict[str, list[float]] = {"whole request": [], "auth, scope, throttle": [],
                                     "view (SQL + representation)": [], "JSON rendering": []}
    factory = RequestFactory()
    for link in links:
        t0 = time.perf_counter()
        client.get(link)
        parts["whole request"].append(time.perf_counter() - t0)
        view = OrderListView()
        view.setup(factory.get(link, HTTP_AUTHORIZATION=auth))
        request = view.initialize_request(view.request)
        view.request, view.format_kwarg, view.headers = request, None, {}
        t0 = time.perf_counter()
        view.initial(request)
        t1 = time.perf_counter()
        response = view.get(request)
        t2 = time.perf_counter()
        JSONRenderer().render(response.data)
        t3 = time.perf_counter()
        parts["auth, scope, throttle"].append(t1 - t0)
        parts["view (SQL + representation)"].append(t2 - t1)
        parts["JSON rendering"].append(t3 - t2)
    ms = {k: 1000 * sum(v) / len(v) for k, v in parts.items()}
    ms["the rest (middleware, routing)"] = ms["whole request"] - sum(
        v for k, v in ms.items() if k != "whole request")
    profiler = cProfile.Profile()
    profiler.enable()
    for link in links:
        client.get(link)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return {"pages": len(links), "ms_per_page": ms, "profile": out.getvalue()}


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--small", action="store_true", help="Same as --size default (3,000 orders).")
    parser.add_argument("--reuse", action="store_true", help="Keep an already seeded database.")
    parser.add_argument("--clients", default="1,8", help="Concurrency levels (default 1,8).")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: the Procfile's web line).")
    parser.add_argument("--worker-class", default=None, choices=["sync", "gthread"],
                        help="default: the Procfile's (gthread, keep-alive).")
    parser.add_argument("--threads", type=int, default=None, help="threads per gthread worker")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pages", type=int, default=None,
                        help="Pull only the book's last N pages (the recent, open orders): a quick check.")
    parser.add_argument("--profile", action="store_true",
                        help="Also time a page's parts in-process and write a cProfile of 50 pages "
                             "to bench/out/api_pull_profile.txt.")
    parser.add_argument("--profile-only", action="store_true", help="Only that: no pulls.")
    args = parser.parse_args()
    if args.small:
        args.size = "default"
    levels = [int(c) for c in args.clients.split(",")]
    options = production_options()
    for flag, value in (("--workers", args.workers), ("--worker-class", args.worker_class),
                        ("--threads", args.threads)):
        if value:
            options[flag] = str(value)
    # One bench run must not see workers recycled mid-walk: a restart is not a page's cost.
    options.pop("--max-requests", None)
    options.pop("--max-requests-jitter", None)
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    url = db_url(DB_NAME)

    banner(f"API pulls: {args.size} demo book, pages of {PAGE_SIZE}, gunicorn {' '.join(f'{k} {v}' for k, v in options.items())}")
    setup = database_prepare(url, size=args.size, reuse=args.reuse)
    key = key_create(url)
    with timed("queries per page (in-process)"):
        qpp = queries_per_page(url, key)
    print(f"  queries per page: {qpp['min']}..{qpp['max']} over {qpp['samples']} pages spread "
          "over the book")
    if args.profile or args.profile_only:
        with timed("page parts + cProfile (in-process)"):
            prof = page_profile(url, key)
        (ROOT / "bench" / "out" / "api_pull_profile.txt").write_text(prof["profile"])
        print(f"  one page in-process, mean of {prof['pages']} pages (load {load_average()[0]:.1f}): "
              + ", ".join(f"{k} {v:.1f} ms" for k, v in prof["ms_per_page"].items()))
        print("  cProfile of those pages: bench/out/api_pull_profile.txt")
        if args.profile_only:
            return

    import psycopg

    dsn = libpq_dsn(url)
    with psycopg.connect(dsn) as conn:
        channels = [r[0] for r in conn.execute("SELECT id FROM inventory_channel")]
    runs = []
    load_before = load_average()

    def floor_jobs(start, pages, barrier):
        return (dsn, channels, start, pages, barrier)

    # Warm the buffers once (both paths read the same rows) before timing anything.
    walk("warm-up", _floor_client, floor_jobs, slices_plan(url, 1, args.pages))
    for clients in levels:
        floor = walk("floor (raw SQL)", _floor_client, floor_jobs, slices_plan(url, clients, args.pages))
        runs.append(floor)
        print(_line(floor))
    with Gunicorn(url, port=args.port, options=options, env=served_env(), log_name="api_pull_gunicorn") as server:
        server_warm(server, key)

        def api_jobs(start, pages, barrier):
            return (server.port, key, start, pages, barrier)

        for clients in levels:
            api = walk("API (gunicorn)", _api_client, api_jobs, slices_plan(url, clients, args.pages))
            runs.append(api)
            print(_line(api))

    floors = {r["clients"]: r for r in runs if r["kind"].startswith("floor")}
    constant = qpp["min"] == qpp["max"]
    print("\n| clients | API pages/s | floor pages/s | ratio | API p50 / p95 page | floor p50 / p95 page "
          "| queries/page | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|")
    summary_rows = []
    for r in runs:
        if not r["kind"].startswith("API"):
            continue
        f = floors[r["clients"]]
        r["ratio"] = ratio = f["pages_per_s"] / r["pages_per_s"]
        print(f"| {r['clients']} | {r['pages_per_s']:.1f} | {f['pages_per_s']:.1f} | {ratio:.1f}x | "
              f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms | {f['p50_ms']:.1f} / {f['p95_ms']:.1f} ms | "
              f"{qpp['min']}..{qpp['max']} | {f['load_start']:.1f}-{r['load_end']:.1f} |")
        summary_rows.append([
            f"partner pull, pages of {PAGE_SIZE}, {r['clients']} client(s), {r['pages']:,} pages",
            f"{r['pages_per_s']:.1f} pages/s (p95 {r['p95_ms']:.0f} ms; {qpp['min']}..{qpp['max']} queries/page)",
            f"raw SQL {f['pages_per_s']:.1f} pages/s", f"{ratio:.1f}x", f"<= {TARGET_RATIO:g}x, queries constant",
            "met" if ratio <= TARGET_RATIO and constant else "missed"])
    result_emit({"bench": "api_pull", "size": args.size, "page_size": PAGE_SIZE,
                 "gunicorn": options, "target_ratio": TARGET_RATIO,
                 "pages_limit": args.pages, "setup": setup, "queries_per_page": qpp,
                 "runs": runs, "load_before": load_before, "load_after": load_average(),
                 "summary_rows": summary_rows, "machine": machine()})


def _line(r: dict) -> str:
    return (f"  {r['kind']:<16} {r['clients']} client(s): {r['pages']:>5} pages, {r['rows']:>7,} rows "
            f"in {r['seconds']:7.1f} s = {r['pages_per_s']:7.1f} pages/s; page p50 "
            f"{r['p50_ms']:7.1f} ms, p95 {r['p95_ms']:7.1f} ms (load {r['load_start']:.1f}->{r['load_end']:.1f})")


if __name__ == "__main__":
    main()
