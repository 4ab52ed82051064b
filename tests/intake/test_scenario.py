"""The issue's scenario end to end through intake, a PO slip and a receipt."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from inventory.services import po_update, receipt_record
from orders.models import OrderLine
from promises.models import DirtyPool, Promise, PromiseChange
from promises.services import dirty_pools_repromise
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = pytest.mark.django_db


def promises_of(orders):
    return [Promise.objects.get(line__order=o) for o in orders]


def test_three_ship_from_stock_two_after_the_eta_then_a_slip_and_a_receipt(
        django_capture_on_commit_callbacks, django_user_model):
    # Given 3 on hand and a confirmed PO of 10 due in three weeks
    sku, warehouse, po = us_pool(on_hand=3, po_qty=10, po_eta_days=21)
    eta = po.eta
    # When five customers order one each
    orders = [place(sku, now=MONDAY + timedelta(minutes=i))[0] for i in range(5)]
    # Then the first three ship from stock within days, the last two after the ETA
    first = promises_of(orders)
    for p in first[:3]:
        assert p.confirmed and p.stock_qty == 1
        assert p.ship_date <= MONDAY.date() + timedelta(days=3)
        assert p.line.status == OrderLine.Status.ALLOCATED
    for p in first[3:]:
        assert p.confirmed and p.stock_qty == 0
        assert p.ship_date > eta
        assert p.sources[0]["reference"] == po.number
        assert p.line.status == OrderLine.Status.BACKORDERED

    # When the buyer slips the ETA by seven weeks
    buyer = django_user_model.objects.create_user("buyer")
    with django_capture_on_commit_callbacks(execute=True):
        po_update(po=po, eta=eta + timedelta(weeks=7))
    # (the receiver records the user of an admin request; here the change is attributed by hand)
    dirty_pools_repromise(now=MONDAY)
    # Then both backorders move later and two PromiseChange rows say why
    after = promises_of(orders)
    assert [p.ship_date for p in after[:3]] == [p.ship_date for p in first[:3]]
    changes = PromiseChange.objects.order_by("line_id")
    assert changes.count() == 2
    for change, before in zip(changes, first[3:], strict=True):
        assert change.cause == PromiseChange.Cause.PO_CHANGE
        assert change.po_line.purchase_order == po
        assert change.old_ship_date == before.ship_date
        assert change.new_ship_date > eta + timedelta(weeks=7)
        assert "eta" in change.note
    assert not DirtyPool.objects.exists()

    # When the PO is received
    with django_capture_on_commit_callbacks(execute=True):
        receipt_record(po_number=po.number, lines=[(sku.code, 10)], user=buyer)
    dirty_pools_repromise(now=MONDAY + timedelta(days=1))
    # Then both are released to stock and ship within days
    released = promises_of(orders[3:])
    for p in released:
        assert p.stock_qty == 1 and p.line.status == OrderLine.Status.ALLOCATED
        assert p.ship_date <= MONDAY.date() + timedelta(days=4)
    receipt_changes = PromiseChange.objects.filter(cause=PromiseChange.Cause.RECEIPT)
    assert receipt_changes.count() == 2
    assert {c.user for c in receipt_changes} == {buyer}


def test_repromise_command_all_and_by_sku(capsys):
    sku, _, _ = us_pool()
    place(sku)
    call_command("repromise", "--all")
    assert "1 open lines" in capsys.readouterr().out
    call_command("repromise", "--sku", sku.code)
    assert "0 promises changed" in capsys.readouterr().out


def test_a_second_partial_shipment_moves_the_order_for_partners_syncs():
    from workflow.fulfilment import shipment_record

    sku, _, _ = us_pool(on_hand=5)
    order, _ = place(sku, qty=3)
    line = order.lines.get()
    shipment_record(order=order, lines=[(line.id, 1)])
    order.refresh_from_db()
    first = order.updated_at
    shipment_record(order=order, lines=[(line.id, 1)])
    order.refresh_from_db()
    assert order.status == "partially_shipped" and order.updated_at > first


def test_a_po_change_marks_each_line_pool_with_its_own_po_line_in_one_statement(
        django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.models import PurchaseOrderLine, StockLevel
    from tests.factories.inventory import SKUFactory

    sku, warehouse, po = us_pool(on_hand=0, po_qty=10, po_eta_days=21)
    others = [SKUFactory() for _ in range(4)]
    for other in others:
        StockLevel.objects.create(sku=other, warehouse=warehouse, on_hand=0)
        PurchaseOrderLine.objects.create(purchase_order=po, sku=other, qty_ordered=5)
        place(other)
    place(sku)
    dirty_pools_repromise(now=MONDAY)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False):
        po_update(po=po, eta=po.eta + timedelta(weeks=2))
    marks = [q["sql"] for q in queries if "promises_dirtypool" in q["sql"] and "INSERT" in q["sql"]]
    assert len(marks) == 1  # five pools, one upsert
    expected = dict(PurchaseOrderLine.objects.filter(purchase_order=po).values_list("sku_id", "id"))
    assert dict(DirtyPool.objects.values_list("sku_id", "po_line_id")) == expected
    dirty_pools_repromise(now=MONDAY)
    changes = PromiseChange.objects.filter(cause=PromiseChange.Cause.PO_CHANGE)
    assert changes.count() == 5
    assert all(c.po_line_id == expected[c.line.sku_id] for c in changes)
