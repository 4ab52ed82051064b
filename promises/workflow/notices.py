"""Customer notices: the signals that ask notifications for them, and the word they went out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q
from django.dispatch import Signal

from orders.models import Order, OrderLine
from promises.models import DelayConsent, OrderException, Promise
from promises.regional import regional_policy
from promises.workflow.exceptions_store import Kind, Status, _Exceptions

#: Sent inside the causing transaction with `requests` (a list of NoticeRequest) and `now`.
#: A receiver writes one outbox row per request and returns {idempotency key: state}.
notice_requested = Signal()
#: Sent when pending notices of `kinds` for `line_ids` no longer tell the truth; with
#: `versions` ({line id: promise version}), only those about that version or an older one.
notices_withdrawn = Signal()
#: Sent with `requests`: a receiver answers {idempotency key: state} each request would get
#: if written now ("held" or "queued"), and writes nothing.
notice_states_foreseen = Signal()

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


def notices_request(requests: list[NoticeRequest], *, now: datetime) -> dict[str, str]:
    """Send the requests to the notice writers; return {idempotency key: notice state}."""
    if not requests:
        return {}
    states: dict[str, str] = {}
    for _receiver, answer in notice_requested.send(sender=NoticeRequest, requests=requests, now=now):
        states.update(answer or {})
    return states


def notices_foresee(requests: list[NoticeRequest]) -> dict[str, str]:
    """Return the state each request's notice would have if written now (nothing is written)."""
    if not requests:
        return {}
    states: dict[str, str] = {}
    for _receiver, answer in notice_states_foreseen.send(sender=NoticeRequest, requests=requests):
        states.update(answer or {})
    return states


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
    batch = _Exceptions([line_id], at)
    batch.raise_(line, Kind.CONSENT_OVERDUE, due_by=exc.cancel_on,
                 cause=f"Express consent needed by {exc.cancel_on}, else cancelled automatically",
                 promise_version=exc.promise_version, notice_kind=exc.notice_kind,
                 promised_date=exc.promised_date, revised_date=exc.revised_date,
                 cancel_on=exc.cancel_on, express_consent_required=True, citations=exc.citations,
                 notified_at=at, notice_state="sent")
    batch.flush()
