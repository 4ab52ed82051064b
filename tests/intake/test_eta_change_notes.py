"""What a promise change says about the PO change behind it: the dates in force and the reason."""

from datetime import timedelta

import pytest
from django.test import TestCase

from inventory.services import POLineInput, po_update
from promises.models import PromiseChange
from promises.services import dirty_pools_repromise
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = pytest.mark.django_db


def test_a_line_eta_move_names_the_pos_eta_it_followed_and_the_buyers_reason():
    sku, _, po = us_pool(on_hand=0, po_qty=5)
    order, _ = place(sku, qty=1, now=MONDAY)
    later = po.eta + timedelta(days=12)
    with TestCase.captureOnCommitCallbacks(execute=True):
        po_update(po=po, lines=[POLineInput(sku=sku.code, qty_ordered=5, eta=later)],
                  reason="Factory short of zips")
    dirty_pools_repromise(now=MONDAY)

    change = PromiseChange.objects.filter(line__order=order).latest("id")
    assert change.note == (f"{po.number}: {sku.code}: eta {po.eta} (the PO's) → {later}"
                           " — Factory short of zips")
    assert "None" not in change.note


def test_a_po_eta_move_carries_its_reason():
    sku, _, po = us_pool(on_hand=0, po_qty=5)
    order, _ = place(sku, qty=1, now=MONDAY)
    old, later = po.eta, po.eta + timedelta(days=7)
    with TestCase.captureOnCommitCallbacks(execute=True):
        po_update(po=po, eta=later, reason="Vessel rolled")
    dirty_pools_repromise(now=MONDAY)

    change = PromiseChange.objects.filter(line__order=order).latest("id")
    assert change.note == f"{po.number}: eta {old} → {later} — Vessel rolled"
