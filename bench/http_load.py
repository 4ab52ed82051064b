"""Benchmark: order intake and availability through the HTTP API under gunicorn, 16 keep-alive clients.

Data: bench/intake.py's (200 SKUs in the 3 demo warehouses, 30 confirmed POs, a promised
book of 5,000 open lines, 30 capped SKUs), plus one hot SKU (HOT-0001) with 5,000 open
backordered lines waiting in its US-EAST pool against a large confirmed PO. Its own
PostgreSQL database, bd_bench_http (dropped and recreated).

Server: gunicorn serving config.wsgi (DEBUG off, the production settings) with the options
of the Procfile's `web:` line (gthread workers, which keep connections alive; gunicorn's
sync workers close every connection), except --max-requests: workers are not recycled
during a run unless --recycle is given.
The server has Redis, as production does (docs/operations.md): django-q2's broker (intake
enqueues the notices task on commit; no worker runs, the tasks are only counted), the
partner API's key records and rate counts, and the task flags, on a Redis database emptied
at the start (bench.common.intake_broker); --no-redis runs it without, as a newcomer's
machine does (the ORM broker, every count in each worker's memory). The per-key throttle is
raised out of the way (API_THROTTLE_RATE). The key holds every channel and the scopes used.

Clients: 16 processes on the same 2 cores as the server, each with one keep-alive
http.client connection, sending requests back to back for a fixed duration; each request
is timed from send to its body read. Their CPU time is reported beside each figure: the
clients compete with the server for the cores. So are the server's (gunicorn's processes)
and PostgreSQL's CPU per request, from their share of the cores in the middle of each run
(read from /proc; PostgreSQL's only when it runs on this machine).

Runs, same process, same server settings:
  * floor: a minimal WSGI app (one fixed response) on a second gunicorn with the same
    settings: what HTTP and the clients cost by themselves;
  * /healthz of the Django server, when it answers 200 (Django plus its checks);
  * GET /api/v1/availability/ without a key: the 401 DRF answers after the middleware,
    before any SQL (what Django and DRF cost by themselves);
  * GET /api/v1/availability/ on the hot SKU, flat out (target >= 300 requests/s), then
    paced at 300 requests/s over the 16 clients (target p95 < 50 ms): clients sending back
    to back wait 16 / throughput on average (Little's law), so a p95 flat out says more
    about the number of clients than about the server. The production settings keep an
    answer for AVAILABILITY_CACHE_SECONDS (1 s) per process, as a storefront's product
    page asks the same question over and over;
  * POST /api/v1/orders/ with bench/intake.py's order mix (target >= 150 orders/s);
  * the two availability runs again on a third gunicorn with AVAILABILITY_CACHE_SECONDS=0:
    every answer computed (4 statements), for comparison.
After them: 0 oversold, 0 cap breaches, 0 open lines without a promise (bench/intake.py's
checks), and every 201 answered is an order in the database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/http_load.py [--small]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    ROOT,
    banner,
    bench_env,
    copy_rows,
    cpu_during,
    cpu_ms_per,
    db_recreate,
    django_setup,
    intake_broker,
    load_average,
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

DB_NAME = "bd_bench_http"
HOST = "127.0.0.1"
HOT_SKU = "HOT-0001"
HOT_LINES = 5_000
HOT_CHANNEL = "shopify-us"
TARGETS = {"orders_per_s": 150.0, "availability_per_s": 300.0, "availability_p95_ms": 50.0}
# The production settings with DEBUG off (bench.common.bench_env), served over plain HTTP on
# the loopback; the per-key throttle far above what the run sends (it must not shape the figures).
SERVER_ENV = {
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "API_THROTTLE_RATE": "100000000/min",
}


def served_env(*, redis: bool = True) -> dict[str, str]:
    """The served Django's environment: SERVER_ENV, with Redis as production has it
    (bench.common.intake_broker, its database emptied here) unless `redis` is False."""
    env = dict(SERVER_ENV)
    if redis:
        env.update(intake_broker())
        redis_flush(env["REDIS_URL"])
    return env


def floor_app(environ, start_response):
    """The floor's WSGI app: one fixed answer, no Django."""
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# --- The server -------------------------------------------------------------------------------


#: gunicorn's options when the Procfile has no `web:` line (the same as its line today).
PRODUCTION_OPTIONS = {
    "--worker-class": "gthread", "--workers": "3", "--threads": "4", "--timeout": "60",
    "--graceful-timeout": "30", "--keep-alive": "5", "--max-requests": "2000",
    "--max-requests-jitter": "200",
}


def production_options() -> dict[str, str]:
    """gunicorn's options from the Procfile's `web:` line (${VAR:-default} read as its default),
    without the bind address and the access log, which the bench sets itself."""
    procfile = ROOT / "Procfile"
    line = next((ln for ln in procfile.read_text().splitlines() if ln.startswith("web:")), None) \
        if procfile.exists() else None
    if line is None:
        return dict(PRODUCTION_OPTIONS)
    words = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line[len("web:"):]))
    options, i = {}, 0
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if not eq and i + 1 < len(words) and not words[i + 1].startswith("-"):
                value, i = words[i + 1], i + 1
            options[name] = value
        i += 1
    for own in ("--bind", "--access-logfile", "--error-logfile", "--log-level"):
        options.pop(own, None)
    return options


class Gunicorn:
    """gunicorn serving `app` on 127.0.0.1:port for the bench's life, started and stopped by it."""

    def __init__(self, url: str, *, port: int, options: dict[str, str], app: str = "config.wsgi:application",
                 env: dict | None = None, log_name: str = "gunicorn"):
        self.url, self.port, self.options, self.app, self.env = url, port, dict(options), app, env or {}
        self.workers = int(self.options.get("--workers", 1))
        self.log_path = ROOT / "bench" / "out" / f"{log_name}.log"
        self.proc: subprocess.Popen | None = None

    def describe(self) -> str:
        return " ".join(f"{k} {v}".strip() for k, v in self.options.items())

    def __enter__(self):
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "w")
        args = [a for k, v in self.options.items() for a in ((k, v) if v else (k,))]
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", self.app, "--bind", f"{HOST}:{self.port}", *args, "--log-level", "warning"],
            cwd=ROOT, env=bench_env(self.url, **self.env), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_ready(self, path: str = "/", timeout: float = 120) -> None:
        """Wait until the server answers HTTP at all (any status)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.3)
        sys.exit(f"gunicorn did not come up within {timeout:g} s; see {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --- Data -------------------------------------------------------------------------------------


def hot_sku_load(url: str, now) -> dict:
    """HOT-0001: no stock, one confirmed PO of 3 units per waiting line, HOT_LINES open lines."""
    import psycopg
    from django.utils import timezone

    from inventory.models import (
        SKU,
        Channel,
        PurchaseOrder,
        PurchaseOrderLine,
        StockLevel,
        Supplier,
        Warehouse,
    )
    from orders.models import Order, OrderLine

    channel = Channel.objects.select_related("region").get(code=HOT_CHANNEL)
    warehouse_id = channel.region.default_warehouse_id
    supplier = Supplier.objects.get(code="bench")
    rng = random.Random(7)
    today = timezone.localdate()

    def next_id(model):
        return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    sku_id, po_id, pol_id = next_id(SKU), next_id(PurchaseOrder), next_id(PurchaseOrderLine)
    stock_id, order_id, line_id = next_id(StockLevel), next_id(Order), next_id(OrderLine)
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn, conn.cursor() as cur:
        copy_rows(cur, SKU, ("id", "code", "name", "backorder_allowed", "sell_beyond_supply", "safety_stock",
                             "lead_time_days", "supplier_id"),
                  [(sku_id, HOT_SKU, "The SKU that went viral", True, False, 0, 45, supplier.id)], now=now)
        copy_rows(cur, StockLevel, ("id", "sku_id", "warehouse_id", "on_hand"),
                  [(stock_id + i, sku_id, wh, 0)
                   for i, wh in enumerate(sorted(Warehouse.objects.values_list("id", flat=True)))], now=now)
        copy_rows(cur, PurchaseOrder, ("id", "number", "supplier_id", "warehouse_id", "status", "eta",
                                       "dock_to_stock_days"),
                  [(po_id, "PO-HOT-001", supplier.id, warehouse_id, "confirmed", today + timedelta(days=20), 1)],
                  now=now)
        copy_rows(cur, PurchaseOrderLine, ("id", "purchase_order_id", "sku_id", "qty_ordered", "qty_received"),
                  [(pol_id, po_id, sku_id, 3 * HOT_LINES, 0)], now=now)
        orders, lines = [], []
        for n in range(HOT_LINES):
            orders.append((order_id + n, channel.id, channel.region_id, f"HOT-{n:06d}", rng.randint(1, 1000),
                           now - timedelta(seconds=rng.randint(600, 20 * 86400)), "USD", "23.95", "4.95", "",
                           False, "open"))
            lines.append((line_id + n, order_id + n, sku_id, warehouse_id, 1, "19.00", 0, 0, "backordered"))
        copy_rows(cur, Order, ("id", "channel_id", "region_id", "external_id", "customer_id", "placed_at",
                               "currency", "paid_amount", "shipping_amount", "strategy", "essential_date",
                               "status"), orders, now=now)
        copy_rows(cur, OrderLine, ("id", "order_id", "sku_id", "warehouse_id", "qty", "unit_price",
                                   "qty_shipped", "qty_cancelled", "status"), lines, now=now)
        sequences_reset(cur, [SKU, StockLevel, PurchaseOrder, PurchaseOrderLine, Order, OrderLine])
        conn.commit()
    return {"hot_sku": HOT_SKU, "hot_lines": HOT_LINES, "hot_po_units": 3 * HOT_LINES}


def key_create() -> str:
    """A key on every channel with the scopes the run uses; returns the plain key."""
    from api.models import PartnerKey, Scope
    from inventory.models import Channel

    key_obj, key = PartnerKey.objects.create_key(
        name="http bench", scopes=[Scope.ORDERS_READ, Scope.ORDERS_WRITE, Scope.PROMISES_READ])
    key_obj.channels.set(Channel.objects.all())
    return key


# --- Clients ----------------------------------------------------------------------------------


def _order_body(rng, index: int, n: int, tag: str, channels) -> bytes:
    """bench/intake.py's order mix: 1-3 lines of 1-2 units on skewed SKUs."""
    from bench.intake import _sku_pick

    code, region = rng.choice(channels)
    skus = sorted({_sku_pick(rng) for _ in range(rng.choice((1, 1, 2, 3)))})
    return json.dumps({
        "external_id": f"IH{tag}{index:02d}-{n:06d}", "channel": code, "region": region,
        "currency": {"US": "USD", "EU": "EUR", "UK": "GBP"}[region],
        "customer": {"email": f"h{index}.{n % 300}@bench.example.com", "name": f"HTTP client {index}"},
        "lines": [{"sku": f"S-{s:04d}", "qty": rng.choice((1, 1, 2)), "unit_price": "19.00"} for s in skus],
    }).encode()


def client_run(index: int, job: dict, ready, start, out) -> None:
    """One client: one keep-alive connection, requests until the deadline.

    Back to back, or with job["rate"] (requests/s over all clients) on a fixed schedule:
    each client sends every clients/rate seconds, the clients staggered, and a request's
    latency counts from its scheduled time, so a slow answer also charges the requests it
    held up (no coordinated omission).
    """
    port, key, kind, duration = job["port"], job["key"], job["kind"], job["duration"]
    rng = random.Random(5000 + index)
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Api-Key {key}"
    if kind == "order":
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    conn.connect()
    connects = 1
    ready.put(index)
    start.wait()
    t0 = time.time()
    cpu0 = time.process_time()
    began = time.perf_counter()
    deadline = began + duration
    interval = job["clients"] / job["rate"] if job.get("rate") else None
    statuses: Counter = Counter()
    codes: Counter = Counter()
    errors: Counter = Counter()
    latencies, sent, n = [], [], 0
    while time.perf_counter() < deadline:
        n += 1
        if kind == "order":
            method, path, body = "POST", "/api/v1/orders/", _order_body(rng, index, n, job["tag"], job["channels"])
        else:
            method, path, body = "GET", job["path"], None
        if interval:
            started = began + interval * (n - 1 + index / job["clients"])
            if started >= deadline:
                break
            time.sleep(max(0.0, started - time.perf_counter()))
        else:
            started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError) as exc:
            errors[type(exc).__name__] += 1
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
            connects += 1
            continue
        latencies.append(time.perf_counter() - started)
        sent.append(started - began)
        statuses[response.status] += 1
        if response.status >= 300:
            try:
                codes[f"{response.status} {json.loads(payload).get('code', '')}"] += 1
            except ValueError:
                codes[f"{response.status} {payload[:80]!r}"] += 1
        if response.will_close:  # the server closed it: the next request opens a new one
            connects += 1
    out.put({"index": index, "t0": t0, "t_end": time.time(), "cpu_s": time.process_time() - cpu0,
             "requests": len(latencies), "statuses": dict(statuses), "codes": dict(codes),
             "errors": dict(errors), "connects": connects, "latencies": latencies, "sent": sent})
    conn.close()


def clients_run(job: dict, clients: int) -> dict:
    """Run `clients` client processes on one job at once; aggregate their requests."""
    ctx = mp.get_context("spawn")
    start, ready, out = ctx.Event(), ctx.Queue(), ctx.Queue()
    job = {**job, "clients": clients}
    procs = [ctx.Process(target=client_run, args=(i, job, ready, start, out)) for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    load_start = load_average()
    started = time.time()
    start.set()
    bind = f"{HOST}:{job['port']}"
    groups = {"server": lambda name, cmdline: "gunicorn" in cmdline and bind in cmdline}
    if server_is_local():
        groups["postgres"] = postgres_process
    cpu = cpu_during(job["duration"], groups)
    results = [out.get(timeout=job["duration"] + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    window = max(r["t_end"] for r in results) - started
    statuses: Counter = Counter()
    codes: Counter = Counter()
    errors: Counter = Counter()
    latencies = []
    by_second: dict[int, list[float]] = {}
    for r in results:
        statuses.update({int(k): v for k, v in r["statuses"].items()})
        codes.update(r["codes"])
        errors.update(r["errors"])
        latencies += r["latencies"]
        for at, latency in zip(r["sent"], r["latencies"], strict=True):
            by_second.setdefault(int(at), []).append(latency)
    ok = statuses[200] + statuses[201]
    lat = summary(latencies) if latencies else None
    return {
        "kind": job["kind"], "path": job.get("path", "/api/v1/orders/"), "clients": clients,
        "paced_rate": job.get("rate"),
        "window_s": window, "requests": len(latencies), "requests_per_s": len(latencies) / window,
        "ok": ok, "ok_per_s": ok / window, "created": statuses[201], "created_per_s": statuses[201] / window,
        "statuses": dict(statuses), "codes": dict(codes), "errors": dict(errors),
        "throttled": statuses[429], "connects": sum(r["connects"] for r in results),
        "client_cpu_s": sum(r["cpu_s"] for r in results),
        # The server's processes (gunicorn's master and workers) and PostgreSQL's: CPU per
        # request, from their share of the cores in the middle of the run.
        "server_cpu_ms_per_request": cpu_ms_per(cpu.get("server"), window, len(latencies)),
        "postgres_cpu_ms_per_request": cpu_ms_per(cpu.get("postgres"), window, len(latencies)),
        "machine_busy": cpu["machine_busy"],
        "client_cpu_share": sum(r["cpu_s"] for r in results) / (window * (os.cpu_count() or 1)),
        "p50_ms": lat["p50"] * 1000 if lat else None, "p95_ms": lat["p95"] * 1000 if lat else None,
        "max_ms": lat["max"] * 1000 if lat else None,
        # Each second of the run (by when its requests were due): requests, p95 and max, ms.
        "seconds": [[second, len(lats), round(summary(lats)["p95"] * 1000, 1), round(max(lats) * 1000, 1)]
                    for second, lats in sorted(by_second.items())],
        "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in load_average()],
    }


def _slow_seconds(r: dict, bound_ms: float) -> str:
    """The seconds of a run whose requests' p95 passed `bound_ms`: when the run stalled."""
    slow = [f"{second} s: p95 {p95:.0f} ms, max {worst:.0f} ms ({n} requests)"
            for second, n, p95, worst in r["seconds"] if p95 > bound_ms]
    return (f"    seconds with a p95 over {bound_ms:g} ms: {len(slow)} of {len(r['seconds'])}"
            + ("; " + "; ".join(slow) if slow else ""))


def _line(label: str, r: dict, unit: str = "requests/s", rate_key: str = "ok_per_s") -> str:
    return (f"  {label:<34} {r[rate_key]:8.1f} {unit} ({r['requests']:,} requests in {r['window_s']:.1f} s; "
            f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.0f} ms; "
            f"{r['connects']} connections; clients used {r['client_cpu_share'] * 100:.0f} % of the cores; "
            f"CPU a request: server {ms_or_na(r['server_cpu_ms_per_request'])}, PostgreSQL "
            f"{ms_or_na(r['postgres_cpu_ms_per_request'])}; load {r['load_start'][0]:.1f}->{r['load_end'][0]:.1f})")



# --- Checks -----------------------------------------------------------------------------------


def orders_in_db(prefix: str) -> int:
    from orders.models import Order

    return Order.objects.filter(external_id__startswith=prefix).count()


# --- Main -------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="5 s per run instead of 20 s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the Procfile's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the Procfile's)")
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--recycle", action="store_true",
                        help="Keep the Procfile's --max-requests (workers restarted during the run).")
    parser.add_argument("--no-redis", action="store_true",
                        help="Serve without REDIS_URL: django-q2's ORM broker, caches in each worker's memory.")
    args = parser.parse_args(argv)
    server_env = served_env(redis=not args.no_redis)
    duration = args.seconds or (5.0 if args.small else 20.0)
    options = production_options()
    if args.workers:
        options["--workers"] = str(args.workers)
    if args.threads:
        options["--threads"] = str(args.threads)
    if not args.recycle:
        # A restart re-imports Django on the same 2 cores; its cost is not a request's.
        options.pop("--max-requests", None)
        options.pop("--max-requests-jitter", None)

    banner(f"HTTP API under gunicorn: {args.clients} keep-alive clients, {duration:g} s per run")
    machine_info = machine()
    setup: dict[str, float] = {}
    with timed("create + migrate database", setup):
        url = db_recreate(DB_NAME)
        migrate(url)
    django_setup(url)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bench.intake import caps_create, checks, dataset_load
    from inventory.models import Channel
    from promises.services import pools_repromise_all

    with timed("load data + promise the book", setup):
        now = timezone.now()
        counts = dataset_load(url, now)
        counts.update(hot_sku_load(url, now))
        pools_repromise_all(cause="nightly")
        caps_create(counts["capped_skus"])
        key = key_create()
    vacuum_analyze(url)
    channels = [(c.code, c.region.code) for c in Channel.objects.select_related("region").order_by("code")]
    kept = settings.AVAILABILITY_CACHE_SECONDS  # the server's too: same environment
    connection.close()

    server_kw = {"options": options}
    availability_path = "/api/v1/availability/?" + urlencode({"sku": HOT_SKU, "channel": HOT_CHANNEL, "qty": 1})
    base_job = {"key": key, "duration": duration}
    runs = {}
    with Gunicorn(url, port=args.port + 1, app="bench.http_load:floor_app", log_name="http_load_floor",
                  **server_kw) as floor_server:
        job = {**base_job, "port": floor_server.port, "kind": "get", "path": "/floor"}
        clients_run({**job, "duration": 2.0}, args.clients)  # warm-up
        with timed("floor: minimal WSGI app, same gunicorn settings", setup):
            runs["floor"] = clients_run(job, args.clients)
        print(_line("floor (minimal WSGI app)", runs["floor"]))

    with Gunicorn(url, port=args.port, env=server_env, log_name="http_load_gunicorn", **server_kw) as server:
        print(f"  server: gunicorn {server.describe()} (the Procfile's web line), DEBUG off, PostgreSQL {DB_NAME}, "
              + (f"Redis {server_env['REDIS_URL']}" if "REDIS_URL" in server_env else "no Redis (ORM broker)")
              + f", per-key throttle {SERVER_ENV['API_THROTTLE_RATE']}")
        probe = http.client.HTTPConnection(HOST, server.port, timeout=60)
        probe.request("GET", availability_path, headers={"Authorization": f"Api-Key {key}"})
        answer = probe.getresponse()
        answer_body = answer.read()
        if answer.status != 200:
            sys.exit(f"availability answered {answer.status}: {answer_body[:300]!r}")
        print(f"  availability of {HOT_SKU} ({HOT_LINES:,} lines waiting): {json.loads(answer_body)['label']}")
        probe.request("GET", "/healthz")
        health = probe.getresponse()
        health.read()
        probe.close()

        get_job = {**base_job, "port": server.port, "kind": "get", "path": availability_path}
        clients_run({**get_job, "duration": 3.0}, args.clients)  # warm every worker and thread
        if health.status == 200:
            with timed("/healthz (Django floor)", setup):
                runs["healthz"] = clients_run({**get_job, "path": "/healthz"}, args.clients)
            print(_line("/healthz (Django + its checks)", runs["healthz"]))
        else:
            print(f"  /healthz answered {health.status}: not measured in this run")
        with timed("GET availability without a key (401: Django + DRF, no SQL)", setup):
            runs["django_floor"] = clients_run({**get_job, "key": None}, args.clients)
        print(_line("availability without a key (401)", runs["django_floor"], rate_key="requests_per_s"))
        with timed(f"GET availability, {HOT_SKU}", setup):
            runs["availability"] = clients_run(get_job, args.clients)
        print(_line("GET /api/v1/availability/", runs["availability"]))
        rate = TARGETS["availability_per_s"]
        with timed(f"GET availability, paced at {rate:g}/s", setup):
            runs["availability_paced"] = clients_run({**get_job, "rate": rate}, args.clients)
        print(_line(f"GET availability at {rate:g}/s", runs["availability_paced"]))
        print(_slow_seconds(runs["availability_paced"], TARGETS["availability_p95_ms"]))
        with timed("POST orders", setup):
            runs["orders"] = clients_run({**base_job, "port": server.port, "kind": "order", "tag": "R",
                                          "channels": channels}, args.clients)
        print(_line("POST /api/v1/orders/", runs["orders"], "orders/s", "created_per_s"))

    # The same questions with every answer computed: what the storefront's load costs when
    # no answer is kept (a question asked once, or AVAILABILITY_CACHE_SECONDS=0).
    computed_env = {**server_env, "AVAILABILITY_CACHE_SECONDS": "0"}
    with Gunicorn(url, port=args.port + 2, env=computed_env, log_name="http_load_computed", **server_kw) as server:
        get_job = {**base_job, "port": server.port, "kind": "get", "path": availability_path}
        clients_run({**get_job, "duration": 3.0}, args.clients)  # warm every worker and thread
        with timed(f"GET availability, {HOT_SKU}, every answer computed", setup):
            runs["availability_computed"] = clients_run(get_job, args.clients)
        print(_line("GET availability, computed", runs["availability_computed"]))
        with timed(f"GET availability, every answer computed, paced at {rate:g}/s", setup):
            runs["availability_computed_paced"] = clients_run({**get_job, "rate": rate}, args.clients)
        print(_line(f"GET availability, computed, {rate:g}/s", runs["availability_computed_paced"]))

    with timed("checks (oversell, caps, unpromised)", setup):
        check = checks(url)
        in_db = orders_in_db("IHR")
    o, a, ap, f = runs["orders"], runs["availability"], runs["availability_paced"], runs["floor"]
    ac, acp = runs["availability_computed"], runs["availability_computed_paced"]
    correct = (check["stock_oversold_pools"] == 0 and check["po_oversold_lines"] == 0
               and check["cap_qty_breaches"] == 0 and check["open_lines_without_promise"] == 0
               and in_db == o["created"] and not any(r["errors"] for r in (o, a, ap, ac, acp)))
    throttled = sum(r["throttled"] for r in runs.values())
    met = {
        "orders": o["created_per_s"] >= TARGETS["orders_per_s"],
        # Flat out at least the rate; at the rate (paced), p95 under the bound.
        "availability": (a["ok_per_s"] >= TARGETS["availability_per_s"]
                         and ap["ok_per_s"] >= 0.98 * TARGETS["availability_per_s"]
                         and ap["p95_ms"] < TARGETS["availability_p95_ms"]),
    }
    print()
    print(f"  POST refusals: {o['codes'] or 'none'}; errors: {o['errors'] or 'none'}; 429 answers in all runs: {throttled}")
    print(f"  orders answered 201: {o['created']:,}; in the database: {in_db:,}")
    print(f"  oversold stock pools {check['stock_oversold_pools']}, oversold PO lines {check['po_oversold_lines']}, "
          f"cap breaches {check['cap_qty_breaches']}, open lines without promise "
          f"{check['open_lines_without_promise']}  -> {'OK' if correct else 'FAILED'}")
    floor_text = f"minimal WSGI app: {f['ok_per_s']:,.0f} requests/s, p95 {f['p95_ms']:.1f} ms"
    hot = f"{HOT_SKU}, {HOT_LINES:,} lines waiting"
    rows = []
    d = runs["django_floor"]
    rows.append([f"HTTP GET availability without a key (401 from DRF, no SQL), {d['clients']} clients flat out",
                 f"{d['requests_per_s']:.0f} requests/s", d, "-", "-"])
    if "healthz" in runs:
        h = runs["healthz"]
        rows.append([f"HTTP GET /healthz, {h['clients']} clients flat out", f"{h['ok_per_s']:.0f} requests/s",
                     h, "-", "-"])
    rows += [
        [f"HTTP GET availability ({hot}), answers kept {kept:g} s, {a['clients']} keep-alive clients flat out",
         f"{a['ok_per_s']:.0f} requests/s", a, ">= 300/s", "met" if a["ok_per_s"] >= TARGETS["availability_per_s"]
         else "missed"],
        [f"HTTP GET availability ({hot}), answers kept {kept:g} s, {ap['clients']} clients paced at {ap['paced_rate']:g}/s",
         f"{ap['ok_per_s']:.0f} requests/s", ap, "p95 < 50 ms at 300/s",
         "met" if met["availability"] else "missed"],
        [f"HTTP GET availability ({hot}), every answer computed, {ac['clients']} clients flat out",
         f"{ac['ok_per_s']:.0f} requests/s", ac, "(no answer kept)", "-"],
        [f"HTTP GET availability ({hot}), every answer computed, paced at {acp['paced_rate']:g}/s",
         f"{acp['ok_per_s']:.0f} requests/s", acp, "(no answer kept)", "-"],
        [f"HTTP POST orders, {o['clients']} keep-alive clients flat out ({o['created']:,} placed, "
         f"{o['requests'] - o['created']:,} refused)", f"{o['created_per_s']:.1f} orders/s", o, ">= 150/s",
         "met" if met["orders"] else "missed"],
    ]
    print("\n| run | figure | p50 / p95 | floor, same run | target | verdict | load (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for what, figure, r, target, verdict in rows:
        print(f"| {what} | {figure} | {r['p50_ms']:.1f} / {r['p95_ms']:.1f} ms | {floor_text} | {target} | "
              f"{verdict} | {r['load_start'][0]:.1f} |")
    print(f"  (the clients run on the same {os.cpu_count()} cores as gunicorn and PostgreSQL; "
          f"the CPU share they used is in each line above)")
    summary_rows = [
        [f"{what} (load {r['load_start'][0]:.1f})", f"{figure}, p95 {r['p95_ms']:.1f} ms", floor_text, "-",
         target, verdict] for what, figure, r, target, verdict in rows if target != "-" and verdict != "-"]
    summary_rows.append(
        ["HTTP intake correctness", f"oversold {check['stock_oversold_pools'] + check['po_oversold_lines']}, "
         f"cap breaches {check['cap_qty_breaches']}, unpromised {check['open_lines_without_promise']}, "
         f"429s {throttled}", "-", "-", "0", "met" if correct and not throttled else "FAILED"])
    result = {"bench": "http", "small": args.small, "machine": machine_info, "counts": counts, "setup": setup,
              "server": {"gunicorn": options, "throttle_rate": SERVER_ENV["API_THROTTLE_RATE"],
                         "redis": "REDIS_URL" in server_env},
              "runs": runs, "checks": check, "orders_in_db": in_db, "correct": correct, "targets": TARGETS,
              "target_met": met, "throttled": throttled, "summary_rows": summary_rows}
    result_emit(result)
    return result


if __name__ == "__main__":
    main()
