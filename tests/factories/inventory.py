"""Factories for inventory models."""

from datetime import UTC, date, datetime, time, timedelta

import factory
from factory.django import DjangoModelFactory

from inventory.models import (
    SKU,
    BackorderCap,
    Channel,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Region,
    StockLevel,
    Supplier,
    Warehouse,
)


def region(code="US"):
    """Return one of the three regions the migration created."""
    return Region.objects.get(code=code)


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = "US-EAST"
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    country = "US"
    timezone = "America/New_York"
    cutoff_time = time(14, 0)
    handling_days = 1

    @factory.post_generation
    def serves(obj, create, extracted, **kwargs):
        if create and extracted:
            for code in extracted:
                r = region(code)
                obj.regions_served.add(r)
                Region.objects.filter(pk=r.pk).update(default_warehouse=obj)


class ChannelFactory(DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    region = factory.LazyFunction(lambda: region("US"))
    priority = 50
    strategy = "redistribute"


class SupplierFactory(DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"supplier-{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")


class SKUFactory(DjangoModelFactory):
    class Meta:
        model = SKU

    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    backorder_allowed = True
    lead_time_days = 45


class StockLevelFactory(DjangoModelFactory):
    class Meta:
        model = StockLevel

    sku = factory.SubFactory(SKUFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 0


class PurchaseOrderFactory(DjangoModelFactory):
    class Meta:
        model = PurchaseOrder

    number = factory.Sequence(lambda n: f"PO-{n:05d}")
    supplier = factory.SubFactory(SupplierFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    status = PurchaseOrder.Status.CONFIRMED
    eta = factory.LazyFunction(lambda: date.today() + timedelta(days=21))
    dock_to_stock_days = 0


class PurchaseOrderLineFactory(DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    sku = factory.SubFactory(SKUFactory)
    qty_ordered = 10


class ReceiptFactory(DjangoModelFactory):
    class Meta:
        model = Receipt

    po_line = factory.SubFactory(PurchaseOrderLineFactory)
    qty = 1
    received_at = factory.LazyFunction(lambda: datetime.now(UTC))


class BackorderCapFactory(DjangoModelFactory):
    class Meta:
        model = BackorderCap

    max_backorder_qty = 10
