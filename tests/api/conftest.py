"""Fixtures of the partner API tests: clients holding keys with chosen channels and scopes."""

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from api import throttling
from api.models import Scope
from inventory.models import Channel
from tests.factories.api import PartnerKeyFactory


def throttle_counts_clear(settings):
    """Empty the rate counters: the throttle cache (when it answers) and the fallback."""
    try:
        caches[settings.PARTNER_API["THROTTLE_CACHE"]].clear()
    except throttling.CACHE_DOWN_ERRORS:
        pass  # a test pointed the cache at a Redis that is not there
    throttling._fallback.clear()
    throttling._outage.clear()


@pytest.fixture(autouse=True)
def _fresh_throttle_counts(settings):
    """Each test starts with empty rate counters (the cache outlives a test)."""
    throttle_counts_clear(settings)
    yield
    throttle_counts_clear(settings)


@pytest.fixture
def reference(db):
    """Warehouses, channels and regions of the demo, without the catalog."""
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", "--reference-only", stdout=StringIO())


@pytest.fixture
def make_client(db):
    """make_client(channels=["shopify-us"], scopes=[...]) -> an APIClient sending that key."""

    def make(channels=("shopify-us", "amazon-us"), scopes=None, **key_fields):
        key = PartnerKeyFactory(
            scopes=list(Scope.values) if scopes is None else [str(s) for s in scopes],
            channels=list(Channel.objects.filter(code__in=channels)), **key_fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
        client.key = key
        return client

    return make


@pytest.fixture
def us_client(make_client, seeded):
    """A US partner holding shopify-us and amazon-us, every scope, on the small demo book."""
    return make_client()


@pytest.fixture
def eu_client(make_client, seeded):
    """A partner holding shopify-eu only, every scope."""
    return make_client(channels=["shopify-eu"])


@pytest.fixture
def make_sku(seeded):
    """make_sku(code, stock=, po_qty=, po_days=, **sku_fields): a SKU with a US-EAST pool."""
    from datetime import date, timedelta

    from inventory.models import PurchaseOrder, StockLevel, Warehouse
    from tests.factories.inventory import (
        PurchaseOrderFactory,
        PurchaseOrderLineFactory,
        SKUFactory,
    )

    def make(code, *, stock=0, po_qty=0, po_days=21, warehouse="US-EAST", **sku_fields):
        sku = SKUFactory(code=code, **sku_fields)
        wh = Warehouse.objects.get(code=warehouse)
        StockLevel.objects.create(sku=sku, warehouse=wh, on_hand=stock)
        if po_qty:
            po = PurchaseOrderFactory(warehouse=wh, status=PurchaseOrder.Status.CONFIRMED,
                                      eta=date.today() + timedelta(days=po_days))
            PurchaseOrderLineFactory(purchase_order=po, sku=sku, qty_ordered=po_qty)
        return sku

    return make


def order_body(external_id="API-1", channel="shopify-us", region="US", currency="USD",
               lines=(("TEE-BLA-XS", 1),), **extra):
    body = {
        "external_id": external_id, "channel": channel, "region": region, "currency": currency,
        "customer": {"email": f"{external_id.lower()}@example.com", "name": "Ada Adams",
                     "locale": ""},
        "lines": [line if isinstance(line, dict) else
                  {"sku": line[0], "qty": line[1], "unit_price": "19.00"} for line in lines],
    }
    body.update(extra)
    return body
