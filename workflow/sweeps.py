"""Scheduled sweeps: US consent deadlines, past-due lines, and slips no exception covers yet."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from inventory.models import Region
from orders.models import Cancellation, Order, OrderLine
from promises.models import DelayConsent, OrderException, Promise
from workflow.assessment import Assessment, recorded_changes_assess
from workflow.closing import exception_close, line_closed
from workflow.consent import cancellation_notices_request
from workflow.exceptions_store import ExceptionBatch, Kind
from workflow.facts import promises_against_told, region_today
from workflow.fulfilment import order_cancel
from workflow.policies import regions_where_a_late_notice_cancels
from workflow.regional import regional_policy


def _line_cancel_locked(exc_id: int, *, kinds, today_check, reason: str, resolution: str,
                        now: datetime, also_raise: str | None = None) -> list[Cancellation] | None:
    """Cancel an exception's line by the rules, once, whatever the number of workers.

    The order row is claimed with SKIP LOCKED (another worker has it: skip), then the
    exception row is locked and re-read: a worker that comes second sees it resolved.
    """
    with transaction.atomic():
        order_id = OrderException.objects.filter(pk=exc_id).values_list("order_id", flat=True).first()
        if order_id is None:
            return None
        if Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first() is None:
            return None
        exc = (OrderException.objects.select_for_update(of=("self",))
               .select_related("line__order__region", "line__order__channel", "line__order__customer")
               .filter(pk=exc_id, kind__in=kinds, status__in=OrderException.OPEN_STATUSES).first())
        if exc is None or not today_check(exc):
            return None
        line = exc.line
        if line.status not in OrderLine.OPEN_STATUSES:
            line_closed(line_id=line.pk, status=line.status, now=now)
            return None
        if exc.kind == Kind.CONSENT_OVERDUE and DelayConsent.objects.filter(
                line=line, promise_version__gte=exc.promise_version or 0,
                decision=DelayConsent.Decision.ACCEPT).exists():
            exception_close(exc, "Customer consented", now)
            return None
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=reason,
                                     initiated_by=Cancellation.Initiator.SYSTEM, now=now)
        refund_due_by = cancellations[0].refund_due_by
        exception_close(exc, f"{resolution}; refund due by {refund_due_by}", now)
        if also_raise:
            batch = ExceptionBatch([line.pk], now)
            resolved = batch.raise_(line, also_raise, due_by=refund_due_by, cause=exc.cause,
                                    promise_version=exc.promise_version, promised_date=exc.promised_date,
                                    citations="16 CFR 435.2(c)(5); 16 CFR 435.1(b), (d)")
            batch.flush()
            exception_close(resolved, f"{resolution}; refund due by {refund_due_by}", now)
        version = getattr(getattr(line, "promise", None), "version", None)
        cancellation_notices_request(line, cancellations, version=version, now=now)
        return cancellations


def consent_deadlines_enforce(*, now: datetime | None = None, today: date | None = None) -> list[int]:
    """US: cancel lines whose automatic-cancellation date passed without express consent;
    return their ids.

    16 CFR 435.2(b)(1)(iii), (c)(2) (T + 30 days) and (c)(3) (the date agreed before a
    renewed delay). The date is the promise's own (fixed when the delay was first assessed,
    cleared by express consent): later slips never move it. The refund is due in 7 working
    days (435.1(b), (d)).
    """
    now = now or timezone.now()
    # Only a region whose policy cancels on its own (the US) ever sets auto_cancel_on.
    regions = {r.pk: r for r in Region.objects.all()}
    candidates = (Promise.objects.filter(auto_cancel_on__isnull=False, agreed_open_ended=False,
                                         line__status__in=OrderLine.OPEN_STATUSES)
                  .order_by("auto_cancel_on", "line_id")
                  .values_list("line_id", "line__order_id", "line__order__region_id", "auto_cancel_on"))
    cancelled = []
    for line_id, order_id, region_id, cancel_on in candidates:
        day = today or region_today(regions[region_id], now)
        if cancel_on >= day:
            continue
        if _consent_deadline_cancel(line_id, order_id, day=day, now=now):
            cancelled.append(line_id)
    return cancelled


def _consent_deadline_cancel(line_id: int, order_id: int, *, day: date, now: datetime) -> bool:
    """Cancel one line whose cancellation date passed, once, whatever the number of workers:
    the order row is claimed with SKIP LOCKED, then the promise is read again under it."""
    with transaction.atomic():
        if Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first() is None:
            return False
        line = (OrderLine.objects.select_related("order__region", "order__channel", "order__customer", "promise")
                .filter(pk=line_id).first())
        promise = getattr(line, "promise", None)
        if (line is None or promise is None or line.status not in OrderLine.OPEN_STATUSES
                or promise.auto_cancel_on is None or promise.agreed_open_ended
                or promise.auto_cancel_on >= day):
            return False
        cancel_on = promise.auto_cancel_on
        awaiting = list(OrderException.objects.filter(line_id=line.pk, kind=Kind.CONSENT_OVERDUE,
                                                      status__in=OrderException.OPEN_STATUSES))
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=Cancellation.Reason.NO_CONSENT,
                                     initiated_by=Cancellation.Initiator.SYSTEM, now=now)
        resolution = (f"Cancelled: no express consent by {cancel_on} (16 CFR 435.2(c)(2)/(3)); "
                      f"refund due by {cancellations[0].refund_due_by}")
        for exc in awaiting:  # closed as "line cancelled" meanwhile: say why
            exception_close(exc, resolution, now)
        Promise.objects.filter(line_id=line.pk).update(auto_cancel_on=None)
        cancellation_notices_request(line, cancellations, version=promise.version, now=now)
        return True


def past_due_sweep(*, now: datetime | None = None, today: date | None = None) -> list[int]:
    """Handle lines whose date passed unshipped without a notice; return the US lines cancelled.

    US, 16 CFR 435.2(c)(5): no delay notice by T means the order counts as cancelled; the
    line is cancelled and refunded (7 working days). EU/UK: a delivery date the customer was
    told passed: a past-due exception asks an agent to contact the customer, who may set an
    additional period or end the contract (art. 18(2), CRA s.28); the product ends nothing.
    """
    now = now or timezone.now()
    cancelled = []
    if not settings.BACKORDER_DESK.get("PAST_DUE_AUTO_CANCEL", True):
        _delivery_past_due_raise(now=now, today=today)
        return cancelled
    cancelling = OrderException.objects.filter(
        region__code__in=regions_where_a_late_notice_cancels(), status__in=OrderException.OPEN_STATUSES,
    ).filter(
        Q(kind=Kind.PAST_DUE) | Q(kind=Kind.DELAY_NOTICE_DUE, notified_at__isnull=True)
    ).select_related("region").order_by("due_by", "pk")
    for exc in cancelling:
        day = today or region_today(exc.region, now)
        # The law's deadline, not the due-by an agent sees (earlier for a held notice).
        if exc.kind == Kind.DELAY_NOTICE_DUE and (exc.notice_due_by or exc.due_by) >= day:
            continue

        def due(e, day=day):
            return e.kind == Kind.PAST_DUE or (e.notified_at is None and (e.notice_due_by or e.due_by) < day)

        done = _line_cancel_locked(
            exc.pk, kinds=[Kind.PAST_DUE, Kind.DELAY_NOTICE_DUE], today_check=due,
            reason=Cancellation.Reason.PAST_DUE, now=now,
            resolution="Cancelled: no delay notice by the promised date (16 CFR 435.2(c)(5))",
            also_raise=Kind.PAST_DUE if exc.kind == Kind.DELAY_NOTICE_DUE else None,
        )
        if done:
            cancelled.append(exc.line_id)
    _delivery_past_due_raise(now=now, today=today)
    return cancelled


def _delivery_past_due_raise(*, now: datetime, today: date | None) -> None:
    """EU/UK: raise a past-due exception for each open line whose delivery date passed: the
    date told, or, where none was given, the statutory default (30 days from the contract,
    Directive 2011/83/EU Art. 18(1), CRA 2015 s.28(3)). Days are the region's."""
    for region in Region.objects.all():
        policy = regional_policy(region.code)
        if policy.measures != "delivery":
            continue
        day = today or region_today(region, now)
        default_before = datetime.combine(day - timedelta(days=policy.default_delivery_days), time.min,
                                          tzinfo=ZoneInfo(region.timezone))
        late = (Q(communicated_delivery_to__lt=day)
                | Q(communicated_delivery_to__isnull=True, line__order__placed_at__lt=default_before))
        promises = (Promise.objects.filter(late, line__status__in=OrderLine.OPEN_STATUSES,
                                           line__order__region=region)
                    .exclude(Exists(OrderException.objects.filter(
                        line=OuterRef("line"), kind=Kind.PAST_DUE, status__in=OrderException.OPEN_STATUSES)))
                    .values_list("line_id", flat=True))
        ids = list(promises[:5000])
        for start in range(0, len(ids), 500):
            with transaction.atomic():
                _delivery_past_due_chunk(ids[start:start + 500], policy=policy, day=day, now=now)


def _delivery_past_due_chunk(line_ids: list[int], *, policy, day: date, now: datetime) -> None:
    lines = OrderLine.objects.filter(pk__in=line_ids).select_related("order__region", "promise")
    batch = ExceptionBatch(line_ids, now)
    for line in lines:
        told = line.promise.communicated_delivery_to
        default = told is None
        if default:
            told = policy.default_promise(region_today(line.order.region, line.order.placed_at))
        if told >= day or batch.get(line.pk, Kind.PAST_DUE):
            continue
        why = "no delivery date was given: the 30-day default applies; " if default else ""
        batch.raise_(line, Kind.PAST_DUE, due_by=day,
                     cause=f"Delivery by {told} passed ({why}the customer may set an additional "
                           "period, or end the contract at once if the date was essential)",
                     promise_version=line.promise.version, promised_date=told,
                     citations="; ".join(policy.late_delivery_citations))
    batch.flush()


def slips_sweep(*, now: datetime | None = None, also: list[int] | None = None,
                settled_before: datetime | None = None) -> list[Assessment]:
    """Re-assess open lines promised later than what their customer was told, with no
    exception for their current promise, and open lines whose open delay exception is about
    an older promise: no slip goes unnoticed, no delay exception outlives its cause, and a
    revised date about to be missed gets its renewed notice (16 CFR 435.2(b)(2)), even if a
    signal, a task or an assessment's commit was lost.

    `also` are more lines to re-assess: the notifications app's lines whose notice was never
    written (a deferred assessment stopped between its two commits: lines_unnoticed).

    `settled_before` leaves alone the promises computed since then, whose own assessment
    may still be queued (the minutely catch-up: notifications.tasks.owed_notices_catch_up)."""
    now = now or timezone.now()
    settled = Q(line__promise__computed_at__lt=settled_before) if settled_before else Q()
    covered = OrderException.objects.filter(
        line=OuterRef("line"), kind__in=[Kind.DELAY_NOTICE_DUE, Kind.PAST_DUE, Kind.CONSENT_OVERDUE],
        promise_version=OuterRef("version"))
    slipped = (Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES)
               .filter(Q(computed_at__lt=settled_before) if settled_before else Q())
               .filter(promises_against_told("gt"))
               .exclude(Exists(covered)).values_list("line_id", flat=True).order_by("line_id"))
    outdated = (OrderException.objects.filter(kind=Kind.DELAY_NOTICE_DUE, status__in=OrderException.OPEN_STATUSES,
                                              line__status__in=OrderLine.OPEN_STATUSES)
                .filter(settled)
                .exclude(promise_version=F("line__promise__version"))
                .values_list("line_id", flat=True).order_by("line_id"))
    results = []
    ids = sorted(set(slipped[:20000]) | set(outdated[:20000]) | set(also or ()))
    for start in range(0, len(ids), 500):
        # With each line's latest change: a promise that became unconfirmed is a slip.
        results += recorded_changes_assess(line_ids=ids[start:start + 500], now=now)
    return results
