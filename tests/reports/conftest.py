"""A small book whose every KPI is worked out by hand in the tests (June 2026, UTC)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from inventory.models import Channel
from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from reports.selectors import ReportFilter
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
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
from tests.reports.factories import PromiseChangeFactory, PromiseFactory

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
JUNE = ReportFilter(start=date(2026, 6, 1), end=date(2026, 6, 30))
Status = OrderLine.Status


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class Book:
    lines: dict[str, OrderLine]


def _line(order, *, qty, price, status=Status.BACKORDERED, stock_qty=0, ship_date=date(2026, 7, 10),
          warehouse, shipped=0, cancelled=0, **promise):
    line = OrderLineFactory(order=order, qty=qty, unit_price=Decimal(price), status=status,
                            warehouse=warehouse, qty_shipped=shipped, qty_cancelled=cancelled)
    PromiseFactory(line=line, stock_qty=stock_qty, ship_date=ship_date, **promise)
    return line


def _ship(order, line, qty, when, tracking=""):
    shipment = ShipmentFactory(order=order, shipped_at=when, tracking_number=tracking)
    ShipmentLineFactory(shipment=shipment, order_line=line, qty=qty)


def _cancel(line, *, qty, amount, reason, by, when, due, refunded=None):
    CancellationFactory(line=line, order=line.order, qty=qty, amount=Decimal(amount),
                        currency=line.order.currency, reason=reason, initiated_by=by,
                        cancelled_at=when, refund_due_by=due, refunded_at=refunded)


@pytest.fixture
def book(db, frozen):
    """Ten orders over three channels and two currencies; see each test for its figures."""
    us = WarehouseFactory(code="US-EAST", serves=["US"])
    eu = WarehouseFactory(code="EU-CENTRAL", country="DE", timezone="Europe/Berlin", serves=["EU"])
    shop = ChannelFactory(code="shopify-us", region=region("US"))
    amazon = ChannelFactory(code="amazon-us", region=region("US"), kind=Channel.Kind.MARKETPLACE)
    shop_eu = ChannelFactory(code="shopify-eu", region=region("EU"))

    def order(channel, placed, paid):
        return OrderFactory(channel=channel, placed_at=placed, paid_amount=Decimal(paid))

    R, By = Cancellation.Reason, Cancellation.Initiator
    o1 = order(shop, at(6, 2), "100.00")
    l1 = _line(o1, qty=2, price="30.00", warehouse=us)
    l2 = _line(o1, qty=1, price="40.00", status=Status.ALLOCATED, stock_qty=1, warehouse=us)
    o2 = order(amazon, at(6, 25), "50.00")
    l3 = _line(o2, qty=4, price="25.00", stock_qty=1, warehouse=us)
    o3 = order(shop, at(4, 1), "10.00")
    l4 = _line(o3, qty=1, price="10.00", warehouse=us)
    o4 = order(shop_eu, at(6, 10), "33.33")
    l5 = _line(o4, qty=3, price="11.11", shipped=1, ship_date=date(2026, 7, 5), warehouse=eu)
    _ship(o4, l5, 1, at(6, 20), tracking="DHL-1")
    o5 = order(shop, at(6, 5), "20.00")
    l6 = _line(o5, qty=1, price="20.00", status=Status.SHIPPED, shipped=1,
               ship_date=date(2026, 6, 20), warehouse=us)
    PromiseChangeFactory(line=l6, old_ship_date=date(2026, 6, 15), new_ship_date=date(2026, 6, 20),
                         at=at(6, 9))
    _ship(o5, l6, 1, at(6, 18), tracking="1Z-6")
    o6 = order(amazon, at(6, 8), "20.00")
    l7 = _line(o6, qty=1, price="20.00", status=Status.SHIPPED, shipped=1,
               ship_date=date(2026, 6, 12), warehouse=us)
    _ship(o6, l7, 1, at(6, 13))
    o7 = order(shop, at(6, 12), "30.00")
    l8 = _line(o7, qty=2, price="15.00", status=Status.CANCELLED, cancelled=2, warehouse=us)
    _cancel(l8, qty=2, amount="30.00", reason=R.OUT_OF_STOCK, by=By.AGENT, when=at(6, 14),
            due=date(2026, 6, 21), refunded=at(6, 19))
    o8 = order(amazon, at(6, 15), "50.00")
    l9 = _line(o8, qty=1, price="50.00", status=Status.CANCELLED, stock_qty=1, cancelled=1,
               warehouse=us)
    _cancel(l9, qty=1, amount="50.00", reason=R.CUSTOMER_REQUEST, by=By.CUSTOMER, when=at(6, 16),
            due=date(2026, 6, 23))
    o9 = order(amazon, at(6, 20), "40.00")
    l10 = _line(o9, qty=1, price="40.00", status=Status.CANCELLED, cancelled=1, warehouse=us)
    _cancel(l10, qty=1, amount="40.00", reason=R.NO_CONSENT, by=By.SYSTEM, when=at(6, 28),
            due=date(2026, 7, 8))
    o10 = order(shop_eu, at(6, 3), "12.50")
    l12 = _line(o10, qty=1, price="12.50", status=Status.CANCELLED, cancelled=1, warehouse=eu)
    _cancel(l12, qty=1, amount="12.50", reason=R.CUSTOMER_DECLINED_DELAY, by=By.AGENT,
            when=at(6, 7), due=date(2026, 6, 21), refunded=at(6, 24))

    def notice(line, kind, sent, due=None, status=Notice.Status.SENT):
        context = {"notice_due_by": due.isoformat()} if due else {}
        NoticeFactory(line=line, kind=kind, status=status, sent_at=sent, context=context)

    K = Notice.Kind
    notice(l1, K.DELAY_NOTICE, at(6, 10), date(2026, 6, 12))
    notice(l3, K.RENEWED_DELAY_NOTICE, at(6, 26), date(2026, 6, 25))
    notice(l5, K.DELAY_NOTICE, at(6, 15))
    notice(l6, K.EARLIER_DATE, at(6, 16))
    notice(l4, K.DELAY_NOTICE, None, date(2026, 6, 1), status=Notice.Status.PENDING)

    _supplier_pos(us)
    return Book({"l1": l1, "l2": l2, "l3": l3, "l4": l4, "l5": l5, "l6": l6, "l7": l7,
                 "l8": l8, "l9": l9, "l10": l10, "l12": l12})


def _supplier_pos(warehouse):
    """Supplier A: two lines slipped 10 days. Supplier B: one of three slipped 4 days."""
    a, b = SupplierFactory(name="Supplier A"), SupplierFactory(name="Supplier B")

    def po(supplier, eta, moved_to=None, status="confirmed", lines=1):
        order = PurchaseOrderFactory(supplier=supplier, warehouse=warehouse, eta=eta, status=status)
        for _ in range(lines):
            PurchaseOrderLineFactory(purchase_order=order)
        if moved_to:
            order.eta = moved_to
            order.save()

    po(a, date(2026, 6, 10), date(2026, 6, 20), lines=2)
    po(b, date(2026, 6, 15))
    po(b, date(2026, 6, 1), date(2026, 6, 5))
    po(b, date(2026, 6, 28), date(2026, 6, 26))
    po(b, date(2026, 7, 15))  # due after the range
    po(b, date(2026, 6, 1), date(2026, 6, 9), status="draft")  # not supply


@pytest.fixture
def users(db, django_user_model):
    """A staff user of each role (setup_roles' groups), a superuser and one with no role."""
    from django.contrib.auth.models import Group

    from promises.roles import roles_setup

    roles_setup()

    def user(name, role=None, **extra):
        u = django_user_model.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True, **extra)
        if role:
            u.groups.add(Group.objects.get(name=role))
        return u

    return {"agent": user("agent", "CS agent"), "buyer": user("buyer", "Buyer"),
            "finance": user("finance", "Finance"), "ops": user("ops", "Ops"),
            "root": user("root", is_superuser=True), "finance2": user("finance2", "Finance"),
            "nobody": user("nobody")}
