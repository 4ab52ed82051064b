"""Available-to-promise and atomic order intake.

Intake locks the pools of the order (their stock rows, in primary-key order) and the
caps that match it, allocates the new lines against each pool's free supply
(promises.ledger, engine.allocate_new), judges them, and writes the order, its promises
and the ledger. Where the ledger cannot tell what a full run would give (a `win` order
that displaces others, a pool changed since its last re-promise or not known yet), it
inserts the order, runs the engine on each pool with the new lines in it, judges the new
lines from that run and writes it. A refusal rolls the whole order back. On PostgreSQL
concurrent orders for one pool or one cap therefore serialise: no unit is promised twice
and no cap is broken.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from time import monotonic

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from core.bulk import parent_and_children_insert
from core.compiled import compiled_chain, compiled_objects, generic_plans_for_transaction
from core.errors import BusinessRefusal, InvalidInput
from inventory.models import SKU, BackorderCap, Channel, Region, Strategy, Warehouse
from inventory.services import StockRowsMissing, pools_lock_in_warehouse, stock_rows_create
from orders.models import Currency, Customer, Order, OrderLine
from promises import engine
from promises.calendars import ship_calendar_for, transit_calendar_for
from promises.labels import promise_label
from promises.ledger import dirty_marks_read, ledger_take, ledgers_read
from promises.models import PromiseChange
from promises.ports import workflow
from promises.selectors import STOCK_DATE, OpenLine, open_backorder_qty, pools_load
from promises.services import (
    line_status,
    pools_allocate,
    pools_repromise,
    promise_first_written,
    promise_row,
    promises_first_write,
    promises_mark_communicated,
)

REFUSALS = ("backorder_not_allowed", "cap_exceeded", "beyond_horizon", "no_supply", "unknown_sku")


@dataclass(frozen=True)
class Availability:
    status: str  # in_stock | backorder | preorder | unavailable
    can_order: bool
    ship_date: date | None
    delivery_from: date | None
    delivery_to: date | None
    confirmed: bool
    label: str
    reason: str  # "" or backorder_not_allowed | cap_exceeded:<id> | beyond_horizon | no_supply | unknown_sku
    sources: tuple[dict, ...] = ()


@dataclass(frozen=True)
class CustomerInput:
    email: str
    name: str
    locale: str = ""


@dataclass(frozen=True)
class LineInput:
    sku: str
    qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    channel: str
    region: str
    currency: str
    customer: CustomerInput
    lines: tuple[LineInput, ...]
    placed_at: datetime | None = None
    essential_date: bool = False
    buyer_applied_for_credit: bool = False  # US 16 CFR 435.2(a)(2): 50 days to ship, not 30
    strategy: str = ""
    paid_amount: Decimal | None = None
    shipping_amount: Decimal = Decimal("0")


@dataclass
class _Verdict:
    """What the rules say of one line's assignment."""

    status: str
    reason: str = ""
    message: str = ""
    backordered: int = 0
    caps: list = field(default_factory=list)


# --- Judging -------------------------------------------------------------------------------


def _judge(sku: SKU, qty: int, a: engine.Assignment) -> _Verdict:
    """Apply the SKU's backorder policy to an assignment (caps are checked separately)."""
    stock_qty = sum(al.qty for al in a.allocations if al.kind == "stock")
    backordered = qty - stock_qty
    if sku.preorder:
        status = "preorder"
    elif a.confirmed and stock_qty >= qty:
        return _Verdict("in_stock")
    else:
        status = "backorder"
    refused = _refusal(sku, qty, confirmed=a.confirmed)
    if refused:
        refused.backordered = backordered
        return refused
    return _Verdict(status, backordered=backordered)


def _refusal(sku: SKU, qty: int, *, confirmed: bool) -> _Verdict | None:
    """The SKU's refusal of a line that stock cannot cover in full (None: it takes a backorder).

    The messages name no counts: intake may know only that a line cannot be covered, not
    how far a full run would cover it.
    """
    if not sku.preorder and not sku.backorder_allowed:
        return _Verdict("unavailable", "backorder_not_allowed",
                        f"{sku.code} is sold from stock only and stock cannot cover {qty} now.")
    if not confirmed and not sku.sell_beyond_supply:
        return _Verdict("unavailable", "no_supply",
                        f"Stock and open purchase orders cannot cover {qty} × {sku.code}.")
    return None


def _caps_matching(sku_ids, channel: Channel, region: Region, *, lock: bool):
    build = _caps_locked_query if lock else _caps_query
    return list(compiled_objects(BackorderCap, build, sku_ids=sku_ids, channel_ids=[channel.pk],
                                 region_ids=[region.pk]))


def _caps_query(sku_ids, channel_ids, region_ids):
    return BackorderCap.objects.filter(active=True).filter(
        Q(sku__isnull=True) | Q(sku_id__any=sku_ids),
        Q(channel__isnull=True) | Q(channel_id__any=channel_ids),
        Q(region__isnull=True) | Q(region_id__any=region_ids),
    ).order_by("pk")


def _caps_locked_query(sku_ids, channel_ids, region_ids):
    return _caps_query(sku_ids, channel_ids, region_ids).select_for_update(of=("self",))


def _caps_check(caps, lines: list[tuple[int, SKU, engine.Assignment, _Verdict]], *, channel, region,
                today: date, exclude_line_ids=()) -> tuple[int, str, str] | None:
    """Return (line index, reason, message) for the first cap a set of new lines would break."""
    for cap in caps:
        in_scope = [(i, sku, a, v) for i, sku, a, v in lines if cap.sku_id in (None, sku.id)]
        if not in_scope:
            continue
        if cap.max_promise_days is not None:
            horizon = today + timedelta(days=cap.max_promise_days)
            for i, sku, a, _v in in_scope:
                if a.ship_date > horizon:
                    return (i, "beyond_horizon",
                            f"{sku.code} would ship {a.ship_date.isoformat()}, beyond the "
                            f"{cap.max_promise_days}-day horizon of cap #{cap.pk}.")
        if cap.max_backorder_qty is not None:
            new = sum(v.backordered for _i, _s, _a, v in in_scope)
            if new <= 0:
                continue
            open_qty = open_backorder_qty(
                sku_id=cap.sku_id, channel_id=cap.channel_id, region_id=cap.region_id,
                exclude_line_ids=exclude_line_ids)
            if open_qty + new > cap.max_backorder_qty:
                i = in_scope[0][0]
                return (i, f"cap_exceeded:{cap.pk}",
                        f"Cap #{cap.pk} allows {cap.max_backorder_qty} units on backorder; "
                        f"{open_qty} are open and this order adds {new}.")
    return None


# --- Available to promise --------------------------------------------------------------------


def available_to_promise(*, sku: str, channel: str, region: str = "", qty: int,
                         at: datetime | None = None, locale: str = "") -> Availability:
    """Answer whether `qty` of a SKU can be ordered now on a channel, and when it would ship
    (to `region`; by default the channel's)."""
    now = at or timezone.now()
    channel_obj, region_obj = _channel_region(channel, region)
    wrong_region = _region_not_sold_in(channel_obj, region_obj)
    if wrong_region:  # as an order would be refused
        raise InvalidInput("The channel does not sell in that region.", errors={"region": [wrong_region]})
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        raise InvalidInput("qty must be a whole number of at least 1.", errors={"qty": ["must be >= 1"]})
    locale = locale or region_obj.locale
    sku_obj = next(iter(compiled_objects(SKU, _skus_query, codes=[sku])), None)
    if sku_obj is None:
        return Availability("unavailable", False, None, None, None, False,
                            promise_label(status="unavailable", ship_date=None, delivery_to=None,
                                          confirmed=False, region=region_obj, locale=locale),
                            "unknown_sku")
    warehouse = _warehouse(region_obj)
    probe = engine.Demand(line_id=NEW_LINE_ID, qty=qty, strategy=channel_obj.strategy,
                          channel_priority=channel_obj.priority, placed_at=now, current_ship_date=None)
    a = _probe_allocate(probe, sku_obj, warehouse, region_obj, now)
    verdict = _judge(sku_obj, qty, a)
    if not verdict.reason:
        caps = _caps_matching([sku_obj.id], channel_obj, region_obj, lock=False)
        broken = _caps_check(caps, [(0, sku_obj, a, verdict)], channel=channel_obj, region=region_obj,
                             today=now.date())
        if broken:
            verdict = _Verdict("unavailable", broken[1], broken[2])
    delivery_from, delivery_to = transit_calendar_for(region_obj).delivery_window(a.ship_date)
    can_order = not verdict.reason
    label = promise_label(
        status=verdict.status, ship_date=a.ship_date if can_order else None, delivery_to=delivery_to,
        confirmed=a.confirmed, region=region_obj, locale=locale,
        business_days=_estimate_range(warehouse, now, a.ship_date, sku_obj) if not a.confirmed else None,
    )
    return Availability(
        status=verdict.status, can_order=can_order,
        ship_date=a.ship_date if can_order else None,
        delivery_from=delivery_from if can_order else None,
        delivery_to=delivery_to if can_order else None,
        confirmed=a.confirmed and can_order, label=label, reason=verdict.reason,
        sources=tuple(_source(al) for al in a.allocations) if can_order else (),
    )


#: Answers kept per process by availability_answer, at most (then they are all dropped).
AVAILABILITY_ANSWERS_MAX = 10_000
_answers: dict[tuple, tuple[float, Availability]] = {}


def availability_answer(*, sku: str, channel: str, region: str = "", qty: int, locale: str = "") -> Availability:
    """available_to_promise now, as a storefront asks it on every product page: the same
    question asked again in this process within settings.AVAILABILITY_CACHE_SECONDS gets
    the answer given first (0: every answer is computed).

    An answer is therefore at most that old; the order itself is judged again under its
    pools' locks at intake, so an old answer never promises a unit twice. Bad input is not
    kept: it raises each time.
    """
    seconds = settings.AVAILABILITY_CACHE_SECONDS
    if seconds <= 0:
        return available_to_promise(sku=sku, channel=channel, region=region, qty=qty, locale=locale)
    key = (sku, channel, region, qty, locale)
    now = monotonic()
    kept = _answers.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    answer = available_to_promise(sku=sku, channel=channel, region=region, qty=qty, locale=locale)
    if len(_answers) >= AVAILABILITY_ANSWERS_MAX:
        _answers.clear()
    _answers[key] = (now + seconds, answer)
    return answer


def _probe_allocate(probe: engine.Demand, sku: SKU, warehouse: Warehouse, region: Region,
                    now: datetime) -> engine.Assignment:
    """What an order of `probe` would get now: from the pool's free supply when the ledger
    can tell, else from a full run of the pool with the probe in it."""
    key = (sku.id, warehouse.id)
    calendar = ship_calendar_for(warehouse)
    ledger = ledgers_read(pools={key}, today=now.date()).get(key)
    if ledger is not None and not ledger.dirty:
        assignments = engine.allocate_new(ledger.balances, [probe], calendar, _policy(sku), now=now)
        if assignments is not None:
            return assignments[0]
    state = pools_load(pools={key}, today=now.date())[key]
    state.lines.append(OpenLine(probe, 0, region.id, OrderLine.Status.BACKORDERED, None))
    return next(x for x in engine.allocate(state.supply, state.demand, calendar, state.policy, now=now)
                if x.line_id == probe.line_id)


def _source(al: engine.Allocation) -> dict:
    return {"kind": al.kind, "reference": al.reference, "qty": al.qty,
            "available_on": None if al.available_on == STOCK_DATE else al.available_on}


def _estimate_range(warehouse, now: datetime, ship_date: date, sku: SKU) -> tuple[int, int]:
    """Business days from today to an estimated ship date, widened by the supplier's usual slip."""
    calendar = ship_calendar_for(warehouse)
    day, low = calendar.local_date(now), 0
    while day < ship_date:
        day += timedelta(days=1)
        low += calendar.is_business_day(day)
    slip = round(sku.lead_time_slip_days * 5 / 7)
    return max(low, 1), max(low, 1) + max(slip, 2)


def line_promise_label(promise, region, locale: str = "") -> str:
    """Return the customer-facing label of a stored promise."""
    line = promise.line
    status = ("preorder" if line.sku.preorder
              else "in_stock" if promise.confirmed and promise.stock_qty >= line.qty_open
              else "backorder")
    business_days = None
    if not promise.confirmed:
        business_days = _estimate_range(line.warehouse, timezone.now(), promise.ship_date, line.sku)
    return promise_label(status=status, ship_date=promise.ship_date, delivery_to=promise.delivery_to,
                         confirmed=promise.confirmed, region=region,
                         locale=locale or region.locale, business_days=business_days)


# --- Intake ----------------------------------------------------------------------------------


def order_place(*, data: OrderInput, now: datetime | None = None) -> tuple[Order, bool]:
    """Place an order atomically; return (order, created). A repeat returns the first order.

    Raises InvalidInput for bad input and BusinessRefusal (backorder_not_allowed,
    cap_exceeded, beyond_horizon, no_supply, unknown_sku) when the rules refuse it; a
    repeat whose body differs from the first order is idempotency_conflict.
    """
    now = now or timezone.now()
    channel, region, skus = _order_validate(data, now=now)
    try:
        return _order_place_atomic(data, channel, region, skus, now)
    except (IntegrityError, BusinessRefusal):
        # A repeat of an order placed before fails the order's unique constraint (so does a
        # concurrent request that won the insert), or meets a refusal its first placing did
        # not: either way the first order is the answer.
        existing = _order_find(channel, data.external_id)
        if existing is None:
            raise
        _order_replay_check(existing, data)
        return existing, False


def _order_place_atomic(data, channel, region, skus, now):
    try:
        placed = _order_place_transaction(data, channel, region, skus, now)
    except StockRowsMissing as missing:
        # Rolled back, so no lock is held while the rows are created (pools_lock's rule).
        stock_rows_create(missing.pools)
        placed = _order_place_transaction(data, channel, region, skus, now)
    if isinstance(placed, BusinessRefusal):
        raise placed  # refused before anything was written: its transaction committed nothing
    return placed


def _order_place_transaction(data, channel, region, skus, now):
    with transaction.atomic():
        generic_plans_for_transaction()  # an order's own transaction (not a caller's): generic plans
        return _order_place_locked(data, channel, region, skus, now)


def _order_replay_check(order: Order, data: OrderInput) -> None:
    """Refuse a repeat of (channel, external id) that says something else than the first order.

    Compared: region, currency, flags, strategy, amounts and placed_at when given, the
    customer's e-mail (any case), name and locale when given, and the lines in order.
    """
    customer = order.customer
    differs = []
    if data.region != order.region.code:
        differs.append("region")
    if data.currency != order.currency:
        differs.append("currency")
    if data.placed_at is not None and data.placed_at != order.placed_at:
        differs.append("placed_at")
    for name in ("essential_date", "buyer_applied_for_credit", "strategy", "shipping_amount"):
        if getattr(data, name) != getattr(order, name):
            differs.append(name)
    if data.paid_amount is not None and data.paid_amount != order.paid_amount:
        differs.append("paid_amount")
    if data.customer.email.lower() != customer.email.lower():
        differs.append("customer.email")
    if data.customer.name != customer.name:
        differs.append("customer.name")
    if data.customer.locale and data.customer.locale != customer.locale:
        differs.append("customer.locale")
    stored = list(order.lines.order_by("pk").values_list("sku__code", "qty", "unit_price"))
    given = [(line.sku, line.qty, Decimal(line.unit_price)) for line in data.lines]
    if stored != given:
        differs.append("lines")
    if differs:
        message = (f"Order {data.external_id!r} of channel {data.channel} was first placed with other "
                   f"values of {', '.join(differs)}; a repeat must send the same body.")
        raise BusinessRefusal(message, code="idempotency_conflict",
                              errors={name: ["differs from the order first placed with this "
                                             "external_id"] for name in differs})


def _order_find(channel: Channel, external_id: str) -> Order | None:
    return next(iter(compiled_objects(Order, _order_query, channel_ids=[channel.pk],
                                      external_id=external_id)), None)


def _order_query(channel_ids, external_id):
    return Order.objects.filter(channel_id__any=channel_ids, external_id=external_id)[:1]


#: Ids of an order's lines before they are inserted: above any real id, in input order, the
#: order their inserted ids follow (the engine breaks exact ties by line id).
NEW_LINE_ID = 2**62


def _order_place_locked(data, channel, region, skus, now):
    """Place the order under its pools' locks: return (order, True), or the BusinessRefusal
    of an order refused before anything was written, for the caller to raise once the
    transaction has ended.

    Such a refusal ends its transaction with a COMMIT of nothing rather than a ROLLBACK:
    psycopg forgets every statement prepared on the connection at a ROLLBACK, and a
    refused order would otherwise cost every later order on that connection its prepared
    statements (docs/performance.md, (c)). A refusal after the order's first write (a
    full run's) raises, and rolls back.
    """
    warehouse = _warehouse(region)
    pools = {(skus[line.sku].id, warehouse.id) for line in data.lines}
    # A repeat of an order, or a concurrent request with the same (channel, external id)
    # that committed meanwhile, makes the order's INSERT fail on the unique constraint:
    # order_place returns the first order.
    pools_lock_in_warehouse([sku_id for sku_id, _ in pools], warehouse.id)
    taken, bounds = _ledger_allocate(data, channel, skus, warehouse, pools, now)
    in_full = len(taken) < len(pools)
    try:
        if in_full:
            # Refuse without the full run where the ledger proves a full run would refuse.
            _refusal_prove(data, skus, taken, bounds)
        else:
            by_index = {a.line_id - NEW_LINE_ID: a for _ledger, _demand, assignments in taken.values()
                        for a in assignments}
            assignments = [by_index[i] for i in range(len(data.lines))]
            judged = _lines_judge(data, skus, assignments)
        # Caps are locked after the pools, on both paths, and only for an order the ledger
        # does not refuse: a refused order reads none.
        caps = _caps_matching([s.id for s in skus.values()], channel, region, lock=True)
        if not in_full:
            _caps_enforce(caps, judged, channel=channel, region=region, today=now.date())
    except BusinessRefusal as refusal:
        return refusal
    if in_full:  # outside the try: its refusals come after its writes, and must roll them back
        return _order_place_in_full(data, channel, region, skus, warehouse, pools, caps, now)
    order, lines = _order_create(data, channel, region, now, [
        OrderLine(sku=skus[line.sku], warehouse=warehouse, qty=line.qty, unit_price=line.unit_price,
                  status=line_status(line.qty, _stock_qty(a), a.confirmed))
        for line, a in zip(data.lines, assignments, strict=True)
    ])
    transit, strategy = transit_calendar_for(region), str(data.strategy or channel.strategy)
    rows = []
    for line, a in zip(lines, assignments, strict=True):
        rows.append(promise_row(_NEW, a, transit, strategy, now)._replace(line_id=line.id))
    # The customer saw these promises at checkout: they are what was communicated.
    promises_first_write(rows, at=now)
    for line, row in zip(lines, rows, strict=True):
        line.promise = promise_first_written(row, at=now)
    for ledger, demand, pool_assignments in taken.values():
        ledger_take(ledger, demand, pool_assignments)
    _order_placed(order, lines, assignments, now)
    return order, True


#: What promise_row compares a new line's promise with: nothing.
_NEW = OpenLine(demand=None, order_id=0, region_id=0, status="", current=None)


def _stock_qty(a: engine.Assignment) -> int:
    return sum(al.qty for al in a.allocations if al.kind == "stock")


def _ledger_allocate(data, channel, skus, warehouse, pools, now):
    """Allocate the new lines against their pools' free supply (promises.ledger).

    Return ({pool: (ledger, demand, assignments)} for the pools the ledger decides, and
    {new line id: the most units a full run could give it} for the lines of the other
    pools the ledger knows); a pool missing from the first must be run in full.
    """
    ledgers = ledgers_read(pools=pools, today=now.date())
    strategy, placed_at = data.strategy or channel.strategy, data.placed_at or now
    demand: dict = {}
    for i, line in enumerate(data.lines):
        demand.setdefault((skus[line.sku].id, warehouse.id), []).append(engine.Demand(
            line_id=NEW_LINE_ID + i, qty=line.qty, strategy=strategy, channel_priority=channel.priority,
            placed_at=placed_at, current_ship_date=None))
    sku_by_id = {sku.id: sku for sku in skus.values()}
    calendar = ship_calendar_for(warehouse)
    taken, bounds = {}, {}
    for pool, pool_demand in demand.items():
        ledger = ledgers.get(pool)
        if ledger is None or ledger.dirty:
            continue
        assignments = engine.allocate_new(ledger.balances, pool_demand, calendar, _policy(sku_by_id[pool[0]]),
                                          now=now)
        if assignments is None:
            bounds.update((d.line_id, engine.cover_bound(ledger.balances, d)) for d in pool_demand)
        else:
            taken[pool] = (ledger, pool_demand, assignments)
    return taken, bounds


def _refusal_prove(data, skus, taken, bounds) -> None:
    """Raise the refusal a full run would give the order, where the ledger proves it.

    A full run judges the lines in order and refuses at the first line the SKU's policy
    refuses. Lines of pools the ledger decided are judged from its assignments; a line of
    another pool is refused when even the most units a full run could give it leave it
    uncovered and its SKU refuses an uncovered line. The first line neither decides ends the
    proof: the full run judges from there.
    """
    by_index = {a.line_id - NEW_LINE_ID: a for _ledger, _demand, assignments in taken.values()
                for a in assignments}
    for i, line in enumerate(data.lines):
        sku = skus[line.sku]
        if i in by_index:
            verdict = _judge(sku, line.qty, by_index[i])
        else:
            verdict = _refusal(sku, line.qty, confirmed=False)
            if verdict is not None and bounds.get(NEW_LINE_ID + i, line.qty) >= line.qty:
                return  # it may be covered: only the full run can tell
        if verdict is not None and verdict.reason:
            raise _line_refused(i, verdict)


def _policy(sku: SKU) -> engine.PoolPolicy:
    return engine.PoolPolicy(lead_time_days=sku.lead_time_days, sell_beyond_supply=sku.sell_beyond_supply)


def _order_place_in_full(data, channel, region, skus, warehouse, pools, caps, now):
    """Place the order by running its pools in full with the new lines in them, as a
    re-promise would: the path of a `win` order that displaces others, of a pool marked
    dirty, and of a pool the ledger does not know yet (the run writes its ledger)."""
    order, lines = _order_create(data, channel, region, now, [
        OrderLine(sku=skus[line.sku], warehouse=warehouse, qty=line.qty, unit_price=line.unit_price)
        for line in data.lines
    ])
    marks = dirty_marks_read(pools)  # read first: the load below sees their changes
    states = pools_load(pools=pools, today=now.date())
    allocated = pools_allocate(states, now=now, warehouses={warehouse.id: warehouse})
    by_line = {a.line_id: a for assignments in allocated.values() for a in assignments}
    assignments = [by_line[line.id] for line in lines]
    judged = _lines_judge(data, skus, assignments)
    _caps_enforce(caps, judged, channel=channel, region=region, today=now.date(),
                  exclude_line_ids=[line.id for line in lines])
    pools_repromise(states, cause=PromiseChange.Cause.NEW_ORDER, now=now, allocated=allocated,
                    note=f"order {channel.code}#{data.external_id}", marks=marks)
    # The customer saw these promises at checkout: they are what was communicated.
    promises_mark_communicated(line_ids=[line.id for line in lines], at=now)
    _order_placed(order, lines, assignments, now)
    return order, True


def _lines_judge(data, skus, assignments) -> list:
    """Raise BusinessRefusal for the first line the SKU's policy refuses; return the lines
    judged, for _caps_enforce."""
    judged = []
    for i, (line_input, a) in enumerate(zip(data.lines, assignments, strict=True)):
        verdict = _judge(skus[line_input.sku], line_input.qty, a)
        if verdict.reason:
            raise _line_refused(i, verdict)
        judged.append((i, skus[line_input.sku], a, verdict))
    return judged


def _line_refused(i: int, verdict: _Verdict) -> BusinessRefusal:
    return BusinessRefusal(verdict.message, code=verdict.reason, errors={f"lines[{i}].sku": [verdict.message]})


def _caps_enforce(caps, judged, *, channel, region, today, exclude_line_ids=()) -> None:
    """Raise BusinessRefusal for the first cap the judged lines would break."""
    broken = _caps_check(caps, judged, channel=channel, region=region, today=today,
                         exclude_line_ids=exclude_line_ids)
    if broken:
        i, reason, message = broken
        raise BusinessRefusal(message, code=reason.split(":")[0], errors={f"lines[{i}].sku": [message]})


def _order_create(data, channel, region, now, lines: list[OrderLine]) -> tuple[Order, list[OrderLine]]:
    """Insert the order and its `lines` (unsaved, in input order); return both, saved."""
    customer = _customer(data.customer, region, channel)
    lines_total = sum(line.unit_price * line.qty for line in data.lines)
    order = Order(
        channel=channel, region=region, external_id=data.external_id, customer=customer,
        placed_at=data.placed_at or now, currency=data.currency,
        paid_amount=data.paid_amount if data.paid_amount is not None else lines_total + data.shipping_amount,
        shipping_amount=data.shipping_amount, strategy=data.strategy, essential_date=data.essential_date,
        buyer_applied_for_credit=data.buyer_applied_for_credit,
    )
    parent_and_children_insert(order, lines, link="order")
    return order, lines


def _order_placed(order, lines, assignments, now) -> None:
    # An estimate accepted beyond confirmed supply goes to the exception queue at once.
    estimates = [line.id for line, a in zip(lines, assignments, strict=True) if not a.confirmed]
    if estimates:
        workflow().lines_assess(line_ids=estimates, now=now, placed=order)
    workflow().order_placed(order=order, lines=lines, now=now)


def _customer(data: CustomerInput, region: Region, channel: Channel) -> Customer:
    """The channel's customer of this e-mail address (any case), created on its first order.

    Customers are kept per channel: another channel's record of the same address is never
    read or changed, so no partner sees what another channel wrote.
    """
    if connection.vendor == "postgresql":
        customer = (_customer_find_or_insert(data, region, channel)
                    or _customer_find(data.email, channel))
    else:
        customer = _customer_find(data.email, channel)
    if customer is not None:
        return customer
    try:
        with transaction.atomic():  # a savepoint: a concurrent first order may create it first
            return Customer.objects.create(channel=channel, email=data.email, name=data.name,
                                           region=region, locale=data.locale or region.locale)
    except IntegrityError:
        customer = _customer_find(data.email, channel)
        if customer is None:  # not the e-mail's constraint: let the caller see the real error
            raise
        return customer


def _customer_find_or_insert(data: CustomerInput, region: Region, channel: Channel) -> Customer | None:
    """The channel's customer of this e-mail address, found or inserted in one statement
    (PostgreSQL); None when a concurrent order's insert of the same customer, not yet
    visible to this statement, made the insert do nothing: the caller reads it then."""
    with connection.cursor() as cursor:
        cursor.execute(_customer_upsert_sql(), {
            "channel": channel.pk, "email": data.email, "name": data.name, "region": region.pk,
            "locale": data.locale or region.locale, "now": timezone.now()})
        row = cursor.fetchone()
    return None if row is None else Customer.from_db(connection.alias, _CUSTOMER_ATTNAMES, row)


#: Every field of a customer, so that the row read back is a whole instance.
_CUSTOMER_COLUMNS = [f.column for f in Customer._meta.concrete_fields]
_CUSTOMER_ATTNAMES = [f.attname for f in Customer._meta.concrete_fields]


@cache
def _customer_upsert_sql() -> str:
    # Found first, so that a known customer costs no insert (nor a sequence number); the
    # insert's ON CONFLICT covers a concurrent first order of the same address. The lookup
    # is the unique constraint's expressions, as _customer_query's.
    table, columns = Customer._meta.db_table, ", ".join(_CUSTOMER_COLUMNS)
    return f"""WITH found AS (
            SELECT {columns} FROM {table}
            WHERE channel_id = %(channel)s AND LOWER(email) = LOWER(%(email)s) LIMIT 1),
        inserted AS (
            INSERT INTO {table} (channel_id, email, name, region_id, locale, created_at)
            SELECT %(channel)s, %(email)s, %(name)s, %(region)s, %(locale)s, %(now)s
            WHERE NOT EXISTS (SELECT FROM found)
            ON CONFLICT DO NOTHING
            RETURNING {columns})
        SELECT {columns} FROM found UNION ALL SELECT {columns} FROM inserted"""


def _customer_find(email: str, channel: Channel) -> Customer | None:
    return next(iter(compiled_objects(Customer, _customer_query, email=email,
                                      channel_ids=[channel.pk])), None)


def _customer_query(email, channel_ids):
    # channel = %s AND LOWER(email) = LOWER(%s), the expressions the unique constraint
    # indexes (email__iexact compiles to UPPER() on PostgreSQL, which that index cannot serve).
    return (Customer.objects.alias(email_lower=Lower("email"))
            .filter(channel_id__any=channel_ids, email_lower=Lower(Value(email)))
            .order_by("pk")[:1])


def _channel_region(channel: str, region: str) -> tuple[Channel, Region]:
    """The active channel of this code and the region of this code (none: the channel's),
    with its default warehouse. One statement when the channel sells in that region (every
    order that passes): the channel comes with its region and warehouse."""
    errors = {}
    channel_obj = next(iter(compiled_chain(Channel, ("region", "default_warehouse"), _channel_query,
                                           code=channel)), None)
    if channel_obj is not None and (not region or channel_obj.region.code == region):
        return channel_obj, channel_obj.region
    if channel_obj is None:
        errors["channel"] = [f"unknown channel {channel!r}"]
        if not region:
            raise InvalidInput("Unknown channel.", errors=errors)
    region_obj = next(iter(compiled_chain(Region, ("default_warehouse",), _region_query, code=region)), None)
    if region_obj is None:
        errors["region"] = [f"unknown region {region!r}; one of US, EU, UK"]
    if errors:
        raise InvalidInput("Unknown channel or region.", errors=errors)
    return channel_obj, region_obj


def _region_not_sold_in(channel: Channel, region: Region) -> str:
    """Why an order or an availability question for this channel and region is refused ("": it is not)."""
    if channel.region_id == region.pk:
        return ""
    return f"channel {channel.code} sells in region {channel.region.code} only"


# Reads compiled once per process (core.compiled): an order's lookups by code.

def _channel_query(code):
    return Channel.objects.filter(code=code, active=True)


def _region_query(code):
    return Region.objects.filter(code=code)


def _warehouse(region: Region):
    if region.default_warehouse is None:
        raise BusinessRefusal(f"Region {region.code} has no default warehouse yet.",
                              code="no_supply", errors={"region": ["no warehouse serves this region"]})
    return region.default_warehouse


#: How far from now an order's placed_at may lie: a little ahead for clocks that run fast,
#: a year back for orders a channel sends late. Outside it the promise would be nonsense.
PLACED_AT_MAX_AHEAD = timedelta(days=1)
PLACED_AT_MAX_AGE = timedelta(days=365)
#: The largest order amount the database holds (Order.paid_amount: 12 digits, 2 decimals).
ORDER_AMOUNT_MAX = Decimal("9999999999.99")


def _order_validate(data: OrderInput, *, now: datetime):
    """Check the input field by field; raise InvalidInput (400) or unknown_sku (409)."""
    errors: dict[str, list[str]] = {}
    try:
        channel, region = _channel_region(data.channel, data.region)
    except InvalidInput as exc:
        errors.update(exc.errors)
        channel = region = None
    if not (data.external_id or "").strip():
        errors["external_id"] = ["required"]
    elif len(data.external_id) > 80:
        errors["external_id"] = ["at most 80 characters"]
    if data.currency not in Currency.values:
        errors["currency"] = [f"one of {', '.join(Currency.values)}"]
    elif region is not None and data.currency != region.currency:
        errors["currency"] = [f"orders in region {region.code} are in {region.currency}"]
    if data.strategy and data.strategy not in Strategy.values:
        errors["strategy"] = [f"one of {', '.join(Strategy.values)}"]
    try:
        validate_email(data.customer.email)
    except ValidationError:
        errors["customer.email"] = ["not a valid e-mail address"]
    if not (data.customer.name or "").strip():
        errors["customer.name"] = ["required"]
    wrong_region = channel is not None and region is not None and _region_not_sold_in(channel, region)
    if wrong_region:
        errors["region"] = [wrong_region]
    if data.placed_at is not None and timezone.is_naive(data.placed_at):
        errors["placed_at"] = ["give a timezone offset"]
    elif data.placed_at is not None and data.placed_at > now + PLACED_AT_MAX_AHEAD:
        errors["placed_at"] = [f"at most {PLACED_AT_MAX_AHEAD.days} day ahead of now"]
    elif data.placed_at is not None and data.placed_at < now - PLACED_AT_MAX_AGE:
        errors["placed_at"] = [f"at most {PLACED_AT_MAX_AGE.days} days ago"]
    for name in ("paid_amount", "shipping_amount"):
        value = getattr(data, name)
        if value is not None and not _money_ok(value):
            errors[name] = ["a non-negative amount with at most 2 decimals"]
    if not data.lines:
        errors["lines"] = ["at least one line is required"]
    for i, line in enumerate(data.lines):
        if not isinstance(line.qty, int) or isinstance(line.qty, bool) or line.qty < 1:
            errors[f"lines[{i}].qty"] = ["must be a whole number >= 1"]
        if not _money_ok(line.unit_price):
            errors[f"lines[{i}].unit_price"] = ["a non-negative amount with at most 2 decimals"]
    if not errors:  # the total (and so any refund of a line) must fit an order's amount
        total = sum(Decimal(line.unit_price) * line.qty for line in data.lines) + data.shipping_amount
        if total > ORDER_AMOUNT_MAX:
            errors["lines"] = [f"the order's total {total} exceeds the largest amount an order "
                               f"holds ({ORDER_AMOUNT_MAX})"]
    if errors:
        raise InvalidInput("The order is not valid.", errors=errors)
    skus = {s.code: s for s in compiled_objects(SKU, _skus_query,
                                                 codes=sorted({line.sku for line in data.lines}))}
    for i, line in enumerate(data.lines):
        if line.sku not in skus:
            raise BusinessRefusal(f"Unknown SKU {line.sku!r}.", code="unknown_sku",
                                  errors={f"lines[{i}].sku": [f"unknown SKU {line.sku!r}"]})
    return channel, region, skus


def _skus_query(codes):
    return SKU.objects.filter(code__any=codes, active=True)


def _money_ok(value) -> bool:
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return False
    return value.is_finite() and value >= 0 and value == value.quantize(Decimal("0.01")) and value < 10**10
