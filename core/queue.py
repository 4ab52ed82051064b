"""Enqueue django-q2 tasks only once the transaction that caused them commits.

This is the one place that calls `async_task`: a task enqueued before commit could run
against rows it cannot see yet, or for a transaction that later rolls back.
"""

import logging

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django_q.tasks import async_task

log = logging.getLogger(__name__)

#: Task modules that run on the notices cluster (settings.NOTICES_CLUSTER) when there is one.
NOTICES_TASK_PREFIX = "notifications."


def cluster_for(func: str) -> str | None:
    """Return the django-q2 cluster that runs `func` (None: the main cluster).

    Sending customer notices and the periodic workflow sweeps have a cluster of their own,
    so a drain sending thousands of notices never delays a re-promise or the assessment
    of a slip (promises.tasks, on the main cluster).
    """
    name = getattr(settings, "NOTICES_CLUSTER", "")
    return name if name and func.startswith(NOTICES_TASK_PREFIX) else None


def enqueue_on_commit(func: str, *args, dedupe: bool = True, coalesce: bool = False, **kwargs) -> None:
    """Enqueue `func(*args)` after the current transaction commits (at once outside one).

    With dedupe, the same call is enqueued once per transaction however often it is asked
    for: a PO save touching forty pools enqueues one coalescing task, not forty. The check
    reads Django's own list of pending callbacks, which a rollback clears, so a rolled-back
    transaction never suppresses a later enqueue.
    """
    key = (func, args, tuple(sorted(kwargs.items())))
    if dedupe and connection.in_atomic_block:
        # Entries are (savepoint ids, callback, robust) tuples; a callback that already ran
        # (tests run captured callbacks without removing them) no longer stands for this one.
        if any(getattr(entry[1], "task_key", None) == key and not entry[1].sent
               for entry in connection.run_on_commit):
            return

    cluster = cluster_for(func)
    if cluster:
        kwargs = {**kwargs, "cluster": cluster}

    def send():
        send.sent = True
        if coalesce and not _queue_slot_take(func):
            return  # a run waits in the queue: it starts after this commit and sees its rows
        async_task(func, *args, **kwargs)

    send.task_key, send.sent = key, False
    transaction.on_commit(send, robust=True)


# --- Coalesced drains ---------------------------------------------------------------------------
#
# A drain (the notice outbox's) handles everything pending when it starts, so one run waiting
# in the queue serves every transaction that commits before it starts. Where the processes
# share a cache (CACHES["task_flags"], Redis), the commit that enqueues a drain sets a flag
# and the drain clears it first thing; commits that find the flag set enqueue nothing. The
# flag expires by itself, so a lost run holds nothing back for long. Without a shared
# cache every commit enqueues its own run.

#: How long a flag stands for a run that never started (a lost task, a stopped cluster).
COALESCE_SECONDS = 30


def _flags():
    return caches["task_flags"] if "task_flags" in settings.CACHES else None


def _queue_slot_take(func: str) -> bool:
    """Return whether this commit must enqueue `func` (False: a run of it is waiting)."""
    flags = _flags()
    if flags is None:
        return True
    try:
        return flags.add(f"queued:{func}", 1, timeout=COALESCE_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is away: enqueue, as without one
        log.warning("task flags unavailable; enqueuing %s", func, exc_info=True)
        return True


def coalesced_run_started(func: str) -> None:
    """Called first by a coalesced drain: commits from now on enqueue a run of their own."""
    flags = _flags()
    if flags is None:
        return
    try:
        flags.delete(f"queued:{func}")
    except Exception:  # noqa: BLE001 - the flag expires by itself
        log.warning("task flags unavailable; the flag of %s expires by itself", func, exc_info=True)
