"""OrderSync: the partner-sync clock the database keeps equal to each order's updated_at,
and that a re-promise moves on its own."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Order, OrderSync
from promises.services import pools_repromise_all
from tests.factories.orders import OrderFactory
from tests.factories.promises import backorder_line

pytestmark = pytest.mark.django_db


def sync_of(order):
    return OrderSync.objects.get(order_id=order.pk)


def test_an_order_created_through_the_orm_gets_its_clock():
    order = OrderFactory()
    sync = sync_of(order)
    assert (sync.updated_at, sync.channel_id) == (order.updated_at, order.channel_id)


def test_orders_bulk_created_or_inserted_in_sql_get_theirs_too():
    template = OrderFactory()
    fields = {f.attname: getattr(template, f.attname) for f in Order._meta.concrete_fields
              if f.attname not in ("id", "external_id")}
    bulk = Order.objects.bulk_create([Order(**fields, external_id=f"BULK-{i}") for i in range(3)])
    for order in bulk:
        assert sync_of(order).updated_at == order.updated_at
    table = Order._meta.db_table
    columns = ", ".join(c for c in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}, external_id) "
                       f"SELECT {columns}, 'RAW-1' FROM {table} WHERE id = %s", [template.pk])
    raw = Order.objects.get(external_id="RAW-1")
    assert sync_of(raw).updated_at == raw.updated_at


def test_a_later_updated_at_is_copied_and_other_changes_are_not():
    order = OrderFactory()
    later = order.updated_at + timedelta(minutes=5)
    Order.objects.filter(pk=order.pk).update(updated_at=later)
    assert sync_of(order).updated_at == later
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)  # updated_at unchanged
    assert sync_of(order).updated_at == later


def test_the_clock_never_moves_back():
    # A change stamped before the clock (its transaction began before a re-promise that
    # committed first) leaves the clock where it is: partners keep the newest copy.
    order = OrderFactory()
    ahead = order.updated_at + timedelta(minutes=5)
    OrderSync.objects.filter(order_id=order.pk).update(updated_at=ahead)  # as a re-promise does
    Order.objects.filter(pk=order.pk).update(updated_at=order.updated_at + timedelta(minutes=1))
    assert sync_of(order).updated_at == ahead
    from promises.services import promises_write

    promises_write([], [], [], touched_orders=[order.pk])  # a re-promise stamps now, before `ahead`
    assert sync_of(order).updated_at == ahead


def test_the_channel_of_an_order_is_copied():
    order = OrderFactory()
    other = OrderFactory().channel
    Order.objects.filter(pk=order.pk).update(channel=other, updated_at=order.updated_at + timedelta(seconds=1))
    assert sync_of(order).channel_id == other.pk


def test_deleting_an_order_deletes_its_clock():
    order = OrderFactory()
    order.delete()
    assert not OrderSync.objects.filter(order_id=order.pk).exists()


def test_a_repromise_moves_the_clock_partners_sync_on_not_the_order_row(make_client):
    b = backorder_line("US", eta_days=14)
    before_row = Order.objects.get(pk=b.order.pk).updated_at
    before_sync = sync_of(b.order).updated_at
    b.po.eta = timezone.localdate() + timedelta(days=60)
    b.po.save()
    started = timezone.now()
    pools_repromise_all(cause="manual", sku_ids=[b.line.sku_id])
    assert Order.objects.get(pk=b.order.pk).updated_at == before_row
    moved = sync_of(b.order).updated_at
    assert moved > before_sync and moved >= started

    client = make_client(channels=[b.channel.code])
    got = client.get("/api/v1/orders/", {"updated_since": started.isoformat()}).json()["results"]
    assert [o["id"] for o in got] == [b.order.pk]
    assert got[0]["updated_at"].replace("Z", "+00:00") == moved.isoformat()


def test_a_repromise_that_changes_nothing_leaves_the_clock():
    b = backorder_line("US", eta_days=14)
    before = sync_of(b.order).updated_at
    pools_repromise_all(cause="manual", sku_ids=[b.line.sku_id])
    assert sync_of(b.order).updated_at == before
