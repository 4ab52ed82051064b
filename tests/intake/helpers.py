"""Builders for intake tests: a US pool with stock and a PO, and orders placed through intake."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from inventory.models import PurchaseOrder, PurchaseOrderLine, StockLevel
from promises.intake import CustomerInput, LineInput, OrderInput, order_place
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderFactory,
    SKUFactory,
    WarehouseFactory,
    region,
)

# A Monday morning in New York, before the 14:00 cut-off.
MONDAY = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


def us_pool(*, on_hand=3, po_qty=10, po_eta_days=21, now=MONDAY, **sku_fields):
    """Return (sku, warehouse, po) for a US SKU with stock and a confirmed PO."""
    warehouse = WarehouseFactory(code="US-EAST", country="US", timezone="America/New_York", serves=["US"])
    ChannelFactory(code="shopify-us", region=region("US"), priority=50)
    sku = SKUFactory(**sku_fields)
    StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=on_hand)
    po = None
    if po_qty:
        po = PurchaseOrderFactory(warehouse=warehouse, eta=now.date() + timedelta(days=po_eta_days),
                                  status=PurchaseOrder.Status.CONFIRMED, dock_to_stock_days=0)
        PurchaseOrderLine.objects.create(purchase_order=po, sku=sku, qty_ordered=po_qty)
    return sku, warehouse, po


def place(sku, *, qty=1, external_id=None, channel="shopify-us", region_code="US", now=MONDAY,
          email=None, strategy=""):
    """Place a one-line order through intake."""
    place.counter = getattr(place, "counter", 0) + 1
    n = place.counter
    data = OrderInput(
        external_id=external_id or f"T-{n}", channel=channel, region=region_code,
        currency={"US": "USD", "EU": "EUR", "UK": "GBP"}[region_code],
        # Keyed on the external id: a repeat of one sends the same body (else it is a conflict).
        customer=CustomerInput(email=email or f"{(external_id or f'c{n}').lower()}@example.com",
                               name=f"Customer {external_id or n}"),
        lines=(LineInput(sku=sku.code, qty=qty, unit_price=Decimal("25.00")),),
        placed_at=now, strategy=strategy,
    )
    return order_place(data=data, now=now)
