"""The workflow tests count business days from a fixed Monday, whatever day the suite runs."""

from datetime import UTC, datetime

from tests.conftest import CLOCK_START


def test_the_clock_starts_on_the_fixed_monday():
    now = datetime.now(UTC)
    assert CLOCK_START <= now < CLOCK_START.replace(hour=CLOCK_START.hour + 1)
    assert CLOCK_START.weekday() == 0
