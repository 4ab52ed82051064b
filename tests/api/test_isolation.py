"""A key never sees, lists, cancels, ships or is fed anything of a channel it does not hold."""

import pytest

from orders.models import Cancellation, Order, Shipment
from promises.models import OrderException, PromiseChange
from tests.api.conftest import order_body
from tests.api.test_auth import error_of
from tests.api.test_catalog import pull_all
from tests.api.test_promises import make_changes, make_exception

pytestmark = pytest.mark.django_db

US = {"shopify-us", "amazon-us"}


@pytest.fixture
def eu_order(seeded):
    return Order.objects.filter(channel__code="shopify-eu", status="open").first()


def test_order_detail_of_another_channel_is_404_like_a_missing_one(us_client, eu_order):
    foreign = us_client.get(f"/api/v1/orders/{eu_order.pk}/")
    missing = us_client.get("/api/v1/orders/99999999/")
    assert error_of(foreign, 404, "not_found")["message"].replace(str(eu_order.pk), "N") == \
        error_of(missing, 404, "not_found")["message"].replace("99999999", "N")


def test_lists_and_filters_show_only_the_keys_channels(us_client, eu_order):
    assert {o["channel"] for o in pull_all(us_client, "/api/v1/orders/?page_size=100")} <= US
    for query in ("channel=shopify-eu", "region=EU", f"external_id={eu_order.external_id}"):
        assert us_client.get(f"/api/v1/orders/?{query}").json()["results"] == []


def test_a_cursor_from_another_key_yields_only_the_callers_rows(us_client, eu_client, eu_order):
    eu_next = eu_client.get("/api/v1/orders/?page_size=2").json()["next"]
    assert eu_next
    got = pull_all(us_client, eu_next)
    assert got and {o["channel"] for o in got} <= US


def test_promise_change_feed_shows_only_the_keys_channels(us_client, eu_client):
    PromiseChange.objects.all().delete()
    eu_rows = make_changes("shopify-eu", 4)
    us_rows = make_changes("shopify-us", 3)
    assert [c["id"] for c in pull_all(us_client, "/api/v1/promise-changes/?page_size=2")] == [
        r.id for r in us_rows]
    assert us_client.get("/api/v1/promise-changes/?channel=shopify-eu").json()["results"] == []
    assert us_client.get(f"/api/v1/promise-changes/?order={eu_rows[0].order_id}").json()[
        "results"] == []
    assert [c["id"] for c in pull_all(eu_client, "/api/v1/promise-changes/")] == [r.id for r in eu_rows]


def test_exceptions_show_only_the_keys_channels(us_client, eu_client):
    OrderException.objects.all().delete()
    eu = make_exception("shopify-eu")
    us = make_exception("shopify-us")
    assert [e["id"] for e in pull_all(us_client, "/api/v1/exceptions/")] == [us.id]
    assert us_client.get("/api/v1/exceptions/?region=EU").json()["results"] == []
    assert [e["id"] for e in pull_all(eu_client, "/api/v1/exceptions/")] == [eu.id]


def test_cancelling_another_channels_order_is_404_and_changes_nothing(us_client, eu_order):
    error_of(us_client.post(f"/api/v1/orders/{eu_order.pk}/cancel/", {}, format="json"), 404,
             "not_found")
    eu_order.refresh_from_db()
    assert eu_order.status == "open"
    assert not Cancellation.objects.filter(order=eu_order).exists()


def test_shipping_another_channels_order_is_404_and_changes_nothing(us_client, eu_order):
    line = eu_order.lines.first()
    before = Shipment.objects.filter(order=eu_order).count()
    error_of(us_client.post("/api/v1/shipments/", {
        "order": eu_order.pk, "lines": [{"line": line.pk, "qty": 1}]}, format="json"), 404,
        "not_found")
    assert Shipment.objects.filter(order=eu_order).count() == before
    line.refresh_from_db()
    assert line.qty_shipped == 0


def test_availability_and_intake_on_another_channel_are_404(us_client):
    error_of(us_client.get("/api/v1/availability/", {"sku": "TEE-BLA-XS", "channel": "shopify-eu"}),
             404, "not_found")
    before = Order.objects.count()
    error_of(us_client.post("/api/v1/orders/", order_body(channel="shopify-eu", region="EU",
                                                          currency="EUR"), format="json"),
             404, "not_found")
    assert Order.objects.count() == before


def test_reposting_another_channels_external_id_does_not_reveal_that_order(us_client, eu_order):
    # Same external id on a channel the key holds is simply another order.
    body = order_body(external_id=eu_order.external_id, lines=[("TEE-BLA-XS", 1)])
    response = us_client.post("/api/v1/orders/", body, format="json")
    assert response.status_code in (201, 409)
    if response.status_code == 201:
        assert response.json()["id"] != eu_order.pk
