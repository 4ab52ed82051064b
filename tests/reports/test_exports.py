"""CSV and XLSX exports of the admin lists finance uses: filters and search honoured, view only."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import OrderException
from tests.factories.inventory import ChannelFactory, region
from tests.factories.notifications import NoticeFactory
from tests.factories.orders import CancellationFactory, OrderFactory, OrderLineFactory
from tests.factories.promises import OrderExceptionFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
CANCELLATIONS = "/admin/orders/cancellation/"






def _cancel(order, amount, due, refunded=None, **extra):
    line = OrderLineFactory(order=order, status=OrderLine.Status.CANCELLED, qty_cancelled=1)
    return CancellationFactory(line=line, order=order, amount=Decimal(amount), currency=order.currency,
                               refund_due_by=due, refunded_at=refunded, **extra)


@pytest.fixture
def refunds(frozen):
    """Overdue: USD 30.00 (EXT-US-1) and EUR 12.50 (EXT-EU-1). Owed, due today: USD 20.00.
    Refunded: USD 50.00."""
    us = ChannelFactory(code="shop-us", region=region("US"))
    eu = ChannelFactory(code="shop-eu", region=region("EU"))
    us1 = OrderFactory(channel=us, external_id="EXT-US-1")
    us2 = OrderFactory(channel=us, external_id="EXT-US-2")
    eu1 = OrderFactory(channel=eu, external_id="EXT-EU-1")
    R, By = Cancellation.Reason, Cancellation.Initiator
    return {
        "us_overdue": _cancel(us1, "30.00", date(2026, 6, 29), reason=R.OUT_OF_STOCK, initiated_by=By.AGENT),
        "us_due": _cancel(us2, "20.00", date(2026, 6, 30)),
        "us_refunded": _cancel(us2, "50.00", date(2026, 6, 20), refunded=NOW),
        "eu_overdue": _cancel(eu1, "12.50", date(2026, 6, 1), reason=R.CUSTOMER_DECLINED_DELAY,
                              initiated_by=By.AGENT),
    }


def export(client, list_url, fmt, query=""):
    """Run the list's export as the admin's form does: every column, in the format titled `fmt`."""
    url = f"{list_url}export/{query}"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)}
    data["resource"] = "0"
    data["format"] = next(value for value, title in form.fields["format"].choices if title == fmt)
    return client.post(url, data)


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_a_filtered_export_holds_only_the_filtered_rows_in_csv_and_the_same_in_xlsx(client, users, refunds):
    client.force_login(users["finance"])
    rows = csv_rows(export(client, CANCELLATIONS, "csv", "?refund=overdue"))
    assert sorted((r["order"], r["amount"], r["currency"], r["region"], r["channel"]) for r in rows) == [
        ("EXT-EU-1", "12.50", "EUR", "EU", "shop-eu"), ("EXT-US-1", "30.00", "USD", "US", "shop-us")]
    sheet = xlsx_rows(export(client, CANCELLATIONS, "xlsx", "?refund=overdue"))
    assert sorted(str(r["id"]) for r in sheet) == sorted(r["id"] for r in rows)
    assert sorted(str(r["order"]) for r in sheet) == ["EXT-EU-1", "EXT-US-1"]


def test_the_export_carries_the_columns_finance_reconciles_with(client, users, refunds):
    client.force_login(users["finance"])
    (row,) = csv_rows(export(client, CANCELLATIONS, "csv", "?refund=overdue&currency__exact=EUR"))
    c = refunds["eu_overdue"]
    assert row["id"] == str(c.pk) and row["line"] == str(c.line_id)
    assert row["reason"] == "Customer declined the delay"
    assert row["decided_by"] == "customer"  # the report's rule: declining the delay is the customer's
    assert row["refund_due_by"] == "2026-06-01" and row["refunded_at"] == ""


def test_search_narrows_the_export_as_it_narrows_the_list(client, users, refunds):
    client.force_login(users["finance"])
    rows = csv_rows(export(client, CANCELLATIONS, "csv", "?q=EXT-US-2"))
    assert sorted(r["amount"] for r in rows) == ["20.00", "50.00"]


def test_an_export_is_refused_to_a_user_without_view_permission(client, users, refunds):
    client.force_login(users["nobody"])
    assert client.get(f"{CANCELLATIONS}export/").status_code == 403
    assert client.post(f"{CANCELLATIONS}export/?refund=overdue", {"format": "0", "resource": "0"}).status_code == 403


def test_the_lists_offer_an_export_and_no_import(client, users, refunds):
    client.force_login(users["finance"])
    assert f"{CANCELLATIONS}export/" in client.get(CANCELLATIONS).content.decode()
    with pytest.raises(NoReverseMatch):
        reverse("admin:orders_cancellation_import")


def test_the_exception_queue_exports_its_filtered_rows(client, users, refunds):
    overdue = OrderExceptionFactory(due_by=date(2026, 6, 20))
    OrderExceptionFactory(due_by=date(2026, 7, 20))
    OrderExceptionFactory(due_by=date(2026, 6, 20), status=OrderException.Status.RESOLVED)
    client.force_login(users["agent"])
    response = client.get("/admin/promises/orderexception/")
    assert "/admin/promises/orderexception/export/" in response.content.decode()  # queue template kept
    rows = csv_rows(export(client, "/admin/promises/orderexception/", "csv", "?due=overdue"))
    assert [(r["id"], r["order"], r["due_by"]) for r in rows] == [
        (str(overdue.pk), overdue.order.external_id, "2026-06-20")]


def test_order_lines_export_their_open_value_by_the_lists_filters(client, users, refunds):
    order = OrderFactory(channel=ChannelFactory(code="shop-us", region=region("US")), external_id="EXT-BO")
    OrderLineFactory(order=order, qty=3, qty_shipped=1, unit_price=Decimal("10.00"))
    OrderLineFactory(order=order, status=OrderLine.Status.ALLOCATED)
    client.force_login(users["finance"])
    rows = csv_rows(export(client, "/admin/orders/orderline/", "csv", "?status__exact=backordered&q=EXT-BO"))
    assert [(r["order"], r["currency"], r["open_qty"], r["open_value"]) for r in rows] == [
        ("EXT-BO", "USD", "2", "20.00")]


def test_notices_export_by_status(client, users, refunds):
    failed = NoticeFactory(status=Notice.Status.FAILED)
    NoticeFactory(status=Notice.Status.SENT, sent_at=NOW)
    client.force_login(users["finance"])
    rows = csv_rows(export(client, "/admin/notifications/notice/", "csv", "?status__exact=failed"))
    assert [(r["id"], r["order"]) for r in rows] == [(str(failed.pk), failed.order.external_id)]


def test_an_export_costs_the_same_queries_whatever_the_rows(client, users, refunds):
    client.force_login(users["finance"])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            csv_rows(export(client, CANCELLATIONS, "csv"))
        return len(captured)

    few = queries()
    order = OrderFactory(channel=ChannelFactory(code="shop-us", region=region("US")))
    for _ in range(5):
        _cancel(order, "1.00", date(2026, 6, 1))
    assert queries() == few
