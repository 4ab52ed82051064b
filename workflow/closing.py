"""Resolve exceptions one by one: their line shipped or was cancelled, or a sweep or an agent acted."""

from __future__ import annotations

from datetime import datetime

from orders.models import OrderLine
from promises.models import OrderException
from workflow.exceptions_store import Status


def line_closed(*, line_id: int, status: str, now: datetime) -> int:
    """Resolve every open exception of a shipped or cancelled line; return how many."""
    resolution = "Line shipped" if status == OrderLine.Status.SHIPPED else "Line cancelled"
    resolved = 0
    for exc in OrderException.objects.filter(line_id=line_id, status__in=OrderException.OPEN_STATUSES):
        exc.status, exc.resolution, exc.resolved_at = Status.RESOLVED, resolution, now
        exc.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])
        resolved += 1
    return resolved


def exception_close(exc: OrderException, resolution: str, now: datetime) -> None:
    if exc.status == Status.RESOLVED:
        return
    exc.status, exc.resolution, exc.resolved_at = Status.RESOLVED, resolution[:200], now
    exc.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])
