"""Enqueue django-q2 tasks only once the transaction that caused them commits.

This is the one place that calls `async_task`: a task enqueued before commit could run
against rows it cannot see yet, or for a transaction that later rolls back.
"""

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

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


def enqueue_on_commit(func: str, *args, dedupe: bool = True, **kwargs) -> None:
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
        async_task(func, *args, **kwargs)

    send.task_key, send.sent = key, False
    transaction.on_commit(send, robust=True)
