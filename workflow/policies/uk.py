"""United Kingdom: Consumer Rights Act 2015 s.28; Consumer Contracts Regulations 2013."""

from __future__ import annotations

from typing import ClassVar

from .base import DeliveryPolicy, Region, SlipFacts

DEFAULT_DELIVERY = "CRA 2015 s.28(3)-(4)"
ESSENTIAL_DATE = "CRA 2015 s.28(6)"
ADDITIONAL_PERIOD = "CRA 2015 s.28(7)-(8)"
REIMBURSE = "CRA 2015 s.28(9)"
CANCELLATION = "CCR 2013 regs 29-31"
CANCELLATION_REFUND = "CCR 2013 reg 34"


class UKPolicy(DeliveryPolicy):
    """Apply CRA s.28: inform of the new delivery date and the consumer's rights."""

    region_code: ClassVar[Region] = "UK"
    line_right_action: ClassVar[str | None] = "cancel"
    refund_citations: ClassVar[tuple[str, ...]] = (CANCELLATION_REFUND, REIMBURSE)
    late_delivery_citations: ClassVar[tuple[str, ...]] = (DEFAULT_DELIVERY, ESSENTIAL_DATE, ADDITIONAL_PERIOD)

    @property
    def default_delivery_days(self) -> int:
        """Return 30 calendar days after the contract (CRA s.28(3))."""
        return self.rules.uk_default_delivery_days

    @property
    def refund_days(self) -> int:
        """Return 14 calendar days (CCR reg 34; CRA s.28(9) says without undue delay)."""
        return self.rules.uk_refund_days

    def citations(self, facts: SlipFacts, *, default_applied: bool) -> tuple[str, ...]:
        """Return the CRA sections and CCR regulations behind a delay notice."""
        cited = [DEFAULT_DELIVERY] if default_applied else []
        if facts.essential_date:
            cited.append(ESSENTIAL_DATE)  # treat the contract as at an end at once
        cited += [ADDITIONAL_PERIOD, REIMBURSE, CANCELLATION]
        return tuple(cited)
