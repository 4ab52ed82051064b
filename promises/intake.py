"""Available-to-promise and atomic order intake.

Intake locks the pools of the order (their stock rows, in primary-key order) and the
caps that match it, inserts the order, runs the engine once on each pool with the new
lines in it, judges the new lines from that run, and writes it. A refusal rolls the
whole order back. On PostgreSQL concurrent orders for one pool or one cap therefore
serialise: no unit is promised twice and no cap is broken.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from core.compiled import compiled_objects
from core.errors import BusinessRefusal, InvalidInput
from inventory.models import SKU, BackorderCap, Channel, Region, Strategy, Warehouse
from inventory.services import pools_lock
from orders.models import Currency, Customer, Order, OrderLine
from promises import engine
from promises.calendars import ship_calendar_for, transit_calendar_for
from promises.labels import promise_label
from promises.models import PromiseChange
from promises.ports import workflow
from promises.selectors import STOCK_DATE, OpenLine, open_backorder_qty, pools_load
from promises.services import pools_allocate, pools_repromise, promises_mark_communicated

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


def _judge(sku: SKU, qty: int, a: engine.Assignment, *, today: date) -> _Verdict:
    """Apply the SKU's backorder policy to an assignment (caps are checked separately)."""
    stock_qty = sum(al.qty for al in a.allocations if al.kind == "stock")
    backordered = qty - stock_qty
    if sku.preorder:
        status = "preorder"
    elif a.confirmed and stock_qty >= qty:
        return _Verdict("in_stock")
    else:
        status = "backorder"
    if not sku.preorder and not sku.backorder_allowed:
        return _Verdict("unavailable", "backorder_not_allowed",
                        f"{sku.code} is sold from stock only and only {stock_qty} can ship now.",
                        backordered)
    if not a.confirmed and not sku.sell_beyond_supply:
        covered = sum(al.qty for al in a.allocations)
        return _Verdict("unavailable", "no_supply",
                        f"Stock and open purchase orders cover only {covered} of {qty} × {sku.code}.",
                        backordered)
    return _Verdict(status, backordered=backordered)


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


def available_to_promise(*, sku: str, channel: str, region: str, qty: int,
                         at: datetime | None = None, locale: str = "") -> Availability:
    """Answer whether `qty` of a SKU can be ordered now on a channel, and when it would ship."""
    now = at or timezone.now()
    channel_obj, region_obj = _channel_region(channel, region)
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        raise InvalidInput("qty must be a whole number of at least 1.", errors={"qty": ["must be >= 1"]})
    locale = locale or region_obj.locale
    sku_obj = SKU.objects.filter(code=sku, active=True).first()
    if sku_obj is None:
        return Availability("unavailable", False, None, None, None, False,
                            promise_label(status="unavailable", ship_date=None, delivery_to=None,
                                          confirmed=False, region_code=region_obj.code, locale=locale),
                            "unknown_sku")
    warehouse = _warehouse(region_obj)
    key = (sku_obj.id, warehouse.id)
    state = pools_load(pools={key}, today=now.date())[key]
    probe = engine.Demand(line_id=2**62, qty=qty, strategy=channel_obj.strategy,
                          channel_priority=channel_obj.priority, placed_at=now, current_ship_date=None)
    state.lines.append(OpenLine(probe, 0, region_obj.id, OrderLine.Status.BACKORDERED, None))
    a = next(x for x in engine.allocate(state.supply, state.demand, ship_calendar_for(warehouse),
                                        state.policy, now=now) if x.line_id == probe.line_id)
    verdict = _judge(sku_obj, qty, a, today=now.date())
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
        confirmed=a.confirmed, region_code=region_obj.code, locale=locale,
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
                         confirmed=promise.confirmed, region_code=region.code,
                         locale=locale or region.locale, business_days=business_days)


# --- Intake ----------------------------------------------------------------------------------


def order_place(*, data: OrderInput, now: datetime | None = None) -> tuple[Order, bool]:
    """Place an order atomically; return (order, created). A repeat returns the first order.

    Raises InvalidInput for bad input and BusinessRefusal (backorder_not_allowed,
    cap_exceeded, beyond_horizon, no_supply, unknown_sku) when the rules refuse it.
    """
    now = now or timezone.now()
    channel, region, skus = _order_validate(data)
    existing = _order_find(channel, data.external_id)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return _order_place_locked(data, channel, region, skus, now)
    except IntegrityError:
        # A concurrent request with the same (channel, external id) won the insert.
        existing = _order_find(channel, data.external_id)
        if existing is None:
            raise
        return existing, False


def _order_find(channel: Channel, external_id: str) -> Order | None:
    return next(iter(compiled_objects(Order, _order_query, channel_ids=[channel.pk],
                                      external_id=external_id)), None)


def _order_query(channel_ids, external_id):
    return Order.objects.filter(channel_id__any=channel_ids, external_id=external_id)[:1]


def _order_place_locked(data, channel, region, skus, now):
    warehouse = _warehouse(region)
    pools = {(skus[line.sku].id, warehouse.id) for line in data.lines}
    # A concurrent request with the same (channel, external id) that committed meanwhile
    # makes the order's INSERT fail on the unique constraint: order_place returns its order.
    pools_lock(pools)
    caps = _caps_matching([s.id for s in skus.values()], channel, region, lock=True)

    customer = _customer(data.customer, region)
    lines_total = sum(line.unit_price * line.qty for line in data.lines)
    order = Order.objects.create(
        channel=channel, region=region, external_id=data.external_id, customer=customer,
        placed_at=data.placed_at or now, currency=data.currency,
        paid_amount=data.paid_amount if data.paid_amount is not None else lines_total + data.shipping_amount,
        shipping_amount=data.shipping_amount, strategy=data.strategy, essential_date=data.essential_date,
        buyer_applied_for_credit=data.buyer_applied_for_credit,
    )
    lines = OrderLine.objects.bulk_create([
        OrderLine(order=order, sku=skus[line.sku], warehouse=warehouse, qty=line.qty,
                  unit_price=line.unit_price)
        for line in data.lines
    ])
    states = pools_load(pools=pools, today=now.date())
    allocated = pools_allocate(states, now=now, warehouses={warehouse.id: warehouse})
    by_line = {a.line_id: a for assignments in allocated.values() for a in assignments}
    judged = []
    for i, (line_input, line) in enumerate(zip(data.lines, lines, strict=True)):
        a = by_line[line.id]
        verdict = _judge(skus[line_input.sku], line.qty, a, today=now.date())
        if verdict.reason:
            raise BusinessRefusal(verdict.message, code=verdict.reason,
                                  errors={f"lines[{i}].sku": [verdict.message]})
        judged.append((i, skus[line_input.sku], a, verdict))
    broken = _caps_check(caps, judged, channel=channel, region=region, today=now.date(),
                         exclude_line_ids=[line.id for line in lines])
    if broken:
        i, reason, message = broken
        raise BusinessRefusal(message, code=reason.split(":")[0], errors={f"lines[{i}].sku": [message]})

    pools_repromise(states, cause=PromiseChange.Cause.NEW_ORDER, now=now, allocated=allocated,
                    note=f"order {channel.code}#{data.external_id}")
    # The customer saw these promises at checkout: they are what was communicated.
    promises_mark_communicated(line_ids=[line.id for line in lines], at=now)
    # An estimate accepted beyond confirmed supply goes to the exception queue at once.
    estimates = [line.id for line in lines if not by_line[line.id].confirmed]
    if estimates:
        workflow().lines_assess(line_ids=estimates, now=now)
    workflow().order_placed(order=order, lines=lines, now=now)
    return order, True


def _customer(data: CustomerInput, region: Region) -> Customer:
    """The customer of this e-mail address (any case), created on a first order."""
    customer = _customer_find(data.email)
    if customer is not None:
        return customer
    try:
        with transaction.atomic():  # a savepoint: a concurrent first order may create it first
            return Customer.objects.create(email=data.email, name=data.name, region=region,
                                           locale=data.locale or region.locale)
    except IntegrityError:
        customer = _customer_find(data.email)
        if customer is None:  # not the e-mail's constraint: let the caller see the real error
            raise
        return customer


def _customer_find(email: str) -> Customer | None:
    return next(iter(compiled_objects(Customer, _customer_query, email=email)), None)


def _customer_query(email):
    # LOWER(email) = LOWER(%s), the expression the unique constraint indexes (email__iexact
    # compiles to UPPER() on PostgreSQL, which that index cannot serve).
    return (Customer.objects.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))
            .order_by("pk")[:1])


def _channel_region(channel: str, region: str) -> tuple[Channel, Region]:
    errors = {}
    channel_obj = next(iter(compiled_objects(Channel, _channel_query, code=channel)), None)
    if channel_obj is None:
        errors["channel"] = [f"unknown channel {channel!r}"]
    region_obj = next(iter(compiled_objects(Region, _region_query, code=region)), None)
    if region_obj is None:
        errors["region"] = [f"unknown region {region!r}; one of US, EU, UK"]
    if errors:
        raise InvalidInput("Unknown channel or region.", errors=errors)
    if region_obj.default_warehouse_id is not None:
        region_obj.default_warehouse = next(iter(compiled_objects(
            Warehouse, _warehouse_query, ids=[region_obj.default_warehouse_id])))
    return channel_obj, region_obj


# Reads compiled once per process (core.compiled): an order's lookups by code.

def _channel_query(code):
    return Channel.objects.filter(code=code, active=True)


def _region_query(code):
    return Region.objects.filter(code=code)


def _warehouse_query(ids):
    return Warehouse.objects.filter(pk__any=ids)


def _warehouse(region: Region):
    if region.default_warehouse is None:
        raise BusinessRefusal(f"Region {region.code} has no default warehouse yet.",
                              code="no_supply", errors={"region": ["no warehouse serves this region"]})
    return region.default_warehouse


def _order_validate(data: OrderInput):
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
    if data.placed_at is not None and timezone.is_naive(data.placed_at):
        errors["placed_at"] = ["give a timezone offset"]
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
