"""Timestamps read through psycopg's C loader give what Django's own loader gives."""

import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from core.timestamps import c_loader_applies
from orders.models import Order
from tests.factories.orders import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Microseconds, both edges of a DST change elsewhere, before 1970 and 1900, the last
# representable second, leap day.
MOMENTS = [
    "2026-03-29 00:59:59.999999+00", "2026-03-29 01:00:00+00", "2026-10-25 00:30:00.5+00",
    "1969-12-31 23:59:59.000001+00", "1899-06-01 12:00:00+00", "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00", "2028-02-29 12:34:56.789+00", "2026-12-07 09:00:00+05:30",
]


def _read(cursor):
    cursor.execute("SELECT unnest(%s::timestamptz[])", [MOMENTS])
    return [row[0] for row in cursor.fetchall()]


def test_a_connection_reads_timestamps_with_psycopgs_c_loader():
    import psycopg
    from psycopg.pq import Format

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        loader = cursor.cursor._tx.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)
    assert not type(loader).__module__.startswith(("psycopg.", "django."))
    assert type(loader).__name__ == "TimestamptzLoader"


def test_the_values_equal_djangos_loaders():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        fast = _read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's own, on this cursor
        django = _read(cursor)
    assert fast == django
    assert all(value.tzinfo is datetime.UTC for value in fast)
    assert [v.isoformat() for v in fast[:2]] == ["2026-03-29T00:59:59.999999+00:00", "2026-03-29T01:00:00+00:00"]
    assert fast[-1] == datetime.datetime(2026, 12, 7, 3, 30, tzinfo=datetime.UTC)


def test_models_read_back_what_they_wrote():
    placed = timezone.now().replace(microsecond=123456)
    order = OrderFactory(placed_at=placed)
    assert Order.objects.values_list("placed_at", flat=True).get(pk=order.pk) == placed
    assert list(Order.objects.filter(pk=order.pk).iterator(chunk_size=10))[0].placed_at == placed


@pytest.mark.parametrize(("tz", "session", "applies"), [
    (datetime.UTC, "UTC", True),
    (ZoneInfo("Europe/Paris"), "Europe/Paris", False),  # a database TIME_ZONE of its own
    (datetime.UTC, "Europe/Paris", False),  # a session whose time zone was changed
    (None, "UTC", False),  # USE_TZ off: Django wants naive datetimes
])
def test_the_c_loader_only_where_it_gives_djangos_values(tz, session, applies):
    info = SimpleNamespace(parameter_status=lambda name: session)
    fake = SimpleNamespace(vendor="postgresql", timezone=tz, connection=SimpleNamespace(info=info))
    assert c_loader_applies(fake) is applies
