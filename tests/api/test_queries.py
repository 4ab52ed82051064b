"""No N+1: a page of 100 orders costs the same queries as a page of one."""

from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from promises.intake import CustomerInput, LineInput, OrderInput, order_place
from workflow.fulfilment import order_cancel

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response.json()


@pytest.fixture
def hundred_orders(us_client, make_sku):
    """100 new orders, each with a stock line, a PO line and an unconfirmed estimate line."""
    make_sku("NP-STOCK", stock=150)
    make_sku("NP-PO", po_qty=500)
    make_sku("NP-EST", sell_beyond_supply=True)
    since = timezone.now()
    for i in range(100):
        data = OrderInput(
            external_id=f"NP-{i}", channel="shopify-us", region="US", currency="USD",
            customer=CustomerInput(email=f"np{i % 7}@example.com", name="N P"),
            lines=tuple(LineInput(sku=sku, qty=1, unit_price=Decimal("5.00"))
                        for sku in ("NP-STOCK", "NP-PO", "NP-EST")))
        order, _ = order_place(data=data)
        if i % 10 == 0:
            order_cancel(order=order, line_ids=[order.lines.order_by("id").first().id],
                         reason="partner", initiated_by="partner")
    return since.isoformat()


def test_a_page_of_100_orders_costs_what_a_page_of_one_costs(us_client, hundred_orders):
    url = f"/api/v1/orders/?updated_since={quote(hundred_orders)}&page_size="
    us_client.get(url + "1")  # records the key's last use (once a minute) first
    one, _ = queries_for(us_client, url + "1")
    hundred, body = queries_for(us_client, url + "100")
    assert len(body["results"]) == 100
    lines = [ln for o in body["results"] for ln in o["lines"]]
    kinds = {s["kind"] for ln in lines if ln["promise"] for s in ln["promise"]["sources"]}
    assert kinds == {"stock", "purchase_order"}
    assert any(ln["promise"] and not ln["promise"]["confirmed"] for ln in lines)
    assert sum(len(o["cancellations"]) for o in body["results"]) == 10
    assert hundred == one, f"{hundred} queries for 100 orders, {one} for one"
    # orders (+ channel, region, customer), lines (+ SKU, warehouse, promise), cancellations;
    # the key and its channels were checked by the first request (api.auth.key_record)
    assert one == 3


@pytest.mark.parametrize("url", ["/api/v1/skus/", "/api/v1/purchase-orders/",
                                 "/api/v1/promise-changes/", "/api/v1/exceptions/"])
def test_other_lists_do_not_grow_with_the_page(us_client, url):
    us_client.get(url)
    one, _ = queries_for(us_client, f"{url}?page_size=1")
    many, _ = queries_for(us_client, f"{url}?page_size=50")
    assert many == one
