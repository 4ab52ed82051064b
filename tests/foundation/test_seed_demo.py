"""seed_demo creates the reference data and a deterministic demo book."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F

from inventory.models import SKU, Channel, PurchaseOrder, PurchaseOrderLine, Warehouse
from orders.models import Order, OrderLine
from promises.models import Promise

pytestmark = pytest.mark.django_db


def seed(*args):
    call_command("seed_demo", "--no-progress", *args, stdout=StringIO())


def book_digest():
    """Hash the demo book by natural keys (ids differ between runs, content must not)."""
    h = hashlib.sha256()
    for row in SKU.objects.order_by("code").values_list(
            "code", "backorder_allowed", "preorder", "sell_beyond_supply", "safety_stock"):
        h.update(repr(row).encode())
    for row in PurchaseOrderLine.objects.order_by("purchase_order__number", "sku__code").values_list(
            "purchase_order__number", "purchase_order__status", "purchase_order__eta", "sku__code",
            "qty_ordered"):
        h.update(repr(row).encode())
    for row in OrderLine.objects.order_by("order__channel__code", "order__external_id", "sku__code").values_list(
            "order__channel__code", "order__external_id", "order__placed_at", "sku__code", "qty",
            "status", "promise__ship_date"):
        h.update(repr(row).encode())
    return h.hexdigest()


def test_reference_only_creates_warehouses_and_channels_only():
    seed("--reference-only")
    assert set(Warehouse.objects.values_list("code", flat=True)) == {"US-EAST", "EU-CENTRAL", "UK-MIDLANDS"}
    assert set(Channel.objects.values_list("code", flat=True)) == {
        "shopify-us", "amazon-us", "shopify-eu", "shopify-uk", "wholesale-uk"}
    assert not SKU.objects.exists() and not Order.objects.exists()


def test_seed_is_deterministic_for_a_seed_and_differs_for_another():
    with transaction.atomic():
        seed("--size", "small", "--seed", "3")
        first = book_digest()
        transaction.set_rollback(True)
    with transaction.atomic():
        seed("--size", "small", "--seed", "4")
        other = book_digest()
        transaction.set_rollback(True)
    seed("--size", "small", "--seed", "3")
    assert book_digest() == first
    assert other != first


def test_seed_promises_every_open_line_and_has_drafts_and_preorders():
    seed("--size", "small")
    open_lines = OrderLine.objects.open()
    assert open_lines.exists()
    assert Promise.objects.filter(line__in=open_lines).count() == open_lines.count()
    assert PurchaseOrder.objects.filter(status="draft").exists()
    assert SKU.objects.filter(preorder=True).exists()
    assert SKU.objects.filter(backorder_allowed=False).exists()


def test_seed_refuses_to_fill_a_database_that_has_a_catalog():
    seed("--size", "small")
    with pytest.raises(CommandError, match="already holds a catalog"):
        seed("--size", "small")


def test_the_demo_gives_each_role_work_on_day_one():
    from django.utils import timezone

    from inventory.models import PurchaseOrderEtaChange
    from orders.models import Cancellation
    from promises.models import OrderException

    seed("--size", "small")
    today = timezone.localdate()
    open_exceptions = OrderException.objects.filter(status__in=OrderException.OPEN_STATUSES)
    for code in ("US", "EU", "UK"):
        mine = open_exceptions.filter(region__code=code)
        assert mine.filter(due_by__lt=today).exists(), f"no overdue exception in {code}"
        assert mine.filter(due_by=today).exists(), f"no exception due today in {code}"
    # Agents: customers whose consent is awaited; finance: a refund past its deadline.
    assert open_exceptions.filter(express_consent_required=True).exists()
    assert Cancellation.objects.filter(refunded_at__isnull=True, refund_due_by__lt=today).exists()
    # Buyers: POs that just slipped, each move in the ETA history with its reason.
    slips = PurchaseOrderEtaChange.objects.filter(at__date=today, new_eta__gt=F("old_eta"))
    assert {s.reason for s in slips} >= {"Supplier: factory delay", "Supplier: vessel rolled to a later sailing"}
