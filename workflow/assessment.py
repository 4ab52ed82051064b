"""Re-promising: assess the lines whose promise moved against what their customer was told."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bulk import gc_paused
from core.compiled import custom_plans_for_transaction
from core.lookups import Ids
from core.queue import enqueue_on_commit
from core.urgency import Yielder, exceptions_being_raised, exceptions_being_raised_elsewhere
from inventory.models import BackorderCap, Channel, Region
from orders.models import OrderLine
from promises.calendars import transit_calendar_for
from promises.models import OrderException, Promise, PromiseChange
from workflow.exceptions_store import ExceptionBatch, Kind
from workflow.facts import (
    announced_for,
    current_changes,
    decision_context,
    delay_notices_sent,
    express_consents,
    lines_facts,
    measured,
    region_today,
    slip_facts,
)
from workflow.notices import (
    DELAY_NOTICE_KINDS,
    NoticeRequest,
    notice_outbox,
    notices_foresee,
    notices_request,
)
from workflow.policies import RegionalPolicy, SlipDecision
from workflow.regional import regional_policy

log = logging.getLogger(__name__)

CAUSE_LABELS = dict(PromiseChange.Cause.choices)
#: Lines assessed per round of queries (the IN lists stay well under PostgreSQL's limits).
CHUNK_LINES = 10000
#: How long a large slip's part waits, at most, for the other parts to raise their exceptions
#: before it writes its notices.
NOTICES_WAIT_SECONDS = 1.0


@dataclass
class Assessment:
    line_id: int
    outcome: str  # "slip", "past_due", "earlier", "back_on_time", "unchanged", "closed"
    decision: SlipDecision | None = None


@dataclass
class _NoticesDue:
    """What an assessment asks of the outbox: the unsent notices to withdraw, by line with
    the promise version assessed (lines back on time: every supersedable kind; lines moving
    earlier: delay notices, their new earlier-date notice supersedes older ones), and the
    notices to write, each delay notice with the open exception that records its state."""

    withdrawn: dict[int, int] = field(default_factory=dict)  # line id -> promise version
    delays_withdrawn: dict[int, int] = field(default_factory=dict)
    requests: list[NoticeRequest] = field(default_factory=list)
    tracked: list[tuple[OrderException, NoticeRequest]] = field(default_factory=list)

    def still_current(self) -> _NoticesDue:
        """Return what is still due for lines open at the promise version assessed: a line
        moved on (a newer assessment answers for it) or closed meanwhile is left out."""
        line_ids = ({r.line.pk for r in self.requests if r.line is not None}
                    | self.withdrawn.keys() | self.delays_withdrawn.keys())
        current = dict(Promise.objects.filter(line_id__any=Ids(line_ids), line__status__in=OrderLine.OPEN_STATUSES)
                       .values_list("line_id", "version"))

        def kept(versions: dict[int, int]) -> dict[int, int]:
            return {line_id: v for line_id, v in versions.items() if current.get(line_id) == v}

        return _NoticesDue(
            withdrawn=kept(self.withdrawn), delays_withdrawn=kept(self.delays_withdrawn),
            requests=[r for r in self.requests if r.line is None or current.get(r.line.pk) == r.version],
            tracked=[(e, r) for e, r in self.tracked if current.get(r.line.pk) == r.version])


def promise_changes_assess(*, changes: list[PromiseChange], now: datetime) -> list[Assessment]:
    """Run the regional workflow for the lines whose promise changed (inside their transaction)."""
    by_line = {}
    for change in changes:
        by_line[change.line_id] = change  # the last change of a line wins
    return lines_assess(line_ids=list(by_line), now=now, changes=by_line)


def recorded_changes_assess(*, line_ids: list[int], now: datetime | None = None,
                            changes: list[tuple] | None = None) -> list[Assessment]:
    """Assess lines after their re-promise committed: the deferred form of
    promise_changes_assess, for very large slips (see WORKFLOW_INLINE_MAX_LINES in
    docs/notices.md). One transaction per chunk of lines.

    `changes` are the re-promise's own, as changes_carried gives them:
    each stands for its line where it made the line's current promise version; the others'
    latest PromiseChange rows are read (a later re-promise moved them again meanwhile).
    """
    now = now or timezone.now()
    given = {fact[0]: fact for fact in changes or ()}
    results: list[Assessment] = []
    started = time.perf_counter()
    with gc_paused():
        for start in range(0, len(line_ids), CHUNK_LINES):
            chunk = line_ids[start:start + CHUNK_LINES]
            # The exceptions commit first, each delay exception with the state its notice
            # will have; the notices follow in a transaction of their own, so agents see a
            # slip's exceptions without waiting for thousands of outbox rows. A notice lost
            # between the two is written by the slip sweep (docs/notices.md, section 9).
            with exceptions_being_raised(), transaction.atomic():
                custom_plans_for_transaction()  # in a caller's transaction, its plans stay
                assessed, due = _lines_assess_chunk(chunk, now=now, given=given, notices_now=False)
            committed = time.perf_counter()
            results += assessed
            # The other parts of the slip are raising theirs beside this one: let them have
            # the CPU first (bounded; the notices are not late by a second).
            Yielder(max_wait=NOTICES_WAIT_SECONDS, running=exceptions_being_raised_elsewhere)()
            with transaction.atomic():
                custom_plans_for_transaction()
                _notices_write_after(due, now=now)
            log.info("assessed %s lines: exceptions committed after %.3f s, %s notices after %.3f s",
                     len(assessed), committed - started, len(due.requests), time.perf_counter() - started)
    return results


def large_slip_parts(changes: list[PromiseChange], *, parts: int | None = None) -> list[list[int]]:
    """Split the lines of a large slip into `parts` lists to assess side by side.

    Each list holds whole orders (an order's lines are assessed together), and the lists are
    balanced by lines. `parts` defaults to WORKFLOW_DEFERRED_PARTS, else the main cluster's
    workers: each takes one list as soon as the re-promise commits.
    """
    if parts is None:
        parts = (settings.BACKORDER_DESK.get("WORKFLOW_DEFERRED_PARTS")
                 or settings.Q_CLUSTER.get("workers") or 1)
    by_order: dict[int, set[int]] = defaultdict(set)
    for change in changes:
        by_order[change.order_id].add(change.line_id)
    lists: list[list[int]] = [[] for _ in range(max(parts, 1))]
    sizes = [0] * len(lists)
    for order_id in sorted(by_order, key=lambda o: (-len(by_order[o]), o)):  # largest first
        smallest = sizes.index(min(sizes))
        lists[smallest] += by_order[order_id]
        sizes[smallest] += len(by_order[order_id])
    return [sorted(line_ids) for line_ids in lists if line_ids]


def changes_carried(changes: list[PromiseChange]) -> dict[int, tuple]:
    """Return each line's last change as recorded_changes_assess takes it:
    (line id, version, cause, note, old confirmed, new confirmed), by line id."""
    return {c.line_id: (c.line_id, c.version, str(c.cause), c.note, c.old_confirmed, c.new_confirmed)
            for c in changes}


def lines_assess(*, line_ids: list[int], now: datetime,
                 changes: dict[int, PromiseChange] | None = None, placed=None) -> list[Assessment]:
    """Compare each open line's promise with what its customer was told; act on the gap.

    `placed` is the order these lines belong to when it is being placed in this
    transaction (intake's estimates): nothing outside the transaction sees them yet, so no
    notice, consent or exception of theirs is read, and the order's region and channel serve.
    """
    changes = changes or {}
    results: list[Assessment] = []
    for start in range(0, len(line_ids), CHUNK_LINES):
        chunk = line_ids[start:start + CHUNK_LINES]
        results += _lines_assess_chunk(chunk, now=now, changes=changes, placed=placed)[0]
    return results


def _lines_assess_chunk(line_ids, *, now, changes=None, given=None, notices_now=True,
                        placed=None) -> tuple[list[Assessment], _NoticesDue]:
    """Assess these lines; `changes` by line, or `given` (recorded_changes_assess's) checked
    against the lines' promise versions and completed from the database.

    With `notices_now` the notices are written here too; otherwise the delay exceptions get
    the state their notices are foreseen to have, and the caller writes the notices returned
    with _notices_write_after. With `placed` (lines_assess) the lines are new."""
    new_lines = placed is not None  # no notice, consent or exception of theirs exists yet
    if new_lines:
        regions, channels = {placed.region_id: placed.region}, {placed.channel_id: placed.channel}
    else:  # regions and channels are few: share one instance each instead of a join per line
        regions = {r.pk: r for r in Region.objects.all()}
        channels = {c.pk: c for c in Channel.objects.all()}
    lines = lines_facts(line_ids, regions=regions, channels=channels)
    if given is not None:
        changes = current_changes(lines, given)
    open_ids = [line.pk for line in lines if line.status in OrderLine.OPEN_STATUSES]
    sent = {} if new_lines else delay_notices_sent(open_ids)
    consents = set() if new_lines else express_consents(open_ids)
    caps = _promise_caps()
    exceptions = ExceptionBatch(open_ids, now, unseen=new_lines)
    policies: dict[str, RegionalPolicy] = {}
    due = _NoticesDue()
    results = []
    cancel_dates: dict[int, date | None] = {}  # line id -> its new automatic-cancellation date
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
            cancel_dates=cancel_dates,
        )
        results.append(result)
        if result.outcome == "earlier":
            due.delays_withdrawn[line.pk] = line.promise.version
        elif result.outcome in ("back_on_time", "past_due") and not new_lines:
            due.withdrawn[line.pk] = line.promise.version
        if request is not None:
            due.requests.append(request)
            exc = exceptions.get(line.pk, Kind.DELAY_NOTICE_DUE)
            if exc is not None and request.kind in DELAY_NOTICE_KINDS:
                due.tracked.append((exc, request))
    states = _notices_write(due, now=now) if notices_now else notices_foresee(due.requests)
    for exc, request in due.tracked:
        state = states.get(request.key, "")
        if state and (exc.notice_state != state or state == "held"):
            exceptions.set_field(exc, notice_state=state, **_held_due_by(exc, request, state))
    exceptions.flush()
    _auto_cancel_dates_write(cancel_dates)
    # A US line found past T with no notice already counts as cancelled and its refund's
    # clock runs: the past-due sweep runs once this commits, not at its next half hour.
    # A line past a cancellation date it had is cancelled for want of consent instead, by
    # the consent-deadline sweep that runs first.
    if any(r.outcome == "past_due" and not r.decision.fixed_deadline for r in results):
        enqueue_on_commit(PAST_DUE_SWEEP_TASK, coalesce=True)
    return results, due


def _held_due_by(exc: OrderException, request: NoticeRequest, state: str) -> dict:
    """Return the due-by of the exception of a notice held for review: before the notice
    goes out by itself, HELD_NOTICE_RELEASE_DAYS before its legal deadline
    (notifications.services.held_notices_release), so that an agent sees it first."""
    legal = request.context.get("notice_due_by")
    if state != "held" or not legal:
        return {}
    margin = settings.BACKORDER_DESK.get("HELD_NOTICE_RELEASE_DAYS", 1) + 1
    earlier = max(date.fromisoformat(legal) - timedelta(days=margin), exc.opened_at.date())
    return {"due_by": min(earlier, exc.due_by)}


def _auto_cancel_dates_write(cancel_dates: dict[int, date | None]) -> None:
    """Store the lines' new automatic-cancellation dates (a slip's lines share a few)."""
    by_date: dict[date | None, list[int]] = defaultdict(list)
    for line_id, day in cancel_dates.items():
        by_date[day].append(line_id)
    for day, line_ids in by_date.items():
        Promise.objects.filter(line_id__any=Ids(line_ids)).update(auto_cancel_on=day)


def _notices_write(due: _NoticesDue, *, now) -> dict[str, str]:
    """Withdraw the unsent notices `due` names and write its notices; return their states."""
    for versions, kinds in ((due.withdrawn, [*DELAY_NOTICE_KINDS, "earlier_date"]),
                            (due.delays_withdrawn, list(DELAY_NOTICE_KINDS))):
        if versions:
            notice_outbox().withdraw(line_ids=list(versions), kinds=kinds, versions=versions, now=now)
    return notices_request(due.requests, now=now)


def _notices_write_after(due: _NoticesDue, *, now) -> None:
    """Write the notices of an assessment that committed, and correct the state its delay
    exceptions were given where the outbox answers otherwise (a notice already written)."""
    due = due.still_current()
    states = _notices_write(due, now=now)
    wrong = {exc.line_id: (exc.promise_version, states[request.key], request) for exc, request in due.tracked
             if states.get(request.key, exc.notice_state) != exc.notice_state}
    if not wrong:
        return
    exceptions = ExceptionBatch(wrong, now)
    for line_id, (version, state, request) in wrong.items():
        exc = exceptions.get(line_id, Kind.DELAY_NOTICE_DUE)
        if exc is not None and exc.promise_version == version:  # not reassessed meanwhile
            exceptions.set_field(exc, notice_state=state, **_held_due_by(exc, request, state))
    exceptions.flush()


def _line_assess(line, promise, policy, exceptions: ExceptionBatch, *, today, change, sent, consented,
                 caps, cancel_dates) -> tuple[Assessment, NoticeRequest | None]:
    unknown = not promise.confirmed
    estimate_facts = slip_facts(line=line, promise=promise, today=today, delay_notices_sent=sent,
                                express_consent=consented, unknown=False)
    promised, _default = policy.promised_date(estimate_facts)
    new, communicated = measured(policy, promise)
    became_unconfirmed = change is not None and change.old_confirmed and not change.new_confirmed
    _guarantee_and_caps(line, promise, exceptions, today=today, promised=promised, caps=caps,
                        consented=consented)
    if unknown:
        exceptions.raise_(line, Kind.NO_CONFIRMED_SUPPLY, due_by=max(promised, today),
                          cause=f"No confirmed supply: estimate only ({promise.ship_date})",
                          promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.NO_CONFIRMED_SUPPLY, "Supply confirmed")

    if new > promised or became_unconfirmed:
        facts = estimate_facts if not unknown else slip_facts(
            line=line, promise=promise, today=today, delay_notices_sent=sent, express_consent=consented)
        decision = policy.decide(facts)
        _cancel_date_keep(line, promise, policy.auto_cancel_on(facts, decision), exceptions, cancel_dates)
        return _slip_raise(line, promise, policy, decision, exceptions, today=today, unknown=unknown,
                           change=change)

    # No slip past what the customer was told: the cause of a delay exception went away.
    exceptions.resolve(line.pk, Kind.DELAY_NOTICE_DUE,
                       "Promise back on or before the date the customer was told")
    _cancel_date_keep(line, promise, policy.auto_cancel_on(estimate_facts, None), exceptions, cancel_dates)
    if communicated is not None and new < communicated and promise.confirmed:
        request = NoticeRequest(
            kind="earlier_date", order=line.order, line=line, version=promise.version,
            announced=announced_for(line, promise),
            context={"measures": policy.measures, "old_date": communicated.isoformat(),
                     "new_date": new.isoformat(), "region": policy.region},
        )
        return Assessment(line.pk, "earlier"), request
    return Assessment(line.pk, "back_on_time" if communicated is not None else "unchanged"), None


def _cancel_date_keep(line, promise, cancel_on, exceptions: ExceptionBatch, cancel_dates) -> None:
    """Keep the line's automatic-cancellation date; once there is none, no consent is awaited."""
    if cancel_on != promise.auto_cancel_on:
        cancel_dates[line.pk] = cancel_on
    if cancel_on is None:
        exceptions.resolve(line.pk, Kind.CONSENT_OVERDUE,
                           "Promise back within the date the customer agreed to")


def _slip_raise(line, promise, policy, decision: SlipDecision, exceptions: ExceptionBatch, *, today,
                unknown, change) -> tuple[Assessment, NoticeRequest | None]:
    why = _cause_text(promise, decision, change, unknown)
    fields = {
        "promise_version": promise.version, "notice_kind": decision.notice_kind,
        "promised_date": decision.promised_date, "revised_date": decision.revised_date,
        "cancel_on": decision.cancel_on,
        "express_consent_required": decision.express_consent_required,
        "citations": "; ".join(decision.citations)[:300],
    }
    if policy.late_notice_cancels and decision.notice_overdue:
        # 16 CFR 435.2(b)(1): a notice after T counts as none; (c)(5) treats the order as
        # cancelled. The past-due sweep cancels it and refunds; no late delay notice goes out.
        exceptions.resolve(line.pk, Kind.DELAY_NOTICE_DUE, "T passed before a notice went out")
        exceptions.raise_(line, Kind.PAST_DUE, due_by=today,
                          cause=f"{why}; T {decision.promised_date} passed without a delay notice "
                                "(16 CFR 435.2(c)(5))", **fields)
        return Assessment(line.pk, "past_due", decision), None
    exceptions.raise_(line, Kind.DELAY_NOTICE_DUE, due_by=decision.notice_due_by,
                      notice_due_by=decision.notice_due_by, cause=why,
                      notified_at=None, **fields)
    request = NoticeRequest(
        kind=decision.notice_kind, order=line.order, line=line, version=promise.version,
        announced=announced_for(line, promise),
        context=decision_context(decision, policy=policy, promise=promise, line=line, unknown=unknown),
    )
    return Assessment(line.pk, "slip", decision), request


#: Cancels what a slip found past T without a notice (notifications.tasks).
PAST_DUE_SWEEP_TASK = "notifications.tasks.past_due_sweep"


def _cause_text(promise, decision, change, unknown) -> str:
    old = decision.promised_date
    new = "unknown (no confirmed supply)" if unknown else decision.revised_date
    what = "Ships" if decision.measures == "shipment" else "Delivery by"
    text = f"{what} {old} → {new}"
    if change is not None:
        text += f" ({CAUSE_LABELS.get(change.cause, change.cause).lower()}"
        text += f": {change.note})" if change.note else ")"
    return text


class PromiseCap(NamedTuple):
    """An active backorder cap with a promise horizon; a blank key matches every value."""

    id: int
    sku_id: int | None
    channel_id: int | None
    region_id: int | None
    max_promise_days: int

    def covers(self, line) -> bool:
        return (self.sku_id in (None, line.sku_id) and self.channel_id in (None, line.order.channel_id)
                and self.region_id in (None, line.order.region_id))


def _promise_caps() -> list[PromiseCap]:
    return [PromiseCap(*row) for row in BackorderCap.objects.filter(
        active=True, max_promise_days__isnull=False).values_list(*PromiseCap._fields)]


def customer_accepted(promise, *, consented: bool) -> bool:
    """Whether the customer expressly agreed to wait for the line's current promise: a
    consent to this promise version, or an agreement to wait with no date. (The date the
    customer holds the seller to is no answer: it is set when a date is first told.)"""
    return consented or promise.agreed_open_ended


def cap_breach_due_by(region, raised_on: date) -> date:
    """An agent answers a cap breach by the region's next working day after it was raised
    (docs/regional-rules.md, "Deadlines the product sets")."""
    calendar = transit_calendar_for(region)
    day = raised_on + timedelta(days=1)
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    return day


def _guarantee_and_caps(line, promise, exceptions: ExceptionBatch, *, today, promised, caps,
                        consented: bool = False) -> None:
    if promise.guarantee_broken:
        exceptions.raise_(line, Kind.SUPPLIER_SLIP, due_by=max(promised, today),
                          cause=f"Less supply than planned: the units set aside for the line are gone; it now "
                                f"ships {promise.ship_date}",
                          promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.SUPPLIER_SLIP, "Guarantee kept again")
    breach = next((cap for cap in caps if cap.covers(line)
                   and promise.ship_date > today + timedelta(days=cap.max_promise_days)), None)
    if breach is not None and customer_accepted(promise, consented=consented):
        exceptions.resolve(line.pk, Kind.CAP_BREACH, "Customer accepted the new date")
    elif breach is not None:
        # The due-by is fixed when the breach is raised: re-assessing it does not move it.
        existing = exceptions.get(line.pk, Kind.CAP_BREACH)
        due_by = existing.due_by if existing is not None else cap_breach_due_by(line.order.region, today)
        exceptions.raise_(line, Kind.CAP_BREACH, due_by=due_by,
                          cause=f"Ships {promise.ship_date}, beyond cap #{breach.id}'s "
                                f"{breach.max_promise_days}-day horizon", promise_version=promise.version)
    else:
        exceptions.resolve(line.pk, Kind.CAP_BREACH, "Promise within every cap's horizon")
