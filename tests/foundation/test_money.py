"""One rounding rule for money: cents, half to even."""

from decimal import Decimal

import pytest

from core.money import money


@pytest.mark.parametrize(("value", "expected"), [
    ("2.005", "2.00"), ("2.015", "2.02"), ("2.025", "2.02"), ("-2.005", "-2.00"),
    (Decimal("19.999"), "20.00"), (3, "3.00"), ("0.1", "0.10"),
])
def test_amounts_round_to_cents_half_to_even(value, expected):
    assert money(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["ten", "", None, "NaN"])
def test_a_value_that_is_no_amount_is_refused(value):
    with pytest.raises(ValueError, match="not an amount"):
        money(value)
