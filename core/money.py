"""Money: one rounding rule for every amount the project computes."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """Return an amount in cents, rounded half to even (banker's rounding, as card
    processors and accounting ledgers round); raise ValueError for a value that is no number."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
