"""Urgent work (re-promising, a slip's assessment) and the background work that yields to it.

Re-promising and raising exceptions have a one-second budget; sending notices has minutes
(the law's deadlines are days). On a machine of few cores a drain sending thousands of
e-mails slows every re-promise beside it, so urgent tasks say they are running and the
notice drain waits for them, within a bound, before each notice.

The signal is a PostgreSQL advisory lock: each urgent task holds it shared for its length,
at session level on the task's connection (a worker killed mid-way lets go with its
connection; so this needs session pooling, as the drain's own lock does); the drain tests
whether it could take it exclusively. Other databases: nothing is signalled.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

URGENT_WORK_LOCK_ID = 0x75726774  # "urgt"
#: Held while a large slip's exceptions are being raised (before its notices are written).
EXCEPTIONS_LOCK_ID = 0x65786370  # "excp"


@contextmanager
def _signal(lock_id: int):
    """Hold a signal while the block runs (an advisory lock, shared: many tasks at once)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock_shared(%s)", [lock_id])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock_shared(%s)", [lock_id])
        except DatabaseError:  # the connection broke: the lock went with it; keep the cause
            log.warning("could not release signal %#x", lock_id, exc_info=True)


def _signalled(lock_id: int) -> bool:
    """Return whether some task holds the signal now (one round trip)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        # Take it exclusively and give it back at once: it could be taken iff nobody holds it.
        cursor.execute("SELECT CASE WHEN pg_try_advisory_lock(%s) THEN pg_advisory_unlock(%s) "
                       "ELSE false END", [lock_id, lock_id])
        return not cursor.fetchone()[0]


def urgent_work():
    """Hold the urgent-work signal while the block runs (shared: many tasks at once)."""
    return _signal(URGENT_WORK_LOCK_ID)


def urgent_work_running() -> bool:
    """Return whether some urgent task holds the signal now (one round trip)."""
    return _signalled(URGENT_WORK_LOCK_ID)


def exceptions_being_raised():
    """Hold the signal that a large slip's exceptions are being raised (shared)."""
    return _signal(EXCEPTIONS_LOCK_ID)


def exceptions_being_raised_elsewhere() -> bool:
    """Return whether some task is raising a large slip's exceptions now (one round trip)."""
    return _signalled(EXCEPTIONS_LOCK_ID)


class Yielder:
    """Wait while urgent work runs, at most `max_wait` seconds at a time.

    After a wait that reached the bound, it does not wait again for as long, so background
    work still gets at least half the time when urgent work never stops. Returns the
    seconds waited.
    """

    def __init__(self, *, max_wait: float = 2.0, poll: float = 0.02, running=urgent_work_running,
                 clock=time.monotonic, sleep=time.sleep):
        self.max_wait, self.poll = max_wait, poll
        self._running, self._clock, self._sleep = running, clock, sleep
        self._free_until = float("-inf")

    def __call__(self) -> float:
        if self.max_wait <= 0:
            return 0.0
        started = self._clock()
        if started < self._free_until:
            return 0.0
        while self._running():
            now = self._clock()
            if now - started >= self.max_wait:
                self._free_until = now + self.max_wait
                break
            self._sleep(self.poll)
        return self._clock() - started
