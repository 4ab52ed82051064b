"""GET /availability/, GET /promise-changes/, GET /exceptions/."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from api.models import Scope
from orders.models import Order
from promises.models import OrderException, PromiseChange
from tests.api.test_auth import error_of
from tests.api.test_catalog import pull_all

pytestmark = pytest.mark.django_db

AVAILABILITY_FIELDS = {"status", "can_order", "ship_date", "delivery_from", "delivery_to",
                       "confirmed", "label", "reason", "sources"}


# --- Availability ----------------------------------------------------------------------------


def test_availability_in_stock(us_client, make_sku):
    make_sku("AV-1", stock=5)
    body = us_client.get("/api/v1/availability/", {"sku": "AV-1", "channel": "shopify-us",
                                                   "region": "US", "qty": 2}).json()
    assert set(body) == AVAILABILITY_FIELDS
    assert (body["status"], body["can_order"], body["confirmed"], body["reason"]) == (
        "in_stock", True, True, "")
    assert body["label"].startswith("In stock — ships ")
    assert body["ship_date"] <= body["delivery_from"] <= body["delivery_to"]


def test_availability_backorder_and_default_region(us_client, make_sku):
    make_sku("AV-2", stock=0, po_qty=10)
    body = us_client.get("/api/v1/availability/", {"sku": "AV-2", "channel": "shopify-us",
                                                   "qty": 3}).json()
    assert (body["status"], body["can_order"]) == ("backorder", True)
    assert body["sources"][0]["kind"] == "purchase_order"


def test_availability_in_a_region_the_channel_does_not_sell_in_is_400_naming_region(us_client, make_sku):
    make_sku("AV-5", stock=5)
    response = us_client.get("/api/v1/availability/", {"sku": "AV-5", "channel": "shopify-us", "region": "EU"})
    body = error_of(response, 400, "invalid")
    assert body["errors"] == {"region": ["channel shopify-us sells in region US only"]}


def test_availability_localises_the_label(make_client, make_sku):
    make_sku("AV-3", stock=5, warehouse="EU-CENTRAL")
    client = make_client(channels=["shopify-eu"])
    body = client.get("/api/v1/availability/", {"sku": "AV-3", "channel": "shopify-eu",
                                                "locale": "de_DE"}).json()
    assert body["label"].startswith("Auf Lager"), body


def test_the_availability_answer_is_what_its_serializer_writes(make_sku):
    """The view builds the JSON itself (api.serializers.promises.availability_json): for
    answers of every kind it equals AvailabilitySerializer's, the schema's shape."""
    from api.serializers.promises import AvailabilitySerializer, availability_json
    from promises.intake import available_to_promise

    make_sku("AJ-STOCK", stock=2, po_qty=5)
    make_sku("AJ-EST", stock=0, sell_beyond_supply=True)
    make_sku("AJ-NO", stock=0, backorder_allowed=False)
    answers = [available_to_promise(sku=sku, channel="shopify-us", qty=qty)
               for sku in ("AJ-STOCK", "AJ-EST", "AJ-NO", "AJ-NONE") for qty in (1, 4, 50)]
    answers.append(available_to_promise(sku="AJ-STOCK", channel="shopify-us", qty=1, locale="de_DE"))
    assert {a.status for a in answers} == {"in_stock", "backorder", "unavailable"}
    assert any(len(a.sources) == 2 for a in answers) and any(not a.confirmed and a.can_order for a in answers)
    for answer in answers:
        assert availability_json(answer) == AvailabilitySerializer(answer).data


@pytest.mark.parametrize(("setup", "qty", "reason"), [
    (None, 1, "unknown_sku"),
    ({"stock": 0, "backorder_allowed": False}, 1, "backorder_not_allowed"),
    ({"stock": 1}, 3, "no_supply"),
])
def test_refusals_are_answers_not_errors(us_client, make_sku, setup, qty, reason):
    if setup is not None:
        make_sku("AV-4", **setup)
    body = us_client.get("/api/v1/availability/", {"sku": "AV-4", "channel": "shopify-us",
                                                   "qty": qty}).json()
    assert (body["status"], body["can_order"], body["reason"], body["ship_date"]) == (
        "unavailable", False, reason, None)


def test_availability_errors(us_client, make_client):
    url = "/api/v1/availability/"
    body = error_of(us_client.get(url, {"sku": "TEE-BLA-XS", "channel": "shopify-us", "qty": 0}),
                    400, "invalid")
    assert "qty" in body["errors"]
    body = error_of(us_client.get(url, {"channel": "shopify-us"}), 400, "invalid")
    assert "sku" in body["errors"]
    body = error_of(us_client.get(url, {"sku": "X", "channel": "shopify-us", "region": "MARS"}),
                    400, "invalid")
    assert "region" in body["errors"]
    # A channel the key does not hold looks exactly like one that does not exist: 404.
    foreign = us_client.get(url, {"sku": "TEE-BLA-XS", "channel": "shopify-eu"})
    unknown = us_client.get(url, {"sku": "TEE-BLA-XS", "channel": "no-such-channel"})
    error_of(foreign, 404, "not_found")
    error_of(unknown, 404, "not_found")
    error_of(make_client(scopes=[Scope.ORDERS_READ]).get(
        url, {"sku": "TEE-BLA-XS", "channel": "shopify-us"}), 403, "permission_denied")


# --- Promise-change feed ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _empty_feed(seeded):
    """The demo book's own history would blur exact assertions on the feed."""
    PromiseChange.objects.all().delete()


def make_changes(channel_code, n, *, start=None, same_time=False):
    """Create n promise changes on orders of a channel (the feed starts empty in these tests)."""
    start = start or timezone.now() - timedelta(hours=1)
    orders = list(Order.objects.filter(channel__code=channel_code).prefetch_related("lines")[:n])
    rows = []
    for i, order in enumerate(orders):
        line = order.lines.all()[0]
        rows.append(PromiseChange.objects.create(
            line=line, order=order, old_ship_date=date(2026, 12, 1),
            new_ship_date=date(2026, 12, 8), old_confirmed=True, new_confirmed=True,
            cause=PromiseChange.Cause.PO_CHANGE, version=2,
            at=start if same_time else start + timedelta(seconds=i)))
    return rows


def test_feed_lists_changes_oldest_first_with_a_cursor(us_client):
    mine = make_changes("shopify-us", 12) + make_changes("amazon-us", 5, same_time=True)
    got = pull_all(us_client, "/api/v1/promise-changes/?page_size=5")
    assert [c["id"] for c in got] == [c.id for c in sorted(mine, key=lambda c: (c.at, c.id))]
    first = got[0]
    assert set(first) == {"id", "order", "external_id", "channel", "line", "old_ship_date",
                          "new_ship_date", "old_confirmed", "new_confirmed", "cause", "at"}
    assert (first["old_ship_date"], first["new_ship_date"], first["cause"]) == (
        "2026-12-01", "2026-12-08", "po_change")


def test_feed_since_is_inclusive(us_client):
    rows = make_changes("shopify-us", 6)
    since = rows[3].at.isoformat()
    got = us_client.get("/api/v1/promise-changes/", {"since": since}).json()["results"]
    assert [c["id"] for c in got] == [r.id for r in rows[3:]]


def test_feed_filters(us_client):
    make_changes("shopify-us", 3)
    amazon = make_changes("amazon-us", 2)
    got = us_client.get("/api/v1/promise-changes/", {"channel": "amazon-us"}).json()["results"]
    assert [c["id"] for c in got] == [c.id for c in amazon]
    got = us_client.get("/api/v1/promise-changes/", {"order": amazon[0].order_id}).json()["results"]
    assert [c["id"] for c in got] == [amazon[0].id]
    assert us_client.get("/api/v1/promise-changes/", {"cause": "receipt"}).json()["results"] == []
    error_of(us_client.get("/api/v1/promise-changes/", {"since": "soon"}), 400, "invalid")


def test_feed_needs_promises_read(make_client, seeded):
    error_of(make_client(scopes=[Scope.ORDERS_READ]).get("/api/v1/promise-changes/"), 403,
             "permission_denied")


# --- Exceptions ------------------------------------------------------------------------------


def make_exception(channel_code, *, kind="delay_notice_due", status="open", days=3):
    order = Order.objects.filter(channel__code=channel_code).select_related("region", "channel").first()
    line = order.lines.first()
    OrderException.objects.filter(line=line, kind=kind).delete()
    return OrderException.objects.create(
        kind=kind, status=status, line=line, order=order, region=order.region,
        channel=order.channel, due_by=date.today() + timedelta(days=days),
        opened_at=timezone.now(), cause="PO-2026-0001 slipped")


def test_exceptions_queue_is_sorted_by_due_by_and_filtered(us_client):
    OrderException.objects.all().delete()
    late = make_exception("shopify-us", days=9)
    soon = make_exception("amazon-us", kind="past_due", days=1)
    done = make_exception("amazon-us", kind="supplier_slip", status="resolved", days=5)
    got = pull_all(us_client, "/api/v1/exceptions/?page_size=2")
    assert [e["id"] for e in got] == [soon.id, done.id, late.id]
    assert set(got[0]) == {"id", "kind", "status", "region", "channel", "order", "external_id",
                           "line", "due_by", "cause", "resolution", "opened_at", "resolved_at",
                           "updated_at"}
    assert (got[0]["kind"], got[0]["region"], got[0]["channel"]) == ("past_due", "US", "amazon-us")
    by = lambda q: [e["id"] for e in us_client.get("/api/v1/exceptions/", q).json()["results"]]  # noqa: E731
    assert by({"status": "open"}) == [soon.id, late.id]
    assert by({"kind": "past_due"}) == [soon.id]
    assert by({"region": "US", "status": "resolved"}) == [done.id]
    assert by({"region": "EU"}) == []
    error_of(us_client.get("/api/v1/exceptions/", {"kind": "fire"}), 400, "invalid")


def test_exceptions_need_orders_read(make_client, seeded):
    error_of(make_client(scopes=[Scope.PROMISES_READ]).get("/api/v1/exceptions/"), 403,
             "permission_denied")
