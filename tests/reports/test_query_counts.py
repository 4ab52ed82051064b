"""A report costs the same number of queries for 10 orders as for 100."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Channel
from orders.models import Cancellation, OrderLine
from reports.documents import report_build
from reports.rendering import report_render
from reports.selectors import ReportFilter
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
    region,
)
from tests.factories.notifications import NoticeFactory
from tests.factories.orders import (
    CancellationFactory,
    OrderFactory,
    OrderLineFactory,
    ShipmentFactory,
    ShipmentLineFactory,
)
from tests.reports.conftest import JUNE, at
from tests.reports.factories import PromiseChangeFactory, PromiseFactory

pytestmark = pytest.mark.django_db


def orders_create(n: int, offset: int = 0):
    """n orders, each with a shipped and an open backorder line, a cancellation and a notice."""
    warehouse = WarehouseFactory(code="US-EAST", serves=["US"])
    channels = [ChannelFactory(code="shopify-us", region=region("US")),
                ChannelFactory(code="amazon-us", region=region("US"), kind=Channel.Kind.MARKETPLACE)]
    for i in range(offset, offset + n):
        placed = at(6, 1 + i % 28)
        order = OrderFactory(channel=channels[i % 2], placed_at=placed, paid_amount=Decimal("30.00"))
        open_line = OrderLineFactory(order=order, warehouse=warehouse, qty=2, unit_price=Decimal("10.00"))
        PromiseFactory(line=open_line, ship_date=date(2026, 7, 1))
        shipped = OrderLineFactory(order=order, warehouse=warehouse, status=OrderLine.Status.SHIPPED,
                                   qty_shipped=1, unit_price=Decimal("10.00"))
        PromiseFactory(line=shipped, ship_date=placed.date() + timedelta(days=3))
        PromiseChangeFactory(line=shipped, old_ship_date=placed.date(), new_ship_date=placed.date() + timedelta(days=3), at=placed)
        shipment = ShipmentFactory(order=order, shipped_at=placed + timedelta(days=2), tracking_number=f"T{i}")
        ShipmentLineFactory(shipment=shipment, order_line=shipped)
        CancellationFactory(line=open_line, order=order, qty=1, amount=Decimal("10.00"),
                            reason=Cancellation.Reason.OUT_OF_STOCK, cancelled_at=placed,
                            refund_due_by=placed.date() + timedelta(days=7),
                            refunded_at=placed + timedelta(days=i % 9))
        NoticeFactory(line=open_line, kind="delay_notice", status="sent", sent_at=placed,
                      context={"notice_due_by": (placed.date() + timedelta(days=i % 3 - 1)).isoformat()})
        PurchaseOrderLineFactory(purchase_order__warehouse=warehouse, purchase_order__eta=placed.date())


def queries_of(kind: str, f: ReportFilter) -> int:
    with CaptureQueriesContext(connection) as captured:
        report_render(report_build(kind=kind, f=f), "csv")
    return len(captured)


@pytest.mark.parametrize("kind", ["exposure", "refunds", "performance"])
def test_report_query_count_does_not_grow_with_orders(db, frozen, kind):
    # Given 10 orders
    orders_create(10)
    small = queries_of(kind, JUNE)
    # When 90 more are added
    orders_create(90, offset=10)
    large = queries_of(kind, JUNE)
    # Then
    assert small == large
    assert large <= 15
