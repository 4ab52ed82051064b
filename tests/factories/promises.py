"""Factories for promises models, and a whole backordered line promised from a real PO."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from inventory.models import Channel, PurchaseOrder, Region, Warehouse
from orders.models import Customer, Order, OrderLine
from promises.models import DelayConsent, OrderException
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SKUFactory,
    WarehouseFactory,
    region,
)
from tests.factories.orders import CustomerFactory, OrderFactory, OrderLineFactory

WAREHOUSES = {
    "US": {"code": "US-EAST", "country": "US", "timezone": "America/New_York"},
    "EU": {"code": "EU-CENTRAL", "country": "DE", "timezone": "Europe/Berlin",
           "holiday_subdivision": "HE"},
    "UK": {"code": "UK-MIDLANDS", "country": "GB", "timezone": "Europe/London",
           "holiday_subdivision": "ENG"},
}
LOCALES = {"US": "en_US", "EU": "de_DE", "UK": "en_GB"}


class OrderExceptionFactory(DjangoModelFactory):
    class Meta:
        model = OrderException

    kind = OrderException.Kind.DELAY_NOTICE_DUE
    line = factory.SubFactory(OrderLineFactory)
    order = factory.LazyAttribute(lambda o: o.line.order)
    region = factory.LazyAttribute(lambda o: o.line.order.region)
    channel = factory.LazyAttribute(lambda o: o.line.order.channel)
    due_by = factory.LazyFunction(lambda: date.today() + timedelta(days=3))
    opened_at = factory.LazyFunction(lambda: datetime.now(UTC))
    cause = "Ships later"


class DelayConsentFactory(DjangoModelFactory):
    class Meta:
        model = DelayConsent

    line = factory.SubFactory(OrderLineFactory)
    promise_version = 1
    decision = DelayConsent.Decision.ACCEPT
    channel = DelayConsent.Channel.LINK
    recorded_at = factory.LazyFunction(lambda: datetime.now(UTC))


@dataclass
class Backorder:
    """One backordered line served by a confirmed PO, promised and told to its customer."""

    region: Region
    warehouse: Warehouse
    channel: Channel
    po: PurchaseOrder
    order: Order
    line: OrderLine
    customer: Customer

    def refresh(self):
        self.line.refresh_from_db()
        self.line.promise.refresh_from_db()
        self.order.refresh_from_db()
        return self

    @property
    def promise(self):
        return self.line.promise


def backorder_line(region_code: str = "US", *, eta_days: int = 14, qty: int = 1, locale: str | None = None,
                   essential_date: bool = False, channel_code: str | None = None,
                   unit_price: Decimal = Decimal("40.00"), communicate: bool = True,
                   placed_at: datetime | None = None, sku=None) -> Backorder:
    """Create and promise a backordered line whose supply is one PO arriving in eta_days."""
    from django.test import TestCase

    # Setup's own on-commit tasks run here; left pending they would absorb a test's enqueue.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _backorder_line(region_code, eta_days=eta_days, qty=qty, locale=locale,
                               essential_date=essential_date, channel_code=channel_code,
                               unit_price=unit_price, communicate=communicate, placed_at=placed_at,
                               sku=sku)


def _backorder_line(region_code, *, eta_days, qty, locale, essential_date, channel_code, unit_price,
                    communicate, placed_at, sku) -> Backorder:
    from promises.services import pools_repromise_all, promises_mark_communicated

    r = region(region_code)
    warehouse = WarehouseFactory(**WAREHOUSES[region_code], serves=[region_code])
    channel = ChannelFactory(code=channel_code or f"shop-{region_code.lower()}", region=r)
    sku = sku or SKUFactory()
    po = PurchaseOrderFactory(warehouse=warehouse, eta=timezone.localdate() + timedelta(days=eta_days),
                              status=PurchaseOrder.Status.CONFIRMED, dock_to_stock_days=0)
    PurchaseOrderLineFactory(purchase_order=po, sku=sku, qty_ordered=max(qty, 10))
    customer = CustomerFactory(region=r, locale=locale or LOCALES[region_code])
    order = OrderFactory(channel=channel, region=r, customer=customer, essential_date=essential_date,
                         placed_at=placed_at or datetime.now(UTC),
                         paid_amount=unit_price * qty)
    line = OrderLineFactory(order=order, sku=sku, warehouse=warehouse, qty=qty, unit_price=unit_price)
    pools_repromise_all(cause="manual", sku_ids=[sku.id])
    if communicate:
        promises_mark_communicated(line_ids=[line.id])
    line.refresh_from_db()
    return Backorder(r, warehouse, channel, po, order, line, customer)
