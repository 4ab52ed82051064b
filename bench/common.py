"""Shared helpers for the benchmarks: databases, Django setup, bulk loading, timing, results.

Every benchmark runs in its own process (Django is configured once per process) against its
own PostgreSQL database, dropped and recreated at the start and migrated with manage.py.
The server comes from DATABASE_URL (default: the local one); only the database name changes.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/backorder_desk_bench"
RESULT_PREFIX = "BENCH_RESULT "

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- Databases --------------------------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"The benchmarks need PostgreSQL; DATABASE_URL is {url!r}.")
    return url


def db_url(name: str) -> str:
    """Return DATABASE_URL with its database name replaced by `name`."""
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def libpq_dsn(url: str) -> str:
    """psycopg accepts postgres:// URLs as they are; normalise the scheme only."""
    return url.replace("postgres://", "postgresql://", 1)


_LOCKS = []


def bench_lock(name: str) -> None:
    """Hold a server-wide advisory lock named after the database for this process's life.

    Two runs of one benchmark at the same time would drop each other's database; the second
    waits for the first instead.
    """
    import psycopg

    conn = psycopg.connect(libpq_dsn(db_url("postgres")), autocommit=True)
    key = f"backorder-desk-bench:{name}"
    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
        print(f"  (another run of this benchmark holds {name}; waiting for it to finish)", flush=True)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
    _LOCKS.append(conn)


def db_recreate(name: str) -> str:
    """Drop and create database `name` (waiting for any other run using it); return its URL."""
    import psycopg

    bench_lock(name)
    with psycopg.connect(libpq_dsn(db_url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return db_url(name)


def db_copy(source: str, name: str, *, wait: float = 30.0) -> str:
    """Create database `name` as a copy of `source` (CREATE DATABASE ... TEMPLATE), waiting
    up to `wait` seconds for the sessions of processes that just ended to leave `source`;
    return its URL."""
    import psycopg

    bench_lock(name)
    deadline = time.monotonic() + wait
    with psycopg.connect(libpq_dsn(db_url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        while True:
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    return db_url(name)


def _cpu_ticks(select) -> dict[int, int]:
    """CPU ticks (user + system) of each running process whose (name, command line)
    `select` accepts."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if select(name, cmdline):
            ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def cpu_ms_per(cores: float | None, window: float, count: int) -> float | None:
    """Milliseconds of CPU per event: a share of the cores held for `window` seconds, over
    `count` events (None where the share is unknown or nothing happened)."""
    return cores * window / count * 1000 if cores is not None and count else None


def ms_or_na(value) -> str:
    """A figure in milliseconds, or n/a where it could not be measured."""
    return "n/a" if value is None else f"{value:.2f} ms"


def postgres_process(name: str, cmdline: str) -> bool:
    """A process of the PostgreSQL server (its backends name themselves postgres: ...)."""
    return name.startswith(("postgres", "postmaster"))


def server_is_local() -> bool:
    return (urlsplit(server_url()).hostname or "127.0.0.1") in ("127.0.0.1", "localhost", "::1")


def cpu_during(duration: float, groups: dict) -> dict:
    """Sleep through a run of `duration` seconds that starts now; return the share of the
    cores each group of processes (name -> select(name, cmdline)) used from 1 s after the
    start to 1 s before the end, and how busy the machine was (`machine_busy`, 0-1). None
    where /proc cannot tell (not Linux, or a run of 3 s or less)."""
    if not os.path.exists("/proc/stat") or duration <= 3:
        time.sleep(max(duration - 1, 0))
        return {**dict.fromkeys(groups), "machine_busy": None}
    time.sleep(1.0)
    before = {name: _cpu_ticks(select) for name, select in groups.items()}
    machine_a, t_a = _machine_ticks(), time.monotonic()
    time.sleep(duration - 2.0)
    after = {name: _cpu_ticks(select) for name, select in groups.items()}
    machine_b, t_b = _machine_ticks(), time.monotonic()
    tick = os.sysconf("SC_CLK_TCK")
    shares = {name: sum(v - before[name].get(pid, 0) for pid, v in after[name].items()) / tick / (t_b - t_a)
              for name in groups}
    busy, total = machine_b[0] - machine_a[0], machine_b[1] - machine_a[1]
    return {**shares, "machine_busy": busy / total if total else None}


def bench_env(url: str, **extra: str) -> dict[str, str]:
    """The environment a bench process (or its worker) runs Django with."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LOG_LEVEL": env.get("LOG_LEVEL", "WARNING"),
        # A benchmark keeps its connection open (the default already does, 60 s).
        "CONN_MAX_AGE": env.get("CONN_MAX_AGE", "600"),
    })
    env.pop("REDIS_URL", None)  # each benchmark says whether it uses Redis
    # The production settings: DEBUG off. With it on, Django keeps every statement's SQL,
    # formatted, in connection.queries: a tenth of an order's intake time.
    env.setdefault("DEBUG", "False")
    env.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    env.setdefault("SECURE_SSL_REDIRECT", "False")
    env.update(extra)
    return env


def redis_url(db: int) -> str:
    """BENCH_REDIS_URL (default: the local server) with its database number set to `db`."""
    base = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    return f"{base.rstrip('/')}/{db}"


def intake_broker() -> dict[str, str]:
    """The environment of the intake benchmarks: django-q2 on Redis, as in production.

    Intake enqueues the notices task on commit; on the ORM broker (the default without
    REDIS_URL) that is one more write transaction, and one more commit to disk, per order.
    Database BENCH_INTAKE_REDIS_DB (default 13), emptied at the start of each run: no
    worker runs, the tasks are only counted there.
    """
    return {"REDIS_URL": redis_url(int(os.environ.get("BENCH_INTAKE_REDIS_DB", "13"))),
            "Q_NAME": "bench-intake", "NOTICES_CLUSTER": "bench-intake-notices"}


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def migrate(url: str, **extra: str) -> float:
    """Migrate the bench database, after collecting the static files (static_collect)."""
    started = time.perf_counter()
    env = bench_env(url, **extra)
    static_collect(env)
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def static_collect(env: dict[str, str]) -> None:
    """Collect the static files, which the production settings (DEBUG off) serve from their
    manifest (admin pages, notices). WhiteNoise compresses them all, about 20 s of CPU:
    bench/run.py does it once for the benchmarks it runs (STATIC_COLLECTED in their
    environment), a benchmark run alone does it itself."""
    if env.get(STATIC_COLLECTED) == "1":
        return
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


STATIC_COLLECTED = "BENCH_STATIC_COLLECTED"


def django_setup(url: str, **extra: str) -> None:
    """Configure this process for the bench database and call django.setup()."""
    os.environ.update(bench_env(url, **extra))
    if "REDIS_URL" not in extra:
        os.environ.pop("REDIS_URL", None)
    os.chdir(ROOT)
    import django

    django.setup()


def vacuum_analyze(url: str, tables=None) -> float:
    """VACUUM ANALYZE, then CHECKPOINT: each measured phase starts with clean tables and no
    checkpoint of the previous phase's writes running beside it."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)" if not tables else f"VACUUM (ANALYZE) {', '.join(tables)}")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.Error:
            pass  # needs superuser or pg_checkpoint; the phase is then only less isolated
    return time.perf_counter() - started


def load_average() -> tuple[float, float, float]:
    """Other work on the machine skews wall-clock figures: record it beside them."""
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


def sequences_reset(cur, models) -> None:
    """Move the id sequences past the ids the bulk loader gave explicitly."""
    for model in models:
        table = model._meta.db_table
        pk = model._meta.pk.column
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{pk}'), "
            f"COALESCE((SELECT MAX({pk}) FROM {table}), 0) + 1, false)"
        )


# --- Bulk loading -----------------------------------------------------------------------------


def _field_default(field, now):
    """The value the ORM would store for a field the loader leaves out."""
    from django.db.models import NOT_PROVIDED

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default() or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
        if field.has_default():
            value = field.get_default()
            if field.get_internal_type() == "JSONField":
                from psycopg.types.json import Jsonb

                return Jsonb(value)
            return value
    if field.null:
        return None
    if field.get_internal_type() in ("CharField", "TextField", "SlugField", "EmailField"):
        return ""
    raise ValueError(f"{field.model.__name__}.{field.name}: no value and no default")


def copy_rows(cur, model, columns: tuple[str, ...], rows, *, now=None) -> int:
    """COPY rows into a model's table; columns not given get the model's defaults.

    Columns are database column names. Fields added to the models later get their default,
    so the loader keeps working while the schema grows.
    """
    now = now or datetime.now(UTC)
    table = model._meta.db_table
    tail_cols, tail = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns:
            continue
        if field.primary_key and field.get_internal_type() in ("AutoField", "BigAutoField"):
            continue
        tail_cols.append(field.column)
        tail.append(_field_default(field, now))
    tail = tuple(tail)
    n = 0
    with cur.copy(f"COPY {table} ({', '.join((*columns, *tail_cols))}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row + tail if tail else row)
            n += 1
    return n


# --- Timing and results -----------------------------------------------------------------------


@contextmanager
def timed(label: str, into: dict | None = None, *, quiet: bool = False):
    started = time.perf_counter()
    box = {}
    try:
        yield box
    finally:
        box["seconds"] = seconds = time.perf_counter() - started
        if into is not None:
            into[label] = seconds
        if not quiet:
            print(f"  {label:<44} {seconds:9.2f} s", flush=True)


def percentile(values, pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def summary(values) -> dict:
    return {
        "n": len(values), "min": min(values), "p50": percentile(values, 50),
        "p95": percentile(values, 95), "max": max(values), "mean": statistics.fmean(values),
    }


def machine() -> dict:
    import psycopg

    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    with psycopg.connect(libpq_dsn(db_url("postgres"))) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'synchronous_commit', 'max_wal_size', 'autovacuum', 'jit')").fetchall())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "commit": commit, "load_average": [round(x, 2) for x in load_average()],
        "nproc": os.cpu_count(), "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "postgres": version, "pg_settings": settings,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def result_emit(result: dict) -> None:
    """Print the machine-readable result line bench/run.py collects."""
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)
