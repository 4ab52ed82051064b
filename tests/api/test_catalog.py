"""GET /skus/, GET and PUT /skus/{code}/."""

from datetime import timedelta

import pytest

from api.models import Scope
from inventory.models import SKU
from tests.api.test_auth import error_of
from tests.factories.inventory import SKUFactory

pytestmark = pytest.mark.django_db


def pull_all(client, url):
    """Follow `next` links to the end; return every result."""
    results, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        results += body["results"]
        url, pages = body["next"], pages + 1
        assert pages < 1000
    return results


def test_skus_list_pages_through_every_sku_once(us_client):
    codes = [s["code"] for s in pull_all(us_client, "/api/v1/skus/?page_size=7")]
    assert len(codes) == len(set(codes)) == SKU.objects.count()


def test_skus_list_filters(us_client):
    SKUFactory(code="ZZ-PRE", preorder=True, backorder_allowed=False)
    pre = us_client.get("/api/v1/skus/?preorder=true").json()["results"]
    assert [s["code"] for s in pre] == list(SKU.objects.filter(preorder=True).values_list("code", flat=True).order_by("updated_at", "id"))
    assert all(s["backorder_allowed"] is False for s in us_client.get(
        "/api/v1/skus/?backorder_allowed=false").json()["results"])


def test_skus_updated_since_is_inclusive(us_client):
    sku = SKU.objects.order_by("id").first()
    sku.name = "Renamed"
    sku.save()
    sku.refresh_from_db()
    since = sku.updated_at.isoformat().replace("+00:00", "Z")
    codes = [s["code"] for s in us_client.get("/api/v1/skus/", {"updated_since": since}).json()["results"]]
    assert codes[0] == sku.code
    later = (sku.updated_at + timedelta(microseconds=1)).isoformat()
    assert sku.code not in [s["code"] for s in us_client.get(
        "/api/v1/skus/", {"updated_since": later}).json()["results"]]


def test_sku_detail(us_client):
    body = us_client.get("/api/v1/skus/TEE-BLA-XS/").json()
    assert body["code"] == "TEE-BLA-XS"
    assert set(body) == {"code", "name", "backorder_allowed", "preorder", "release_date",
                         "sell_beyond_supply", "safety_stock", "lead_time_days", "supplier",
                         "active", "updated_at"}
    error_of(us_client.get("/api/v1/skus/NOPE/"), 404, "not_found")


def test_put_creates_a_sku_then_changes_only_the_fields_given(us_client):
    response = us_client.put("/api/v1/skus/NEW-1/", {"name": "New thing", "safety_stock": 3},
                             format="json")
    assert response.status_code == 201, response.content
    sku = SKU.objects.get(code="NEW-1")
    assert (sku.name, sku.safety_stock, sku.backorder_allowed, sku.lead_time_days) == (
        "New thing", 3, True, 45)
    response = us_client.put("/api/v1/skus/NEW-1/", {
        "name": "New thing v2", "backorder_allowed": False, "preorder": True,
        "sell_beyond_supply": True, "lead_time_days": 10}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "New thing v2"
    sku.refresh_from_db()
    assert (sku.name, sku.safety_stock, sku.backorder_allowed, sku.preorder,
            sku.sell_beyond_supply, sku.lead_time_days) == ("New thing v2", 3, False, True, True, 10)


@pytest.mark.parametrize(("code", "body", "field"), [
    ("NEW-2", {}, "name"),
    ("NEW-2", {"name": "x", "safety_stock": -1}, "safety_stock"),
    ("NEW-2", {"name": "x", "lead_time_days": "soon"}, "lead_time_days"),
    ("bad code!", {"name": "x"}, "code"),
])
def test_put_with_bad_input_is_400_and_writes_nothing(us_client, code, body, field):
    before = SKU.objects.count()
    error = error_of(us_client.put(f"/api/v1/skus/{code}/", body, format="json"), 400, "invalid")
    assert field in error["errors"]
    assert SKU.objects.count() == before


def test_put_needs_catalog_write(make_client, seeded):
    client = make_client(scopes=[Scope.CATALOG_READ])
    error_of(client.put("/api/v1/skus/NEW-3/", {"name": "x"}, format="json"), 403,
             "permission_denied")
    assert not SKU.objects.filter(code="NEW-3").exists()
