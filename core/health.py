"""The system's health as a load balancer and an operator see it (`/healthz`, the ops dashboard).

Four signals are core's own: the database; django-q2's broker (its ORM tables on the
database, or Redis) with each queue's depth; and each worker cluster's last heartbeat.
The apps above add theirs through settings.BACKORDER_DESK["HEALTH_CHECKS"] (name -> dotted
path of a function returning a dict with at least "ok"): the oldest due notice
(notifications) and the API's rate-limit counters (api). A check that cannot be loaded or
fails is reported as such; it never takes the others down.

Heartbeats: each qcluster process (core's `qcluster` command) enqueues `heartbeat` on its
own cluster's queue every HEARTBEAT_SECONDS. A worker of that cluster running it proves the
whole path works (broker, queue, worker, result saving), and django-q2's own result row
(`Success`, which names the cluster) is the record: no table of ours, and the same on the
ORM broker and on Redis. A cluster not seen for CLUSTER_SILENT_SECONDS is a warning.

Only a database that cannot be reached makes the system "down" (503: take this web server
out); everything else is a warning the web servers can serve through.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

HEARTBEAT_TASK = "core.health.heartbeat"
#: How often each cluster's qcluster process enqueues a heartbeat.
HEARTBEAT_SECONDS = 15
#: A cluster whose last heartbeat is older than this is a warning.
CLUSTER_SILENT_SECONDS = 60
#: Heartbeat results kept per cluster (older ones are deleted by the next heartbeat).
HEARTBEATS_KEPT = 3
#: Connecting to and asking Redis may take this long before the broker counts as away.
REDIS_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Check:
    """One signal: ok (None: could not tell), a line for people, a warning if any, details."""

    name: str
    ok: bool | None
    summary: str
    warning: str = ""
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    checks: list[Check]

    @property
    def database_ok(self) -> bool:
        return bool(self.check("database").ok)

    @property
    def warnings(self) -> list[str]:
        return [c.warning for c in self.checks if c.warning]

    @property
    def status(self) -> str:
        """"down" (the database is away), "warning" (something needs a look) or "ok"."""
        if not self.database_ok:
            return "down"
        return "warning" if self.warnings else "ok"

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "warnings": self.warnings,
            "checks": {c.name: {"ok": c.ok, "summary": c.summary, **c.detail} for c in self.checks},
        }


def cluster_names() -> list[str]:
    """Return the django-q2 clusters this deployment runs: the main one, and the notices one
    when NOTICES_CLUSTER is set."""
    names = [settings.Q_CLUSTER["name"]]
    if getattr(settings, "NOTICES_CLUSTER", ""):
        names.append(settings.NOTICES_CLUSTER)
    return names


def health_report(*, now: datetime | None = None) -> Health:
    """Return every signal, read now (a handful of small queries and one Redis round trip)."""
    now = now or timezone.now()
    database = database_check()
    checks = [database, broker_check()]
    if database.ok:
        checks.append(_guarded("clusters", lambda: clusters_check(now=now)))
        for name, path in settings.BACKORDER_DESK.get("HEALTH_CHECKS", {}).items():
            checks.append(_guarded(name, lambda path=path, name=name: _named_check(name, path)))
    else:
        unknown = ["clusters", *settings.BACKORDER_DESK.get("HEALTH_CHECKS", {})]
        checks += [Check(name, None, "unknown: the database is away") for name in unknown]
    return Health(now, checks)


def database_check() -> Check:
    """Ask the database for one row."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.error("health: database unreachable: %s", exc)
        return Check("database", False, "unreachable", warning="Database unreachable",
                     detail={"error": type(exc).__name__})
    return Check("database", True, f"reachable ({connection.vendor})",
                 detail={"vendor": connection.vendor})


def broker_check() -> Check:
    """Ping django-q2's broker and read each cluster's queue depth."""
    url = settings.Q_CLUSTER.get("redis")
    kind = "redis" if url else "orm"
    try:
        depths = {}
        for name in cluster_names():
            broker = _broker(name, url if isinstance(url, str) else None)
            broker.ping()
            depths[name] = broker.queue_size()
    except Exception as exc:  # noqa: BLE001  (Redis or the database away: reported, not raised)
        log.error("health: %s broker unreachable: %s", kind, exc)
        return Check("broker", False, f"{kind}: unreachable",
                     warning=f"Task broker ({kind}) unreachable: tasks cannot be queued",
                     detail={"kind": kind, "error": type(exc).__name__})
    queued = ", ".join(f"{n}: {d}" for n, d in depths.items())
    return Check("broker", True, f"{kind}: reachable; queued {queued}",
                 detail={"kind": kind, "queued": depths})


@functools.cache
def _broker(name: str, redis_url: str | None):
    """Return django-q2's broker of one cluster as settings name it; on Redis, a client of
    our own with timeouts (a Redis that hangs must not hang the health check)."""
    if redis_url is None:
        from django_q.brokers.orm import ORM

        return ORM(list_key=name)
    return _RedisQueue(name, redis_url)


class _RedisQueue:
    """The two questions asked of django-q2's Redis broker, with timeouts (its queue of a
    cluster is the list `django_q:<cluster>:q`)."""

    def __init__(self, name: str, url: str):
        import redis

        self.key = f"django_q:{name}:q"
        self.client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_timeout=REDIS_TIMEOUT_SECONDS)

    def ping(self) -> bool:
        return self.client.ping()

    def queue_size(self) -> int:
        return self.client.llen(self.key)


def clusters_check(*, now: datetime) -> Check:
    """Return each cluster's last heartbeat and whether any was not seen for a minute."""
    from django_q.models import Success

    names = cluster_names()
    seen = dict(Success.objects.filter(func=HEARTBEAT_TASK, cluster__in=names)
                .values("cluster").order_by().annotate(last=Max("stopped"))
                .values_list("cluster", "last"))
    detail, silent = {}, []
    for name in names:
        last = seen.get(name)
        age = int((now - last).total_seconds()) if last else None
        detail[name] = {"last_heartbeat": last.isoformat() if last else None, "seconds_ago": age}
        if age is None or age > CLUSTER_SILENT_SECONDS:
            silent.append(f"{name} ({'never seen' if age is None else f'{age} s ago'})")
    summary = ", ".join(f"{n}: {'never' if d['seconds_ago'] is None else str(d['seconds_ago']) + ' s ago'}"
                        for n, d in detail.items())
    warning = f"Worker cluster not seen for over {CLUSTER_SILENT_SECONDS} s: {', '.join(silent)}" if silent else ""
    return Check("clusters", not silent, summary, warning=warning, detail={"clusters": detail})


def _named_check(name: str, path: str) -> Check:
    """Run a check an app provides: a function returning {"ok": bool, ...} (optionally
    "summary" and "warning"); the rest of its dict is passed on as details."""
    try:
        func: Callable[[], dict] = import_string(path)
    except ImportError:
        return Check(name, None, f"not available ({path} cannot be imported)")
    result = dict(func())
    ok = result.pop("ok", None)
    error = result.get("error") or ""
    summary = result.pop("summary", "") or ("ok" if ok else f"not ok{': ' + error if error else ''}")
    warning = result.pop("warning", "") or ("" if ok or ok is None else f"{name}: {summary}")
    return Check(name, ok, summary, warning=warning, detail=result)


def _guarded(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except Exception as exc:  # noqa: BLE001  (one broken check must not hide the others)
        log.exception("health: the %s check failed", name)
        return Check(name, None, f"check failed ({type(exc).__name__})",
                     warning=f"Health check {name} failed: {type(exc).__name__}")


def heartbeat() -> str:
    """Prove that this worker's cluster takes tasks (enqueued by qcluster every HEARTBEAT_SECONDS).

    Its own result row is the record; the older ones of this cluster are deleted here, so
    heartbeats never crowd django-q2's list of results.
    """
    from django_q.conf import Conf
    from django_q.models import Success

    mine = Success.objects.filter(func=HEARTBEAT_TASK, cluster=Conf.CLUSTER_NAME)
    keep = list(mine.order_by("-stopped").values_list("pk", flat=True)[:HEARTBEATS_KEPT - 1])
    mine.exclude(pk__in=keep).delete()
    return Conf.CLUSTER_NAME


def heartbeat_enqueue(cluster: str) -> None:
    """Put one heartbeat on `cluster`'s queue (logged, not raised, when the broker is away)."""
    from core.queue import enqueue_on_commit

    try:
        enqueue_on_commit(HEARTBEAT_TASK, dedupe=False, cluster=cluster, group="heartbeat")
    except Exception:  # noqa: BLE001  (the broker is away: the health check says so)
        log.warning("could not enqueue the heartbeat of cluster %s", cluster, exc_info=True)
