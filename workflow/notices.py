"""Customer notices: the outbox port the workflow writes them through, and the word they went out.

The workflow decides what the customer must be told; the outbox (notifications, the app
above) writes, holds, sends and withdraws the e-mails. The workflow needs its answer inside
its own transaction (the state of each notice: held or queued), so it calls the outbox
through a port: the `NoticeOutbox` interface below, with one implementation named by
settings.BACKORDER_DESK["NOTICE_OUTBOX"], loaded once and checked at startup
(workflow.checks). When a notice went out, the outbox calls `notice_delivered` back.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from django.conf import settings
from django.db.models import Q
from django.utils.module_loading import import_string

from orders.models import Order, OrderLine
from promises.models import DelayConsent, OrderException, Promise
from workflow.exceptions_store import ExceptionBatch, Kind, Status
from workflow.regional import regional_policy

DELAY_NOTICE_KINDS = ("delay_notice", "renewed_delay_notice")


@dataclass
class NoticeRequest:
    """Ask the notifications app for one customer notice about a line (or an order)."""

    kind: str
    order: Order
    line: OrderLine | None
    version: int | None
    announced: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    release: bool = False  # send even when notices are held for review (an agent asked)
    user_id: int | None = None

    @property
    def key(self) -> str:
        if self.line is None:
            return f"order-{self.order.pk}:{self.kind}:{self.version or 1}"
        return f"{self.line.pk}:{self.kind}:{self.version or 0}"


class NoticeOutbox(Protocol):
    """What the workflow asks of the notice outbox."""

    def queue(self, requests: list[NoticeRequest], *, now: datetime) -> dict[str, str]:
        """Write one notice per request in the caller's transaction; return {key: state}."""

    def foresee(self, requests: list[NoticeRequest]) -> dict[str, str]:
        """Return the state each request's notice would get if written now; write nothing."""

    def withdraw(self, *, line_ids: Iterable[int], kinds: Iterable[str], now: datetime,
                 versions: dict[int, int] | None = None) -> int:
        """Withdraw the unsent notices of these kinds (with `versions`: about that promise
        version or an older one); return how many."""

    def lines_closed(self, *, line_ids: Iterable[int], now: datetime) -> int:
        """Withdraw every unsent notice about these lines, which shipped or were cancelled."""

    def backorder_confirm(self, *, order: Order, lines: list[OrderLine], now: datetime) -> dict[str, str]:
        """Queue the backorder confirmation of an order's backordered and pre-order lines
        (lines that carry their SKU and promise need not be read again)."""


#: The methods an outbox must have (checked at startup).
NOTICE_OUTBOX_METHODS = ("queue", "foresee", "withdraw", "lines_closed", "backorder_confirm")


@functools.cache
def notice_outbox() -> NoticeOutbox:
    """Return the outbox named by settings.BACKORDER_DESK["NOTICE_OUTBOX"]."""
    return import_string(settings.BACKORDER_DESK["NOTICE_OUTBOX"])()


def notices_request(requests: list[NoticeRequest], *, now: datetime) -> dict[str, str]:
    """Write the requested notices; return {idempotency key: notice state}."""
    return notice_outbox().queue(requests, now=now) if requests else {}


def notices_foresee(requests: list[NoticeRequest]) -> dict[str, str]:
    """Return the state each request's notice would have if written now (nothing is written)."""
    return notice_outbox().foresee(requests) if requests else {}


def notice_delivered(*, kind: str, announced: dict, at: datetime, context: dict | None = None) -> None:
    """Record that the customer was told the announced dates (a notice went out), and what
    the customer's silence to a delay notice now means (`context`: the policy's decision)."""
    for line_id, dates in announced.items():
        line_id = int(line_id)
        Promise.objects.filter(line_id=line_id).filter(
            Q(communicated_at__isnull=True) | Q(communicated_at__lte=at)
        ).update(
            communicated_ship_date=date.fromisoformat(dates["ship_date"]),
            communicated_delivery_to=date.fromisoformat(dates["delivery_to"]),
            communicated_at=at,
        )
        if kind in DELAY_NOTICE_KINDS:
            _agreement_after_notice(line_id, context or {})
            _delay_notice_delivered(line_id, dates.get("version"), at)


def _agreement_after_notice(line_id: int, context: dict) -> None:
    region = context.get("region")
    if not region or context.get("unknown") or not context.get("revised_date"):
        return
    promise = Promise.objects.filter(line_id=line_id).only("agreed_ship_date").first()
    if promise is None:
        return
    agreed = regional_policy(region).agreed_after_notice(
        promise.agreed_ship_date, silence_is_consent=bool(context.get("silence_is_consent")),
        revised=date.fromisoformat(context["revised_date"]))
    if agreed != promise.agreed_ship_date:
        Promise.objects.filter(line_id=line_id).update(agreed_ship_date=agreed)


def _delay_notice_delivered(line_id: int, version: int | None, at: datetime) -> None:
    exceptions = OrderException.objects.filter(line_id=line_id, kind=Kind.DELAY_NOTICE_DUE,
                                               status__in=OrderException.OPEN_STATUSES)
    if version is not None:
        # A notice about an older promise (claimed before the promise moved again) does not
        # tell the customer of the newer one: its exception waits for its own notice.
        exceptions = exceptions.filter(promise_version=version)
    exc = exceptions.select_for_update().select_related("line__order").first()
    if exc is None:
        return
    exc.notified_at, exc.notice_state = at, "sent"
    exc.status, exc.resolved_at = Status.RESOLVED, at
    exc.resolution = f"{exc.notice_kind or 'delay notice'} sent"
    exc.save(update_fields=["notified_at", "notice_state", "status", "resolved_at", "resolution",
                            "updated_at"])
    line = exc.line
    if not exc.express_consent_required or exc.cancel_on is None or line.status not in OrderLine.OPEN_STATUSES:
        return
    if DelayConsent.objects.filter(line_id=line_id, promise_version=exc.promise_version,
                                   decision=DelayConsent.Decision.ACCEPT).exists():
        return
    # 16 CFR 435.2(b)(1)(iii), (c)(2)-(3): without express consent the line is cancelled
    # after cancel_on; the agent sees it coming.
    batch = ExceptionBatch([line_id], at)
    batch.raise_(line, Kind.CONSENT_OVERDUE, due_by=exc.cancel_on,
                 cause=f"Express consent needed by {exc.cancel_on}, else cancelled automatically",
                 promise_version=exc.promise_version, notice_kind=exc.notice_kind,
                 promised_date=exc.promised_date, revised_date=exc.revised_date,
                 cancel_on=exc.cancel_on, express_consent_required=True, citations=exc.citations,
                 notified_at=at, notice_state="sent")
    batch.flush()
