"""A fresh worker process loads its holiday calendars before its first task."""

from datetime import date

import pytest
from django.db import DatabaseError
from django_q.signals import post_spawn

from promises import calendar
from tests.factories.inventory import WarehouseFactory

pytestmark = pytest.mark.django_db


def _loaded(country, subdivision, year) -> bool:
    # A cached key answers without a miss (lru_cache keeps no public list of its keys).
    misses = calendar._holiday_dates.cache_info().misses
    calendar._holiday_dates(country, subdivision, year)
    return calendar._holiday_dates.cache_info().misses == misses


def test_a_spawned_worker_loads_this_and_next_years_holidays_of_every_warehouse_and_region():
    from inventory.models import Region

    WarehouseFactory(code="EU-CENTRAL", country="DE", timezone="Europe/Berlin", holiday_subdivision="HE")
    calendar._holiday_dates.cache_clear()
    post_spawn.send(sender="django_q", proc_name="Process-1:1")
    year = date.today().year
    wanted = [("DE", "HE", y) for y in (year, year + 1)]
    wanted += [(r.holiday_country, r.holiday_subdivision or None, y)
               for r in Region.objects.all() for y in (year, year + 1)]
    assert ("GB", "ENG", year) in wanted and ("US", None, year) in wanted
    assert [key for key in wanted if not _loaded(*key)] == []


@pytest.mark.parametrize("error", [DatabaseError("the database is starting up"),
                                   KeyError("a timezone nobody knows")])
def test_no_error_stops_a_worker_at_spawn(monkeypatch, error):
    from inventory.models import Region
    from workflow.warmup import worker_warm

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(Region.objects, "all", failing)
    assert worker_warm() >= 0  # logged, not raised
