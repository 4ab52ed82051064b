"""Shared fixtures: reference data, the seeded demo book, users."""

from datetime import UTC, datetime, time

import pytest
from django.conf import settings

from tests.factories.inventory import ChannelFactory, WarehouseFactory, region


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `postgres` on SQLite: they prove guarantees that need row locks."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty default cache: the admin's dashboard keeps its numbers
    for a minute, which would carry one test's book into the next (the live server of the
    browser tests shares this process's cache)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _regions_after_flush(request):
    """Recreate the migration's regions for transactional tests (their flush removes them)."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    import_module("inventory.migrations.0002_regions").create_regions(apps, None)
    import_module("inventory.migrations.0003_region_holiday_subdivision").holiday_subdivisions_set(
        apps, None
    )


@pytest.fixture
def us_warehouse(db):
    return WarehouseFactory(code="US-EAST", country="US", timezone="America/New_York", serves=["US"])


@pytest.fixture
def eu_warehouse(db):
    return WarehouseFactory(code="EU-CENTRAL", country="DE", holiday_subdivision="HE",
                            timezone="Europe/Berlin", serves=["EU"])


@pytest.fixture
def uk_warehouse(db):
    return WarehouseFactory(code="UK-MIDLANDS", country="GB", holiday_subdivision="ENG",
                            timezone="Europe/London", cutoff_time=time(15, 0), serves=["UK"])


@pytest.fixture
def us_channel(db):
    return ChannelFactory(code="shopify-us", region=region("US"))


@pytest.fixture
def seeded(db):
    """The small demo data set, promised."""
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", "--size", "small", "--seed", "7", "--no-progress", stdout=StringIO())


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_by_role(superuser, django_user_model):
    """The superuser and one staff user per role group of `manage.py setup_roles`, by role
    name ("superuser" for the superuser); each user's name is its role's, hyphenated."""
    from io import StringIO

    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from promises.roles import ROLE_NAMES

    call_command("setup_roles", stdout=StringIO())
    users = {"superuser": superuser}
    for role in ROLE_NAMES:
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="pw",
                                                     is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    return users


@pytest.fixture
def now():
    return datetime.now(UTC)


#: The moment date-sensitive tests start at: a Monday, mid-morning in New York, afternoon in
#: Europe, no public holiday near in any region. The clock ticks on from there.
CLOCK_START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    """Start the clock at CLOCK_START (time-machine), so business days never depend on the
    day the suite runs; a test may travel further itself."""
    import time_machine

    with time_machine.travel(CLOCK_START, tick=True) as traveller:
        yield traveller


#: Test packages whose dates are business days and legal deadlines: they start from
#: CLOCK_START; their modules whose workers run in other processes keep the machine's clock.
FIXED_DAY_PACKAGES = ("workflow", "notifications")
OWN_CLOCK = ("test_workers", "test_concurrency_pg")


@pytest.fixture(autouse=True)
def _dates_from_a_fixed_day(request):
    path = request.node.path
    if path.parent.name in FIXED_DAY_PACKAGES and path.stem not in OWN_CLOCK:
        request.getfixturevalue("frozen_clock")
    yield
