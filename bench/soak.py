"""Soak: gunicorn under a mixed partner load while its workers crash and its Redis goes away.

Data: `seed_demo --size small` on its own PostgreSQL database, bd_bench_soak (dropped and
recreated), the recurring jobs scheduled, one API key with every scope and channel.

Processes, all on this machine: a Redis of its own on port 6391 (no persistence: stopping
it loses its queues, as a Redis restart without AOF would); gunicorn (gthread, 2 x 4, DEBUG
off, production settings) with the partner API's rate-limit counters in that Redis;
`manage.py workers` (both django-q2 clusters) on that Redis; e-mail to files
(filemail://), one file per message sent.

Load for `--minutes` (default 10): 4 client threads on keep-alive connections, each request
drawn at random: availability (50 %), order placement (25 %, 1 to 3 lines), pulls of the
orders list and the promise-change feed (25 %); and a PO ETA change every 3 s, each moving
a confirmed PO's ETA later or back, so promises slip and notices are owed.

Chaos, at fixed points of the run: the whole worker tree killed (SIGKILL) at 25 % and at
70 %, restarted 5 s later; Redis stopped at 45 % for 30 s (less on runs under 5 minutes),
then started empty.

After the load: a grace period (`--grace`, default 150 s) for the workers to catch up, then:
requests and p95 per endpoint, 5xx (and how many fell while Redis was away), orders answered
201 missing from the database and orders answered 5xx that a replay does not land, oversold
units (stock and PO lines promised beyond what they hold), notices owed but not written
(slips no exception covers, exceptions whose notice was never written), notices due but
not sent, notices left in `sending` by a killed worker (an agent decides: at most once),
and e-mails sent twice (one Message-ID per notice).

Targets: 0 5xx outside the Redis outage, 0 orders lost, 0 oversold, 0 notices lost or
duplicated.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/soak.py [--minutes 10]
    .venv/bin/python bench/soak.py --minutes 2 --grace 150        # a quick check
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from email import message_from_binary_file
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
    percentile,
    result_emit,
    timed,
)

DB_NAME = "bd_bench_soak"
HOST = "127.0.0.1"
REDIS_PORT = 6391
CLIENTS = 4
ETA_EVERY_SECONDS = 3.0
WORKER_RESTART_AFTER = 5.0
CURRENCY = {"US": "USD", "EU": "EUR", "UK": "GBP"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Group:
    """A child process in a session of its own, killed with all its descendants."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.args, self.env, self.log_path = args, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.log.close()


# --- Preparing ---------------------------------------------------------------------------------


def manage(env: dict, *args: str) -> str:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def prepare(url: str, env: dict) -> str:
    db_recreate(DB_NAME)
    with timed("migrate"):
        migrate(url)
    with timed("seed_demo --size small"):
        manage(env, "seed_demo", "--size", "small", "--seed", "7", "--no-progress")
    manage(env, "setup_schedules")
    import psycopg

    with psycopg.connect(libpq_dsn(url)) as conn:
        channels = [r[0] for r in conn.execute("SELECT code FROM inventory_channel ORDER BY code")]
    out = manage(env, "create_api_key", "soak", "--channels", ",".join(channels), "--scopes", "all")
    return out.rstrip("\n").splitlines()[-1]


def catalog() -> dict:
    """Channels, SKUs and confirmed POs the clients pick from (read once, before the load)."""
    from inventory.models import SKU, Channel, PurchaseOrder

    channels = [(c.code, c.region.code) for c in Channel.objects.select_related("region").order_by("code")]
    skus = list(SKU.objects.filter(active=True).order_by("code").values_list("code", flat=True))
    pos = list(PurchaseOrder.objects.filter(status="confirmed", eta__isnull=False)
               .order_by("number").values_list("number", "eta"))
    return {"channels": channels, "skus": skus, "pos": pos}


# --- Load --------------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[str, int, float, float]] = []  # endpoint, status, seconds, at
        self.orders_created: list[str] = []
        self.orders_failed: list[dict] = []  # bodies answered 5xx or not answered

    def add(self, endpoint: str, status: int, seconds: float, at: float) -> None:
        with self.lock:
            self.rows.append((endpoint, status, seconds, at))


def request(conn_box: list, port: int, method: str, path: str, key: str, body: dict | None = None):
    """Send one request on the box's keep-alive connection (reopened after an error);
    return (status, body bytes); status 0 when the connection failed."""
    headers = {"Authorization": f"Api-Key {key}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    for attempt in range(2):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn_box[0].request(method, path, body=data, headers=headers)
            response = conn_box[0].getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn_box[0].close()
            conn_box[0] = None
            if attempt:
                return 0, b""
    return 0, b""


def client(index: int, port: int, key: str, cat: dict, deadline: float, rec: Recorder, since: str) -> None:
    rng = random.Random(index)
    box = [None]
    n = 0
    while time.time() < deadline:
        n += 1
        draw = rng.random()
        code, region = rng.choice(cat["channels"])
        started = time.perf_counter()
        at = time.time()
        if draw < 0.5:
            endpoint = "GET availability"
            status, _ = request(box, port, "GET", f"/api/v1/availability/?sku={rng.choice(cat['skus'])}"
                                f"&channel={code}&qty={rng.choice((1, 1, 2))}", key)
        elif draw < 0.75:
            endpoint = "POST orders"
            body = {"external_id": f"SOAK-{index}-{n:06d}", "channel": code, "region": region,
                    "currency": CURRENCY[region],
                    "customer": {"email": f"soak{index}.{n % 500}@example.com", "name": f"Soak {index}",
                                 "locale": "en_US"},
                    "lines": [{"sku": s, "qty": rng.choice((1, 1, 2)), "unit_price": "19.00"}
                              for s in sorted(set(rng.choices(cat["skus"][:40], k=rng.choice((1, 1, 2, 3)))))]}
            status, _ = request(box, port, "POST", "/api/v1/orders/", key, body)
            with rec.lock:
                if status == 201:
                    rec.orders_created.append(body["external_id"])
                elif status >= 500 or status == 0:
                    rec.orders_failed.append(body)
        elif draw < 0.875:
            endpoint = "GET orders"
            status, _ = request(box, port, "GET", f"/api/v1/orders/?page_size=100&updated_since={since}", key)
        else:
            endpoint = "GET promise-changes"
            status, _ = request(box, port, "GET", f"/api/v1/promise-changes/?since={since}&page_size=100", key)
        rec.add(endpoint, status, time.perf_counter() - started, at)


def eta_changer(port: int, key: str, cat: dict, deadline: float, rec: Recorder) -> None:
    """Every few seconds move one confirmed PO's ETA 7 to 21 days later, or back to where it was."""
    rng = random.Random(99)
    box = [None]
    moved: dict[str, date] = {}
    while time.time() < deadline:
        number, eta = rng.choice(cat["pos"])
        if number in moved:
            new = eta
            del moved[number]
        else:
            new = moved[number] = max(eta, date.today()) + timedelta(days=rng.randint(7, 21))
        started, at = time.perf_counter(), time.time()
        status, _ = request(box, port, "PATCH", f"/api/v1/purchase-orders/{number}/", key,
                            {"eta": new.isoformat()})
        rec.add("PATCH purchase-order eta", status, time.perf_counter() - started, at)
        time.sleep(max(0.0, ETA_EVERY_SECONDS - (time.perf_counter() - started)))


# --- Checks ------------------------------------------------------------------------------------


def oversold_units() -> int:
    """Units promised from stock or a PO line beyond what it holds (open lines' promise sources)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            WITH src AS (
                SELECT l.sku_id, l.warehouse_id, e->>'kind' AS kind, (e->>'po_line')::bigint AS po_line,
                       (e->>'qty')::int AS qty
                FROM promises_promise p JOIN orders_orderline l ON l.id = p.line_id
                CROSS JOIN LATERAL jsonb_array_elements(p.sources) e
                WHERE l.status IN ('allocated', 'backordered'))
            SELECT COALESCE((SELECT sum(GREATEST(s.q - GREATEST(COALESCE(st.on_hand, 0) - k.safety_stock, 0), 0))
                             FROM (SELECT sku_id, warehouse_id, sum(qty) q FROM src WHERE kind = 'stock'
                                   GROUP BY 1, 2) s
                             LEFT JOIN inventory_stocklevel st ON st.sku_id = s.sku_id
                                  AND st.warehouse_id = s.warehouse_id
                             JOIN inventory_sku k ON k.id = s.sku_id), 0)
                 + COALESCE((SELECT sum(GREATEST(s.q - (pl.qty_ordered - pl.qty_received), 0))
                             FROM (SELECT po_line, sum(qty) q FROM src WHERE kind = 'purchase_order'
                                   GROUP BY 1) s
                             JOIN inventory_purchaseorderline pl ON pl.id = s.po_line), 0)""")
        return int(cur.fetchone()[0])


def notices_owed() -> dict:
    """What is owed now: slips no exception covers, notices never written, notices due unsent."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from notifications import services
    from notifications.health import notices_due_oldest
    from notifications.models import Notice
    from orders.models import OrderLine
    from promises.models import OrderException, Promise
    from workflow.facts import promises_against_told

    now = timezone.now()
    covered = OrderException.objects.filter(
        line=OuterRef("line"), kind__in=["delay_notice_due", "past_due", "consent_overdue"],
        promise_version=OuterRef("version"))
    uncovered = (Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES)
                 .filter(promises_against_told("gt")).exclude(Exists(covered)).count())
    unwritten = len(services.lines_unnoticed(now=now + services.UNNOTICED_AFTER))
    due, _oldest = notices_due_oldest(now=now)
    sending = Notice.objects.filter(status=Notice.Status.SENDING).count()
    return {"slips_uncovered": uncovered, "notices_unwritten": unwritten, "notices_due_unsent": due,
            "notices_left_sending": sending}


def emails_sent(mail_dir: Path) -> Counter:
    """Count the e-mails written per Message-ID (filemail: one file per connection, messages
    separated by a line of dashes)."""
    ids: Counter = Counter()
    for path in mail_dir.glob("*.log"):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if not chunk.strip():
                continue
            message = message_from_binary_file(io.BytesIO(chunk.lstrip(b"\n")))
            if message["Message-ID"]:
                ids[message["Message-ID"]] += 1
    return ids


def wait_healthy(port: int, timeout: float) -> dict:
    deadline = time.time() + timeout
    body = {}
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = json.loads(response.read() or b"{}")
            conn.close()
            if response.status == 200 and body.get("checks", {}).get("clusters", {}).get("ok"):
                return body
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(1)
    return body


# --- Main --------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long the load runs (default 10).")
    parser.add_argument("--grace", type=float, default=150.0,
                        help="Seconds after the load for the workers to catch up (default 150).")
    args = parser.parse_args(argv)
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed (apt-get install redis-server).")
    duration = args.minutes * 60
    outage = 30.0 if duration >= 300 else max(10.0, duration * 0.1)
    banner(f"Soak: {args.minutes:g} min of mixed load, 2 worker kills, Redis away {outage:.0f} s")

    url = db_url(DB_NAME)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    mail_dir = work / "mail"
    mail_dir.mkdir()
    redis_url = f"redis://{HOST}:{REDIS_PORT}/0"
    env = bench_env(url, REDIS_URL=redis_url,  # DEBUG off, as bench_env sets it
                    ALLOWED_HOSTS="127.0.0.1,localhost", API_THROTTLE_RATE="100000000/min",
                    API_FAILED_AUTH_RATE="100000000/min", EMAIL_URL=f"filemail://{mail_dir}",
                    LOG_LEVEL="WARNING")
    redis = Group(["redis-server", "--port", str(REDIS_PORT), "--bind", HOST, "--save", "",
                   "--appendonly", "no"], env, work / "redis.log")
    port = free_port()
    web = Group([PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"{HOST}:{port}", "--worker-class",
                 "gthread", "--workers", "2", "--threads", "4", "--timeout", "60"], env, work / "gunicorn.log")
    workers = Group([PYTHON, "manage.py", "workers"], {**env, "LOG_LEVEL": "INFO"}, work / "workers.log")
    events: list[tuple[float, str]] = []
    redis_down = (0.0, 0.0)
    try:
        redis.start()
        key = prepare(url, env)
        django_setup(url, **{k: env[k] for k in ("REDIS_URL", "EMAIL_URL", "SECRET_KEY")})
        cat = catalog()
        web.start()
        workers.start()
        health = wait_healthy(port, 120)
        print(f"  healthy before the load: {health.get('status')}", flush=True)

        rec = Recorder()
        t0 = time.time()
        deadline = t0 + duration
        since = datetime.fromtimestamp(t0 - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        threads = [threading.Thread(target=client, args=(i, port, key, cat, deadline, rec, since))
                   for i in range(CLIENTS)]
        threads.append(threading.Thread(target=eta_changer, args=(port, key, cat, deadline, rec)))
        for t in threads:
            t.start()

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + duration * fraction - time.time()))

        def log(what: str) -> None:
            events.append((time.time() - t0, what))
            print(f"  {time.time() - t0:7.1f} s  {what}", flush=True)

        for fraction in (0.25, None, 0.70):
            if fraction is None:  # Redis away
                at(0.45)
                log("Redis stopped")
                redis.stop(signal.SIGTERM)
                redis_down = (time.time(), time.time() + outage)
                time.sleep(outage)
                redis.start()
                log("Redis started (empty)")
                continue
            at(fraction)
            log("workers killed (SIGKILL, the whole tree)")
            workers.stop(signal.SIGKILL)
            time.sleep(WORKER_RESTART_AFTER)
            workers.start()
            log("workers started")
        for t in threads:
            t.join()
        log("load over; grace period")

        # Orders answered 5xx (or not at all) are posted again: each must land once.
        replay_lost = 0
        box = [None]
        for body in rec.orders_failed:
            status, _ = request(box, port, "POST", "/api/v1/orders/", key, body)
            replay_lost += status not in (200, 201)

        grace_end = time.time() + args.grace
        owed = notices_owed()
        while time.time() < grace_end and any(v for k, v in owed.items() if k != "notices_left_sending"):
            time.sleep(5)
            owed = notices_owed()
        log(f"grace over: {owed}")
    finally:
        workers.stop()
        web.stop()
        redis.stop()

    from orders.models import Order

    created = set(rec.orders_created)
    in_db = set(Order.objects.filter(external_id__in=created).values_list("external_id", flat=True))
    sent = emails_sent(mail_dir)
    duplicated = sum(n - 1 for n in sent.values() if n > 1)

    by_endpoint: dict[str, list] = defaultdict(list)
    for endpoint, status, seconds, when in rec.rows:
        by_endpoint[endpoint].append((status, seconds, when))
    table = []
    for endpoint, rows in sorted(by_endpoint.items()):
        fives = [w for s, _, w in rows if s >= 500 or s == 0]
        during = [w for w in fives if redis_down[0] - 1 <= w <= redis_down[1] + 5]
        table.append({"endpoint": endpoint, "requests": len(rows),
                      "p95_ms": round(percentile([s for _, s, _ in rows], 95) * 1000, 1),
                      "5xx": len(fives), "5xx_redis_away": len(during),
                      "other_4xx": sum(1 for s, _, _ in rows if 400 <= s < 500),
                      "statuses": dict(sorted(Counter(s for s, _, _ in rows).items()))})
    oversold = oversold_units()
    result = {
        "benchmark": "soak", "minutes": args.minutes, "redis_outage_s": outage, "events": events,
        "endpoints": table, "requests": sum(r["requests"] for r in table),
        "5xx": sum(r["5xx"] for r in table),
        "5xx_outside_redis_outage": sum(r["5xx"] - r["5xx_redis_away"] for r in table),
        "orders_created": len(created), "orders_201_missing": len(created - in_db),
        "orders_5xx_replay_lost": replay_lost, "orders_5xx_replayed": len(rec.orders_failed),
        "oversold_units": oversold, **owed, "emails_sent": sum(sent.values()),
        "emails_duplicated": duplicated, "logs": str(work), "machine": machine(),
    }
    print_table(result)
    result_emit(result)
    return result


def print_table(r: dict) -> None:
    banner("Soak result")
    print(f"  {'endpoint':<26} {'requests':>9} {'p95 ms':>8} {'5xx':>5} {'5xx Redis away':>15} {'4xx':>5}")
    for row in r["endpoints"]:
        print(f"  {row['endpoint']:<26} {row['requests']:>9} {row['p95_ms']:>8} {row['5xx']:>5} "
              f"{row['5xx_redis_away']:>15} {row['other_4xx']:>5}  {row['statuses']}")
    checks = [
        ("requests", r["requests"], None),
        ("5xx outside the Redis outage", r["5xx_outside_redis_outage"], 0),
        ("orders answered 201, missing", r["orders_201_missing"], 0),
        (f"orders answered 5xx ({r['orders_5xx_replayed']}), not landed on replay", r["orders_5xx_replay_lost"], 0),
        ("oversold units", r["oversold_units"], 0),
        ("slips no exception covers (notices lost)", r["slips_uncovered"], 0),
        ("notices never written (lost)", r["notices_unwritten"], 0),
        ("notices due, not sent", r["notices_due_unsent"], 0),
        ("notices left in sending by a kill (agent decides)", r["notices_left_sending"], None),
        ("e-mails sent", r["emails_sent"], None),
        ("e-mails sent twice (duplicated)", r["emails_duplicated"], 0),
    ]
    for label, value, target in checks:
        verdict = "" if target is None else ("ok" if value == target else f"MISSED (target {target})")
        print(f"  {label:<58} {value:>8}  {verdict}")
    print(f"  logs: {r['logs']}")


if __name__ == "__main__":
    main()
