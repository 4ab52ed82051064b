"""United States: FTC Mail, Internet, or Telephone Order Merchandise Rule, 16 CFR Part 435."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import holidays

from .base import Measure, Region, RegionalPolicy, RegionRules, SlipDecision, SlipFacts

DEFAULT_PROMISE = "16 CFR 435.2(a)(1)(ii)"
OPTION_NOTICE = "16 CFR 435.2(b)(1)"
SILENCE_IS_CONSENT = "16 CFR 435.2(b)(1)(ii)"
EXPRESS_CONSENT = "16 CFR 435.2(b)(1)(iii)"
AUTO_CANCEL = "16 CFR 435.2(c)(2)"
RENEWED_NOTICE = "16 CFR 435.2(b)(2)"
RENEWED_CANCEL = "16 CFR 435.2(c)(3)"
PROMPT_REFUND = "16 CFR 435.1(b), (d)"


class USPolicy(RegionalPolicy):
    """Apply 16 CFR 435: measure shipment, seek consent to delays, cancel without it."""

    region_code: ClassVar[Region] = "US"
    measure: ClassVar[Measure] = "shipment"
    refund_citations: ClassVar[tuple[str, ...]] = (PROMPT_REFUND,)

    def __init__(self, rules: RegionRules | None = None) -> None:
        super().__init__(rules)
        # Federal holidays (5 U.S.C. 6103), observed days included; years load on demand.
        self._holidays = holidays.country_holidays("US")

    def default_promise(self, ordered_on: date, *, buyer_applied_for_credit: bool = False) -> date:
        """Return the order date plus 30 days, or 50 with a credit application (435.2(a)(1)(ii))."""
        days = (
            self.rules.us_default_ship_days_credit
            if buyer_applied_for_credit
            else self.rules.us_default_ship_days
        )
        return ordered_on + timedelta(days=days)

    def promised_date(self, facts: SlipFacts) -> tuple[date, bool]:
        """Return T: the ship date last communicated, or the default promise."""
        if facts.communicated_ship_date is not None:
            return facts.communicated_ship_date, False
        default = self.default_promise(
            facts.ordered_on, buyer_applied_for_credit=facts.buyer_applied_for_credit
        )
        return default, True

    def revised_date(self, facts: SlipFacts) -> date | None:
        """Return the revised ship date."""
        return facts.new_ship_date

    def decide(self, facts: SlipFacts) -> SlipDecision:
        """Return the option notice due by T and what the customer's silence means."""
        self._require_slip(facts)
        promised, default_applied = self.promised_date(facts)
        revised = self.revised_date(facts)
        if facts.delay_notices_sent >= 1:
            # 435.2(b)(2), (c)(3): T is the current revised date; silence never consents, and
            # without express consent the order is cancelled at that date.
            silence_is_consent = False
            citations = (RENEWED_NOTICE, RENEWED_CANCEL)
            cancel_on = promised
        else:
            short_limit = promised + timedelta(days=self.rules.us_silence_consent_max_delay_days)
            silence_is_consent = revised is not None and revised <= short_limit
            if silence_is_consent:
                citations = (OPTION_NOTICE, SILENCE_IS_CONSENT)  # 435.2(b)(1)(ii)
                cancel_on = None
            else:
                # 435.2(b)(1)(iii), (c)(2): long or indefinite first delay.
                citations = (OPTION_NOTICE, EXPRESS_CONSENT, AUTO_CANCEL)
                cancel_on = promised + timedelta(days=self.rules.us_auto_cancel_after_days)
        if facts.express_consent:
            cancel_on = None
        if default_applied:
            citations = (DEFAULT_PROMISE, *citations)
        return SlipDecision(
            region=self.region,
            notice_kind=self._notice_kind(facts),
            # 435.2(b)(1), (b)(2): no later than T; a notice after T counts as none.
            notice_due_by=promised,
            notice_overdue=facts.today > promised,
            measures=self.measures,
            promised_date=promised,
            revised_date=revised,
            default_promise_applied=default_applied,
            silence_is_consent=silence_is_consent,
            express_consent_required=not silence_is_consent,
            cancel_on=cancel_on,
            # 435.2(b)(1): every option notice lets the buyer cancel for a prompt refund.
            customer_may_terminate_now=True,
            customer_may_set_additional_period=False,
            citations=citations,
        )

    def refund_due_by(self, cancelled_on: date) -> date:
        """Return the 7th working day after cancellation (435.1(b), (d)): Mon-Fri, no holidays."""
        due = cancelled_on
        remaining = self.rules.us_refund_working_days
        while remaining:
            due += timedelta(days=1)
            if due.weekday() < 5 and due not in self._holidays:
                remaining -= 1
        return due

    def past_due(self, facts: SlipFacts) -> bool:
        """Return whether T passed unshipped with no delay notice sent (435.2(c)(5))."""
        # A missed revised date after a notice is handled by decide(): a renewed delay
        # always carries cancel_on = the current revised date (435.2(c)(3)).
        return (
            facts.delay_notices_sent == 0
            and self.is_slip(facts)
            and facts.today > self.promised_date(facts)[0]
        )
