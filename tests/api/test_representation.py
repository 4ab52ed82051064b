"""The hand-built order representation equals DRF's rendering of the declared fields."""

import pytest

from api.auth import Partner
from api.selectors import orders_visible
from api.serializers.orders import OrderSerializer
from inventory.models import Channel
from orders.models import Order
from workflow.fulfilment import order_cancel

pytestmark = pytest.mark.django_db


def test_fast_and_declared_representations_agree_on_the_whole_demo_book(seeded):
    # Some refunds, with and without a refund date, to cover every cancellation field.
    for order in Order.objects.filter(status="open").order_by("id")[:5]:
        order_cancel(order=order, reason="partner", initiated_by="partner")
    channels = list(Channel.objects.values_list("id", "code"))
    partner = Partner(key=None, scopes=frozenset(), channel_ids=frozenset(c[0] for c in channels),
                      channel_codes=frozenset(c[1] for c in channels))
    serializer = OrderSerializer()
    orders = list(orders_visible(partner).order_by("id"))
    assert len(orders) == Order.objects.count()
    kinds = set()
    for order in orders:
        fast, declared = serializer.to_representation(order), serializer.declared_representation(order)
        assert fast == declared, order.pk
        kinds |= {(ln["status"], ln["promise"] is not None and ln["promise"]["confirmed"])
                  for ln in fast["lines"]}
    assert {"allocated", "backordered", "shipped", "cancelled"} <= {k[0] for k in kinds}
