"""Fixtures of the notice tests."""

import pytest

from tests.factories.promises import backorder_line


@pytest.fixture
def slipped_us_line(db):
    """A US line with a short delay whose notice is held (nothing sent yet)."""
    from tests.workflow.steps import slip

    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=10)
    b.region.hold_notices_for_review = False
    b.region.save()
    return b


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
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
