"""The PO change form: impact preview before saving, reason kept with each ETA change,
one ETA history for the PO and its lines, "Receive" for all open lines at once."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEtaChange,
    PurchaseOrderLine,
    Receipt,
    StockLevel,
)
from promises.models import PromiseChange
from tests.factories.inventory import SKUFactory
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
    assert "2 past the ship date the customer was told" in text
    # The US policy's consequence, not a number in the preview: a first delay of more than
    # 30 days needs the customer's express consent, else the line is cancelled.
    assert "US: 2 of 2 later past the ship date the customer was told" in text
    assert "2 need the customer&#x27;s express consent, else cancelled from" in text
    assert "EU" not in text and "UK" not in text
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
    row = PurchaseOrderEtaChange.objects.get(purchase_order=po)
    assert (row.old_eta, row.new_eta.isoformat(), row.reason, row.user.username) == (
        po.history.last().eta, later, "port congestion", "admin")


def test_draft_po_is_not_supply_until_confirmed(admin_client, backordered):
    po = backordered
    url = reverse("admin:inventory_purchaseorder_impact", args=[po.pk])
    response = admin_client.post(url, form_data(po, status=PurchaseOrder.Status.DRAFT))
    assert "2 lose confirmed supply" in response.content.decode()


def test_a_line_eta_change_needs_a_reason_and_lands_in_the_same_eta_history(
        admin_client, backordered, django_capture_on_commit_callbacks):
    po = backordered
    line = po.lines.get()
    change_url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    later = (po.eta + timedelta(days=20)).isoformat()
    refused = admin_client.post(change_url, form_data(po, **{"lines-0-eta": later}))
    assert refused.status_code == 200
    assert "Say why the ETA moves" in refused.content.decode()
    line.refresh_from_db()
    assert line.eta is None and not PurchaseOrderEtaChange.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        saved = admin_client.post(change_url, form_data(po, **{"lines-0-eta": later},
                                                        change_reason="supplier split the shipment"))
    assert saved.status_code == 302
    row = PurchaseOrderEtaChange.objects.get()
    assert (row.po_line_id, row.sku_code, row.old_eta, row.new_eta.isoformat(), row.reason) == (
        line.pk, line.sku.code, po.eta, later, "supplier split the shipment")
    page = admin_client.get(change_url).content.decode()
    assert f"line {line.sku.code}" in page and "supplier split the shipment" in page
    assert line.history.first().history_change_reason == "supplier split the shipment"


def test_the_eta_history_shows_status_labels_not_codes(admin_client, backordered):
    po = backordered
    change_url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    admin_client.post(change_url, form_data(po, status=PurchaseOrder.Status.IN_TRANSIT,
                                            change_reason="left the port"))
    page = admin_client.get(change_url).content.decode()
    assert "Confirmed → In transit" in page
    assert "in_transit" not in page.split('id="eta-history"')[1].split("</fieldset>")[0]


def test_the_preview_pages_through_every_moved_promise(admin_client, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        sku, _, po = us_pool(on_hand=0, po_qty=30, now=now)
        for _ in range(25):
            place(sku, now=now)
    url = reverse("admin:inventory_purchaseorder_impact", args=[po.pk])
    later = (po.eta + timedelta(days=10)).isoformat()
    first = admin_client.post(url, form_data(po, eta=later)).content.decode()
    assert "Moves 25 promises later" in first and "US: 25 of 25 later" in first
    assert "Rows 1–20 of 25" in first and first.count("<tr>") == 1 + 20
    second = admin_client.post(url, form_data(po, eta=later, impact_page="2")).content.decode()
    assert "Rows 21–25 of 25" in second and second.count("<tr>") == 1 + 5


def test_receive_records_every_open_line_in_one_step_with_edited_quantities(admin_client, backordered):
    po = backordered
    other = SKUFactory()
    PurchaseOrderLine.objects.create(purchase_order=po, sku=other, qty_ordered=8)
    url = reverse("admin:inventory_purchaseorder_receive", args=[po.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    lines = list(po.lines.order_by("sku__code"))
    formset = page.context["formset"]
    assert [f.initial["qty"] for f in formset.forms] == [ln.qty_open for ln in lines]

    data = {"reference": "ASN-77", "received_at": timezone.now().strftime("%Y-%m-%d %H:%M:%S"),
            "receive-TOTAL_FORMS": str(len(lines)), "receive-INITIAL_FORMS": str(len(lines))}
    for i, line in enumerate(lines):
        data[f"receive-{i}-line_id"] = line.pk
        data[f"receive-{i}-qty"] = line.qty_open + 1
    too_many = admin_client.post(url, data)
    assert too_many.status_code == 200 and "still open on this line" in too_many.content.decode()
    assert not Receipt.objects.exists()

    for i, line in enumerate(lines):
        data[f"receive-{i}-qty"] = 3 if line.sku == other else line.qty_open
    done = admin_client.post(url, data)
    assert done.status_code == 302
    assert {(r.po_line.sku.code, r.qty, r.reference) for r in Receipt.objects.all()} == {
        (ln.sku.code, 3 if ln.sku == other else ln.qty_open, "ASN-77") for ln in lines}
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    assert StockLevel.objects.get(sku=other, warehouse=po.warehouse).on_hand == 3
    history = PurchaseOrderEtaChange.objects.get(purchase_order=po)
    assert (history.old_status, history.new_status, history.reason) == (
        "confirmed", "partially_received", "Receipt ASN-77")


def test_the_receive_action_opens_the_receive_page_for_one_po(admin_client, backordered):
    po = backordered
    response = admin_client.post(reverse("admin:inventory_purchaseorder_changelist"),
                                 {"action": "receive", "_selected_action": [po.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_purchaseorder_receive", args=[po.pk])


def test_the_line_forms_write_the_same_html_as_django_s_widget_templates(admin_client, backordered):
    from django.forms.renderers import DjangoTemplates

    po = backordered
    PurchaseOrderLine.objects.create(purchase_order=po, sku=SKUFactory(), qty_ordered=4,
                                     eta=po.eta + timedelta(days=3))
    response = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk]))
    formset = response.context["inline_admin_formsets"][0].formset
    forms = [*formset.forms, formset.empty_form]
    fast = [[str(form[name]) + str(form[name].errors) for name in form.fields] for form in forms]
    for form in forms:
        form.renderer = DjangoTemplates()
    slow = [[str(form[name]) + str(form[name].errors) for name in form.fields] for form in forms]
    for fast_form, slow_form in zip(fast, slow, strict=True):
        for fast_html, slow_html in zip(fast_form, slow_form, strict=True):
            assert fast_html == slow_html
    assert any('class="related-lookup"' in html for html in fast[0])
    assert any('<p class="date">' in html for html in fast[1])


def test_the_preview_names_the_consequence_in_the_region_of_the_orders(admin_client):
    from tests.factories.promises import backorder_line

    b = backorder_line("EU", eta_days=14)
    url = reverse("admin:inventory_purchaseorder_impact", args=[b.po.pk])
    text = admin_client.post(url, form_data(b.po, eta=(b.po.eta + timedelta(days=40)).isoformat())).content.decode()
    assert "EU: 1 of 1 later past the delivery date the customer was told" in text
    assert "Directive 2011/83/EU" in text
    assert "US:" not in text and "express consent" not in text
