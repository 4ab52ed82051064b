"""A list page is built from rows; each order in it equals the order's own representation."""

import pytest

from api.auth import Partner
from api.selectors import orders_visible
from api.serializers.orders import OrderSerializer
from inventory.models import Channel
from orders.models import Order
from workflow.fulfilment import order_cancel

pytestmark = pytest.mark.django_db


def test_every_order_of_a_pull_equals_its_representation_read_alone(make_client, seeded):
    # Some refunds, with and without a refund date, to cover every cancellation field.
    for order in Order.objects.filter(status="open").order_by("id")[:5]:
        order_cancel(order=order, reason="partner", initiated_by="partner")
    codes = list(Channel.objects.values_list("code", flat=True))
    client = make_client(channels=codes)
    pulled, url = [], "/api/v1/orders/?page_size=37"
    while url:
        body = client.get(url).json()
        pulled += body["results"]
        url = body["next"]
    channels = list(Channel.objects.values_list("id", "code"))
    partner = Partner(key=None, scopes=frozenset(), channel_ids=frozenset(c[0] for c in channels),
                      channel_codes=frozenset(c[1] for c in channels))
    alone = {o.id: OrderSerializer(o).data for o in orders_visible(partner)}
    assert len(pulled) == len(alone) == Order.objects.count()
    for order in pulled:
        assert order == alone[order["id"]], order["id"]
    lines = [ln for o in pulled for ln in o["lines"]]
    assert {"allocated", "backordered", "shipped", "cancelled"} <= {ln["status"] for ln in lines}
    assert any(ln["promise"] and not ln["promise"]["confirmed"] for ln in lines)
    assert any(c["refunded_at"] is None for o in pulled for c in o["cancellations"])
