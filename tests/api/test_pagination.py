"""The keyset cursor: complete, stable under ties and concurrent updates, and reversible."""

import base64
import json

import pytest
from django.utils import timezone

from orders.models import Order
from tests.api.test_auth import error_of
from tests.api.test_catalog import pull_all

pytestmark = pytest.mark.django_db

US = ["shopify-us", "amazon-us"]


def us_orders():
    return Order.objects.filter(channel__code__in=US)


def test_rows_sharing_one_timestamp_are_each_listed_once(us_client):
    # Re-promising bumps thousands of orders in one UPDATE: one updated_at for all of them.
    us_orders().update(updated_at=timezone.now())
    ids = [o["id"] for o in pull_all(us_client, "/api/v1/orders/?page_size=9")]
    assert ids == sorted(us_orders().values_list("id", flat=True))


def test_a_row_updated_mid_pull_is_read_again_later_and_none_is_missed(us_client):
    first = us_client.get("/api/v1/orders/?page_size=10").json()
    seen = [o["id"] for o in first["results"]]
    moved = Order.objects.get(pk=seen[0])
    moved.save()  # now the most recently updated order
    rest = pull_all(us_client, first["next"])
    ids = seen + [o["id"] for o in rest]
    assert set(ids) == set(us_orders().values_list("id", flat=True))
    assert ids.count(moved.pk) == 2 and ids[-1] == moved.pk


def test_previous_links_walk_back_through_the_same_pages(us_client):
    pages, url = [], "/api/v1/orders/?page_size=25"
    while url:
        body = us_client.get(url).json()
        pages.append([o["id"] for o in body["results"]])
        url = body["next"]
    assert len(pages) > 2
    body = us_client.get("/api/v1/orders/?page_size=25").json()
    assert body["previous"] is None
    for _ in range(len(pages) - 1):
        body = us_client.get(body["next"]).json()
    assert [o["id"] for o in body["results"]] == pages[-1] and body["next"] is None
    for expected in reversed(pages[:-1]):
        body = us_client.get(body["previous"]).json()
        assert [o["id"] for o in body["results"]] == expected
    assert body["previous"] is None


def test_filters_are_kept_in_the_links(us_client):
    body = us_client.get("/api/v1/orders/?page_size=5&channel=amazon-us").json()
    assert "channel=amazon-us" in body["next"]
    assert {o["channel"] for o in pull_all(us_client, body["next"])} == {"amazon-us"}


def test_page_size_is_capped(us_client):
    assert len(us_client.get("/api/v1/orders/?page_size=100000").json()["results"]) == min(
        500, us_orders().count())


def token(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "!!!", "e30", token({"d": "n"}), token({"d": "x", "k": ["2026-01-01T00:00:00Z", 1]}),
    token({"d": "n", "k": ["not a date", 1]}), token({"d": "n", "k": ["2026-01-01T00:00:00Z"]}),
    token({"d": "n", "k": ["2026-01-01T00:00:00Z", "one"]}), token({"d": "n", "k": [None, 1]}),
    token([1, 2]),
])
def test_a_tampered_cursor_is_400(us_client, cursor):
    body = error_of(us_client.get("/api/v1/orders/", {"cursor": cursor}), 400, "invalid")
    assert "cursor" in body["errors"]


def test_a_cursor_page_bounds_the_index_scan(us_client):
    """`a >= x AND (a > x OR (a = x AND id > y))`: without `a >= x` PostgreSQL reads every
    row before the cursor on each page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    next_url = us_client.get("/api/v1/orders/?page_size=5").json()["next"]
    with CaptureQueriesContext(connection) as ctx:
        us_client.get(next_url)
    page_sql = next(q["sql"] for q in ctx.captured_queries
                    if 'FROM "orders_order"' in q["sql"] and "LIMIT" in q["sql"])
    assert '"orders_ordersync"."updated_at" >=' in page_sql


def test_a_pull_by_cursor_alone_reads_what_a_filtered_pull_reads(us_client):
    """A pull naming no filter runs the page's SQL compiled once (KeysetPagination.
    paginate_build); one naming a filter builds its queryset per page: same pages."""
    plain = pull_all(us_client, "/api/v1/orders/?page_size=7")
    filtered = pull_all(us_client, "/api/v1/orders/?page_size=7&updated_since=2000-01-01T00:00:00Z")
    assert plain == filtered
    assert len(plain) == us_orders().count() > 7
    body = us_client.get("/api/v1/orders/?page_size=7").json()
    back = us_client.get(us_client.get(body["next"]).json()["previous"]).json()
    assert back["results"] == body["results"]


@pytest.mark.parametrize("at", ["2000-01-01T00:00:00", "2000-01-01", "2000-01-01T00:00:00+14:00"])
def test_a_cursor_timestamp_without_or_with_any_offset_is_read_not_a_server_error(us_client, at):
    body = us_client.get("/api/v1/orders/", {"cursor": token({"d": "n", "k": [at, 0]}), "page_size": 3})
    assert body.status_code == 200, body.content[:300]
    assert len(body.json()["results"]) == 3
