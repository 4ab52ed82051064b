"""The database itself refuses what must never be wrong."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inventory.models import BackorderCap, Region
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SKUFactory,
    StockLevelFactory,
    region,
)
from tests.factories.orders import (
    CancellationFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
)

pytestmark = pytest.mark.django_db


def rejected(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_stock_on_hand_cannot_go_negative(us_warehouse):
    stock = StockLevelFactory(warehouse=us_warehouse, on_hand=3)
    stock.on_hand = -1
    rejected(stock.save)


def test_one_stock_level_per_sku_and_warehouse(us_warehouse):
    stock = StockLevelFactory(warehouse=us_warehouse)
    rejected(lambda: StockLevelFactory(sku=stock.sku, warehouse=us_warehouse))


def test_po_numbers_are_unique(us_warehouse):
    PurchaseOrderFactory(number="PO-1", warehouse=us_warehouse)
    rejected(lambda: PurchaseOrderFactory(number="PO-1", warehouse=us_warehouse))


def test_po_line_received_never_above_ordered(us_warehouse):
    line = PurchaseOrderLineFactory(purchase_order__warehouse=us_warehouse, qty_ordered=5)
    line.qty_received = 6
    rejected(line.save)


def test_po_line_quantity_must_be_positive(us_warehouse):
    rejected(lambda: PurchaseOrderLineFactory(purchase_order__warehouse=us_warehouse, qty_ordered=0))


def test_po_line_one_per_sku(us_warehouse):
    line = PurchaseOrderLineFactory(purchase_order__warehouse=us_warehouse)
    rejected(lambda: PurchaseOrderLineFactory(purchase_order=line.purchase_order, sku=line.sku))


def test_external_id_unique_per_channel(us_channel):
    OrderFactory(channel=us_channel, external_id="1001")
    rejected(lambda: OrderFactory(channel=us_channel, external_id="1001"))


def test_same_external_id_allowed_on_another_channel(us_channel):
    OrderFactory(channel=us_channel, external_id="1001")
    other = OrderFactory(channel=ChannelFactory(code="amazon-us"), external_id="1001")
    assert other.pk


def test_order_line_shipped_plus_cancelled_never_above_qty(us_warehouse):
    line = OrderLineFactory(warehouse=us_warehouse, qty=2, qty_shipped=1)
    line.qty_cancelled = 2
    rejected(line.save)


def test_order_line_quantity_must_be_positive(us_warehouse):
    rejected(lambda: OrderLineFactory(warehouse=us_warehouse, qty=0))


def test_order_line_price_not_negative(us_warehouse):
    rejected(lambda: OrderLineFactory(warehouse=us_warehouse, unit_price=Decimal("-1.00")))


def test_order_paid_amount_not_negative(us_channel):
    rejected(lambda: OrderFactory(channel=us_channel, paid_amount=Decimal("-0.01")))


def test_customer_email_unique_ignoring_case_within_a_channel():
    us, eu = ChannelFactory(region=region("US")), ChannelFactory(region=region("EU"))
    CustomerFactory(email="Ada@Example.com", channel=us)
    CustomerFactory(email="ada@example.com", channel=eu)  # each channel keeps its own record
    rejected(lambda: CustomerFactory(email="ada@example.com", channel=us))


def test_cancellation_amount_not_negative(us_warehouse):
    rejected(lambda: CancellationFactory(line__warehouse=us_warehouse, amount=Decimal("-5")))


def test_cap_must_set_a_limit():
    rejected(lambda: BackorderCap.objects.create(sku=SKUFactory(), max_backorder_qty=None,
                                                 max_promise_days=None))


def test_region_transit_min_not_above_max():
    r = region("US")
    r.transit_min_days, r.transit_max_days = 6, 2
    rejected(r.save)


def test_migration_creates_the_three_regions():
    assert {(r.code, r.currency, r.holiday_country) for r in Region.objects.all()} == {
        ("US", "USD", "US"), ("EU", "EUR", "DE"), ("UK", "GBP", "GB"),
    }
