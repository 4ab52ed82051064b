"""The outbox's health signal: the oldest notice due to go out and not sent (core/health.py)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Notice

#: A due notice waiting longer than this is a warning: the drain runs every minute.
NOTICE_LATE_SECONDS = 300


def notices_due_filter(now: datetime) -> Q:
    """Notices due as the outbox drain sees them: pending with no retry time, or pending or
    failed with their retry time past (held ones wait for an agent; they are not due)."""
    return (Q(status=Notice.Status.PENDING, next_attempt_at__isnull=True)
            | Q(status__in=(Notice.Status.PENDING, Notice.Status.FAILED), next_attempt_at__lte=now))


def notices_due_oldest(*, now: datetime) -> tuple[int, int | None]:
    """Return how many notices are due and the seconds the oldest has waited (None: none due).

    A notice waits from its retry time, else from its creation. One query.
    """
    row = Notice.objects.filter(notices_due_filter(now)).aggregate(
        n=Count("pk"), since=Min(Coalesce("next_attempt_at", "created_at")))
    seconds = max(0, int((now - row["since"]).total_seconds())) if row["since"] else None
    return row["n"], seconds


def notices_due_check(*, now: datetime | None = None) -> dict:
    """The health check: ok unless a due notice has waited over NOTICE_LATE_SECONDS."""
    due, oldest = notices_due_oldest(now=now or timezone.now())
    late = oldest is not None and oldest > NOTICE_LATE_SECONDS
    summary = f"{due} due; oldest waiting {oldest} s" if due else "none due"
    return {
        "ok": not late,
        "summary": summary,
        "warning": (f"A customer notice has waited {oldest // 60} min to be sent (over "
                    f"{NOTICE_LATE_SECONDS // 60}): is the notices cluster running, is SMTP "
                    "reachable?") if late else "",
        "due": due,
        "oldest_seconds": oldest,
    }
