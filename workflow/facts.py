"""Facts of a slip read from the database, and what a notice about it says."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, F, Q

from core.lookups import Ids
from orders.models import OrderLine
from promises.models import DelayConsent, OrderException, Promise, PromiseChange
from workflow.exceptions_store import Kind
from workflow.policies import RegionalPolicy, SlipDecision, SlipFacts, regions_measuring
from workflow.regional import region_today

UNKNOWN_REASON = "supplier_unconfirmed"


# --- What an assessment reads of a line ---------------------------------------------------
# Plain slotted objects with the attribute names of the models they come from, read in one
# query of tuples: a slip of 5,000 lines would otherwise build 20,000 model instances.


@dataclass(slots=True)
class CustomerFacts:
    email: str
    locale: str


@dataclass(slots=True)
class OrderFacts:
    pk: int
    region_id: int
    channel_id: int
    placed_at: datetime
    essential_date: bool
    buyer_applied_for_credit: bool
    customer: CustomerFacts
    region: object = None  # the shared Region instance
    channel: object = None  # the shared Channel instance


@dataclass(slots=True)
class PromiseFacts:
    ship_date: date
    delivery_from: date
    delivery_to: date
    confirmed: bool
    version: int
    strategy: str
    guarantee_broken: bool
    communicated_ship_date: date | None
    communicated_delivery_to: date | None
    agreed_ship_date: date | None
    agreed_open_ended: bool
    auto_cancel_on: date | None


@dataclass(slots=True)
class LineFacts:
    pk: int
    order_id: int
    sku_id: int
    status: str
    order: OrderFacts
    promise: PromiseFacts


@dataclass(slots=True)
class ChangeFacts:
    line_id: int
    cause: str
    note: str
    old_confirmed: bool
    new_confirmed: bool


_LINE_COLUMNS = (
    "id", "order_id", "sku_id", "status",
    "order__region_id", "order__channel_id", "order__placed_at", "order__essential_date",
    "order__buyer_applied_for_credit",
    "order__customer__email", "order__customer__locale",
    "promise__ship_date", "promise__delivery_from", "promise__delivery_to", "promise__confirmed",
    "promise__version", "promise__strategy", "promise__guarantee_broken",
    "promise__communicated_ship_date", "promise__communicated_delivery_to",
    "promise__agreed_ship_date", "promise__agreed_open_ended", "promise__auto_cancel_on",
)


def lines_facts(line_ids: Iterable[int], *, regions: dict, channels: dict) -> list[LineFacts]:
    """Return the promised lines among line_ids, in id order, with their orders and promises."""
    orders: dict[int, OrderFacts] = {}
    lines = []
    rows = (OrderLine.objects.filter(id__any=Ids(line_ids), promise__isnull=False)
            .order_by("pk").values_list(*_LINE_COLUMNS))
    for (pk, order_id, sku_id, status, region_id, channel_id, placed_at, essential, credit, email, locale,
         *promise) in rows:
        order = orders.get(order_id)
        if order is None:
            order = orders[order_id] = OrderFacts(
                order_id, region_id, channel_id, placed_at, essential, credit, CustomerFacts(email, locale),
                regions[region_id], channels.get(channel_id))
        lines.append(LineFacts(pk, order_id, sku_id, status, order, PromiseFacts(*promise)))
    return lines


def latest_changes(line_ids: list[int]) -> dict[int, ChangeFacts]:
    """Return the latest PromiseChange of each line (what moved it, and why)."""
    latest: dict[int, ChangeFacts] = {}
    rows = PromiseChange.objects.filter(line_id__any=Ids(line_ids)).order_by("line_id", "-at", "-id")
    if connection.vendor == "postgresql":
        rows = rows.distinct("line_id")  # a line moved many times: only its last change travels
    rows = rows.values_list("line_id", "cause", "note", "old_confirmed", "new_confirmed")
    for row in rows:
        if row[0] not in latest:
            latest[row[0]] = ChangeFacts(*row)
    return latest


def current_changes(lines: list[LineFacts], given: dict[int, tuple]) -> dict[int, ChangeFacts]:
    """Return each line's latest change: the given one where it made the line's current
    promise version, else the latest read from the database.

    `given` maps a line id to (line id, version, cause, note, old confirmed, new confirmed).
    """
    current: dict[int, ChangeFacts] = {}
    unknown = []
    for line in lines:
        fact = given.get(line.pk)
        if fact is not None and fact[1] == line.promise.version:
            current[line.pk] = ChangeFacts(line.pk, *fact[2:])
        else:
            unknown.append(line.pk)
    if unknown:
        current.update(latest_changes(unknown))
    return current


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
        buyer_applied_for_credit=order.buyer_applied_for_credit,
        delay_notices_sent=delay_notices_sent,
        express_consent=express_consent,
        agreed_ship_date=promise.agreed_ship_date,
        agreed_open_ended=promise.agreed_open_ended,
        auto_cancel_on=promise.auto_cancel_on,
    )


def measured(policy: RegionalPolicy, promise: Promise) -> tuple[date, date | None]:
    """Return (new date, communicated date) in what the region measures (ship or delivery)."""
    if policy.measures == "shipment":
        return promise.ship_date, promise.communicated_ship_date
    return promise.delivery_to, promise.communicated_delivery_to


def promises_against_told(lookup: str) -> Q:
    """Filter Promise rows by their date in what the region's policy measures (the ship date
    or the end of the delivery window) against the date the customer was told:
    `lookup` "gt" keeps promises later than told, "lt" earlier ones. The SQL twin of measured()."""
    shipment = Q(line__order__region__code__in=regions_measuring("shipment"))
    return ((shipment & Q(**{f"ship_date__{lookup}": F("communicated_ship_date")}))
            | (~shipment & Q(**{f"delivery_to__{lookup}": F("communicated_delivery_to")})))


def delay_notices_sent(line_ids: Iterable[int]) -> dict[int, int]:
    """Return how many delay notices each line's customer was sent (0 = a first delay)."""
    rows = (OrderException.objects.filter(line_id__any=Ids(line_ids), kind=Kind.DELAY_NOTICE_DUE,
                                          notified_at__isnull=False)
            .values("line_id").annotate(n=Count("id")).values_list("line_id", "n"))
    return dict(rows)


def express_consents(line_ids: Iterable[int]) -> set[tuple[int, int]]:
    """Return the (line, promise version) pairs the customer expressly accepted."""
    return set(DelayConsent.objects.filter(
        line_id__any=Ids(line_ids), decision=DelayConsent.Decision.ACCEPT,
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
        "consented_open_ended": decision.consented_open_ended,
        "fixed_deadline": decision.fixed_deadline,
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
