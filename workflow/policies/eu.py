"""European Union: Consumer Rights Directive 2011/83/EU, as amended by Directive 2023/2673."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from .base import DeliveryPolicy, Region, SlipFacts

DEFAULT_DELIVERY = "Directive 2011/83/EU Art. 18(1)"
ADDITIONAL_PERIOD = "Directive 2011/83/EU Art. 18(2) ¶1"
ESSENTIAL_DATE = "Directive 2011/83/EU Art. 18(2) ¶2"
REIMBURSE = "Directive 2011/83/EU Art. 18(3)"
WITHDRAWAL = "Directive 2011/83/EU Art. 9"
WITHDRAWAL_REFUND = "Directive 2011/83/EU Art. 13"
WITHDRAWAL_BUTTON = "Directive 2011/83/EU Art. 11a (Directive (EU) 2023/2673)"


class EUPolicy(DeliveryPolicy):
    """Apply Art. 18: inform of the new delivery date and the consumer's rights."""

    region_code: ClassVar[Region] = "EU"
    line_right_action: ClassVar[str | None] = "withdraw"
    refund_citations: ClassVar[tuple[str, ...]] = (WITHDRAWAL_REFUND, REIMBURSE)
    late_delivery_citations: ClassVar[tuple[str, ...]] = (DEFAULT_DELIVERY, ADDITIONAL_PERIOD, ESSENTIAL_DATE)

    @property
    def default_delivery_days(self) -> int:
        """Return 30 calendar days from the contract (Art. 18(1))."""
        return self.rules.eu_default_delivery_days

    @property
    def refund_days(self) -> int:
        """Return 14 calendar days (Art. 13; Art. 18(3) says without undue delay)."""
        return self.rules.eu_refund_days

    def withdrawal_button(self, today: date) -> bool:
        """Return whether the "withdraw from contract here" function applies (Art. 11a)."""
        return today >= self.rules.eu_withdrawal_button_from

    def citations(self, facts: SlipFacts, *, default_applied: bool) -> tuple[str, ...]:
        """Return the Directive articles behind a delay notice."""
        cited = [DEFAULT_DELIVERY] if default_applied else []
        cited.append(ADDITIONAL_PERIOD)  # the consumer may set a period, then terminate
        if facts.essential_date:
            cited.append(ESSENTIAL_DATE)  # terminate at once
        cited += [REIMBURSE, WITHDRAWAL]
        if self.withdrawal_button(facts.today):
            cited.append(WITHDRAWAL_BUTTON)
        return tuple(cited)
