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
