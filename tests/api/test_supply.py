"""PUT /stock/{warehouse}/{sku}/, purchase orders, POST /receipts/."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from api.models import PartnerKey, Scope
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEtaChange,
    PurchaseOrderLine,
    Receipt,
    StockLevel,
    Supplier,
)
from tests.api.test_auth import error_of
from tests.api.test_catalog import pull_all
from tests.factories.inventory import PurchaseOrderFactory, PurchaseOrderLineFactory, SKUFactory

pytestmark = pytest.mark.django_db


def stock_of(sku, warehouse="US-EAST"):
    row = StockLevel.objects.filter(sku__code=sku, warehouse__code=warehouse).first()
    return row.on_hand if row else None


# --- Stock ---------------------------------------------------------------------------------


def test_put_stock_sets_the_count(us_client):
    response = us_client.put("/api/v1/stock/US-EAST/TEE-BLA-XS/", {"on_hand": 17}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["warehouse"], body["sku"], body["on_hand"]) == ("US-EAST", "TEE-BLA-XS", 17)
    assert stock_of("TEE-BLA-XS") == 17


@pytest.mark.parametrize(("url", "body", "status", "code"), [
    ("/api/v1/stock/US-EAST/TEE-BLA-XS/", {"on_hand": -1}, 400, "invalid"),
    ("/api/v1/stock/US-EAST/TEE-BLA-XS/", {"on_hand": "many"}, 400, "invalid"),
    ("/api/v1/stock/US-EAST/TEE-BLA-XS/", {}, 400, "invalid"),
    ("/api/v1/stock/NOWHERE/TEE-BLA-XS/", {"on_hand": 1}, 404, "not_found"),
    ("/api/v1/stock/US-EAST/NOPE/", {"on_hand": 1}, 404, "not_found"),
])
def test_put_stock_errors_write_nothing(us_client, url, body, status, code):
    before = stock_of("TEE-BLA-XS")
    error_of(us_client.put(url, body, format="json"), status, code)
    assert stock_of("TEE-BLA-XS") == before


def test_put_stock_needs_supply_write(make_client, seeded):
    client = make_client(scopes=[Scope.SUPPLY_READ])
    error_of(client.put("/api/v1/stock/US-EAST/TEE-BLA-XS/", {"on_hand": 1}, format="json"), 403,
             "permission_denied")


# --- Purchase orders -------------------------------------------------------------------------


def test_po_list_pages_every_po_with_lines(us_client):
    pos = pull_all(us_client, "/api/v1/purchase-orders/?page_size=4")
    assert len(pos) == len({p["number"] for p in pos}) == PurchaseOrder.objects.count()
    assert all(p["lines"] for p in pos)


def test_po_list_filters_by_status_and_updated_since(us_client):
    statuses = set(PurchaseOrder.objects.values_list("status", flat=True))
    for status in statuses:
        got = pull_all(us_client, f"/api/v1/purchase-orders/?status={status}")
        assert {p["status"] for p in got} == {status}
        assert len(got) == PurchaseOrder.objects.filter(status=status).count()
    po = PurchaseOrder.objects.order_by("id").first()
    po.notes = "touched"
    po.save()
    got = us_client.get("/api/v1/purchase-orders/", {"updated_since": po.updated_at.isoformat()})
    assert [p["number"] for p in got.json()["results"]] == [po.number]


def test_po_detail(us_client):
    body = us_client.get("/api/v1/purchase-orders/PO-2026-0001/").json()
    assert body["number"] == "PO-2026-0001"
    line = body["lines"][0]
    assert set(line) == {"sku", "qty_ordered", "qty_received", "qty_open", "eta", "available_on"}
    error_of(us_client.get("/api/v1/purchase-orders/PO-NOPE/"), 404, "not_found")


def new_po_body(**over):
    body = {"number": "PO-API-1", "supplier": "ningbo-textile", "warehouse": "US-EAST",
            "status": "confirmed", "eta": (date.today() + timedelta(days=30)).isoformat(),
            "dock_to_stock_days": 2,
            "lines": [{"sku": "TEE-BLA-XS", "qty_ordered": 50},
                      {"sku": "TEE-ECR-XS", "qty_ordered": 20,
                       "eta": (date.today() + timedelta(days=40)).isoformat()}]}
    body.update(over)
    return body


def test_post_po_creates_it(us_client):
    response = us_client.post("/api/v1/purchase-orders/", new_po_body(), format="json")
    assert response.status_code == 201, response.content
    po = PurchaseOrder.objects.get(number="PO-API-1")
    assert (po.status, po.dock_to_stock_days, po.lines.count()) == ("confirmed", 2, 2)
    assert response.json()["lines"][1]["eta"] == (date.today() + timedelta(days=40)).isoformat()


@pytest.mark.parametrize(("over", "field"), [
    ({"number": "PO-2026-0001"}, "number"),
    ({"supplier": "nobody"}, "supplier"),
    ({"warehouse": "NOWHERE"}, "warehouse"),
    ({"status": "received"}, "status"),
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "NOPE", "qty_ordered": 1}]}, "lines[0].sku"),
    ({"lines": [{"sku": "TEE-BLA-XS", "qty_ordered": 0}]}, "lines[0].qty_ordered"),
    ({"lines": [{"sku": "TEE-BLA-XS", "qty_ordered": 1}, {"sku": "TEE-BLA-XS", "qty_ordered": 2}]},
     "lines[1].sku"),
    ({"eta": "next week"}, "eta"),
])
def test_post_po_with_bad_input_is_400_and_writes_nothing(us_client, over, field):
    before = (PurchaseOrder.objects.count(), PurchaseOrderLine.objects.count())
    body = error_of(us_client.post("/api/v1/purchase-orders/", new_po_body(**over), format="json"),
                    400, "invalid")
    assert field in body["errors"], body
    assert (PurchaseOrder.objects.count(), PurchaseOrderLine.objects.count()) == before


def test_patch_po_changes_status_eta_and_upserts_lines_by_sku(us_client):
    us_client.post("/api/v1/purchase-orders/", new_po_body(status="draft"), format="json")
    new_eta = (date.today() + timedelta(days=60)).isoformat()
    response = us_client.patch("/api/v1/purchase-orders/PO-API-1/", {
        "status": "confirmed", "eta": new_eta,
        "lines": [{"sku": "TEE-BLA-XS", "qty_ordered": 70}, {"sku": "TEE-NAV-XS", "qty_ordered": 5}],
    }, format="json")
    assert response.status_code == 200, response.content
    po = PurchaseOrder.objects.get(number="PO-API-1")
    assert (po.status, po.eta.isoformat()) == ("confirmed", new_eta)
    assert dict(po.lines.values_list("sku__code", "qty_ordered")) == {
        "TEE-BLA-XS": 70, "TEE-ECR-XS": 20, "TEE-NAV-XS": 5}
    assert po.history.count() >= 2  # the ETA change is audited


def test_an_eta_moved_through_the_api_is_in_the_eta_history_with_its_reason(us_client):
    us_client.post("/api/v1/purchase-orders/", new_po_body(status="confirmed"), format="json")
    later = (date.today() + timedelta(days=90)).isoformat()
    response = us_client.patch("/api/v1/purchase-orders/PO-API-1/",
                               {"eta": later, "reason": "Vessel rolled to the next sailing"}, format="json")
    assert response.status_code == 200, response.content
    even_later = (date.today() + timedelta(days=97)).isoformat()
    us_client.patch("/api/v1/purchase-orders/PO-API-1/", {"eta": even_later}, format="json")
    moves = list(PurchaseOrderEtaChange.objects.filter(purchase_order__number="PO-API-1", po_line=None)
                 .order_by("id").values_list("new_eta", "reason"))
    key_name = PartnerKey.objects.get().name
    assert [(eta.isoformat(), reason) for eta, reason in moves] == [
        (later, "Vessel rolled to the next sailing"),
        (even_later, f"Changed through the partner API ({key_name})"),
    ]
    bad = us_client.patch("/api/v1/purchase-orders/PO-API-1/", {"eta": later, "reason": ""}, format="json")
    assert "reason" in error_of(bad, 400, "invalid")["errors"]


def test_patch_po_errors(us_client):
    error_of(us_client.patch("/api/v1/purchase-orders/PO-NOPE/", {"status": "confirmed"},
                             format="json"), 404, "not_found")
    body = error_of(us_client.patch("/api/v1/purchase-orders/PO-2026-0001/", {"status": "received"},
                                    format="json"), 400, "invalid")
    assert "status" in body["errors"]
    closed = PurchaseOrderFactory(status=PurchaseOrder.Status.CANCELLED)
    error_of(us_client.patch(f"/api/v1/purchase-orders/{closed.number}/", {"eta": "2030-01-01"},
                             format="json"), 409, "po_closed")


def test_po_endpoints_need_supply_scopes(make_client, seeded):
    reader = make_client(scopes=[Scope.SUPPLY_READ])
    assert reader.get("/api/v1/purchase-orders/").status_code == 200
    error_of(reader.post("/api/v1/purchase-orders/", new_po_body(), format="json"), 403,
             "permission_denied")
    error_of(reader.patch("/api/v1/purchase-orders/PO-2026-0001/", {}, format="json"), 403,
             "permission_denied")
    writer = make_client(scopes=[Scope.SUPPLY_WRITE])
    error_of(writer.get("/api/v1/purchase-orders/"), 403, "permission_denied")


# --- Receipts --------------------------------------------------------------------------------


@pytest.fixture
def open_po(seeded):
    sku = SKUFactory(code="RCV-1")
    line = PurchaseOrderLineFactory(sku=sku, qty_ordered=10, purchase_order__number="PO-RCV-1",
                                    purchase_order__warehouse__code="US-EAST")
    return line.purchase_order


def test_post_receipt_turns_inbound_into_stock(us_client, open_po):
    response = us_client.post("/api/v1/receipts/", {
        "purchase_order": "PO-RCV-1", "lines": [{"sku": "RCV-1", "qty": 4}],
        "received_at": "2026-11-20T10:00:00+01:00", "reference": "ASN-1"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purchase_order"], body["status"], body["reference"]) == (
        "PO-RCV-1", "partially_received", "ASN-1")
    assert body["lines"][0]["sku"] == "RCV-1" and body["lines"][0]["qty"] == 4
    assert body["received_at"] == "2026-11-20T09:00:00Z"
    assert stock_of("RCV-1") == 4
    assert open_po.lines.get().qty_received == 4


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"purchase_order": "PO-RCV-1", "lines": [{"sku": "RCV-1", "qty": 11}]}, 400, "invalid", "lines"),
    ({"purchase_order": "PO-RCV-1", "lines": [{"sku": "TEE-BLA-XS", "qty": 1}]}, 400, "invalid",
     "lines[0].sku"),
    ({"purchase_order": "PO-RCV-1", "lines": [{"sku": "RCV-1", "qty": 0}]}, 400, "invalid",
     "lines[0].qty"),
    ({"purchase_order": "PO-RCV-1", "lines": []}, 400, "invalid", "lines"),
    ({"purchase_order": "PO-NOPE", "lines": [{"sku": "RCV-1", "qty": 1}]}, 400, "invalid",
     "purchase_order"),
])
def test_bad_receipts_are_refused_and_write_nothing(us_client, open_po, body, status, code, field):
    before = (Receipt.objects.count(), stock_of("RCV-1"))
    error = error_of(us_client.post("/api/v1/receipts/", body, format="json"), status, code)
    assert field in error["errors"]
    assert (Receipt.objects.count(), stock_of("RCV-1")) == before
    assert open_po.lines.get().qty_received == 0


def test_a_receipt_on_a_draft_po_is_409(us_client, open_po):
    PurchaseOrder.objects.filter(pk=open_po.pk).update(status="draft")
    error_of(us_client.post("/api/v1/receipts/", {
        "purchase_order": "PO-RCV-1", "lines": [{"sku": "RCV-1", "qty": 1}]}, format="json"),
        409, "po_not_receivable")
    assert not Receipt.objects.filter(po_line__purchase_order=open_po).exists()


def test_receipts_need_fulfilment_write(make_client, open_po):
    client = make_client(scopes=[Scope.SUPPLY_WRITE])
    error_of(client.post("/api/v1/receipts/", {
        "purchase_order": "PO-RCV-1", "lines": [{"sku": "RCV-1", "qty": 1}]}, format="json"),
        403, "permission_denied")


def test_an_overdue_po_line_is_available_today_in_the_api_as_in_the_promises(us_client):
    # Given a confirmed PO whose ETA passed a week ago, with a backorder promised from it
    po = PurchaseOrder.objects.filter(status="confirmed", lines__isnull=False).order_by("id").first()
    past = timezone.localdate() - timedelta(days=7)
    PurchaseOrder.objects.filter(pk=po.pk).update(eta=past)
    po.lines.update(eta=None)
    # Then the API gives the date the engine uses for it: today in the warehouse, not a week
    # ago plus the dock days
    body = us_client.get(f"/api/v1/purchase-orders/{po.number}/").json()
    today = datetime.now(ZoneInfo(po.warehouse.timezone)).date()
    assert {line["available_on"] for line in body["lines"]} == {today.isoformat()}


# --- Suppliers ---------------------------------------------------------------------------------


def test_a_brand_on_the_api_alone_creates_a_supplier_then_a_po_naming_it(make_client, reference):
    client = make_client(scopes=[Scope.SUPPLY_READ, Scope.SUPPLY_WRITE, Scope.CATALOG_WRITE])
    # Given a supplier created through the API
    created = client.put("/api/v1/suppliers/porto-leather/", {
        "name": "Porto Leather", "email": "orders@porto.example", "country": "pt", "lead_time_days": 30,
    }, format="json")
    assert created.status_code == 201, created.content
    assert created.json() == {"code": "porto-leather", "name": "Porto Leather", "email": "orders@porto.example",
                              "country": "PT", "lead_time_days": 30}
    # When it changes one field, the others keep their value
    changed = client.put("/api/v1/suppliers/porto-leather/", {"name": "Porto Leather Lda"}, format="json")
    assert changed.status_code == 200 and changed.json()["lead_time_days"] == 30
    assert client.get("/api/v1/suppliers/porto-leather/").json()["name"] == "Porto Leather Lda"
    # Then a purchase order may name it
    assert client.put("/api/v1/skus/BAG-1/", {"name": "Bag"}, format="json").status_code == 201
    po = client.post("/api/v1/purchase-orders/", new_po_body(supplier="porto-leather", number="PO-PT-1",
                                                             lines=[{"sku": "BAG-1", "qty_ordered": 5}]),
                     format="json")
    assert po.status_code == 201, po.content


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "country": "Portugal"}, "country"),
    ({"name": "X", "email": "not-an-address"}, "email"),
    ({"name": "X", "lead_time_days": -1}, "lead_time_days"),
    ({"country": "PT"}, "name"),
])
def test_a_bad_supplier_is_refused_naming_the_field_and_nothing_is_written(make_client, reference, body, field):
    client = make_client(scopes=[Scope.SUPPLY_WRITE])
    before = Supplier.objects.count()
    assert field in error_of(client.put("/api/v1/suppliers/new-one/", body, format="json"), 400, "invalid")["errors"]
    assert Supplier.objects.count() == before


def test_a_code_that_is_no_slug_is_refused(make_client, reference):
    client = make_client(scopes=[Scope.SUPPLY_WRITE])
    response = client.put("/api/v1/suppliers/no%20slug!/", {"name": "X"}, format="json")
    assert "code" in error_of(response, 400, "invalid")["errors"]


def test_suppliers_need_their_scopes(make_client, reference):
    reader = make_client(scopes=[Scope.SUPPLY_READ])
    error_of(reader.put("/api/v1/suppliers/a-b/", {"name": "X"}, format="json"), 403, "permission_denied")
    error_of(reader.get("/api/v1/suppliers/nobody/"), 404, "not_found")
    outsider = make_client(scopes=[Scope.ORDERS_READ])
    error_of(outsider.get("/api/v1/suppliers/nobody/"), 403, "permission_denied")
