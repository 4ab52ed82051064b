"""A customer's locale is checked where it enters, and a stored one never breaks a read."""

from importlib import import_module

import pytest
from django.apps import apps

from orders.models import Customer, Order
from tests.api.conftest import order_body
from tests.api.test_auth import error_of

pytestmark = pytest.mark.django_db


def test_an_unknown_locale_is_refused_naming_the_field_and_nothing_is_written(us_client, make_sku):
    make_sku("LOC-1", stock=5)
    before = Order.objects.count()
    body = order_body(lines=[("LOC-1", 1)])
    body["customer"]["locale"] = "xx_YY"
    response = us_client.post("/api/v1/orders/", body, format="json")
    error = error_of(response, 400, "invalid")
    assert "customer.locale" in error["errors"] and "xx_YY" in error["errors"]["customer.locale"][0]
    assert Order.objects.count() == before


def test_a_locale_is_kept_in_its_normal_form(us_client, make_sku):
    make_sku("LOC-2", stock=5)
    body = order_body(external_id="LOC-2", lines=[("LOC-2", 1)])
    body["customer"]["locale"] = "de-de"
    response = us_client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["locale"] == "de_DE"


def test_availability_refuses_an_unknown_locale(us_client, make_sku):
    make_sku("LOC-3", stock=5)
    response = us_client.get("/api/v1/availability/", {"sku": "LOC-3", "channel": "shopify-us",
                                                        "locale": "xx_YY"})
    assert "locale" in error_of(response, 400, "invalid")["errors"]


def test_a_bad_stored_locale_reads_in_english_and_the_migration_repairs_it(us_client, make_sku):
    # Given an order whose customer was stored with a locale no language tag names
    make_sku("LOC-4", stock=5)
    response = us_client.post("/api/v1/orders/", order_body(external_id="LOC-4", lines=[("LOC-4", 1)]),
                              format="json")
    customer = Customer.objects.get(pk=Order.objects.get(pk=response.json()["id"]).customer_id)
    Customer.objects.filter(pk=customer.pk).update(locale="xx_YY")
    # Then reading it still works, its label in English
    body = us_client.get(f"/api/v1/orders/{response.json()['id']}/").json()
    assert body["lines"][0]["promise"]["label"].startswith("In stock")
    assert us_client.get("/api/v1/orders/").status_code == 200
    # And the data migration sets it to the region's locale
    import_module("orders.migrations.0006_customer_locales_repaired").locales_repair(apps, None)
    customer.refresh_from_db()
    assert customer.locale == "en_US"
