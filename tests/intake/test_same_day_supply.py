"""Sources available on the same day: stock and PO lines ranked without error, in a fixed order.

The engine sorts a pool's supply by the day it is available and then by its key; real keys
are SupplyKeys (stock, or a PO line), which must compare with each other.
"""

import pytest

from inventory.models import PurchaseOrderLine
from promises.engine import STOCK, SupplyKey
from promises.models import Promise
from promises.services import pools_repromise_all
from tests.factories.inventory import PurchaseOrderFactory
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = pytest.mark.django_db


def test_supply_keys_order_stock_first_then_po_lines_by_id():
    keys = [SupplyKey(po_line=9), STOCK, SupplyKey(po_line=2)]
    assert sorted(keys) == [STOCK, SupplyKey(po_line=2), SupplyKey(po_line=9)]


def test_two_pos_of_one_sku_due_the_same_day_are_promised_in_id_order():
    sku, warehouse, po = us_pool(on_hand=0, po_qty=2)
    first = po.lines.get()
    twin = PurchaseOrderFactory(warehouse=warehouse, eta=po.eta, status=po.status, dock_to_stock_days=0)
    second = PurchaseOrderLine.objects.create(purchase_order=twin, sku=sku, qty_ordered=2)
    orders = [place(sku, qty=1, now=MONDAY)[0] for _ in range(3)]

    pools_repromise_all(now=MONDAY)

    sources = [Promise.objects.get(line__order=order).sources for order in orders]
    assert [s[0]["po_line"] for s in sources] == [first.pk, first.pk, second.pk]
