"""POST /orders/ (idempotent intake), GET /orders/, GET /orders/{id}/, cancel, shipments."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.models import Scope
from api.serializers.orders import OrderWriteSerializer
from inventory.models import BackorderCap
from orders.models import Cancellation, Customer, Order, OrderLine, Shipment
from tests.api.conftest import order_body
from tests.api.test_auth import error_of
from tests.api.test_catalog import pull_all

pytestmark = pytest.mark.django_db

PLACED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def counts():
    return (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(),
            Cancellation.objects.count(), Shipment.objects.count())


def place(client, **kw):
    response = client.post("/api/v1/orders/", order_body(**kw), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- Intake ----------------------------------------------------------------------------------


def test_post_order_places_it_with_promises(us_client, make_sku):
    make_sku("IN-1", stock=5)
    placed = (PLACED - timedelta(days=14)).replace(hour=17, minute=0, second=0)
    body = place(us_client, lines=[("IN-1", 2)],
                 placed_at=placed.astimezone(timezone(timedelta(hours=-5))).isoformat())
    assert (body["external_id"], body["channel"], body["region"], body["status"]) == (
        "API-1", "shopify-us", "US", "open")
    assert body["placed_at"] == placed.strftime("%Y-%m-%dT17:00:00Z")
    assert body["paid_amount"] == "38.00"
    line = body["lines"][0]
    assert (line["sku"], line["qty"], line["status"]) == ("IN-1", 2, "allocated")
    promise = line["promise"]
    assert set(promise) == {"ship_date", "delivery_from", "delivery_to", "confirmed", "label",
                            "sources"}
    assert promise["confirmed"] is True and promise["label"].startswith("In stock")
    assert promise["sources"] == [{"kind": "stock", "reference": promise["sources"][0]["reference"],
                                   "qty": 2, "available_on": None}]
    assert Order.objects.get(pk=body["id"]).lines.get().promise.ship_date.isoformat() == promise["ship_date"]


def test_a_backorder_shows_its_purchase_order_source(us_client, make_sku):
    make_sku("BO-1", stock=1, po_qty=10)
    line = place(us_client, lines=[("BO-1", 3)])["lines"][0]
    assert line["status"] == "backordered"
    kinds = {s["kind"]: s for s in line["promise"]["sources"]}
    assert kinds["stock"]["qty"] == 1 and kinds["purchase_order"]["qty"] == 2
    assert kinds["purchase_order"]["reference"].startswith("PO-")
    assert kinds["purchase_order"]["available_on"]


def test_posting_the_same_order_again_returns_the_first_and_writes_nothing(us_client, make_sku):
    make_sku("ID-1", stock=5)
    first = place(us_client, lines=[("ID-1", 1)])
    before = counts()
    again = us_client.post("/api/v1/orders/", order_body(lines=[("ID-1", 1)]), format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["lines"][0]["qty"] == 1
    assert counts() == before


def test_the_answer_to_a_post_is_the_order_as_a_read_gives_it(us_client, make_sku):
    make_sku("RD-1", stock=1, po_qty=10)
    placed = place(us_client, lines=[("RD-1", 3)])
    read = us_client.get(f"/api/v1/orders/{placed['id']}/").json()
    assert placed == read
    assert us_client.post("/api/v1/orders/", order_body(lines=[("RD-1", 3)]), format="json").json() == read


@pytest.mark.parametrize(("over", "field"), [
    ({"lines": [("ID-1", 4)]}, "lines"),
    ({"lines": [("ID-1", 1), ("ID-1", 1)]}, "lines"),
    ({"customer": {"email": "someone@example.com", "name": "Ada Adams"}}, "customer.email"),
    ({"customer": {"email": "api-1@example.com", "name": "Eve"}}, "customer.name"),
    ({"essential_date": True}, "essential_date"),
    ({"placed_at": (PLACED - timedelta(hours=1)).isoformat()}, "placed_at"),
])
def test_a_repeat_with_another_body_is_409_idempotency_conflict(us_client, make_sku, over, field):
    make_sku("ID-1", stock=5)
    first = place(us_client, lines=[("ID-1", 1)], placed_at=PLACED.isoformat())
    before = counts()
    body = order_body(**{"lines": [("ID-1", 1)], "placed_at": PLACED.isoformat(), **over})
    error = error_of(us_client.post("/api/v1/orders/", body, format="json"), 409,
                     "idempotency_conflict")
    assert list(error["errors"]) == [field], error
    assert counts() == before
    assert us_client.get(f"/api/v1/orders/{first['id']}/").json()["lines"][0]["qty"] == 1


def test_the_same_external_id_on_another_channel_is_another_order(us_client, make_sku):
    make_sku("ID-2", stock=5)
    a = place(us_client, lines=[("ID-2", 1)])
    b = place(us_client, channel="amazon-us", lines=[("ID-2", 1)])
    assert a["id"] != b["id"]


@pytest.mark.parametrize(("setup", "lines", "code"), [
    ({}, [("NOPE-1", 1)], "unknown_sku"),
    ({"stock": 0, "backorder_allowed": False}, [("R-1", 1)], "backorder_not_allowed"),
    ({"stock": 1}, [("R-1", 3)], "no_supply"),
    ({"po_qty": 10, "cap": {"max_backorder_qty": 1}}, [("R-1", 2)], "cap_exceeded"),
    ({"po_qty": 10, "po_days": 120, "cap": {"max_promise_days": 10}}, [("R-1", 1)],
     "beyond_horizon"),
])
def test_business_refusals_are_409_and_write_nothing(us_client, make_sku, setup, lines, code):
    cap = setup.pop("cap", None)
    sku = make_sku("R-1", **setup)
    if cap:
        BackorderCap.objects.create(sku=sku, **cap)
    make_sku("OK-1", stock=5)
    before = counts()
    response = us_client.post("/api/v1/orders/", order_body(lines=[("OK-1", 1), *lines]),
                              format="json")
    body = error_of(response, 409, code)
    assert "lines[1].sku" in body["errors"]
    assert counts() == before


@pytest.mark.parametrize(("over", "field"), [
    ({"currency": "EUR"}, "currency"),
    ({"region": "XX"}, "region"),
    ({"customer": {"email": "nope", "name": "A"}}, "customer.email"),
    ({"customer": {"email": "a@example.com"}}, "customer.name"),
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "TEE-BLA-XS", "qty": 0, "unit_price": "1.00"}]}, "lines[0].qty"),
    ({"lines": [{"sku": "TEE-BLA-XS", "qty": 1, "unit_price": "-1"}]}, "lines[0].unit_price"),
    ({"placed_at": "yesterday"}, "placed_at"),
    ({"external_id": ""}, "external_id"),
    ({"strategy": "grab"}, "strategy"),
    ({"buyer_applied_for_credit": "maybe"}, "buyer_applied_for_credit"),
    ({"buyer_applied_for_credit": None}, "buyer_applied_for_credit"),
    ({"buyer_applied_for_credit": 2}, "buyer_applied_for_credit"),
])
def test_bad_orders_are_400_and_write_nothing(us_client, over, field):
    before = counts()
    body = error_of(us_client.post("/api/v1/orders/", order_body(**over), format="json"), 400,
                    "invalid")
    assert field in body["errors"], body
    assert counts() == before


@pytest.mark.parametrize(("sent", "read"), [({}, False), ({"buyer_applied_for_credit": True}, True),
                                             ({"buyer_applied_for_credit": False}, False)])
def test_the_buyer_applied_for_credit_is_optional_and_false_by_default(us_client, make_sku, sent,
                                                                       read):
    # US 16 CFR 435.2(a)(2): the partner says whether the buyer applied for credit to pay.
    serializer = OrderWriteSerializer(data=order_body(**sent))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["buyer_applied_for_credit"] is read
    make_sku("CR-1", stock=5)
    response = place(us_client, lines=[("CR-1", 1)], **sent)
    # The order keeps it, and the partner reads it back
    assert Order.objects.get(pk=response["id"]).buyer_applied_for_credit is read
    assert response["buyer_applied_for_credit"] is read


def test_an_order_for_a_channel_the_key_does_not_hold_is_404(us_client, make_client):
    before = counts()
    eu_only = make_client(channels=["shopify-eu"])
    error_of(eu_only.post("/api/v1/orders/", order_body(), format="json"), 404, "not_found")
    error_of(us_client.post("/api/v1/orders/", order_body(channel="nope"), format="json"), 404,
             "not_found")
    assert counts() == before


def test_placing_needs_orders_write(make_client, seeded):
    client = make_client(scopes=[Scope.ORDERS_READ])
    error_of(client.post("/api/v1/orders/", order_body(), format="json"), 403, "permission_denied")


# --- Reads -----------------------------------------------------------------------------------


def test_order_detail(us_client):
    order = Order.objects.filter(channel__code="shopify-us").first()
    body = us_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert body["id"] == order.pk and body["external_id"] == order.external_id
    assert [ln["id"] for ln in body["lines"]] == list(order.lines.order_by("id").values_list("id", flat=True))
    for line in body["lines"]:
        assert line["status"] in {"allocated", "backordered", "shipped", "cancelled"}
        assert (line["promise"] is None) == (line["status"] in {"shipped", "cancelled"})
    error_of(us_client.get("/api/v1/orders/999999/"), 404, "not_found")


def test_orders_list_pages_every_order_of_the_keys_channels_once(us_client):
    ids = [o["id"] for o in pull_all(us_client, "/api/v1/orders/?page_size=37")]
    expected = Order.objects.filter(channel__code__in=["shopify-us", "amazon-us"])
    assert len(ids) == len(set(ids)) == expected.count()


@pytest.mark.parametrize("query", ["channel=amazon-us", "region=US", "status=open",
                                   "status=open&status=shipped", "channel=amazon-us&status=open"])
def test_orders_list_filters(us_client, query):
    got = pull_all(us_client, f"/api/v1/orders/?{query}&page_size=100")
    params = dict(p.split("=") for p in query.split("&") if not p.startswith("status"))
    statuses = [p.split("=")[1] for p in query.split("&") if p.startswith("status")]
    qs = Order.objects.filter(channel__code__in=["shopify-us", "amazon-us"])
    if "channel" in params:
        qs = qs.filter(channel__code=params["channel"])
    if "region" in params:
        qs = qs.filter(region__code=params["region"])
    if statuses:
        qs = qs.filter(status__in=statuses)
    assert sorted(o["id"] for o in got) == sorted(qs.values_list("id", flat=True))
    assert got


def test_orders_updated_since(us_client):
    order = Order.objects.filter(channel__code="amazon-us").order_by("id").first()
    order.save()  # bumps updated_at
    since = order.updated_at.isoformat()
    got = us_client.get("/api/v1/orders/", {"updated_since": since}).json()["results"]
    assert [o["id"] for o in got] == [order.pk]


def test_reading_needs_orders_read(make_client, seeded):
    client = make_client(scopes=[Scope.ORDERS_WRITE])
    error_of(client.get("/api/v1/orders/"), 403, "permission_denied")
    order = Order.objects.filter(channel__code="shopify-us").first()
    error_of(client.get(f"/api/v1/orders/{order.pk}/"), 403, "permission_denied")


# --- Cancel ----------------------------------------------------------------------------------


def test_cancel_the_whole_order_records_refunds(us_client, make_sku):
    make_sku("C-1", stock=5)
    make_sku("C-2", stock=0, po_qty=5)
    order = place(us_client, lines=[("C-1", 1), ("C-2", 2)])
    response = us_client.post(f"/api/v1/orders/{order['id']}/cancel/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert {ln["status"] for ln in body["lines"]} == {"cancelled"}
    assert {(c["reason"], c["initiated_by"]) for c in body["cancellations"]} == {("partner", "partner")}
    assert sum(float(c["amount"]) for c in body["cancellations"]) == 57.0
    assert all(c["refund_due_by"] for c in body["cancellations"])


def test_cancel_some_lines_with_a_reason(us_client, make_sku):
    make_sku("C-3", stock=5)
    make_sku("C-4", stock=5)
    order = place(us_client, lines=[("C-3", 1), ("C-4", 1)])
    first = order["lines"][0]["id"]
    body = us_client.post(f"/api/v1/orders/{order['id']}/cancel/",
                          {"lines": [first], "reason": "customer_request", "note": "asked by phone"},
                          format="json").json()
    assert {ln["id"]: ln["status"] for ln in body["lines"]}[first] == "cancelled"
    assert body["status"] == "open"
    assert [(c["line"], c["reason"]) for c in body["cancellations"]] == [(first, "customer_request")]
    assert Cancellation.objects.get(order_id=order["id"]).note == "asked by phone"


def test_cancel_errors(us_client, make_sku):
    make_sku("C-5", stock=5)
    order = place(us_client, lines=[("C-5", 1)])
    url = f"/api/v1/orders/{order['id']}/cancel/"
    before = counts()
    body = error_of(us_client.post(url, {"reason": "bored"}, format="json"), 400, "invalid")
    assert "reason" in body["errors"]
    body = error_of(us_client.post(url, {"lines": [123456789]}, format="json"), 400, "invalid")
    assert "lines" in body["errors"]
    error_of(us_client.post(url, {"lines": []}, format="json"), 400, "invalid")
    assert counts() == before
    assert us_client.post(url, {}, format="json").status_code == 200
    error_of(us_client.post(url, {}, format="json"), 409, "not_cancellable")
    error_of(us_client.post("/api/v1/orders/999999/cancel/", {}, format="json"), 404, "not_found")


# --- Shipments -------------------------------------------------------------------------------


def test_post_shipment_ships_units(us_client, make_sku):
    make_sku("S-1", stock=5)
    order = place(us_client, lines=[("S-1", 3)])
    line = order["lines"][0]["id"]
    response = us_client.post("/api/v1/shipments/", {
        "order": order["id"], "lines": [{"line": line, "qty": 2}], "carrier": "UPS",
        "tracking_number": "1Z999", "shipped_at": "2026-11-23T10:00:00Z"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["order"], body["carrier"], body["lines"]) == (order["id"], "UPS",
                                                              [{"line": line, "qty": 2}])
    detail = us_client.get(f"/api/v1/orders/{order['id']}/").json()
    assert detail["status"] == "partially_shipped"
    assert detail["lines"][0]["qty_shipped"] == 2


def test_bad_shipments_write_nothing(us_client, make_sku):
    make_sku("S-2", stock=5)
    order = place(us_client, lines=[("S-2", 1)])
    line = order["lines"][0]["id"]
    before = counts()
    for body, field in [
        ({"order": order["id"], "lines": [{"line": line, "qty": 2}]}, "lines"),
        ({"order": order["id"], "lines": [{"line": 999999, "qty": 1}]}, "lines[0].line"),
        ({"order": order["id"], "lines": []}, "lines"),
        ({"order": order["id"], "lines": [{"line": line, "qty": 0}]}, "lines[0].qty"),
        ({"lines": [{"line": line, "qty": 1}]}, "order"),
    ]:
        error = error_of(us_client.post("/api/v1/shipments/", body, format="json"), 400, "invalid")
        assert field in error["errors"], (body, error)
    error_of(us_client.post("/api/v1/shipments/", {"order": 999999, "lines": [{"line": line, "qty": 1}]},
                            format="json"), 404, "not_found")
    assert counts() == before


def test_shipments_need_fulfilment_write(make_client, seeded):
    client = make_client(scopes=[Scope.ORDERS_WRITE])
    error_of(client.post("/api/v1/shipments/", {"order": 1, "lines": [{"line": 1, "qty": 1}]},
                         format="json"), 403, "permission_denied")


def test_shipping_or_cancelling_lines_moves_the_orders_updated_at(us_client, make_sku):
    make_sku("U-1", stock=10)
    make_sku("U-2", stock=10)
    order = place(us_client, lines=[("U-1", 3), ("U-2", 1)])
    line = order["lines"][0]["id"]
    stamps = [Order.objects.get(pk=order["id"]).updated_at]
    for _ in range(2):  # the second partial shipment leaves the status as it was
        us_client.post("/api/v1/shipments/", {"order": order["id"], "lines": [{"line": line, "qty": 1}]},
                       format="json")
        stamps.append(Order.objects.get(pk=order["id"]).updated_at)
    us_client.post(f"/api/v1/orders/{order['id']}/cancel/", {"lines": [order["lines"][1]["id"]]},
                   format="json")
    stamps.append(Order.objects.get(pk=order["id"]).updated_at)
    assert stamps == sorted(set(stamps)), "each change must move updated_at"
    got = us_client.get("/api/v1/orders/", {"updated_since": stamps[-1].isoformat()}).json()
    assert [o["id"] for o in got["results"]] == [order["id"]]
