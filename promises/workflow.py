"""The regional workflow: slipped promises become exceptions with legal deadlines.

A slip is judged by the region's policy (promises/policies, rules in
shared/REGIONAL_RULES.md): the US measures shipment (16 CFR 435), the EU and UK delivery
(Directive 2011/83/EU art. 18, CRA 2015 s.28). The workflow raises, updates and resolves
OrderException rows, records consents and cancels lines through promises.fulfilment.

promises never imports notifications. When the customer must be told something the
workflow sends `notice_requested` inside its transaction; the notifications app writes
the outbox row there and answers with the notice's state ("held", "queued", ...). When a
notice went out, notifications calls `notice_delivered` back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.dispatch import Signal
from django.utils import timezone

from inventory.exceptions import BusinessRefusal, InvalidInput
from inventory.models import SKU, BackorderCap, Channel, Region, StockLevel
from orders.models import Cancellation, Order, OrderLine
from promises.fulfilment import order_cancel
from promises.models import DelayConsent, OrderException, Promise, PromiseChange
from promises.policies import RegionalPolicy, SlipDecision, SlipFacts
from promises.regional import regional_policy

log = logging.getLogger(__name__)

Kind = OrderException.Kind
Status = OrderException.Status

#: Sent inside the causing transaction with `requests` (a list of NoticeRequest) and `now`.
#: A receiver writes one outbox row per request and returns {idempotency key: state}.
notice_requested = Signal()
#: Sent when pending notices of `kinds` for `line_ids` no longer tell the truth.
notices_withdrawn = Signal()

UNKNOWN_REASON = "supplier_unconfirmed"
CAUSE_LABELS = dict(PromiseChange.Cause.choices)
COPY_MIN_ROWS = 200  # below this a plain bulk INSERT is cheaper than a temp table and COPY
DELAY_NOTICE_KINDS = ("delay_notice", "renewed_delay_notice")


class OfferSuperseded(BusinessRefusal):
    """The customer answered a delay offer whose date has changed since."""

    def __init__(self, message="The date in this offer has changed since it was sent."):
        super().__init__(message, code="offer_superseded")


class LineClosed(BusinessRefusal):
    def __init__(self, message="This item has already shipped or been cancelled."):
        super().__init__(message, code="line_closed")


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


# --- Facts ---------------------------------------------------------------------------------


def region_today(region, now: datetime) -> date:
    """Return the calendar date in the region's timezone (deadlines are local dates)."""
    return now.astimezone(ZoneInfo(region.timezone)).date()


def slip_facts(*, line: OrderLine, promise: Promise, today: date, delay_notices_sent: int = 0,
               express_consent: bool = False, unknown: bool | None = None) -> SlipFacts:
    """Build the policy's facts for a line from its order and promise rows."""
    order = line.order
    unknown = (not promise.confirmed) if unknown is None else unknown
    return SlipFacts(
        ordered_on=region_today(order.region, order.placed_at),
        communicated_ship_date=promise.communicated_ship_date,
        communicated_delivery_to=promise.communicated_delivery_to,
        new_ship_date=None if unknown else promise.ship_date,
        new_delivery_to=None if unknown else promise.delivery_to,
        today=today,
        essential_date=order.essential_date,
        delay_notices_sent=delay_notices_sent,
        express_consent=express_consent,
    )


def measured(policy: RegionalPolicy, promise: Promise) -> tuple[date, date | None]:
    """Return (new date, communicated date) in what the region measures (ship or delivery)."""
    if policy.measures == "shipment":
        return promise.ship_date, promise.communicated_ship_date
    return promise.delivery_to, promise.communicated_delivery_to


def delay_notices_sent(line_ids: Iterable[int]) -> dict[int, int]:
    """Return how many delay notices each line's customer was sent (0 = a first delay)."""
    rows = (OrderException.objects.filter(line_id__in=list(line_ids), kind=Kind.DELAY_NOTICE_DUE,
                                          notified_at__isnull=False)
            .values("line_id").annotate(n=Count("id")).values_list("line_id", "n"))
    return dict(rows)


def express_consents(line_ids: Iterable[int]) -> set[tuple[int, int]]:
    """Return the (line, promise version) pairs the customer expressly accepted."""
    return set(DelayConsent.objects.filter(
        line_id__in=list(line_ids), decision=DelayConsent.Decision.ACCEPT,
    ).values_list("line_id", "promise_version"))


def decision_context(decision: SlipDecision, *, policy: RegionalPolicy, promise: Promise,
                     line: OrderLine, unknown: bool) -> dict:
    """Return what a delay notice must say, as JSON (dates in ISO form)."""
    def iso(d):
        return d.isoformat() if d else None

    return {
        "region": decision.region,
        "notice_kind": decision.notice_kind,
        "measures": decision.measures,
        "promised_date": iso(decision.promised_date),
        "revised_date": iso(decision.revised_date),
        "estimate_date": iso(promise.ship_date if decision.measures == "shipment" else promise.delivery_to),
        "unknown": unknown,
        "unknown_reason": UNKNOWN_REASON if unknown else "",
        "notice_due_by": iso(decision.notice_due_by),
        "default_promise_applied": decision.default_promise_applied,
        "silence_is_consent": decision.silence_is_consent,
        "express_consent_required": decision.express_consent_required,
        "cancel_on": iso(decision.cancel_on),
        "customer_may_terminate_now": decision.customer_may_terminate_now,
        "customer_may_set_additional_period": decision.customer_may_set_additional_period,
        "withdrawal_button": decision.withdrawal_button,
        "withdrawal_days": decision.withdrawal_days,
        "essential_date": line.order.essential_date,
        "refund_citations": list(policy.refund_citations),
        "citations": list(decision.citations),
    }


def announced_for(line: OrderLine, promise: Promise) -> dict:
    """Return the dates a notice about this line tells the customer."""
    return {str(line.pk): {
        "ship_date": promise.ship_date.isoformat(),
        "delivery_from": promise.delivery_from.isoformat(),
        "delivery_to": promise.delivery_to.isoformat(),
        "version": promise.version,
        "confirmed": promise.confirmed,
    }}


# --- Exceptions ----------------------------------------------------------------------------


class _Exceptions:
    """The open exceptions of a batch of lines; raises, updates and resolves them.

    Changes are kept in memory and written by `flush()` in bulk, with their history
    (simple_history's bulk helpers): a slip of 5,000 lines costs a handful of statements.
    """

    def __init__(self, line_ids: Iterable[int], now: datetime, user=None):
        self.now, self.user = now, user if getattr(user, "pk", None) else None
        self.open: dict[tuple[int, str], OrderException] = {}
        self.new: list[OrderException] = []
        self.changed: dict[int, tuple[OrderException, set[str]]] = {}
        qs = OrderException.objects.filter(line_id__in=list(line_ids), status__in=OrderException.OPEN_STATUSES)
        for exc in qs.select_for_update(of=("self",)).order_by("pk"):
            self.open[(exc.line_id, exc.kind)] = exc

    def get(self, line_id: int, kind: str) -> OrderException | None:
        return self.open.get((line_id, kind))

    def _set(self, exc: OrderException, values: dict) -> None:
        changed = {name for name, value in values.items() if getattr(exc, name) != value}
        for name in changed:
            setattr(exc, name, values[name])
        if changed and exc.pk is not None:
            self.changed.setdefault(exc.pk, (exc, set()))[1].update(changed)

    def raise_(self, line: OrderLine, kind: str, *, due_by: date, cause: str, **fields) -> OrderException:
        exc = self.open.get((line.pk, kind))
        if exc is None:
            exc = OrderException(
                kind=kind, line_id=line.pk, order_id=line.order_id, region_id=line.order.region_id,
                channel_id=line.order.channel_id, due_by=due_by, cause=cause[:200],
                opened_at=self.now, **fields,
            )
            self.open[(line.pk, kind)] = exc
            self.new.append(exc)
            return exc
        self._set(exc, {"due_by": due_by, "cause": cause[:200], **fields})
        return exc

    def resolve(self, line_id: int, kind: str, resolution: str) -> OrderException | None:
        exc = self.open.pop((line_id, kind), None)
        if exc is None:
            return None
        if exc.pk is None:
            self.new.remove(exc)
        self._set(exc, {"status": Status.RESOLVED, "resolution": resolution[:200], "resolved_at": self.now})
        return exc

    def set_field(self, exc: OrderException, **fields) -> None:
        self._set(exc, fields)

    def flush(self) -> None:
        """Write the changes, then insert the new exceptions (a resolved row makes room for a
        new one of its kind); one by one if a concurrent worker raised the same meanwhile."""
        changed, self.changed = self.changed, {}
        # Rows that change the same fields to the same values (a pool's lines resolved
        # together) share one UPDATE ... WHERE id IN (...).
        groups: dict[tuple, list[OrderException]] = {}
        for exc, fields in changed.values():
            exc.updated_at = self.now
            values = tuple((name, getattr(exc, name)) for name in sorted(fields | {"updated_at"}))
            groups.setdefault(values, []).append(exc)
        for values, objs in groups.items():
            for start in range(0, len(objs), 2000):
                chunk = objs[start:start + 2000]
                OrderException.objects.filter(pk__in=[e.pk for e in chunk]).update(**dict(values))
        if changed:
            _history_snapshot([exc.pk for exc, _ in changed.values()], "~", at=self.now, user=self.user)
        new, self.new = self.new, []
        if not new:
            return
        for exc in new:
            exc.updated_at = self.now
        if connection.vendor == "postgresql" and len(new) >= COPY_MIN_ROWS:
            inserted = _exceptions_copy_insert(new)
        else:
            try:
                with transaction.atomic():
                    OrderException.objects.bulk_create(new, batch_size=1000)
                inserted = [exc for exc in new if exc.pk is not None]
            except IntegrityError:
                inserted = []
        _history_snapshot([exc.pk for exc in inserted], "+", at=self.now, user=self.user)
        done = {id(exc) for exc in inserted}
        for exc in new:
            if id(exc) not in done:  # a concurrent worker raised the same (line, kind)
                _exception_insert_or_merge(exc)


_INSERT_COLUMNS = [f for f in OrderException._meta.concrete_fields if not f.primary_key]


def _exceptions_copy_insert(new: list[OrderException]) -> list[OrderException]:
    """PostgreSQL: COPY new exceptions into a temp table and insert them in one statement.

    Much cheaper than a bulk INSERT for thousands of rows (a slip of a busy SKU); a row
    that collides with an open exception raised meanwhile is skipped and merged after.
    """
    table = OrderException._meta.db_table
    cols = ", ".join(f.column for f in _INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS tmp_exception_write ON COMMIT DELETE ROWS "
                       f"AS SELECT {cols} FROM {table} WITH NO DATA")
        cursor.execute("TRUNCATE tmp_exception_write")
        with cursor.cursor.copy(f"COPY tmp_exception_write ({cols}) FROM STDIN") as copy:
            for exc in new:
                copy.write_row([getattr(exc, f.attname) for f in _INSERT_COLUMNS])
        cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM tmp_exception_write "
                       "ON CONFLICT DO NOTHING RETURNING id, line_id, kind")
        ids = {(line_id, kind): pk for pk, line_id, kind in cursor.fetchall()}
    inserted = []
    for exc in new:
        pk = ids.get((exc.line_id, exc.kind))
        if pk is not None:
            exc.pk = exc.id = pk
            exc._state.adding, exc._state.db = False, "default"
            inserted.append(exc)
    return inserted


def _history_snapshot(ids: list[int], history_type: str, *, at: datetime, user=None) -> None:
    """Record the current state of these exceptions in their history, in one statement.

    The same rows simple_history writes on save ("+" created, "~" changed), copied by the
    database instead of built object by object.
    """
    if not ids:
        return
    history = OrderException.history.model
    own = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")
    cols = [f.column for f in history._meta.concrete_fields if f.column not in own]
    names = ", ".join(cols)
    user_id = getattr(user, "pk", None)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {history._meta.db_table} ({names}, history_date, history_type, "
                f"history_user_id, history_change_reason) SELECT {names}, %s, %s, %s, NULL "
                f"FROM {OrderException._meta.db_table} WHERE id IN ({marks})",
                [connection.ops.adapt_datetimefield_value(at), history_type, user_id, *chunk])


def _exception_insert_or_merge(exc: OrderException) -> None:
    try:
        with transaction.atomic():
            exc.save()
    except IntegrityError:
        # Another worker raised the same (line, kind) meanwhile: update its row instead.
        current = OrderException.objects.select_for_update().get(
            line_id=exc.line_id, kind=exc.kind, status__in=OrderException.OPEN_STATUSES)
        exc.pk, exc.id = current.pk, current.pk
        exc.opened_at = current.opened_at
        exc.save()


# --- Re-promising: assess the lines whose promise moved --------------------------------------


@dataclass
class Assessment:
    line_id: int
    outcome: str  # "slip", "past_due", "earlier", "back_on_time", "unchanged", "closed"
    decision: SlipDecision | None = None


def promise_changes_assess(*, changes: list[PromiseChange], now: datetime) -> list[Assessment]:
    """Run the regional workflow for the lines whose promise changed (inside their transaction)."""
    by_line = {}
    for change in changes:
        by_line[change.line_id] = change  # the last change of a line wins
    return lines_assess(line_ids=list(by_line), now=now, changes=by_line)


def recorded_changes_assess(*, line_ids: list[int], now: datetime | None = None) -> list[Assessment]:
    """Assess lines after their re-promise committed, from their latest PromiseChange rows.

    The deferred form of promise_changes_assess, for very large slips (see
    WORKFLOW_INLINE_MAX_LINES in docs/notices.md): one transaction per chunk of lines.
    """
    now = now or timezone.now()
    results: list[Assessment] = []
    for start in range(0, len(line_ids), 2000):
        chunk = line_ids[start:start + 2000]
        with transaction.atomic():
            latest: dict[int, PromiseChange] = {}
            for change in PromiseChange.objects.filter(line_id__in=chunk).order_by("line_id", "-at", "-id"):
                latest.setdefault(change.line_id, change)
            results += _lines_assess_chunk(chunk, now=now, changes=latest)
    return results


def lines_assess(*, line_ids: list[int], now: datetime,
                 changes: dict[int, PromiseChange] | None = None) -> list[Assessment]:
    """Compare each open line's promise with what its customer was told; act on the gap."""
    changes = changes or {}
    results: list[Assessment] = []
    for start in range(0, len(line_ids), 2000):
        chunk = line_ids[start:start + 2000]
        results += _lines_assess_chunk(chunk, now=now, changes=changes)
    return results


def _lines_assess_chunk(line_ids, *, now, changes) -> list[Assessment]:
    lines = list(OrderLine.objects.filter(id__in=line_ids, promise__isnull=False).select_related(
        "order__customer", "promise").defer("promise__sources").order_by("pk"))
    # Regions and channels are few: share one instance each instead of a join per line.
    regions = {r.pk: r for r in Region.objects.all()}
    channels = {c.pk: c for c in Channel.objects.filter(pk__in={line.order.channel_id for line in lines})}
    for line in lines:
        line.order.region, line.order.channel = regions[line.order.region_id], channels[line.order.channel_id]
    open_ids = [line.pk for line in lines if line.status in OrderLine.OPEN_STATUSES]
    sent = delay_notices_sent(open_ids)
    consents = express_consents(open_ids)
    caps = _promise_caps()
    exceptions = _Exceptions(open_ids, now)
    policies: dict[str, RegionalPolicy] = {}
    requests: list[NoticeRequest] = []
    pending_states: list[tuple[OrderException, str]] = []
    withdrawn: list[int] = []
    results = []
    for line in lines:
        if line.status not in OrderLine.OPEN_STATUSES:
            results.append(Assessment(line.pk, "closed"))
            continue
        region = line.order.region
        policy = policies.get(region.code) or policies.setdefault(region.code, regional_policy(region.code))
        result, request = _line_assess(
            line, line.promise, policy, exceptions, today=region_today(region, now),
            change=changes.get(line.pk), sent=sent.get(line.pk, 0),
            consented=(line.pk, line.promise.version) in consents, caps=caps,
        )
        results.append(result)
        if result.outcome in ("earlier", "back_on_time", "past_due"):
            withdrawn.append(line.pk)
        if request is not None:
            requests.append(request)
            exc = exceptions.get(line.pk, Kind.DELAY_NOTICE_DUE)
            if exc is not None and request.kind in DELAY_NOTICE_KINDS:
                pending_states.append((exc, request.key))
    if withdrawn:
        notices_withdrawn.send(sender=NoticeRequest, line_ids=withdrawn, kinds=list(DELAY_NOTICE_KINDS)
                               + ["earlier_date"], now=now)
    states = notices_request(requests, now=now)
    for exc, key in pending_states:
        state = states.get(key, "")
        if state and exc.notice_state != state:
            exceptions.set_field(exc, notice_state=state)
    exceptions.flush()
    return results


def _line_assess(line, promise, policy, exceptions: _Exceptions, *, today, change, sent, consented,
                 caps) -> tuple[Assessment, NoticeRequest | None]:
    unknown = not promise.confirmed
    estimate_facts = slip_facts(line=line, promise=promise, today=today, delay_notices_sent=sent,
                                express_consent=consented, unknown=False)
    promised, _default = policy.promised_date(estimate_facts)
    new, communicated = measured(policy, promise)
    became_unconfirmed = change is not None and change.old_confirmed and not change.new_confirmed
    _guarantee_and_caps(line, promise, exceptions, today=today, promised=promised, caps=caps)
    if unknown:
        exceptions.raise_(line, Kind.NO_CONFIRMED_SUPPLY, due_by=max(promised, today),
                          cause=f"No confirmed supply: estimate only ({promise.ship_date})",
                          promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.NO_CONFIRMED_SUPPLY, "Supply confirmed")

    if new > promised or became_unconfirmed:
        facts = slip_facts(line=line, promise=promise, today=today, delay_notices_sent=sent,
                           express_consent=consented)
        decision = policy.decide(facts)
        return _slip_raise(line, promise, policy, decision, exceptions, today=today, unknown=unknown,
                           change=change)

    # No slip past what the customer was told: the cause of a delay exception went away.
    exceptions.resolve(line.pk, Kind.DELAY_NOTICE_DUE,
                       "Promise back on or before the date the customer was told")
    consent_exc = exceptions.get(line.pk, Kind.CONSENT_OVERDUE)
    if consent_exc is not None and consent_exc.promised_date and new <= consent_exc.promised_date:
        exceptions.resolve(line.pk, Kind.CONSENT_OVERDUE, "Promise back on the original date")
    if communicated is not None and new < communicated and promise.confirmed:
        request = NoticeRequest(
            kind="earlier_date", order=line.order, line=line, version=promise.version,
            announced=announced_for(line, promise),
            context={"measures": policy.measures, "old_date": communicated.isoformat(),
                     "new_date": new.isoformat(), "region": policy.region},
        )
        return Assessment(line.pk, "earlier"), request
    return Assessment(line.pk, "back_on_time" if communicated is not None else "unchanged"), None


def _slip_raise(line, promise, policy, decision: SlipDecision, exceptions: _Exceptions, *, today,
                unknown, change) -> tuple[Assessment, NoticeRequest | None]:
    why = _cause_text(promise, decision, change, unknown)
    fields = {
        "promise_version": promise.version, "notice_kind": decision.notice_kind,
        "promised_date": decision.promised_date, "revised_date": decision.revised_date,
        "cancel_on": decision.cancel_on,
        "express_consent_required": decision.express_consent_required,
        "citations": "; ".join(decision.citations)[:300],
    }
    if policy.region == "US" and decision.notice_overdue:
        # 16 CFR 435.2(b)(1): a notice after T counts as none; (c)(5) treats the order as
        # cancelled. The past-due sweep cancels it and refunds; no late delay notice goes out.
        exceptions.resolve(line.pk, Kind.DELAY_NOTICE_DUE, "T passed before a notice went out")
        exceptions.raise_(line, Kind.PAST_DUE, due_by=today,
                          cause=f"{why}; T {decision.promised_date} passed without a delay notice "
                                "(16 CFR 435.2(c)(5))", **fields)
        return Assessment(line.pk, "past_due", decision), None
    exceptions.raise_(line, Kind.DELAY_NOTICE_DUE, due_by=decision.notice_due_by, cause=why,
                      notified_at=None, **fields)
    request = NoticeRequest(
        kind=decision.notice_kind, order=line.order, line=line, version=promise.version,
        announced=announced_for(line, promise),
        context=decision_context(decision, policy=policy, promise=promise, line=line, unknown=unknown),
    )
    return Assessment(line.pk, "slip", decision), request


def _cause_text(promise, decision, change, unknown) -> str:
    old = decision.promised_date
    new = "unknown (no confirmed supply)" if unknown else decision.revised_date
    what = "Ships" if decision.measures == "shipment" else "Delivery by"
    text = f"{what} {old} → {new}"
    if change is not None:
        text += f" ({CAUSE_LABELS.get(change.cause, change.cause).lower()}"
        text += f": {change.note})" if change.note else ")"
    return text


def _promise_caps() -> list[tuple]:
    return list(BackorderCap.objects.filter(active=True, max_promise_days__isnull=False).values_list(
        "id", "sku_id", "channel_id", "region_id", "max_promise_days"))


def _guarantee_and_caps(line, promise, exceptions: _Exceptions, *, today, promised, caps) -> None:
    if promise.guarantee_broken:
        exceptions.raise_(line, Kind.SUPPLIER_SLIP, due_by=max(promised, today),
                          cause=f"{promise.strategy} guarantee broken: supply fell below what the line held",
                          promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.SUPPLIER_SLIP, "Guarantee kept again")
    order = line.order
    breach = next((cap for cap in caps
                   if cap[1] in (None, line.sku_id) and cap[2] in (None, order.channel_id)
                   and cap[3] in (None, order.region_id)
                   and promise.ship_date > today + timedelta(days=cap[4])), None)
    if breach is not None:
        exceptions.raise_(line, Kind.CAP_BREACH, due_by=today,
                          cause=f"Ships {promise.ship_date}, beyond cap #{breach[0]}'s "
                                f"{breach[4]}-day horizon", promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.CAP_BREACH, "Promise within every cap's horizon")


# --- Notices delivered, lines closed ----------------------------------------------------------


def notice_delivered(*, kind: str, announced: dict, at: datetime) -> None:
    """Record that the customer was told the announced dates (a notice went out)."""
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
            _delay_notice_delivered(line_id, dates.get("version"), at)


def _delay_notice_delivered(line_id: int, version: int | None, at: datetime) -> None:
    exc = (OrderException.objects.select_for_update()
           .filter(line_id=line_id, kind=Kind.DELAY_NOTICE_DUE, status__in=OrderException.OPEN_STATUSES)
           .select_related("line__order").first())
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


def line_closed(*, line_id: int, status: str, now: datetime) -> int:
    """Resolve every open exception of a shipped or cancelled line; return how many."""
    resolution = "Line shipped" if status == OrderLine.Status.SHIPPED else "Line cancelled"
    resolved = 0
    for exc in OrderException.objects.filter(line_id=line_id, status__in=OrderException.OPEN_STATUSES):
        exc.status, exc.resolution, exc.resolved_at = Status.RESOLVED, resolution, now
        exc.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])
        resolved += 1
    return resolved


# --- Consent ---------------------------------------------------------------------------------


@dataclass
class ConsentResult:
    consent: DelayConsent
    created: bool
    cancellations: list[Cancellation] = field(default_factory=list)


def consent_record(*, line: OrderLine, version: int, decision: str, channel: str, now: datetime | None = None,
                   user=None, note: str = "", ip_address: str | None = None) -> ConsentResult:
    """Record the customer's answer to a delay; idempotent per (line, promise version).

    Accepting is express consent to the revised date (16 CFR 435.2(b)(1)(iii)): it resolves
    the line's delay exceptions and the date counts as communicated. Cancelling ends the
    line through order_cancel, which records the refund deadline of the region.
    """
    now = now or timezone.now()
    if decision not in DelayConsent.Decision.values:
        raise InvalidInput("Unknown decision.", errors={"decision": [f"one of {DelayConsent.Decision.values}"]})
    with transaction.atomic():
        # The order first, as order_cancel locks it, then the line.
        Order.objects.select_for_update().filter(pk=line.order_id).first()
        line = (OrderLine.objects.select_for_update(of=("self",))
                .select_related("order__region", "order__channel", "order__customer", "promise", "sku")
                .get(pk=line.pk))
        existing = DelayConsent.objects.filter(line=line, promise_version=version).first()
        if existing is not None:
            return ConsentResult(existing, False)
        if line.status not in OrderLine.OPEN_STATUSES:
            raise LineClosed()
        promise = line.promise
        if decision == DelayConsent.Decision.ACCEPT and version != promise.version:
            raise OfferSuperseded()
        consent = DelayConsent.objects.create(
            line=line, promise_version=version, decision=decision, channel=channel,
            revised_ship_date=promise.ship_date, revised_delivery_date=promise.delivery_to,
            recorded_at=now, recorded_by=user if getattr(user, "pk", None) else None, note=note,
            ip_address=ip_address,
        )
        exceptions = _Exceptions([line.pk], now, user)
        if decision == DelayConsent.Decision.ACCEPT:
            how = consent.get_channel_display().lower()
            for kind in (Kind.DELAY_NOTICE_DUE, Kind.CONSENT_OVERDUE):
                exceptions.resolve(line.pk, kind, f"Customer accepted the new date ({how})")
            exceptions.flush()
            Promise.objects.filter(pk=line.pk).update(
                communicated_ship_date=promise.ship_date, communicated_delivery_to=promise.delivery_to,
                communicated_at=now)
            notices_request([NoticeRequest(
                kind="consent_received", order=line.order, line=line, version=version,
                context={"measures": regional_policy(line.order.region.code).measures,
                         "ship_date": promise.ship_date.isoformat(),
                         "delivery_to": promise.delivery_to.isoformat(),
                         "channel": channel},
            )], now=now)
            return ConsentResult(consent, True)
        reason = (Cancellation.Reason.WITHDRAWAL if decision == DelayConsent.Decision.WITHDRAW
                  else Cancellation.Reason.CUSTOMER_DECLINED_DELAY)
        for (line_id, _kind) in list(exceptions.open):
            exceptions.resolve(line_id, _kind, f"Customer cancelled ({consent.get_decision_display().lower()})")
        exceptions.flush()
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=reason,
                                     initiated_by=Cancellation.Initiator.CUSTOMER, user=consent.recorded_by,
                                     note=note or f"Delay notice answer: {decision}", now=now)
        cancellation_notices_request(line, cancellations, version=version, now=now)
        return ConsentResult(consent, True, cancellations)


def cancellation_notices_request(line: OrderLine, cancellations: list[Cancellation], *, version,
                                 now: datetime, user_id: int | None = None) -> None:
    """Queue the cancellation and refund confirmation of a cancelled line."""
    for c in cancellations:
        if c.line_id != line.pk:
            continue
        notices_request([NoticeRequest(
            kind="cancellation_refund_confirmation", order=line.order, line=line, version=version,
            user_id=user_id,
            context={"qty": c.qty, "amount": str(c.amount), "currency": c.currency,
                     "reason": c.reason, "refund_due_by": c.refund_due_by.isoformat(),
                     "initiated_by": c.initiated_by},
        )], now=now)


# --- Scheduled sweeps ------------------------------------------------------------------------


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
            _exception_close(exc, "Customer consented", now)
            return None
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=reason,
                                     initiated_by=Cancellation.Initiator.SYSTEM, now=now)
        refund_due_by = cancellations[0].refund_due_by
        _exception_close(exc, f"{resolution}; refund due by {refund_due_by}", now)
        if also_raise:
            batch = _Exceptions([line.pk], now)
            resolved = batch.raise_(line, also_raise, due_by=refund_due_by, cause=exc.cause,
                                    promise_version=exc.promise_version, promised_date=exc.promised_date,
                                    citations="16 CFR 435.2(c)(5); 16 CFR 435.1(b), (d)")
            batch.flush()
            _exception_close(resolved, f"{resolution}; refund due by {refund_due_by}", now)
        version = getattr(getattr(line, "promise", None), "version", None)
        cancellation_notices_request(line, cancellations, version=version, now=now)
        return cancellations


def _exception_close(exc: OrderException, resolution: str, now: datetime) -> None:
    if exc.status == Status.RESOLVED:
        return
    exc.status, exc.resolution, exc.resolved_at = Status.RESOLVED, resolution[:200], now
    exc.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])


def consent_deadlines_enforce(*, now: datetime | None = None, today: date | None = None) -> list[int]:
    """US: cancel lines whose express-consent deadline passed without consent; return their ids.

    16 CFR 435.2(b)(1)(iii), (c)(2) (T + 30 days) and (c)(3) (the revised date of a
    renewed notice). The refund is due in 7 working days (435.1(b), (d)).
    """
    now = now or timezone.now()
    cancelled = []
    candidates = OrderException.objects.filter(
        kind=Kind.CONSENT_OVERDUE, status__in=OrderException.OPEN_STATUSES, region__code="US",
        cancel_on__isnull=False,
    ).select_related("region").order_by("due_by", "pk")
    for exc in candidates:
        day = today or region_today(exc.region, now)
        if exc.cancel_on >= day:
            continue
        done = _line_cancel_locked(
            exc.pk, kinds=[Kind.CONSENT_OVERDUE], today_check=lambda e, day=day: e.cancel_on < day,
            reason=Cancellation.Reason.NO_CONSENT, now=now,
            resolution=f"Cancelled: no express consent by {exc.cancel_on} (16 CFR 435.2(c)(2)/(3))",
        )
        if done:
            cancelled.append(exc.line_id)
    return cancelled


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
    us = OrderException.objects.filter(
        region__code="US", status__in=OrderException.OPEN_STATUSES,
    ).filter(
        Q(kind=Kind.PAST_DUE) | Q(kind=Kind.DELAY_NOTICE_DUE, notified_at__isnull=True)
    ).select_related("region").order_by("due_by", "pk")
    for exc in us:
        day = today or region_today(exc.region, now)
        if exc.kind == Kind.DELAY_NOTICE_DUE and exc.due_by >= day:
            continue

        def due(e, day=day):
            return e.kind == Kind.PAST_DUE or (e.notified_at is None and e.due_by < day)

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
    promises = (Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES,
                                       line__order__region__code__in=["EU", "UK"],
                                       communicated_delivery_to__lt=today or timezone.localdate(now))
                .exclude(Exists(OrderException.objects.filter(
                    line=OuterRef("line"), kind=Kind.PAST_DUE, status__in=OrderException.OPEN_STATUSES)))
                .values_list("line_id", flat=True))
    ids = list(promises[:5000])
    for start in range(0, len(ids), 500):
        with transaction.atomic():
            chunk = ids[start:start + 500]
            lines = OrderLine.objects.filter(pk__in=chunk).select_related("order__region", "promise")
            batch = _Exceptions(chunk, now)
            for line in lines:
                day = today or region_today(line.order.region, now)
                told = line.promise.communicated_delivery_to
                if told >= day or batch.get(line.pk, Kind.PAST_DUE):
                    continue
                batch.raise_(line, Kind.PAST_DUE, due_by=day,
                             cause=f"Delivery by {told} passed; the customer may set an additional "
                                   "period or end the contract",
                             promise_version=line.promise.version, promised_date=told,
                             citations="Directive 2011/83/EU Art. 18(2)" if line.order.region.code == "EU"
                             else "CRA 2015 s.28(6)-(8)")
            batch.flush()


def slips_sweep(*, now: datetime | None = None) -> list[Assessment]:
    """Re-assess open lines promised later than what their customer was told, with no
    exception for their current promise: no slip goes unnoticed, and a revised date about to
    be missed gets its renewed notice (16 CFR 435.2(b)(2)) even if a signal was lost."""
    now = now or timezone.now()
    covered = OrderException.objects.filter(
        line=OuterRef("line"), kind__in=[Kind.DELAY_NOTICE_DUE, Kind.PAST_DUE, Kind.CONSENT_OVERDUE],
        promise_version=OuterRef("version"))
    slipped = (Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES)
               .filter(Q(line__order__region__code="US", ship_date__gt=F("communicated_ship_date"))
                       | (~Q(line__order__region__code="US") & Q(delivery_to__gt=F("communicated_delivery_to"))))
               .exclude(Exists(covered)).values_list("line_id", flat=True).order_by("line_id"))
    results = []
    ids = list(slipped[:20000])
    for start in range(0, len(ids), 500):
        with transaction.atomic():
            results += lines_assess(line_ids=ids[start:start + 500], now=now)
    return results


# --- Agent actions (admin) -------------------------------------------------------------------


def _note_append(exc: OrderException, text: str, *, user, now: datetime) -> None:
    who = getattr(user, "get_username", lambda: "system")()
    stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    exc.notes = (exc.notes + "\n" if exc.notes else "") + f"[{stamp} {who}] {text}"


def _exception_locked(exception: OrderException) -> OrderException:
    return (OrderException.objects.select_for_update(of=("self",))
            .select_related("line__order__region", "line__order__channel", "line__order__customer",
                            "line__promise", "line__sku")
            .get(pk=exception.pk))


@transaction.atomic
def exception_assign(*, exception: OrderException, user, now: datetime | None = None) -> OrderException:
    """Make the user the exception's owner and mark it in progress."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    if exc.status == Status.RESOLVED:
        return exc
    exc.owner, exc.status = user, Status.IN_PROGRESS
    _note_append(exc, "Assigned to me", user=user, now=now)
    exc.save(update_fields=["owner", "status", "notes", "updated_at"])
    return exc


@transaction.atomic
def exception_notice_send_now(*, exception: OrderException, user, now: datetime | None = None) -> str:
    """Send the line's delay notice for its current promise now, releasing a held one."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    line = exc.line
    if line.status not in OrderLine.OPEN_STATUSES:
        raise LineClosed()
    promise = line.promise
    policy = regional_policy(line.order.region.code)
    today = region_today(line.order.region, now)
    facts = slip_facts(line=line, promise=promise, today=today,
                       delay_notices_sent=delay_notices_sent([line.pk]).get(line.pk, 0),
                       express_consent=(line.pk, promise.version) in express_consents([line.pk]))
    if not policy.is_slip(facts):
        raise BusinessRefusal("The promise no longer slips past what the customer was told.",
                              code="no_slip")
    decision = policy.decide(facts)
    request = NoticeRequest(
        kind=decision.notice_kind, order=line.order, line=line, version=promise.version,
        announced=announced_for(line, promise), release=True, user_id=getattr(user, "pk", None),
        context=decision_context(decision, policy=policy, promise=promise, line=line,
                                 unknown=not promise.confirmed),
    )
    state = notices_request([request], now=now).get(request.key, "")
    if exc.kind == Kind.DELAY_NOTICE_DUE:
        exc.notice_state = state or exc.notice_state
    _note_append(exc, f"Delay notice sent on request ({state or 'queued'})", user=user, now=now)
    exc.save(update_fields=["notice_state", "notes", "updated_at"])
    return state


def exception_consent_record(*, exception: OrderException, channel: str, user, note: str = "",
                             now: datetime | None = None) -> ConsentResult:
    """Record the customer's express consent given to an agent (e-mail reply, phone)."""
    now = now or timezone.now()
    with transaction.atomic():
        exc = _exception_locked(exception)
        result = consent_record(line=exc.line, version=exc.line.promise.version,
                                decision=DelayConsent.Decision.ACCEPT, channel=channel, now=now,
                                user=user, note=note)
        exc.refresh_from_db()
        _note_append(exc, f"Consent recorded ({channel}){': ' + note if note else ''}", user=user, now=now)
        exc.save(update_fields=["notes", "updated_at"])
        return result


def exception_cancel_refund(*, exception: OrderException, user, note: str = "",
                            now: datetime | None = None) -> list[Cancellation]:
    """Cancel the exception's line for a refund at the customer's request (an agent acts)."""
    now = now or timezone.now()
    with transaction.atomic():
        exc = _exception_locked(exception)
        line = exc.line
        if line.status not in OrderLine.OPEN_STATUSES:
            raise LineClosed()
        _note_append(exc, f"Cancelled for a refund{': ' + note if note else ''}", user=user, now=now)
        exc.save(update_fields=["notes", "updated_at"])
        for other in OrderException.objects.filter(line=line, status__in=OrderException.OPEN_STATUSES):
            _exception_close(other, "Cancelled for a refund by an agent", now)
        cancellations = order_cancel(order=line.order, line_ids=[line.pk],
                                     reason=Cancellation.Reason.CUSTOMER_DECLINED_DELAY,
                                     initiated_by=Cancellation.Initiator.AGENT, user=user,
                                     note=note or "Cancelled from the exception queue", now=now)
        cancellation_notices_request(line, cancellations, version=line.promise.version, now=now,
                                     user_id=getattr(user, "pk", None))
        return cancellations


@transaction.atomic
def exception_alternative_offer(*, exception: OrderException, sku_code: str, user, note: str = "",
                                now: datetime | None = None) -> OrderException:
    """Record that an alternative SKU was offered to the customer (nothing is sent)."""
    now = now or timezone.now()
    sku = SKU.objects.filter(code=sku_code.strip()).first()
    if sku is None:
        raise InvalidInput("Unknown SKU.", errors={"sku": [f"no SKU {sku_code!r}"]})
    exc = _exception_locked(exception)
    exc.status = Status.IN_PROGRESS if exc.status == Status.OPEN else exc.status
    _note_append(exc, f"Offered alternative SKU {sku.code} ({sku.name}){': ' + note if note else ''}",
                 user=user, now=now)
    exc.save(update_fields=["status", "notes", "updated_at"])
    return exc


@transaction.atomic
def exception_split_ship(*, exception: OrderException, user, note: str = "",
                         now: datetime | None = None) -> OrderException:
    """Record the intent to ship the units in stock now and the rest later."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    line = exc.line
    on_hand = (StockLevel.objects.filter(sku_id=line.sku_id, warehouse_id=line.warehouse_id)
               .values_list("on_hand", flat=True).first() or 0)
    exc.status = Status.IN_PROGRESS if exc.status == Status.OPEN else exc.status
    _note_append(exc, f"Split-ship requested: {min(on_hand, line.qty_open)} of {line.qty_open} open "
                      f"units in stock ({on_hand} on hand){': ' + note if note else ''}", user=user, now=now)
    exc.save(update_fields=["status", "notes", "updated_at"])
    return exc


@transaction.atomic
def exception_goodwill_credit(*, exception: OrderException, amount, user, note: str = "",
                              now: datetime | None = None) -> OrderException:
    """Record a goodwill credit granted to keep the customer with the delay."""
    now = now or timezone.now()
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidInput("Invalid amount.", errors={"amount": ["a number, e.g. 10.00"]}) from None
    if amount <= 0:
        raise InvalidInput("Invalid amount.", errors={"amount": ["must be more than 0"]})
    exc = _exception_locked(exception)
    exc.status = Status.IN_PROGRESS if exc.status == Status.OPEN else exc.status
    _note_append(exc, f"Goodwill credit {amount} {exc.line.order.currency}{': ' + note if note else ''}",
                 user=user, now=now)
    exc.save(update_fields=["status", "notes", "updated_at"])
    return exc
