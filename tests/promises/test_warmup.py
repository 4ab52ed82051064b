"""A fresh worker process loads its holiday calendars before its first task."""

from datetime import date

import pytest
from django.db import DatabaseError
from django_q.signals import post_spawn

from promises import calendar
from tests.factories.inventory import WarehouseFactory

pytestmark = pytest.mark.django_db


def test_a_spawned_worker_loads_this_and_next_years_holidays_of_every_warehouse_and_region():
    WarehouseFactory(code="UK-MIDLANDS", country="GB", timezone="Europe/London", holiday_subdivision="ENG")
    calendar._holiday_dates.cache_clear()
    post_spawn.send(sender="django_q", proc_name="Process-1:1")
    loaded = {(c, s, y) for (c, s, y) in _cached_keys()}
    year = date.today().year
    for key in [("GB", "ENG", year), ("GB", "ENG", year + 1)]:
        assert key in loaded
    assert {country for country, _, _ in loaded} >= {"GB", "US"}  # the warehouse's and the US region's


def test_a_database_that_cannot_be_read_leaves_the_worker_cold_but_starting(monkeypatch):
    from inventory.models import Region
    from promises.warmup import worker_warm

    def unreadable(*args, **kwargs):
        raise DatabaseError("the database is starting up")

    monkeypatch.setattr(Region.objects, "all", unreadable)
    assert worker_warm() >= 0  # logged, not raised


def _cached_keys():
    # functools.lru_cache keeps no public key list: ask it for each plausible key instead.
    year = date.today().year
    found = []
    for country, subdivision in [("US", None), ("DE", None), ("GB", "ENG"), ("GB", None)]:
        for y in (year, year + 1):
            hits = calendar._holiday_dates.cache_info().hits
            calendar._holiday_dates(country, subdivision, y)
            if calendar._holiday_dates.cache_info().hits > hits:
                found.append((country, subdivision, y))
    return found
