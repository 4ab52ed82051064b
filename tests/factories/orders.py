"""Factories for order models."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from orders.models import Cancellation, Customer, Order, OrderLine, Shipment, ShipmentLine
from tests.factories.inventory import ChannelFactory, SKUFactory, WarehouseFactory, region


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")
    region = factory.LazyFunction(lambda: region("US"))
    locale = "en_US"


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    channel = factory.SubFactory(ChannelFactory)
    region = factory.LazyAttribute(lambda o: o.channel.region)
    external_id = factory.Sequence(lambda n: f"EXT-{n:06d}")
    customer = factory.SubFactory(CustomerFactory, region=factory.SelfAttribute("..region"))
    placed_at = factory.LazyFunction(lambda: datetime.now(UTC))
    currency = factory.LazyAttribute(lambda o: o.region.currency)
    paid_amount = Decimal("0")


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.SubFactory(SKUFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    qty = 1
    unit_price = Decimal("20.00")


class ShipmentFactory(DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    shipped_at = factory.LazyFunction(lambda: datetime.now(UTC))


class ShipmentLineFactory(DjangoModelFactory):
    class Meta:
        model = ShipmentLine

    shipment = factory.SubFactory(ShipmentFactory)
    order_line = factory.SubFactory(OrderLineFactory, order=factory.SelfAttribute("..shipment.order"))
    qty = 1


class CancellationFactory(DjangoModelFactory):
    class Meta:
        model = Cancellation

    line = factory.SubFactory(OrderLineFactory)
    order = factory.LazyAttribute(lambda o: o.line.order)
    qty = 1
    amount = Decimal("20.00")
    currency = "USD"
    reason = Cancellation.Reason.CUSTOMER_REQUEST
    initiated_by = Cancellation.Initiator.AGENT
    cancelled_at = factory.LazyFunction(lambda: datetime.now(UTC))
    refund_due_by = factory.LazyFunction(lambda: datetime.now(UTC).date())
