"""The admin index as a dashboard: who sees which tiles, the numbers, the queries it costs."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from inventory.models import PurchaseOrder
from notifications.models import Notice
from orders.models import OrderLine
from promises.models import OrderException
from reports.dashboard import SECTIONS, dashboard_compute
from tests.factories.inventory import ChannelFactory, PurchaseOrderFactory, SKUFactory, region
from tests.factories.notifications import NoticeFactory
from tests.factories.orders import CancellationFactory, OrderFactory, OrderLineFactory
from tests.factories.promises import OrderExceptionFactory

pytestmark = pytest.mark.django_db

#: 02:00 UTC on 30 June: still 29 June in New York, already 30 June in Berlin and London.
NOW = datetime(2026, 6, 30, 2, 0, tzinfo=UTC)
Status = OrderLine.Status
POStatus = PurchaseOrder.Status
INDEX = "/admin/"


@pytest.fixture
def frozen():
    """02:00 UTC on 30 June: still the 29th in New York, where the agents' deadlines are."""
    with time_machine.travel(NOW, tick=False):
        yield


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()






def _order(code):
    return OrderFactory(channel=ChannelFactory(code=f"shop-{code.lower()}", region=region(code)),
                        placed_at=at(6, 1))


def _exceptions():
    """US: 28th open (overdue), 29th in progress (today in New York), 29th resolved, 30th open
    (tomorrow in New York). EU: 29th open (overdue in Berlin), 30th open (today)."""
    us, eu = _order("US"), _order("EU")
    for order, due, status in [
        (us, date(2026, 6, 28), OrderException.Status.OPEN),
        (us, date(2026, 6, 29), OrderException.Status.IN_PROGRESS),
        (us, date(2026, 6, 29), OrderException.Status.RESOLVED),
        (us, date(2026, 6, 30), OrderException.Status.OPEN),
        (eu, date(2026, 6, 29), OrderException.Status.OPEN),
        (eu, date(2026, 6, 30), OrderException.Status.OPEN),
    ]:
        line = OrderLineFactory(order=order, status=Status.ALLOCATED)
        OrderExceptionFactory(line=line, due_by=due, status=status)


def _purchase_orders():
    """Late: PO-LATE-1 and PO-LATE-2. Slipping: PO-SLIP only (see each comment)."""
    PurchaseOrderFactory(number="PO-LATE-1", status=POStatus.CONFIRMED, eta=date(2026, 6, 29))
    PurchaseOrderFactory(number="PO-LATE-2", status=POStatus.IN_TRANSIT, eta=date(2026, 6, 1))
    PurchaseOrderFactory(number="PO-PART", status=POStatus.PARTIALLY_RECEIVED, eta=date(2026, 6, 1))
    PurchaseOrderFactory(number="PO-FUTURE", status=POStatus.CONFIRMED, eta=date(2026, 7, 10))

    def po(number, eta, moves, status=POStatus.CONFIRMED, created=None):
        with time_machine.travel(created or at(6, 1), tick=False):
            order = PurchaseOrderFactory(number=number, status=status, eta=eta)
        for when, new_eta in moves:
            with time_machine.travel(when, tick=False):
                order.eta = new_eta
                order.save()

    po("PO-SLIP", date(2026, 7, 1), [(at(6, 27), date(2026, 7, 15))])          # later within 7 days
    po("PO-OLD-SLIP", date(2026, 7, 1), [(at(6, 10), date(2026, 7, 15))])      # later, weeks ago
    po("PO-EARLIER", date(2026, 7, 20), [(at(6, 28), date(2026, 7, 5))])       # moved earlier
    po("PO-BACK", date(2026, 7, 1), [(at(6, 25), date(2026, 7, 9)), (at(6, 26), date(2026, 7, 1))])
    po("PO-NEW", date(2026, 7, 1), [], created=at(6, 28))                      # created since
    po("PO-DONE", date(2026, 7, 1), [(at(6, 27), date(2026, 7, 15))], status=POStatus.RECEIVED)


def _waiting_lines():
    """Backordered lines at 10.00 a unit: A 3 lines (4 units), B 2 (5), C 1 (3), D 1 (2), E, F
    1 (1) in USD; G 1 line (1 unit) at 8.00 in EUR. H: allocated, not waiting."""
    us, eu = _order("US"), _order("EU")
    skus = {c: SKUFactory(code=f"SKU-{c}") for c in "ABCDEFGH"}
    for code, qtys in {"A": (2, 1, 1), "B": (3, 2), "C": (3,), "D": (2,), "E": (1,), "F": (1,)}.items():
        for qty in qtys:
            OrderLineFactory(order=us, sku=skus[code], qty=qty, unit_price=Decimal("10.00"))
    OrderLineFactory(order=eu, sku=skus["G"], qty=1, unit_price=Decimal("8.00"))
    for _ in range(4):
        OrderLineFactory(order=us, sku=skus["H"], qty=5, status=Status.ALLOCATED)


def _refunds():
    """USD: 30.00 due the 29th (overdue), 20.00 due the 30th (owed, not overdue), 50.00 refunded.
    EUR: 12.50 due 1 June (overdue)."""
    us, eu = _order("US"), _order("EU")
    for order, amount, due, refunded in [
        (us, "30.00", date(2026, 6, 29), None),
        (us, "20.00", date(2026, 6, 30), None),
        (us, "50.00", date(2026, 6, 20), at(6, 25)),
        (eu, "12.50", date(2026, 6, 1), None),
    ]:
        line = OrderLineFactory(order=order, status=Status.CANCELLED, qty=1, qty_cancelled=1)
        CancellationFactory(line=line, order=order, amount=Decimal(amount), currency=order.currency,
                            refund_due_by=due, refunded_at=refunded, cancelled_at=at(6, 1))


def _workers():
    """Two queued tasks (enqueued 5 and 1 minutes ago); two due notices, the oldest waiting 2 h."""
    for minutes in (5, 1):
        OrmQ.objects.create(key="backorder-desk", payload=SignedPackage.dumps(
            {"id": f"t{minutes}", "func": "x", "started": NOW - timedelta(minutes=minutes)}))
    N = Notice.Status
    for status, created, next_attempt in [
        (N.PENDING, NOW - timedelta(hours=2), None),                      # due for 2 h
        (N.FAILED, NOW - timedelta(hours=5), NOW - timedelta(minutes=30)),  # due for 30 min
        (N.FAILED, NOW - timedelta(hours=9), NOW + timedelta(hours=1)),     # retries later
        (N.FAILED, NOW - timedelta(hours=9), None),                         # gave up: an agent's
        (N.HELD, NOW - timedelta(days=3), None),
        (N.SENT, NOW - timedelta(days=3), None),
    ]:
        line = OrderLineFactory(status=Status.ALLOCATED)
        NoticeFactory(line=line, status=status, created_at=created, next_attempt_at=next_attempt,
                      sent_at=created if status == N.SENT else None)


@pytest.fixture
def desk(db, frozen):
    _exceptions()
    _purchase_orders()
    _waiting_lines()
    _refunds()
    _workers()


# --- The numbers -----------------------------------------------------------------------------

def test_exceptions_count_overdue_and_due_today_by_each_regions_own_date(desk):
    rows = {r.region: r for r in dashboard_compute(sections=SECTIONS, now=NOW).exceptions}
    assert (rows["US"].today, rows["US"].overdue, rows["US"].due_today) == (date(2026, 6, 29), 1, 1)
    assert (rows["EU"].today, rows["EU"].overdue, rows["EU"].due_today) == (date(2026, 6, 30), 1, 1)
    assert (rows["UK"].overdue, rows["UK"].due_today) == (0, 0)


def test_purchasing_counts_late_and_slipping_orders_and_the_skus_most_waited_for(desk):
    p = dashboard_compute(sections=SECTIONS, now=NOW).purchasing
    assert p.late == 2
    assert list(PurchaseOrder.objects.filter(pk__in=p.slipping_ids).values_list("number", flat=True)) \
        == ["PO-SLIP"]
    assert [(s.code, s.lines, s.units) for s in p.top_skus] == [
        ("SKU-A", 3, 4), ("SKU-B", 2, 5), ("SKU-C", 1, 3), ("SKU-D", 1, 2), ("SKU-E", 1, 1)]


def test_finance_sums_refunds_owed_and_overdue_and_the_open_book_per_currency(desk):
    f = dashboard_compute(sections=SECTIONS, now=NOW).finance
    refunds = {r.currency: (r.owed_count, r.owed, r.overdue_count, r.overdue) for r in f.refunds}
    assert refunds == {"EUR": (1, Decimal("12.50"), 1, Decimal("12.50")),
                       "USD": (2, Decimal("50.00"), 1, Decimal("30.00"))}
    book = {b.currency: (b.lines, b.units, b.value) for b in f.book}
    assert book == {"EUR": (1, 1, Decimal("8.00")), "USD": (9, 16, Decimal("160.00"))}


def test_worker_health_reads_the_queue_and_the_oldest_due_notice(desk):
    w = dashboard_compute(sections=SECTIONS, now=NOW).workers
    assert (w.queued, w.oldest_queued_seconds) == (2, 300)
    assert (w.notices_due, w.oldest_notice_seconds) == (2, 7200)


def test_a_section_not_asked_for_is_not_computed(desk):
    dashboard = dashboard_compute(sections=("exceptions",), now=NOW)
    assert dashboard.exceptions and dashboard.purchasing is None and dashboard.finance is None \
        and dashboard.workers is None


# --- Who sees what ---------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "seen"), [
    ("agent", {"exceptions"}),
    ("buyer", {"purchasing"}),
    ("finance", {"finance"}),
    ("ops", {"health", "exceptions", "purchasing", "finance", "workers"}),
    ("root", {"health", "exceptions", "purchasing", "finance", "workers"}),
    ("nobody", set()),
])
def test_each_role_sees_its_tiles_and_not_the_others(client, users, desk, who, seen):
    client.force_login(users[who])
    html = client.get(INDEX).content.decode()
    assert {s for s in SECTIONS if f'id="dashboard-{s}"' in html} == seen


def test_the_reports_link_stays_for_those_who_may_run_reports(client, users, desk):
    client.force_login(users["finance"])
    assert 'id="reports-link"' in client.get(INDEX).content.decode()
    client.force_login(users["agent"])
    assert 'id="reports-link"' not in client.get(INDEX).content.decode()


def test_each_number_links_to_the_filtered_list_behind_it(client, users, desk):
    client.force_login(users["root"])
    html = client.get(INDEX).content.decode()
    us = region("US").pk
    for link in [
        f"/admin/promises/orderexception/?region__id__exact={us}&amp;due_by__lt=2026-06-29",
        f"/admin/promises/orderexception/?region__id__exact={us}&amp;due_by=2026-06-29",
        "/admin/inventory/purchaseorder/?status__in=confirmed%2Cin_transit&amp;eta__lt=2026-06-30",
        "/admin/orders/cancellation/?refund=overdue&amp;currency__exact=USD",
        "/admin/orders/cancellation/?refund=due&amp;currency__exact=EUR",
        "/admin/orders/orderline/?status__exact=backordered&amp;sku__id__exact=",
    ]:
        assert link in html, link


@pytest.mark.parametrize(("url", "rows"), [
    ("/admin/orders/cancellation/?refund=overdue&currency__exact=USD", 1),
    ("/admin/orders/cancellation/?refund=due&currency__exact=USD", 2),
    ("/admin/inventory/purchaseorder/?status__in=confirmed,in_transit&eta__lt=2026-06-30", 2),
])
def test_the_linked_lists_hold_the_rows_the_tile_counts(client, users, desk, url, rows):
    client.force_login(users["root"])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows


def test_the_dashboard_is_cached_for_a_minute_per_role_set(client, users, desk):
    client.force_login(users["finance"])
    client.get(INDEX)
    OrderLineFactory(order=_order("US"), unit_price=Decimal("1000.00"))
    assert "160.00" in client.get(INDEX).content.decode()  # still the cached book
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        assert "1160.00" in client.get(INDEX).content.decode()


# --- What it costs ---------------------------------------------------------------------------

def _index_queries(client) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(INDEX).status_code == 200
    return len(queries)


@pytest.mark.parametrize(("who", "most"), [
    # ops and root: five of them the health signals, read at each view (core.health)
    ("agent", 8), ("buyer", 9), ("finance", 10), ("ops", 23), ("root", 20)])
def test_the_index_renders_in_a_bounded_number_of_queries_whatever_the_rows(
        client, users, desk, django_assert_max_num_queries, who, most):
    client.force_login(users[who])
    small = _index_queries(client)
    for more in (_exceptions, _purchase_orders_more, _waiting_lines_more, _refunds, _workers):
        more()
    cache.clear()
    with django_assert_max_num_queries(most):
        client.get(INDEX)
    assert _index_queries(client) == small


def _purchase_orders_more():
    for n in range(5):
        PurchaseOrderFactory(number=f"PO-MORE-{n}", status=POStatus.IN_TRANSIT, eta=date(2026, 6, 2))


def _waiting_lines_more():
    order = _order("UK")
    for _ in range(10):
        OrderLineFactory(order=order, unit_price=Decimal("5.00"))
