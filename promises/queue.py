"""Enqueue django-q2 tasks only once the transaction that caused them commits.

This is the one place that calls `async_task`: a task enqueued before commit could run
against rows it cannot see yet, or for a transaction that later rolls back.
"""

from django.db import connection, transaction
from django_q.tasks import async_task


def enqueue_on_commit(func: str, *args, dedupe: bool = True, **kwargs) -> None:
    """Enqueue `func(*args)` after the current transaction commits (at once outside one).

    With dedupe, the same call is enqueued once per transaction however often it is asked
    for: a PO save touching forty pools enqueues one coalescing task, not forty.
    """
    key = (func, args, tuple(sorted(kwargs.items())))
    pending = connection.__dict__.setdefault("_backorder_desk_pending_tasks", set())
    if dedupe and key in pending:
        return
    pending.add(key)

    def send():
        pending.discard(key)
        async_task(func, *args, **kwargs)

    transaction.on_commit(send, robust=True)
