"""Fixtures of the regional workflow tests."""

import pytest


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks enqueued on commit, as the django-q2 worker (sync in tests) would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


#: Test modules whose workers run in other processes, on the machine's own clock.
OWN_CLOCK = ("test_workers", "test_concurrency_pg")


@pytest.fixture(autouse=True)
def _dates_from_a_fixed_day(request):
    """Dates here are business days and legal deadlines: they start from a fixed Monday."""
    if request.module.__name__.rsplit(".", 1)[-1] in OWN_CLOCK:
        yield
        return
    request.getfixturevalue("frozen_clock")
    yield
