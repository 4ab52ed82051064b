"""Idempotent intake under a race: 20 identical POSTs at once create exactly one order."""

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.models import Scope
from inventory.models import Channel, StockLevel, Warehouse
from orders.models import Order, OrderLine
from tests.api.conftest import order_body
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
    barrier = threading.Barrier(CLIENTS)
    results, errors = [], []

    def post():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
            barrier.wait(timeout=30)
            response = client.post("/api/v1/orders/", body, format="json")
            results.append((response.status_code, response.json().get("id")))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=post) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: CLIENTS - 1}, statuses
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.filter(channel__code="shopify-us", external_id="RACE-ORDER-1").count() == 1
    assert OrderLine.objects.filter(order__external_id="RACE-ORDER-1").count() == 1
