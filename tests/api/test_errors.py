"""Every failure has the shape {code, message, errors}, DRF's own errors included."""

import pytest
from rest_framework.test import APIClient

from api.errors import flatten_errors
from tests.api.test_auth import error_of

pytestmark = pytest.mark.django_db


def test_unknown_api_urls_answer_a_json_404(reference, make_client):
    client = make_client()
    for url in ("/api/v1/nope/", "/api/v2/orders/", "/api/", "/api/v1/orders/abc/"):
        error_of(client.get(url), 404, "not_found")
    error_of(APIClient().post("/api/whatever", {}), 404, "not_found")


def test_a_method_the_endpoint_lacks_is_405(reference, make_client):
    body = error_of(make_client().delete("/api/v1/skus/"), 405, "method_not_allowed")
    assert body["errors"] == {}


def test_malformed_json_is_400_invalid(reference, make_client):
    response = make_client().put("/api/v1/skus/X-1/", data="{not json",
                                 content_type="application/json")
    body = error_of(response, 400, "invalid")
    assert "body" in body["errors"]


def test_a_body_that_is_not_json_is_415(reference, make_client):
    response = make_client().put("/api/v1/skus/X-1/", data="name=x",
                                 content_type="application/x-www-form-urlencoded")
    error_of(response, 415, "unsupported_media_type")


def test_validation_errors_are_flat_field_paths(reference, make_client):
    response = make_client().post("/api/v1/orders/", {
        "external_id": "E1", "channel": "shopify-us", "region": "XX", "currency": "USD",
        "customer": {"email": "not-an-email", "name": "A"},
        "lines": [{"sku": "TEE-BLA-XS", "qty": 1, "unit_price": "1.00"}, {"sku": "X", "qty": 0}],
    }, format="json")
    body = error_of(response, 400, "invalid")
    assert set(body["errors"]) == {"region", "customer.email", "lines[1].qty", "lines[1].unit_price"}
    assert all(isinstance(v, list) and v for v in body["errors"].values())


def test_flatten_errors_handles_nested_lists_and_non_field_errors():
    detail = {"non_field_errors": ["bad"], "lines": [{}, {"sku": ["unknown"]}], "qty": {2: ["low"]},
              "tags": ["too many"], "customer": {"email": ["bad e-mail"]}}
    assert flatten_errors(detail) == {
        "non_field_errors": ["bad"], "lines[1].sku": ["unknown"], "tags": ["too many"],
        "customer.email": ["bad e-mail"], "qty[2]": ["low"],
    }
    assert flatten_errors(["just wrong"]) == {"non_field_errors": ["just wrong"]}


def test_bad_query_parameters_are_400_invalid(reference, make_client):
    client = make_client()
    body = error_of(client.get("/api/v1/orders/?updated_since=yesterday"), 400, "invalid")
    assert "updated_since" in body["errors"]
    body = error_of(client.get("/api/v1/orders/?status=lost"), 400, "invalid")
    assert "status" in body["errors"]
    body = error_of(client.get("/api/v1/orders/?cursor=garbage"), 400, "invalid")
    assert "cursor" in body["errors"]
    body = error_of(client.get("/api/v1/orders/?page_size=0"), 400, "invalid")
    assert "page_size" in body["errors"]


@pytest.mark.parametrize(("method", "url", "body", "status"), [
    ("get", "/api/v1/skus/%00/", None, 404),
    ("put", "/api/v1/skus/A%00/", {"name": "x"}, 404),
    ("patch", "/api/v1/purchase-orders/%00/", {}, 404),
    ("put", "/api/v1/stock/%00/%00/", {"on_hand": 1}, 404),
    ("get", "/api/v1/orders/?channel=%00", None, 400),
    ("get", "/api/v1/availability/?sku=%00&channel=shopify-us", None, 400),
    ("post", "/api/v1/receipts/", {"purchase_order": "PO\x00", "lines": [{"sku": "x", "qty": 1}]},
     400),
    # PostgreSQL refuses offsets past ±15:59 and years past 9999: compared in UTC, or refused.
    ("get", "/api/v1/orders/?updated_since=1097-06-20T09:31:41.5%2B22:39", None, 200),
    ("get", "/api/v1/orders/?updated_since=9999-12-31T23:59:59-05:00", None, 400),
    ("get", "/api/v1/orders/?cursor=eyJkIjoibiIsImsiOlsiMTA5Ny0wNi0yMFQwOTozMTo0MS41KzIyOjM5IiwxXX0",
     None, 200),
    ("post", "/api/v1/shipments/", {"order": 10**30, "lines": [{"line": 1, "qty": 1}]}, 404),
    ("get", f"/api/v1/orders/{10**30}/", None, 404),
])
def test_hostile_input_is_refused_not_a_server_error(reference, make_client, method, url, body,
                                                     status):
    client = make_client()
    response = getattr(client, method)(url, body, format="json") if body is not None else \
        getattr(client, method)(url)
    assert response.status_code == status, response.content[:300]
