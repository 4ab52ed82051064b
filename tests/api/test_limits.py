"""Limits at the edge: body size (413), nesting, money that overflows, placed_at's window,
a channel's region, and unexpected errors - each in the JSON error shape, writing nothing."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from api.views import catalog
from orders.models import Customer, Order, OrderLine
from tests.api.conftest import order_body
from tests.api.test_auth import error_of

pytestmark = pytest.mark.django_db


def counts():
    return Order.objects.count(), OrderLine.objects.count(), Customer.objects.count()


def post_raw(client, body, url="/api/v1/orders/"):
    return client.generic("POST", url, body, content_type="application/json")


def test_a_body_over_the_upload_limit_is_413_json(us_client, settings):
    before = counts()
    body = json.dumps(order_body(external_id="BIG", note="x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    error = error_of(post_raw(us_client, body), 413, "too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]
    assert counts() == before


def test_json_nested_a_hundred_thousand_deep_is_400(us_client):
    before = counts()
    error = error_of(post_raw(us_client, "[" * 100_000), 400, "invalid")
    assert "nested too deeply" in error["errors"]["body"][0]
    error_of(post_raw(us_client, "[" * 100_000 + "]" * 100_000), 400, "invalid")
    assert counts() == before


def test_an_unexpected_error_in_a_view_is_a_logged_json_500(reference, make_client, monkeypatch,
                                                            caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(catalog.SKUListView, "get_queryset", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = make_client().get("/api/v1/skus/")
    body = error_of(response, 500, "server_error")
    assert "a bug" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and "a bug" in str(record.exc_info[1])


def test_an_error_page_django_answers_itself_is_json_under_api(reference, make_client):
    # A Host header not in ALLOWED_HOSTS: Django's own 400, before any view runs.
    error_of(make_client().get("/api/v1/skus/", HTTP_HOST="evil.example"), 400, "invalid")


def test_money_that_overflows_the_order_total_is_400_naming_the_field(us_client):
    before = counts()
    line = {"sku": "TEE-BLA-XS", "qty": 100_000, "unit_price": "99999999.99"}
    error = error_of(us_client.post("/api/v1/orders/", order_body(lines=[line]), format="json"),
                     400, "invalid")
    assert list(error["errors"]) == ["lines"] and "exceeds" in error["errors"]["lines"][0]
    assert counts() == before


@pytest.mark.parametrize("placed_at", [
    "2200-01-01T00:00:00Z",
    (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    (datetime.now(UTC) - timedelta(days=800)).isoformat(),
], ids=["far-future", "3-days-ahead", "800-days-ago"])  # ids stable across collections (pytest-xdist)
def test_placed_at_outside_its_window_is_400(us_client, placed_at):
    before = counts()
    error = error_of(us_client.post("/api/v1/orders/", order_body(placed_at=placed_at),
                                    format="json"), 400, "invalid")
    assert list(error["errors"]) == ["placed_at"]
    assert counts() == before


def test_placed_at_a_little_ahead_or_months_back_is_taken(us_client, make_sku):
    make_sku("PA-1", stock=5)
    for i, delta in enumerate((timedelta(hours=2), -timedelta(days=200))):
        placed_at = (datetime.now(UTC) + delta).replace(microsecond=0)
        response = us_client.post("/api/v1/orders/", order_body(
            f"PA-{i}", lines=[("PA-1", 1)], placed_at=placed_at.isoformat()), format="json")
        assert response.status_code == 201, response.content


@pytest.mark.parametrize(("region", "currency"), [("EU", "EUR"), ("UK", "GBP")])
def test_an_order_in_a_region_the_channel_does_not_sell_in_is_400(us_client, region, currency):
    before = counts()
    error = error_of(us_client.post("/api/v1/orders/", order_body(region=region, currency=currency),
                                    format="json"), 400, "invalid")
    assert error["errors"] == {"region": ["channel shopify-us sells in region US only"]}
    assert counts() == before
