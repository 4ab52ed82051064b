"""Facts of a slip read from the database, and what a notice about it says."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Count

from orders.models import OrderLine
from promises.models import DelayConsent, OrderException, Promise
from promises.policies import RegionalPolicy, SlipDecision, SlipFacts
from promises.workflow.exceptions_store import Kind

UNKNOWN_REASON = "supplier_unconfirmed"


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
