"""Customer data stays with the channel that wrote it: per-channel customers, in every answer."""

import importlib

import pytest
from django.apps import apps

from inventory.models import Channel
from orders.models import Customer, Order
from tests.api.conftest import order_body
from tests.api.test_catalog import pull_all
from tests.factories.orders import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

SHARED = "Shared.Person@Example.com"


@pytest.fixture
def two_partners(make_client, make_sku):
    """Two keys on two US channels, each placing an order for the same e-mail address."""
    make_sku("CU-1", stock=20)
    shop = make_client(channels=["shopify-us"])
    amazon = make_client(channels=["amazon-us"])
    first = shop.post("/api/v1/orders/", order_body(
        "SHOP-1", lines=[("CU-1", 1)],
        customer={"email": SHARED, "name": "Ada Shopify", "locale": "en_US"}), format="json")
    assert first.status_code == 201, first.content
    second = amazon.post("/api/v1/orders/", order_body(
        "AMZ-1", channel="amazon-us", lines=[("CU-1", 1)],
        customer={"email": SHARED.lower(), "name": "Bea Amazon", "locale": "es_US"}), format="json")
    assert second.status_code == 201, second.content
    return shop, amazon, first.json(), second.json()


def _customer_of(body):
    return body["customer"]


def test_an_order_answers_with_the_customer_its_channel_gave(two_partners):
    _shop, _amazon, first, second = two_partners
    assert _customer_of(first) == {"email": SHARED, "name": "Ada Shopify", "locale": "en_US"}
    assert _customer_of(second) == {"email": SHARED.lower(), "name": "Bea Amazon", "locale": "es_US"}


def test_each_channel_keeps_its_own_customer_record_unchanged(two_partners):
    _shop, _amazon, first, second = two_partners
    shop_customer = Order.objects.get(pk=first["id"]).customer
    amazon_customer = Order.objects.get(pk=second["id"]).customer
    assert shop_customer.pk != amazon_customer.pk
    shop_customer.refresh_from_db()
    assert (shop_customer.channel.code, shop_customer.name, shop_customer.locale) == (
        "shopify-us", "Ada Shopify", "en_US")
    assert (amazon_customer.channel.code, amazon_customer.name) == ("amazon-us", "Bea Amazon")


def test_order_detail_shows_only_the_channels_customer(two_partners):
    shop, amazon, first, second = two_partners
    assert _customer_of(shop.get(f"/api/v1/orders/{first['id']}/").json())["name"] == "Ada Shopify"
    assert _customer_of(amazon.get(f"/api/v1/orders/{second['id']}/").json())["name"] == "Bea Amazon"
    assert amazon.get(f"/api/v1/orders/{first['id']}/").status_code == 404


def test_order_lists_and_the_sync_show_only_the_channels_customer(two_partners):
    shop, amazon, _first, _second = two_partners
    for client, name in ((shop, "Ada Shopify"), (amazon, "Bea Amazon")):
        for url in ("/api/v1/orders/?page_size=100",
                    "/api/v1/orders/?external_id=SHOP-1", "/api/v1/orders/?external_id=AMZ-1",
                    "/api/v1/orders/?updated_since=2000-01-01T00:00:00Z&page_size=100"):
            mine = [o for o in pull_all(client, url) if o["customer"]["email"].lower() == SHARED.lower()]
            assert {o["customer"]["name"] for o in mine} <= {name}, (url, mine)
        assert [o["customer"]["name"] for o in pull_all(client, "/api/v1/orders/?page_size=100")
                if o["customer"]["email"].lower() == SHARED.lower()] == [name]


def test_a_repeat_and_a_cancel_answer_with_the_channels_customer(two_partners):
    shop, amazon, first, second = two_partners
    again = amazon.post("/api/v1/orders/", order_body(
        "AMZ-1", channel="amazon-us", lines=[("CU-1", 1)],
        customer={"email": SHARED.lower(), "name": "Bea Amazon", "locale": "es_US"}), format="json")
    assert again.status_code == 200 and _customer_of(again.json())["name"] == "Bea Amazon"
    cancelled = shop.post(f"/api/v1/orders/{first['id']}/cancel/", {}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert _customer_of(cancelled.json())["name"] == "Ada Shopify"


def test_a_channels_next_order_for_the_address_reuses_its_own_customer(two_partners):
    shop, _amazon, first, _second = two_partners
    later = shop.post("/api/v1/orders/", order_body(
        "SHOP-2", lines=[("CU-1", 1)],
        customer={"email": SHARED.upper(), "name": "Someone Else", "locale": ""}), format="json")
    assert later.status_code == 201, later.content
    assert Order.objects.get(pk=later.json()["id"]).customer_id == Order.objects.get(pk=first["id"]).customer_id
    assert Customer.objects.filter(email__iexact=SHARED).count() == 2


def test_the_migration_splits_a_customer_shared_by_channels(reference):
    split = importlib.import_module("orders.migrations.0008_customers_split_per_channel")
    shop, amazon = Channel.objects.get(code="shopify-us"), Channel.objects.get(code="amazon-us")
    shared = CustomerFactory(email="both@example.com", name="Both", locale="de_DE")
    Customer.objects.filter(pk=shared.pk).update(channel=None)
    orphan = CustomerFactory(email="none@example.com")
    shop_orders = [OrderFactory(channel=shop, region=shop.region, customer=shared) for _ in range(2)]
    amazon_order = OrderFactory(channel=amazon, region=amazon.region, customer=shared)

    split.customers_split_per_channel(apps, None)

    shared.refresh_from_db()
    assert shared.channel == shop
    assert {o.customer_id for o in Order.objects.filter(pk__in=[o.pk for o in shop_orders])} == {shared.pk}
    copy = Order.objects.get(pk=amazon_order.pk).customer
    assert copy.pk != shared.pk
    assert (copy.channel, copy.email, copy.name, copy.locale, copy.region_id) == (
        amazon, "both@example.com", "Both", "de_DE", shared.region_id)
    orphan.refresh_from_db()
    assert orphan.channel is None
