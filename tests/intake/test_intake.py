"""Intake and available-to-promise: statuses, refusals, caps, idempotency, strategies."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.errors import BusinessRefusal, InvalidInput
from inventory.models import BackorderCap, StockLevel
from orders.models import Order, OrderLine
from promises.intake import CustomerInput, LineInput, OrderInput, available_to_promise, order_place
from promises.models import Promise, PromiseChange
from tests.factories.inventory import ChannelFactory, region
from tests.intake.helpers import MONDAY, place, us_pool

pytestmark = pytest.mark.django_db


def atp(sku, qty=1, **kw):
    return available_to_promise(sku=sku.code, channel="shopify-us", region="US", qty=qty, at=MONDAY, **kw)


def test_in_stock_answer_has_a_ship_date_in_days_and_a_us_label():
    sku, _, _ = us_pool(on_hand=3)
    answer = atp(sku)
    assert answer.status == "in_stock" and answer.can_order and answer.confirmed
    assert answer.ship_date == MONDAY.date() + timedelta(days=1)
    assert answer.label == f"In stock — ships Nov {answer.ship_date.day}"
    assert answer.delivery_from > answer.ship_date


def test_backorder_answer_is_promised_from_the_po_after_its_eta():
    sku, _, po = us_pool(on_hand=0)
    answer = atp(sku, qty=2)
    assert answer.status == "backorder" and answer.confirmed
    assert answer.ship_date > po.eta
    assert answer.sources == ({"kind": "purchase_order", "reference": po.number, "qty": 2,
                               "available_on": po.eta},)
    assert answer.label.startswith("Backorder — next batch ships ")


def test_preorder_sku_answers_preorder():
    sku, _, _ = us_pool(on_hand=0, preorder=True)
    answer = atp(sku)
    assert answer.status == "preorder" and answer.label.startswith("Pre-order — ships ")


def test_eu_and_uk_labels_are_localised_and_name_the_delivery_date(eu_warehouse, uk_warehouse):
    from inventory.models import StockLevel
    from tests.factories.inventory import SKUFactory

    sku = SKUFactory()
    ChannelFactory(code="shopify-eu", region=region("EU"))
    ChannelFactory(code="shopify-uk", region=region("UK"))
    StockLevel.objects.create(sku=sku, warehouse=eu_warehouse, on_hand=5)
    StockLevel.objects.create(sku=sku, warehouse=uk_warehouse, on_hand=5)
    de = available_to_promise(sku=sku.code, channel="shopify-eu", region="EU", qty=1, at=MONDAY)
    fr = available_to_promise(sku=sku.code, channel="shopify-eu", region="EU", qty=1, at=MONDAY,
                              locale="fr_FR")
    uk = available_to_promise(sku=sku.code, channel="shopify-uk", region="UK", qty=1, at=MONDAY)
    # 15:00 in Berlin is past the 14:00 cut-off: Tuesday is the order day, Wednesday ships
    assert de.label.startswith("Auf Lager – Versand am 18. Nov.") and "Lieferung bis" in de.label
    assert fr.label.startswith("En stock – expédié le 18 nov.") and "livré d’ici le" in fr.label
    assert uk.label.startswith("In stock — ships 17 Nov, delivered by ")


@pytest.mark.parametrize(("sku_fields", "stock", "po_qty", "qty", "reason"), [
    ({"backorder_allowed": False}, 1, 10, 2, "backorder_not_allowed"),
    ({}, 1, 0, 2, "no_supply"),
    ({}, 1, 5, 7, "no_supply"),
])
def test_refusals_are_explained_and_write_nothing(sku_fields, stock, po_qty, qty, reason):
    sku, _, _ = us_pool(on_hand=stock, po_qty=po_qty, **sku_fields)
    answer = atp(sku, qty=qty)
    assert not answer.can_order and answer.reason == reason and answer.ship_date is None
    with pytest.raises(BusinessRefusal) as refused:
        place(sku, qty=qty)
    assert refused.value.code == reason
    assert "lines[0].sku" in refused.value.errors
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_unknown_sku_is_an_answer_for_atp_and_a_refusal_for_intake():
    us_pool()
    answer = available_to_promise(sku="NOPE", channel="shopify-us", region="US", qty=1, at=MONDAY)
    assert answer.reason == "unknown_sku" and not answer.can_order
    with pytest.raises(BusinessRefusal) as refused:
        order_place(data=OrderInput(
            external_id="X1", channel="shopify-us", region="US", currency="USD",
            customer=CustomerInput(email="a@example.com", name="A"),
            lines=(LineInput(sku="NOPE", qty=1, unit_price=Decimal("1")),)))
    assert refused.value.code == "unknown_sku"


def test_sell_beyond_supply_gives_an_unconfirmed_lead_time_estimate():
    sku, _, _ = us_pool(on_hand=0, po_qty=0, sell_beyond_supply=True, lead_time_days=30)
    answer = atp(sku)
    assert answer.can_order and not answer.confirmed and answer.status == "backorder"
    assert answer.ship_date >= MONDAY.date() + timedelta(days=30)
    assert answer.label.startswith("Ships in ") and "business days" in answer.label
    order, _ = place(sku)
    promise = Promise.objects.get(line__order=order)
    assert not promise.confirmed and promise.rule == "estimate:lead_time"


def test_bad_input_names_each_field_and_writes_nothing():
    us_pool()
    with pytest.raises(InvalidInput) as invalid:
        order_place(data=OrderInput(
            external_id="", channel="nope", region="XX", currency="JPY",
            customer=CustomerInput(email="not-an-email", name=""),
            lines=(LineInput(sku="A", qty=0, unit_price=Decimal("-1")),)))
    assert set(invalid.value.errors) >= {"external_id", "channel", "region", "currency",
                                         "customer.email", "customer.name", "lines[0].qty",
                                         "lines[0].unit_price"}
    assert not Order.objects.exists()


def test_currency_must_match_the_region():
    sku, _, _ = us_pool()
    with pytest.raises(InvalidInput) as invalid:
        order_place(data=OrderInput(
            external_id="X", channel="shopify-us", region="US", currency="EUR",
            customer=CustomerInput(email="a@example.com", name="A"),
            lines=(LineInput(sku=sku.code, qty=1, unit_price=Decimal("1")),)))
    assert "currency" in invalid.value.errors


def test_reposting_the_same_external_id_returns_the_first_order_and_writes_nothing():
    sku, _, _ = us_pool(on_hand=3)
    first, created = place(sku, external_id="SAME")
    again, created_again = place(sku, external_id="SAME")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(BusinessRefusal) as conflict:
        place(sku, external_id="SAME", qty=2)
    assert conflict.value.code == "idempotency_conflict" and "lines" in conflict.value.errors
    assert OrderLine.objects.count() == 1


def test_a_repeat_returns_the_first_order_even_where_the_order_would_now_be_refused():
    sku, _, _ = us_pool(on_hand=1, po_qty=0)  # sold from stock only once the unit is gone
    sku.backorder_allowed = False
    sku.save()
    first, _ = place(sku, external_id="ONLY-ONE")
    with pytest.raises(BusinessRefusal) as refused:
        place(sku, external_id="ANOTHER")
    assert refused.value.code == "backorder_not_allowed"
    again, created = place(sku, external_id="ONLY-ONE")
    assert not created and again.pk == first.pk
    assert OrderLine.objects.count() == 1


def test_an_order_on_a_pool_without_its_stock_row_creates_the_row_and_is_promised_from_the_po():
    sku, warehouse, po = us_pool(on_hand=0, po_qty=5)
    StockLevel.objects.filter(sku=sku, warehouse=warehouse).delete()
    order, created = place(sku, qty=2)
    assert created and StockLevel.objects.filter(sku=sku, warehouse=warehouse, on_hand=0).exists()
    promise = Promise.objects.get(line__order=order)
    assert promise.confirmed and [s["po_line"] for s in promise.sources] == [po.lines.get().pk]


def test_a_returning_customer_is_found_whatever_the_case_of_the_address():
    from orders.models import Customer

    sku, _, _ = us_pool(on_hand=5)
    first, _ = place(sku, email="Jo.Doe@Example.com")
    second, _ = place(sku, email="jo.doe@example.COM")
    assert first.customer_id == second.customer_id and Customer.objects.count() == 1
    assert Customer.objects.get().email == "Jo.Doe@Example.com"


def test_a_customer_is_found_or_created_with_what_the_first_order_gave():
    from orders.models import Customer
    from promises.intake import CustomerInput, _customer

    sku, _, _ = us_pool(on_hand=5)
    first, _ = place(sku, email="Ann@Example.com")
    customer = Customer.objects.get()
    assert (customer.channel, customer.region, customer.locale) == (first.channel, first.region, "en_US")
    known = _customer(CustomerInput(email="ann@example.com", name="Other name", locale="fr_FR"),
                      first.region, first.channel)
    # Found as it was stored, unchanged by what a later order says.
    assert (known.pk, known.email, known.name, known.locale) == (customer.pk, "Ann@Example.com",
                                                                 customer.name, "en_US")
    assert Customer.objects.get().name == customer.name
    created = _customer(CustomerInput(email="bo@example.com", name="Bo", locale="de_DE"),
                        first.region, first.channel)
    assert created.pk == Customer.objects.get(email="bo@example.com").pk
    assert (created.name, created.locale, created.channel_id, created.region_id) == (
        "Bo", "de_DE", first.channel_id, first.region_id)
    # A known customer costs no insert, so no number of the sequence either.
    assert created.pk == customer.pk + 1


def test_quantity_cap_counts_open_backorders_in_its_scope():
    sku, _, _ = us_pool(on_hand=1, po_qty=20)
    cap = BackorderCap.objects.create(sku=sku, max_backorder_qty=3)
    place(sku, qty=1)  # from stock: no backorder
    place(sku, qty=2)  # 2 backordered
    assert atp(sku, qty=2).reason == f"cap_exceeded:{cap.pk}"
    with pytest.raises(BusinessRefusal) as refused:
        place(sku, qty=2)
    assert refused.value.code == "cap_exceeded" and f"#{cap.pk}" in refused.value.message
    place(sku, qty=1)  # exactly at the cap
    assert OrderLine.objects.count() == 3


def test_channel_cap_spans_skus_and_other_channels_are_free():
    sku, _, _ = us_pool(on_hand=0, po_qty=20)
    amazon = ChannelFactory(code="amazon-us", region=region("US"))
    BackorderCap.objects.create(channel=amazon, max_backorder_qty=1)
    place(sku, qty=1, channel="amazon-us")
    with pytest.raises(BusinessRefusal):
        place(sku, qty=1, channel="amazon-us")
    place(sku, qty=5)  # shopify-us is outside the cap


def test_horizon_cap_refuses_promises_too_far_out():
    sku, _, _ = us_pool(on_hand=0, po_qty=10, po_eta_days=40)
    BackorderCap.objects.create(region=region("US"), max_promise_days=30)
    answer = atp(sku)
    assert answer.reason == "beyond_horizon" and not answer.can_order
    with pytest.raises(BusinessRefusal) as refused:
        place(sku)
    assert refused.value.code == "beyond_horizon"


def test_inactive_cap_is_ignored():
    sku, _, _ = us_pool(on_hand=0, po_qty=10)
    BackorderCap.objects.create(sku=sku, max_backorder_qty=0, active=False)
    assert atp(sku).can_order


def test_a_later_order_never_takes_stock_promised_to_an_earlier_one_from_a_higher_priority_channel():
    sku, _, _ = us_pool(on_hand=1, po_qty=10)
    ChannelFactory(code="amazon-us", region=region("US"), priority=10)
    shopify, _ = place(sku)
    amazon, _ = place(sku, channel="amazon-us", now=MONDAY + timedelta(minutes=5))
    assert Promise.objects.get(line__order=shopify).stock_qty == 1
    assert Promise.objects.get(line__order=amazon).stock_qty == 0
    assert not PromiseChange.objects.exists()


def test_win_order_takes_stock_from_an_earlier_order_and_records_why():
    sku, _, _ = us_pool(on_hand=1, po_qty=10)
    ChannelFactory(code="amazon-us", region=region("US"), priority=10, strategy="win")
    shopify, _ = place(sku)
    before = Promise.objects.get(line__order=shopify).ship_date
    amazon, _ = place(sku, channel="amazon-us", now=MONDAY + timedelta(minutes=5))
    assert Promise.objects.get(line__order=amazon).stock_qty == 1
    bumped = Promise.objects.get(line__order=shopify)
    assert bumped.stock_qty == 0 and bumped.ship_date > before
    change = PromiseChange.objects.get()
    assert change.cause == PromiseChange.Cause.NEW_ORDER and change.line == bumped.line


def test_placed_promises_count_as_communicated():
    sku, _, _ = us_pool()
    order, _ = place(sku)
    promise = Promise.objects.get(line__order=order)
    assert promise.communicated_ship_date == promise.ship_date
    assert promise.communicated_delivery_to == promise.delivery_to


def test_an_order_accepted_on_an_estimate_lands_in_the_exception_queue_without_a_notice():
    from promises.models import OrderException

    sku, _, _ = us_pool(on_hand=0, po_qty=0, sell_beyond_supply=True)
    order, _ = place(sku)
    exception = OrderException.objects.get(line__order=order)
    assert exception.kind == OrderException.Kind.NO_CONFIRMED_SUPPLY
    assert exception.status == OrderException.Status.OPEN


def test_intake_judges_an_estimate_as_a_later_assessment_would_without_reading_what_new_lines_lack():
    """The lines of an order being placed have no notice, consent or exception yet: intake's
    assessment reads none of them, and assessing the lines again once placed changes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.models import Notice
    from promises.models import OrderException
    from workflow.assessment import lines_assess

    sku, _, _ = us_pool(on_hand=0, po_qty=0, sell_beyond_supply=True)
    with CaptureQueriesContext(connection) as placing:
        order, _ = place(sku)
    statements = [q["sql"] for q in placing.captured_queries]
    assert not [sql for sql in statements if "promises_delayconsent" in sql]
    assert not [sql for sql in statements if sql.startswith("SELECT") and "promises_orderexception" in sql]
    assert not [sql for sql in statements if sql.startswith("UPDATE") and "notifications_notice" in sql]
    # Its exception is inserted without a savepoint: no other transaction can raise it first.
    exception_insert = next(i for i, sql in enumerate(statements)
                            if sql.startswith("INSERT") and "promises_orderexception" in sql)
    assert not statements[exception_insert - 1].startswith("SAVEPOINT")
    exceptions = list(OrderException.objects.filter(line__order=order).values())
    notices = list(Notice.objects.filter(order=order).values())
    assert [e["kind"] for e in exceptions] == [OrderException.Kind.NO_CONFIRMED_SUPPLY]

    line = order.lines.get()
    assert [a.outcome for a in lines_assess(line_ids=[line.pk], now=MONDAY)] == ["back_on_time"]
    assert list(OrderException.objects.filter(line__order=order).values()) == exceptions
    assert list(Notice.objects.filter(order=order).values()) == notices
