"""Finance and ops KPIs, read with aggregate queries; definitions in docs/reports.md.

Every selector takes a `ReportFilter` (a date range [start, end], both days included, and an
optional region and channel code) and runs a fixed number of queries whatever the number of
orders. Money is always per currency, never summed across currencies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Least
from django.utils import timezone

from inventory.models import Channel, PurchaseOrder, PurchaseOrderLine
from notifications.models import Notice
from orders.models import Cancellation, Order, OrderLine, Shipment, ShipmentLine
from promises.models import PromiseChange
from reports.aggregates import DaysBetween, LocalDate, distribution, money_round, share

MONEY = DecimalField(max_digits=14, decimal_places=2)
AGING_BUCKETS = ((0, 7), (8, 14), (15, 30), (31, 60), (61, None))

#: Marketplace account-health targets (Amazon's published ones); override in settings
#: REPORT_MARKETPLACE_THRESHOLDS. A channel's own late-shipment and cancel targets win.
MARKETPLACE_THRESHOLDS = {
    "late_shipment_rate_max": Decimal("4.00"),
    "seller_cancel_rate_max": Decimal("2.50"),
    "valid_tracking_rate_min": Decimal("95.00"),
}


def marketplace_thresholds() -> dict[str, Decimal]:
    """Return the marketplace targets: the defaults updated with the settings' overrides."""
    overrides = getattr(settings, "REPORT_MARKETPLACE_THRESHOLDS", {}) or {}
    return {**MARKETPLACE_THRESHOLDS, **{k: Decimal(str(v)) for k, v in overrides.items()}}


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers: days start..end (both included), a region, a channel."""

    start: date
    end: date
    region: str | None = None
    channel: str | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end_before(self) -> datetime:
        """The first instant after the range."""
        return datetime.combine(self.end + timedelta(days=1), time.min,
                                tzinfo=timezone.get_current_timezone())

    def in_range(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start_at, f"{field_name}__lt": self.end_before})

    def scope(self, order_path: str = "order") -> Q:
        """Q for the region and channel of the order at `order_path` ("" for Order itself)."""
        prefix = f"{order_path}__" if order_path else ""
        q = Q()
        if self.region:
            q &= Q(**{f"{prefix}region__code": self.region})
        if self.channel:
            q &= Q(**{f"{prefix}channel__code": self.channel})
        return q


# --- Shared definitions ---------------------------------------------------------------------

#: Causes of a promise change that only a line waiting on a purchase order can have.
SUPPLY_CAUSES = (PromiseChange.Cause.PO_CHANGE, PromiseChange.Cause.RECEIPT)


def backordered_q() -> Q:
    """Q for order lines accepted without stock to cover them (a backorder).

    A line is a backorder when it is backordered now, when its promise serves fewer units
    from stock than it ordered, or when a purchase order or receipt ever moved its promise.
    """
    moved_by_supply = PromiseChange.objects.filter(line=OuterRef("pk"), cause__in=SUPPLY_CAUSES)
    return (Q(status=OrderLine.Status.BACKORDERED)
            | Q(promise__stock_qty__lt=F("qty"))
            | Q(Exists(moved_by_supply)))


def backordered_lines(f: ReportFilter):
    """Backordered lines of the filter's region and channel, whenever placed."""
    return OrderLine.objects.filter(f.scope()).filter(backordered_q())


def decider_case(prefix: str = "") -> Case:
    """Who decided a cancellation: the customer, the seller, or an automatic rule."""
    reason, initiated = f"{prefix}reason", f"{prefix}initiated_by"
    R, By = Cancellation.Reason, Cancellation.Initiator
    return Case(
        When(Q(**{initiated: By.SYSTEM}), then=Value("automatic")),
        When(Q(**{initiated: By.CUSTOMER})
             | Q(**{f"{reason}__in": [R.CUSTOMER_REQUEST, R.CUSTOMER_DECLINED_DELAY, R.WITHDRAWAL]}),
             then=Value("customer")),
        default=Value("seller"),
    )


# --- Backorder rate -------------------------------------------------------------------------

@dataclass
class BackorderRate:
    lines: int
    units: int
    backordered_lines: int
    backordered_units: int

    @property
    def line_rate(self):
        return share(self.backordered_lines, self.lines)

    @property
    def unit_rate(self):
        return share(self.backordered_units, self.units)


def backorder_rate(*, f: ReportFilter) -> BackorderRate:
    """Return the share of lines (and units) placed in the range that were backorders.

    Lines placed = lines of orders placed in [start, end]; backorders among them as
    `backordered_q` defines them. One query.
    """
    flag = Case(When(backordered_q(), then=Value(1)), default=Value(0), output_field=IntegerField())
    row = (OrderLine.objects.filter(f.scope(), f.in_range("order__placed_at"))
           .annotate(_bo=flag)
           .aggregate(lines=Count("pk"), units=Coalesce(Sum("qty"), 0),
                      bo_lines=Coalesce(Sum("_bo"), 0),
                      bo_units=Coalesce(Sum(F("qty") * F("_bo")), 0)))
    return BackorderRate(row["lines"], row["units"], row["bo_lines"], row["bo_units"])


# --- Open backorder book --------------------------------------------------------------------

@dataclass
class BookCurrency:
    currency: str
    lines: int
    units: int
    value: Decimal
    cash_held: Decimal


@dataclass
class Book:
    as_of: date
    lines: int
    units: int
    by_currency: list[BookCurrency]
    aging: list[tuple[str, int, int]]  # (bucket label, lines, units)
    age_mean: float | None
    age_p90: float | None


def _open_on(as_of_end: datetime):
    """Annotate lines with the units still open at `as_of_end` (shipped and cancelled by then)."""
    shipped = (ShipmentLine.objects.filter(order_line=OuterRef("pk"), shipment__shipped_at__lt=as_of_end)
               .order_by().values("order_line").annotate(n=Sum("qty")).values("n"))
    cancelled = (Cancellation.objects.filter(line=OuterRef("pk"), cancelled_at__lt=as_of_end)
                 .order_by().values("line").annotate(n=Sum("qty")).values("n"))
    return ExpressionWrapper(
        F("qty") - Coalesce(Subquery(shipped, output_field=IntegerField()), 0)
        - Coalesce(Subquery(cancelled, output_field=IntegerField()), 0),
        output_field=IntegerField())


def bucket_label(low: int, high: int | None) -> str:
    return f"{low}–{high} days" if high is not None else f"{low}+ days"


def open_book(*, f: ReportFilter, as_of: date | None = None) -> Book:
    """Return the open backorder book at the end of `as_of` (default: the range's end).

    Open units = qty − units shipped − units cancelled by then, over backordered lines of
    orders placed by then. Value = open units × unit price. Cash held = the share of the
    order's payment that pays for those units: open value × min(paid, goods) ÷ goods, where
    goods = Σ qty × unit price of the order's lines. Age = days from the order's placing
    day to `as_of`. Three queries. For today or later the lines' own shipped and cancelled
    counters give the same open units without reading shipments and cancellations.
    """
    as_of = as_of or f.end
    as_of_end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
    goods = (OrderLine.objects.filter(order=OuterRef("order")).order_by().values("order")
             .annotate(t=Sum(F("qty") * F("unit_price"), output_field=MONEY)).values("t"))
    if as_of >= timezone.localdate():
        # Nothing ships or is cancelled in the future: the line's own counters are the book.
        open_units = ExpressionWrapper(F("qty") - F("qty_shipped") - F("qty_cancelled"),
                                       output_field=IntegerField())
    else:
        open_units = _open_on(as_of_end)
    lines = (backordered_lines(f).filter(order__placed_at__lt=as_of_end)
             .annotate(_open=open_units).filter(_open__gt=0))
    value = ExpressionWrapper(F("_open") * F("unit_price"), output_field=MONEY)
    held = ExpressionWrapper(
        value * Least(F("order__paid_amount"), F("_goods")) / F("_goods"), output_field=MONEY)
    per_currency = (lines.annotate(_goods=Subquery(goods, output_field=MONEY))
                    .values(currency=F("order__currency")).order_by("currency")
                    .annotate(lines=Count("pk"), units=Sum("_open"), value=Sum(value),
                              cash_held=Sum(Case(When(_goods__gt=0, then=held), default=Value(0),
                                                 output_field=MONEY))))
    by_currency = [BookCurrency(r["currency"], r["lines"], r["units"], money_round(r["value"]),
                                money_round(r["cash_held"])) for r in per_currency]

    age = DaysBetween(Value(as_of), LocalDate("order__placed_at"))
    aged = lines.annotate(_age=age)
    aggregates = {}
    for low, high in AGING_BUCKETS:
        cond = Q(_age__gte=low) if high is None else Q(_age__gte=low, _age__lte=high)
        aggregates[f"l{low}"] = Count("pk", filter=cond)
        aggregates[f"u{low}"] = Coalesce(Sum("_open", filter=cond), 0)
    buckets = aged.aggregate(**aggregates)
    aging = [(bucket_label(low, high), buckets[f"l{low}"], buckets[f"u{low}"])
             for low, high in AGING_BUCKETS]
    dist = distribution(lines, age, fractions=(0.9,))[()]
    return Book(as_of=as_of, lines=sum(b.lines for b in by_currency),
                units=sum(b.units for b in by_currency), by_currency=by_currency, aging=aging,
                age_mean=dist["mean"], age_p90=dist[0.9])


# --- Promise performance --------------------------------------------------------------------

@dataclass
class PromisePerformance:
    shipped_lines: int
    first_kept: int
    last_kept: int
    days_to_ship_median: float | None
    days_to_ship_p90: float | None

    @property
    def first_kept_rate(self):
        return share(self.first_kept, self.shipped_lines)

    @property
    def last_kept_rate(self):
        return share(self.last_kept, self.shipped_lines)


def _shipped_backorders(f: ReportFilter):
    """Backordered lines fully shipped, whose last shipment left in the range (`_shipped_at`)."""
    return (backordered_lines(f).filter(status=OrderLine.Status.SHIPPED)
            .annotate(_shipped_at=Max("shipment_lines__shipment__shipped_at"))
            .filter(_shipped_at__gte=f.start_at, _shipped_at__lt=f.end_before))


def promise_performance(*, f: ReportFilter) -> PromisePerformance:
    """Return first- and last-promise kept rates and days to ship of backorders shipped in range.

    A line counts when it is a backorder, shipped in full, whose last shipment left in
    [start, end] (a line with units still open does not count). Its first
    promised date is the old date of its first promise change, or its current ship date
    when it never changed; its last promised date is its current ship date. It is kept when
    the line's last shipment left on or before that date. Days to ship: the placing day to
    the last shipment's day (median, p90). Two queries.
    """
    first_change = (PromiseChange.objects.filter(line=OuterRef("pk"), old_ship_date__isnull=False)
                    .order_by("at", "id").values("old_ship_date")[:1])
    lines = _shipped_backorders(f).annotate(
        _shipped_on=LocalDate("_shipped_at"),
        _first=Coalesce(Subquery(first_change), F("promise__ship_date")),
    )
    row = lines.aggregate(
        n=Count("pk"),
        first=Count("pk", filter=Q(_shipped_on__lte=F("_first"))),
        last=Count("pk", filter=Q(_shipped_on__lte=F("promise__ship_date"))),
    )
    dist = distribution(_shipped_backorders(f),
                        DaysBetween(LocalDate("_shipped_at"), LocalDate("order__placed_at")))[()]
    return PromisePerformance(row["n"], row["first"], row["last"], dist[0.5], dist[0.9])


# --- Supplier slips -------------------------------------------------------------------------

@dataclass
class SupplierSlips:
    supplier: str
    po_lines: int
    slipped: int
    days_mean: float | None
    days_p90: float | None

    @property
    def slipped_rate(self):
        return share(self.slipped, self.po_lines)


def supplier_slips(*, f: ReportFilter) -> list[SupplierSlips]:
    """Return per supplier the PO lines due in range whose ETA moved later, and by how much.

    PO lines of confirmed (or later, not cancelled) POs whose current ETA (the line's
    override, else the PO's) falls in [start, end], at a warehouse serving the region.
    Slip = current ETA − first ETA on record (the line's first override in its history,
    else the PO's first ETA in its history). Mean and p90 are over slipped lines. The
    channel does not apply: supply is shared by channels. Two queries.
    """
    HistoricalPO = PurchaseOrder.history.model
    HistoricalLine = PurchaseOrderLine.history.model
    first_po_eta = (HistoricalPO.objects.filter(id=OuterRef("purchase_order_id"))
                    .order_by("history_date", "history_id").values("eta")[:1])
    first_line_eta = (HistoricalLine.objects.filter(id=OuterRef("pk"), eta__isnull=False)
                      .order_by("history_date", "history_id").values("eta")[:1])
    current = Coalesce(F("eta"), F("purchase_order__eta"))
    lines = (PurchaseOrderLine.objects
             .exclude(purchase_order__status__in=[PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED])
             .annotate(_current=current)
             .filter(_current__gte=f.start, _current__lte=f.end)
             .annotate(_first=Coalesce(Subquery(first_line_eta), Subquery(first_po_eta), current))
             .annotate(_slip=DaysBetween(F("_current"), F("_first"))))
    if f.region:
        lines = lines.filter(purchase_order__warehouse__regions_served__code=f.region)
    counts = (lines.values(supplier=F("purchase_order__supplier__name")).order_by("supplier")
              .annotate(n=Count("pk"), slipped=Count("pk", filter=Q(_slip__gt=0))))
    dist = distribution(lines.filter(_slip__gt=0), F("_slip"), by=["purchase_order__supplier__name"],
                        fractions=(0.9,))
    result = []
    for row in counts:
        d = dist.get((row["supplier"],), {})
        result.append(SupplierSlips(row["supplier"], row["n"], row["slipped"], d.get("mean"), d.get(0.9)))
    return result


# --- Cancellations --------------------------------------------------------------------------

@dataclass
class CancellationGroup:
    key: str
    currency: str
    cancellations: int
    units: int
    amount: Decimal  # refund owed


@dataclass
class Cancellations:
    by_reason: list[CancellationGroup]
    by_decider: list[CancellationGroup]
    backordered_lines: int
    cancelled_lines: int

    @property
    def rate(self):
        return share(self.cancelled_lines, self.backordered_lines)


def _grouped(rows, key) -> list[CancellationGroup]:
    groups = [CancellationGroup(r[key], r["currency"], r["n"], r["units"], money_round(r["total"]))
              for r in rows]
    return sorted(groups, key=lambda g: (g.currency, -g.cancellations, g.key))


def cancellations(*, f: ReportFilter) -> Cancellations:
    """Return cancellations of backorders in range, by reason and by who decided, and the rate.

    Cancellations with cancelled_at in [start, end] of backordered lines. Who decided:
    automatic (a regional rule, initiated by the system), customer (initiated by the
    customer, or a customer reason: request, declined delay, withdrawal), seller (the rest:
    out of stock, agents' own decisions, the channel). Rate = backordered lines placed in
    range with any cancellation ÷ backordered lines placed in range. Three queries.
    """
    rows = (Cancellation.objects.filter(f.scope(), f.in_range("cancelled_at"),
                                        line__in=backordered_lines(f).values("pk"))
            .annotate(decider=decider_case()))
    fields = {"n": Count("pk"), "units": Sum("qty"), "total": Sum("amount")}
    by_reason = _grouped(rows.values("reason", "currency").order_by().annotate(**fields), "reason")
    by_decider = _grouped(rows.values("decider", "currency").order_by().annotate(**fields), "decider")
    cohort = (backordered_lines(f).filter(f.in_range("order__placed_at"))
              .annotate(_c=Exists(Cancellation.objects.filter(line=OuterRef("pk"))))
              .aggregate(n=Count("pk"), cancelled=Count("pk", filter=Q(_c=True))))
    for g in by_reason:
        g.key = str(Cancellation.Reason(g.key).label)
    return Cancellations(by_reason, by_decider, cohort["n"], cohort["cancelled"])


# --- Refunds --------------------------------------------------------------------------------

@dataclass
class RefundsCurrency:
    currency: str
    due_count: int = 0
    due_amount: Decimal = Decimal("0.00")
    overdue_count: int = 0
    overdue_amount: Decimal = Decimal("0.00")
    paid_count: int = 0
    paid_amount: Decimal = Decimal("0.00")
    paid_on_time: int = 0
    days_to_refund_mean: float | None = None
    days_to_refund_p90: float | None = None
    days_vs_deadline_mean: float | None = None  # negative: paid before the deadline

    @property
    def on_time_rate(self):
        return share(self.paid_on_time, self.paid_count)


def refunds(*, f: ReportFilter) -> list[RefundsCurrency]:
    """Return refunds due, overdue and paid, per currency.

    Due: cancellations made by the end of the range and not refunded by then (amount > 0).
    Overdue: those of them whose refund_due_by is before the range's end. Paid: refunded_at
    in [start, end]; on time when refunded on or before refund_due_by; days to refund = the
    cancellation's day to the refund's day; days against the deadline = refund day −
    refund_due_by (negative: early). Three queries.
    """
    end_day = f.end
    base = Cancellation.objects.filter(f.scope(), amount__gt=0)
    unpaid = base.filter(cancelled_at__lt=f.end_before).filter(
        Q(refunded_at__isnull=True) | Q(refunded_at__gte=f.end_before))
    due = (unpaid.values("currency").order_by("currency")
           .annotate(n=Count("pk"), total=Sum("amount"),
                     overdue_n=Count("pk", filter=Q(refund_due_by__lt=end_day)),
                     overdue_total=Coalesce(Sum("amount", filter=Q(refund_due_by__lt=end_day)),
                                             Value(Decimal(0)), output_field=MONEY)))
    paid = base.filter(f.in_range("refunded_at")).annotate(_day=LocalDate("refunded_at"))
    paid_rows = (paid.values("currency").order_by("currency")
                 .annotate(n=Count("pk"), total=Sum("amount"),
                           on_time=Count("pk", filter=Q(_day__lte=F("refund_due_by")))))
    out: dict[str, RefundsCurrency] = {}
    for r in due:
        c = out.setdefault(r["currency"], RefundsCurrency(r["currency"]))
        c.due_count, c.due_amount = r["n"], money_round(r["total"])
        c.overdue_count, c.overdue_amount = r["overdue_n"], money_round(r["overdue_total"])
    for r in paid_rows:
        c = out.setdefault(r["currency"], RefundsCurrency(r["currency"]))
        c.paid_count, c.paid_amount, c.paid_on_time = r["n"], money_round(r["total"]), r["on_time"]
    days = distribution(paid, DaysBetween(LocalDate("refunded_at"), LocalDate("cancelled_at")),
                        by=["currency"], fractions=(0.9,))
    late_by = distribution(paid, DaysBetween(LocalDate("refunded_at"), F("refund_due_by")),
                           by=["currency"], fractions=())
    for (currency,), d in days.items():
        c = out[currency]
        c.days_to_refund_mean, c.days_to_refund_p90 = d["mean"], d[0.9]
        c.days_vs_deadline_mean = late_by.get((currency,), {}).get("mean")
    return [out[k] for k in sorted(out)]


# --- Notices --------------------------------------------------------------------------------

@dataclass
class LateNotice:
    order: str
    line_id: int | None
    kind: str
    due_by: date
    sent_on: date


@dataclass
class Notices:
    sent: int
    with_deadline: int
    on_time: int
    late: list[LateNotice] = field(default_factory=list)

    @property
    def on_time_rate(self):
        return share(self.on_time, self.with_deadline)


def notices(*, f: ReportFilter) -> Notices:
    """Return delay notices sent in range and the share sent on or before their legal deadline.

    Delay and renewed delay notices with sent_at in [start, end]; the deadline is the
    notice's context["notice_due_by"]. Notices without one count as sent, not in the share.
    Late ones are listed. Two queries.
    """
    sent = (Notice.objects.filter(f.scope(), f.in_range("sent_at"), kind__in=Notice.DELAY_KINDS,
                                  status=Notice.Status.SENT)
            .annotate(_due=Cast(KT("context__notice_due_by"), output_field=DateField()),
                      _sent_on=LocalDate("sent_at")))
    row = sent.aggregate(n=Count("pk"), with_deadline=Count("pk", filter=Q(_due__isnull=False)),
                         on_time=Count("pk", filter=Q(_sent_on__lte=F("_due"))))
    late = [LateNotice(f"{r['order__channel__code']}#{r['order__external_id']}", r["line_id"],
                       Notice.Kind(r["kind"]).label, r["_due"], r["_sent_on"])
            for r in sent.filter(_sent_on__gt=F("_due")).order_by("_due", "pk")
            .values("order__channel__code", "order__external_id", "line_id", "kind", "_due", "_sent_on")]
    return Notices(row["n"], row["with_deadline"], row["on_time"], late)


# --- Marketplace health ---------------------------------------------------------------------

@dataclass
class ChannelHealth:
    channel: str
    kind: str
    shipments: int
    late_shipments: int
    orders: int
    seller_cancelled_orders: int
    tracked_shipments: int
    late_shipment_max: Decimal
    seller_cancel_max: Decimal
    valid_tracking_min: Decimal

    @property
    def late_shipment_rate(self):
        return share(self.late_shipments, self.shipments)

    @property
    def seller_cancel_rate(self):
        return share(self.seller_cancelled_orders, self.orders)

    @property
    def valid_tracking_rate(self):
        return share(self.tracked_shipments, self.shipments)

    @property
    def breaches(self) -> list[str]:
        out = []
        if self.late_shipment_rate is not None and self.late_shipment_rate >= self.late_shipment_max:
            out.append("late shipment")
        if self.seller_cancel_rate is not None and self.seller_cancel_rate >= self.seller_cancel_max:
            out.append("seller cancellation")
        if self.valid_tracking_rate is not None and self.valid_tracking_rate < self.valid_tracking_min:
            out.append("valid tracking")
        return out


def marketplace_health(*, f: ReportFilter) -> list[ChannelHealth]:
    """Return each channel's late shipment, seller-cancellation and valid tracking rates.

    Late shipment rate = shipments that left in [start, end] after the ship date promised
    for any of their lines (the date communicated to the customer, else the current
    promise) ÷ shipments that left in range. Seller-cancellation rate = orders placed in
    range with a cancellation the seller decided (see `decider_case`) ÷ orders placed in
    range. Valid tracking rate = shipments in range with a tracking number ÷ shipments in
    range. Targets: `marketplace_thresholds()`, a channel's own targets first. Three queries.
    """
    limits = marketplace_thresholds()
    late_line = ShipmentLine.objects.filter(shipment=OuterRef("pk")).annotate(
        _promised=Coalesce("order_line__promise__communicated_ship_date", "order_line__promise__ship_date"),
    ).filter(_promised__lt=OuterRef("_shipped_on"))
    ships = (Shipment.objects.filter(f.scope(), f.in_range("shipped_at"))
             .annotate(_shipped_on=LocalDate("shipped_at"))
             .annotate(_late=Exists(late_line))
             .values("order__channel_id").order_by()
             .annotate(n=Count("pk"), late=Count("pk", filter=Q(_late=True)),
                       tracked=Count("pk", filter=~Q(tracking_number=""))))
    seller_cancel = Cancellation.objects.filter(order=OuterRef("pk")).annotate(
        _d=decider_case()).filter(_d="seller")
    orders = (Order.objects.filter(f.scope(""), f.in_range("placed_at"))
              .annotate(_sc=Exists(seller_cancel))
              .values("channel_id").order_by()
              .annotate(n=Count("pk"), sc=Count("pk", filter=Q(_sc=True))))
    by_channel: dict[int, dict] = defaultdict(dict)
    for r in ships:
        by_channel[r["order__channel_id"]].update(shipments=r["n"], late=r["late"], tracked=r["tracked"])
    for r in orders:
        by_channel[r["channel_id"]].update(orders=r["n"], sc=r["sc"])
    channels = Channel.objects.filter(pk__in=list(by_channel)).order_by("code")
    result = []
    for ch in channels:
        d = by_channel[ch.pk]
        result.append(ChannelHealth(
            channel=ch.code, kind=ch.get_kind_display(),
            shipments=d.get("shipments", 0), late_shipments=d.get("late", 0),
            orders=d.get("orders", 0), seller_cancelled_orders=d.get("sc", 0),
            tracked_shipments=d.get("tracked", 0),
            late_shipment_max=ch.late_shipment_target_pct or limits["late_shipment_rate_max"],
            seller_cancel_max=ch.cancel_rate_target_pct or limits["seller_cancel_rate_max"],
            valid_tracking_min=limits["valid_tracking_rate_min"],
        ))
    return result


# --- Sizing ---------------------------------------------------------------------------------

def orders_in_range_count(*, f: ReportFilter) -> int:
    """Return the number of orders placed in range: what decides whether a report runs later."""
    return Order.objects.filter(f.scope(""), f.in_range("placed_at")).count()

