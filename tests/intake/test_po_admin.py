"""The PO change form: impact preview before saving, reason kept with each ETA change."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import PurchaseOrder
from promises.models import PromiseChange
from tests.intake.helpers import place, us_pool

pytestmark = pytest.mark.django_db


def form_data(po, **overrides):
    line = po.lines.get()
    data = {
        "number": po.number, "supplier": po.supplier_id, "warehouse": po.warehouse_id,
        "status": po.status, "eta": po.eta.isoformat(), "dock_to_stock_days": po.dock_to_stock_days,
        "notes": "", "change_reason": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000", "lines-0-id": line.id, "lines-0-purchase_order": po.id,
        "lines-0-sku": line.sku_id, "lines-0-qty_ordered": line.qty_ordered, "lines-0-eta": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def backordered(django_capture_on_commit_callbacks):
    # The admin previews against the real clock, so the orders are placed now. Setup's own
    # on-commit tasks run here; left pending, they would absorb the save's enqueue.
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        sku, _, po = us_pool(on_hand=3, po_qty=10, now=now)
        for _ in range(5):
            place(sku, now=now)
    return po


def test_preview_counts_the_promises_an_eta_slip_moves_without_saving(admin_client, backordered):
    po = backordered
    url = reverse("admin:inventory_purchaseorder_impact", args=[po.pk])
    later = (po.eta + timedelta(weeks=7)).isoformat()
    response = admin_client.post(url, form_data(po, eta=later))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Moves 2 promises later" in text
    assert "2 past the date the customer was told" in text and "2 by more than 30 days" in text
    po.refresh_from_db()
    assert po.eta.isoformat() != later and not PromiseChange.objects.exists()


def test_preview_of_a_quantity_cut_shows_lines_losing_confirmed_supply(admin_client, backordered):
    po = backordered
    url = reverse("admin:inventory_purchaseorder_impact", args=[po.pk])
    response = admin_client.post(url, form_data(po, **{"lines-0-qty_ordered": "1"}))
    assert "1 lose confirmed supply" in response.content.decode()


def test_eta_change_needs_a_reason_and_keeps_it_in_the_history(
        admin_client, backordered, django_capture_on_commit_callbacks):
    po = backordered
    change_url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    later = (po.eta + timedelta(weeks=7)).isoformat()
    refused = admin_client.post(change_url, form_data(po, eta=later))
    assert refused.status_code == 200 and "Say why the ETA moves" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        saved = admin_client.post(change_url, form_data(po, eta=later, change_reason="port congestion"))
    assert saved.status_code == 302
    po.refresh_from_db()
    assert po.eta.isoformat() == later
    assert po.history.first().history_change_reason == "port congestion"
    # The save enqueued the re-promise on commit: the two backorders moved, attributed to the user.
    changes = PromiseChange.objects.all()
    assert changes.count() == 2 and {c.user.username for c in changes} == {"admin"}
    page = admin_client.get(change_url).content.decode()
    assert "ETA history" in page and "port congestion" in page


def test_draft_po_is_not_supply_until_confirmed(admin_client, backordered):
    po = backordered
    url = reverse("admin:inventory_purchaseorder_impact", args=[po.pk])
    response = admin_client.post(url, form_data(po, status=PurchaseOrder.Status.DRAFT))
    assert "2 lose confirmed supply" in response.content.decode()
