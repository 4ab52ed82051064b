"""Demo and benchmark data: reference data, a catalog, purchase orders and order history.

Deterministic for a given seed and day. Large sizes are loaded with bulk inserts.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from inventory.models import (
    SKU,
    BackorderCap,
    Channel,
    PurchaseOrder,
    PurchaseOrderLine,
    Region,
    StockLevel,
    Strategy,
    Supplier,
    Warehouse,
)
from inventory.services import po_update, receipt_record
from orders.models import Cancellation, Customer, Order, OrderLine, Shipment, ShipmentLine
from promises.models import OrderException, Promise
from promises.selectors import pools_load
from promises.services import dirty_pools_repromise, pools_allocate
from workflow.fulfilment import order_cancel
from workflow.services import lines_assess


@dataclass(frozen=True)
class DemoSize:
    skus: int
    purchase_orders: int
    orders: int
    customers: int


SIZES = {
    "small": DemoSize(skus=60, purchase_orders=15, orders=400, customers=250),
    "default": DemoSize(skus=300, purchase_orders=60, orders=3000, customers=1500),
    "large": DemoSize(skus=2000, purchase_orders=400, orders=100_000, customers=40_000),
}

WAREHOUSES = [
    # code, name, operator, country, subdivision, timezone, cut-off, handling, regions
    ("US-EAST", "US East (Newark, NJ)", "own", "US", "", "America/New_York", time(14, 0), 1, ["US"]),
    ("EU-CENTRAL", "EU Central (Kassel)", "3pl", "DE", "HE", "Europe/Berlin", time(13, 0), 1, ["EU"]),
    ("UK-MIDLANDS", "UK Midlands (Daventry)", "3pl", "GB", "ENG", "Europe/London", time(15, 0), 1, ["UK"]),
]

CHANNELS = [
    # code, name, kind, region, priority, strategy, late %, cancel %
    ("amazon-us", "Amazon US", "marketplace", "US", 10, Strategy.WIN, "4.00", "2.50"),
    ("shopify-us", "Shopify US store", "dtc", "US", 50, Strategy.REDISTRIBUTE, None, None),
    ("shopify-eu", "Shopify EU store", "dtc", "EU", 50, Strategy.REDISTRIBUTE, None, None),
    ("shopify-uk", "Shopify UK store", "dtc", "UK", 50, Strategy.REDISTRIBUTE, None, None),
    ("wholesale-uk", "Wholesale UK", "wholesale", "UK", 90, Strategy.FILL, None, None),
]

SUPPLIERS = [
    ("ningbo-textile", "Ningbo Textile Co.", "CN", 60),
    ("porto-leather", "Porto Leather Works", "PT", 35),
    ("hanoi-ceramics", "Hanoi Ceramics", "VN", 55),
    ("lodz-wool", "Łódź Wool Mills", "PL", 28),
    ("oaxaca-goods", "Oaxaca Goods S.A.", "MX", 40),
    ("leeds-print", "Leeds Print House", "GB", 21),
]

PRODUCTS = [
    ("TEE", "Organic cotton tee", "19.00"), ("HOOD", "Heavyweight hoodie", "64.00"),
    ("CAP", "Six-panel cap", "28.00"), ("MUG", "Stoneware mug", "22.00"),
    ("BAG", "Leather weekender", "240.00"), ("SCARF", "Merino scarf", "55.00"),
    ("SOCK", "Wool socks", "16.00"), ("PRINT", "Art print A3", "35.00"),
    ("BOWL", "Glazed bowl", "30.00"), ("WALLET", "Bifold wallet", "70.00"),
]
COLOURS = ["black", "sand", "olive", "navy", "rust", "ecru"]
SIZES_LABEL = ["XS", "S", "M", "L", "XL"]
FIRST = ["Ada", "Ben", "Chloé", "Dara", "Elif", "Finn", "Greta", "Hugo", "Inès", "Jonas", "Kai", "Lena",
         "Mateo", "Nora", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tara"]
LAST = ["Adams", "Becker", "Costa", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ito", "Jansen",
        "Kowalski", "Lambert", "Müller", "Novak", "O'Brien", "Patel", "Rossi", "Schmidt", "Taylor", "Weber"]
LOCALES = {"US": ["en_US"], "EU": ["de_DE", "fr_FR", "de_DE"], "UK": ["en_GB"]}
CHANNEL_MIX = ["shopify-us"] * 30 + ["amazon-us"] * 20 + ["shopify-eu"] * 25 + ["shopify-uk"] * 18 + ["wholesale-uk"] * 7


def reference_data_create():
    """Create warehouses and channels (idempotent); return them by code."""
    regions = {r.code: r for r in Region.objects.all()}
    warehouses = {}
    for code, name, operator, country, subdiv, tz, cutoff, handling, served in WAREHOUSES:
        wh, _ = Warehouse.objects.update_or_create(
            code=code,
            defaults=dict(name=name, operator=operator, country=country, holiday_subdivision=subdiv,
                          timezone=tz, cutoff_time=cutoff, handling_days=handling),
        )
        wh.regions_served.set([regions[c] for c in served])
        for region_code in served:
            Region.objects.filter(code=region_code).update(default_warehouse=wh)
        warehouses[code] = wh
    channels = {}
    for code, name, kind, region, priority, strategy, late, cancel in CHANNELS:
        channels[code], _ = Channel.objects.update_or_create(
            code=code,
            defaults=dict(name=name, kind=kind, region=regions[region], priority=priority,
                          strategy=strategy, late_shipment_target_pct=late,
                          cancel_rate_target_pct=cancel),
        )
    return warehouses, channels


def demo_data_create(*, seed=42, size="default", today=None, progress=None):
    """Create a catalog, purchase orders and order history; return counts by kind."""
    rng = random.Random(seed)
    spec = SIZES[size]
    today = today or timezone.localdate()
    now = timezone.make_aware(datetime.combine(today, time(12, 0)), ZoneInfo("UTC"))
    progress = progress or (lambda total, desc: _NoProgress())
    warehouses, channels = reference_data_create()
    region_warehouse = {"US": warehouses["US-EAST"], "EU": warehouses["EU-CENTRAL"], "UK": warehouses["UK-MIDLANDS"]}

    with transaction.atomic():
        suppliers = [
            Supplier.objects.update_or_create(
                code=code, defaults=dict(name=name, country=country, lead_time_days=lead,
                                         email=f"orders@{code}.example")
            )[0]
            for code, name, country, lead in SUPPLIERS
        ]
        skus = _catalog_create(rng, spec, suppliers)
        _stock_create(rng, skus, warehouses.values())
        _purchase_orders_create(rng, spec, skus, suppliers, list(warehouses.values()), today)

    customers = _customers_create(rng, spec, channels, progress)
    orders = _orders_create(rng, spec, skus, customers, channels, region_warehouse, now, progress)
    return {"skus": len(skus), "orders": orders, "customers": sum(map(len, customers.values()))}


class _NoProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _catalog_create(rng, spec, suppliers):
    rows = []
    for i in range(spec.skus):
        prefix, name, _price = PRODUCTS[i % len(PRODUCTS)]
        colour = COLOURS[(i // len(PRODUCTS)) % len(COLOURS)]
        variant = SIZES_LABEL[(i // (len(PRODUCTS) * len(COLOURS))) % len(SIZES_LABEL)]
        serial = i // (len(PRODUCTS) * len(COLOURS) * len(SIZES_LABEL))
        code = f"{prefix}-{colour[:3].upper()}-{variant}" + (f"-{serial}" if serial else "")
        roll = rng.random()
        rows.append(SKU(
            code=code,
            name=f"{name}, {colour}, {variant}",
            backorder_allowed=roll >= 0.10,
            preorder=0.10 <= roll < 0.15,
            sell_beyond_supply=0.15 <= roll < 0.27,
            safety_stock=rng.choice([0, 0, 0, 1, 2]),
            lead_time_days=rng.choice([21, 28, 35, 45, 60]),
            lead_time_slip_days=rng.choice([0, 2, 5, 10]),
            supplier=suppliers[i % len(suppliers)],
        ))
    SKU.objects.bulk_create(rows, batch_size=1000)
    return list(SKU.objects.order_by("id"))


def _stock_create(rng, skus, warehouses):
    rows = []
    for sku in skus:
        for wh in warehouses:
            on_hand = 0 if sku.preorder or rng.random() < 0.35 else rng.randint(1, 40)
            rows.append(StockLevel(sku=sku, warehouse=wh, on_hand=on_hand))
    StockLevel.objects.bulk_create(rows, batch_size=2000)


def _purchase_orders_create(rng, spec, skus, suppliers, warehouses, today):
    statuses = (["confirmed"] * 6) + (["in_transit"] * 3) + ["draft"]
    lines = []
    for n in range(spec.purchase_orders):
        supplier = suppliers[n % len(suppliers)]
        po = PurchaseOrder.objects.create(
            number=f"PO-{today.year}-{n + 1:04d}",
            supplier=supplier,
            warehouse=warehouses[n % len(warehouses)],
            status=rng.choice(statuses),
            eta=today + timedelta(days=rng.randint(3, 70)),
            dock_to_stock_days=rng.choice([1, 2, 3]),
        )
        for sku in rng.sample(skus, k=min(len(skus), rng.randint(3, 10))):
            lines.append(PurchaseOrderLine(purchase_order=po, sku=sku, qty_ordered=rng.randint(10, 120)))
    PurchaseOrderLine.objects.bulk_create(lines, batch_size=2000)


def _customers_create(rng, spec, channels, progress):
    """Create customers, each kept by the channel that sells to it (as intake keeps them)."""
    bar = progress(spec.customers, "customers")
    rows = []
    for i in range(spec.customers):
        channel = channels[rng.choice(CHANNEL_MIX)]
        region_code = channel.region.code
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(Customer(
            email=f"{first.lower()}.{i}@example.com".replace("é", "e").replace("è", "e"),
            name=f"{first} {last}",
            channel=channel,
            region=channel.region,
            locale=rng.choice(LOCALES[region_code]),
        ))
    created = []
    for start in range(0, len(rows), 5000):
        created += Customer.objects.bulk_create(rows[start:start + 5000])
        bar.update(len(rows[start:start + 5000]))
    bar.close()
    by_channel = {code: [] for code in channels}
    for customer in created:
        by_channel[customer.channel.code].append(customer)
    return by_channel


def _orders_create(rng, spec, skus, customers, channels, region_warehouse, now, progress):
    """Create order history: older orders mostly shipped, recent ones open."""
    bar = progress(spec.orders, "orders")
    price = {p[0]: Decimal(p[2]) for p in PRODUCTS}
    batch = 2000
    for start in range(0, spec.orders, batch):
        orders, order_lines = [], []
        for n in range(start, min(start + batch, spec.orders)):
            channel = channels[rng.choice(CHANNEL_MIX)]
            region_code = channel.region.code
            age_minutes = int((rng.random() ** 1.6) * 90 * 24 * 60)
            placed_at = now - timedelta(minutes=age_minutes)
            currency = {"US": "USD", "EU": "EUR", "UK": "GBP"}[region_code]
            order = Order(
                channel=channel, region=channel.region, external_id=f"{channel.code[:2].upper()}-{100000 + n}",
                customer=rng.choice(customers[channel.code]), placed_at=placed_at, currency=currency,
                shipping_amount=Decimal("4.95"),
            )
            qty_lines = []
            for sku in rng.sample(skus, k=rng.choice([1, 1, 1, 2, 2, 3])):
                unit_price = price[sku.code.split("-")[0]]
                qty_lines.append(OrderLine(order=order, sku=sku, warehouse=region_warehouse[region_code],
                                           qty=rng.choice([1, 1, 1, 2, 3]), unit_price=unit_price))
            order.paid_amount = sum(ln.qty * ln.unit_price for ln in qty_lines) + order.shipping_amount
            # Older orders have shipped; the last weeks are the open book.
            order._shipped = age_minutes > 10 * 24 * 60 and rng.random() < 0.95
            orders.append(order)
            order_lines.append(qty_lines)
        with transaction.atomic():
            Order.objects.bulk_create(orders)
            flat = []
            for order, qty_lines in zip(orders, order_lines, strict=True):
                for line in qty_lines:
                    line.order = order
                    if order._shipped:
                        line.qty_shipped = line.qty
                        line.status = OrderLine.Status.SHIPPED
                    flat.append(line)
            OrderLine.objects.bulk_create(flat)
            shipped_orders = [o for o in orders if o._shipped]
            for o in shipped_orders:
                o.status = Order.Status.SHIPPED
            Order.objects.bulk_update(shipped_orders, ["status"])
            shipments = [Shipment(order=o, shipped_at=o.placed_at + timedelta(days=rng.randint(1, 4)),
                                  carrier=rng.choice(["UPS", "DHL", "Royal Mail", "USPS"]))
                         for o in shipped_orders]
            Shipment.objects.bulk_create(shipments)
            by_order = {s.order_id: s for s in shipments}
            ShipmentLine.objects.bulk_create([
                ShipmentLine(shipment=by_order[ln.order_id], order_line=ln, qty=ln.qty)
                for ln in flat if ln.status == OrderLine.Status.SHIPPED
            ])
        bar.update(len(orders))
    bar.close()
    return spec.orders


def demo_book_finish(*, seed=42, today=None, lively=True) -> dict:
    """Make the promised demo book realistic: caps, receipts, cancellations, a slipped PO.

    With `lively`, one PO also slips after the promises were communicated, so the
    exception queue and the promise-change feed have something to show.
    """
    rng = random.Random(seed + 1)
    today = today or timezone.localdate()
    counts = {}
    # Lines sold beyond confirmed supply carry estimates: they belong in the exception queue.
    estimates = list(Promise.objects.filter(confirmed=False, line__status__in=OrderLine.OPEN_STATUSES)
                     .values_list("line_id", flat=True))
    with transaction.atomic():  # the workflow locks the exceptions it writes
        lines_assess(line_ids=estimates, now=timezone.now())
    skus = list(SKU.objects.filter(backorder_allowed=True, preorder=False).order_by("id")[:3])
    channels = {c.code: c for c in Channel.objects.all()}
    regions = {r.code: r for r in Region.objects.all()}
    caps = [
        BackorderCap(sku=skus[0], max_backorder_qty=40, note="Limited reorder from the supplier"),
        BackorderCap(channel=channels["amazon-us"], max_promise_days=45,
                     note="Amazon: no promise beyond 45 days (late shipment rate)"),
        BackorderCap(region=regions["UK"], max_backorder_qty=400, note="UK 3PL backorder ceiling"),
    ]
    BackorderCap.objects.bulk_create(caps)
    counts["caps"] = len(caps)
    if not lively:
        return counts

    in_transit = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.IN_TRANSIT).order_by("number").first()
    if in_transit is not None:
        lines = list(in_transit.lines.select_related("sku")[:2])
        receipt_record(po_number=in_transit.number, reference="ASN-DEMO-1",
                       lines=[(line.sku.code, max(1, line.qty_ordered // 2)) for line in lines])
        counts["receipts"] = len(lines)
    open_orders = list(Order.objects.filter(status=Order.Status.OPEN).order_by("id"))
    with transaction.atomic():
        cancelled = _demo_cancellations(rng, open_orders)
    counts["cancelled_orders"] = cancelled
    dirty_pools_repromise()
    # A supplier slips: the promises it covered move, and the regional workflow starts.
    slipping = (PurchaseOrder.objects.filter(status=PurchaseOrder.Status.CONFIRMED, lines__sku__order_lines__status="backordered")
                .exclude(number__contains="-R-").distinct().order_by("eta", "number").first())
    if slipping is not None:
        po_update(po=slipping, eta=slipping.eta + timedelta(days=24), reason="Supplier: factory delay")
        counts["slipped_po"] = slipping.number
    dirty_pools_repromise()
    counts.update(_day_one_work(today))
    return counts


def _day_one_work(today) -> dict:
    """Give each role real work on day one: a US slip long enough to need the customers'
    express consent, a refund past its deadline, overdue and due-today exceptions in each
    region (the book as if its queue had waited a few days)."""
    counts = {}
    # Buyers and agents: a US supplier slips 45 days; past 30, each customer must consent.
    us_slip = (PurchaseOrder.objects.filter(status=PurchaseOrder.Status.CONFIRMED, warehouse__code="US-EAST",
                                            lines__sku__order_lines__status="backordered")
               .exclude(number__contains="-R-").distinct().order_by("eta", "number").first())
    if us_slip is not None:
        po_update(po=us_slip, eta=us_slip.eta + timedelta(days=45),
                  reason="Supplier: vessel rolled to a later sailing")
        dirty_pools_repromise()
        counts["consent_waiting"] = OrderException.objects.filter(
            status=OrderException.Status.OPEN, express_consent_required=True).count()
    # Finance: a cancellation of three weeks ago whose refund is still owed, past its deadline.
    weeks_ago = timezone.now() - timedelta(days=21)
    order = Order.objects.filter(status=Order.Status.OPEN, placed_at__lt=weeks_ago).order_by("id").first()
    if order is not None:
        with transaction.atomic():
            order_cancel(order=order, reason=Cancellation.Reason.CUSTOMER_REQUEST, initiated_by="customer",
                         note="demo data: asked by e-mail", now=weeks_ago)
        counts["refund_overdue"] = Cancellation.objects.filter(refunded_at__isnull=True,
                                                               refund_due_by__lt=today).count()
    # Agents: a region with little in its queue gets a slip of its own...
    for code in ("US", "EU", "UK"):
        if OrderException.objects.filter(status=OrderException.Status.OPEN, region__code=code).count() >= 2:
            continue
        po = (PurchaseOrder.objects.filter(status__in=PurchaseOrder.SUPPLY_STATUSES,
                                           warehouse__regions_served__code=code,
                                           lines__sku__order_lines__status="backordered")
              .distinct().order_by("eta", "number").first())
        if po is not None:
            po_update(po=po, eta=po.eta + timedelta(days=20), reason="Supplier: short shipment, rest follows")
            dirty_pools_repromise()
    # ...and in each region the two oldest open exceptions are due today and two days ago.
    aged = 0
    for code in ("US", "EU", "UK"):
        oldest = list(OrderException.objects.filter(status=OrderException.Status.OPEN, region__code=code)
                      .order_by("opened_at", "id").values_list("id", flat=True)[:2])
        for pk, due_by in zip(oldest, (today - timedelta(days=2), today), strict=False):
            OrderException.objects.filter(pk=pk).update(due_by=due_by)
            aged += 1
    counts["aged_exceptions"] = aged
    return counts


def demo_replenish(*, seed=42, today=None) -> int:
    """Add PO lines covering the backorders of SKUs that may only be sold against supply.

    Computed with the engine in memory before any promise is written, so the first
    promises customers see already count on them (no change, no notice).
    """
    rng = random.Random(seed + 2)
    today = today or timezone.localdate()
    states = pools_load(today=today)
    allocated = pools_allocate(states, now=timezone.now())
    beyond = set(SKU.objects.filter(sell_beyond_supply=True).values_list("id", flat=True))
    needed: dict[tuple[int, int], int] = {}
    for (sku_id, warehouse_id), assignments in allocated.items():
        if sku_id in beyond:
            continue
        open_qty = {line.demand.line_id: line.demand.qty for line in states[(sku_id, warehouse_id)].lines}
        short = sum(open_qty[a.line_id] - sum(al.qty for al in a.allocations)
                    for a in assignments if not a.confirmed)
        if short:
            needed[(sku_id, warehouse_id)] = short
    codes = dict(Warehouse.objects.values_list("id", "code"))
    supplier = Supplier.objects.order_by("id").first()
    with transaction.atomic():  # one transaction: its marks enqueue one re-promise task
        catch_up = {}
        for (sku_id, warehouse_id), qty in sorted(needed.items()):
            if warehouse_id not in catch_up:
                # Named by code, not id: ids differ between databases, the demo book must not.
                catch_up[warehouse_id] = PurchaseOrder.objects.create(
                    number=f"PO-{today.year}-R-{codes[warehouse_id]}", supplier=supplier,
                    warehouse_id=warehouse_id, status=PurchaseOrder.Status.CONFIRMED,
                    eta=today + timedelta(days=rng.randint(24, 38)), dock_to_stock_days=2,
                    notes="Replenishment for backorders")
            PurchaseOrderLine.objects.create(purchase_order=catch_up[warehouse_id], sku_id=sku_id,
                                             qty_ordered=qty + rng.randint(5, 30))
    return len(needed)


def _demo_cancellations(rng, open_orders) -> int:
    cancelled = 0
    for order in rng.sample(open_orders, k=min(len(open_orders), max(3, len(open_orders) // 40))):
        reason = rng.choice([Cancellation.Reason.CUSTOMER_REQUEST, Cancellation.Reason.OUT_OF_STOCK,
                             Cancellation.Reason.CUSTOMER_DECLINED_DELAY])
        for cancellation in order_cancel(order=order, reason=reason, initiated_by="agent",
                                         note="demo data"):
            if rng.random() < 0.6:
                cancellation.refunded_at = cancellation.cancelled_at + timedelta(days=rng.randint(1, 5))
                cancellation.refund_reference = f"RF-{cancellation.pk:06d}"
                cancellation.save(update_fields=["refunded_at", "refund_reference"])
        cancelled += 1
    return cancelled
