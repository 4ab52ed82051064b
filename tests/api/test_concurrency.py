"""Idempotent intake under a race: 20 identical POSTs at once create exactly one order."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from api.models import Scope
from inventory.models import Channel, StockLevel, Warehouse
from orders.models import Order, OrderLine
from tests.api.conftest import order_body
from tests.concurrency import race
from tests.factories.api import PartnerKeyFactory
from tests.factories.inventory import SKUFactory

CLIENTS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_posts_of_one_order_create_it_once(reference):
    sku = SKUFactory(code="RACE-1")
    StockLevel.objects.create(sku=sku, warehouse=Warehouse.objects.get(code="US-EAST"), on_hand=100)
    key = PartnerKeyFactory(scopes=[Scope.ORDERS_WRITE],
                            channels=list(Channel.objects.filter(code="shopify-us")))
    body = order_body(external_id="RACE-ORDER-1", lines=[("RACE-1", 2)])

    def post(_i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
        response = client.post("/api/v1/orders/", body, format="json")
        return response.status_code, response.json().get("id")

    results = race(post, CLIENTS, expect_success=True)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: CLIENTS - 1}, statuses
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.filter(channel__code="shopify-us", external_id="RACE-ORDER-1").count() == 1
    assert OrderLine.objects.filter(order__external_id="RACE-ORDER-1").count() == 1
