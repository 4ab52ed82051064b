"""United States: FTC Mail, Internet, or Telephone Order Merchandise Rule, 16 CFR Part 435."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import holidays

from .base import Measure, Region, RegionalPolicy, RegionRules, SlipDecision, SlipFacts

DEFAULT_PROMISE = "16 CFR 435.2(a)(1)(ii)"
DEFAULT_PROMISE_CREDIT = "16 CFR 435.2(a)(2)"
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
    late_notice_cancels: ClassVar[bool] = True
    refund_citations: ClassVar[tuple[str, ...]] = (PROMPT_REFUND,)

    def __init__(self, rules: RegionRules | None = None) -> None:
        super().__init__(rules)
        # Federal holidays (5 U.S.C. 6103), observed days included; years load on demand.
        self._holidays = holidays.country_holidays("US")

    def default_promise(self, ordered_on: date, *, buyer_applied_for_credit: bool = False) -> date:
        """Return the order date plus 30 days (435.2(a)(1)(ii)), or 50 when the buyer applied
        to the seller for credit to pay (435.2(a)(2))."""
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

    def agreed_date(self, facts: SlipFacts) -> date:
        """Return the ship-by date the customer holds the seller to: the date told at
        checkout (or the default), moved only by the customer's agreement to a later one."""
        return facts.agreed_ship_date or self.promised_date(facts)[0]

    def decide(self, facts: SlipFacts) -> SlipDecision:
        """Return the option notice, its deadline and the automatic-cancellation date.

        The cancellation date is fixed by the first deadline the customer has not expressly
        extended; a later slip, creeping or not, never moves it:
        - first delay past the agreed date A: by A; silence consents to a revised date up to
          A + 30 days (435.2(b)(1)(ii)), a later or unknown one is cancelled after A + 30
          unless the customer expressly consents (435.2(b)(1)(iii), (c)(2));
        - a delay past A after an earlier notice: a renewed notice by A, cancelled after A
          unless the customer expressly consents (435.2(b)(2), (c)(3));
        - a delay that already has a cancellation date: the new date is told, the date stands;
        - the customer expressly agreed to wait with no date: the new estimate is told, no
          cancellation; the customer may still cancel until the line ships.
        """
        self._require_slip(facts)
        told, default_applied = self.promised_date(facts)
        agreed = self.agreed_date(facts)
        revised = self.revised_date(facts)
        within_agreement = revised is not None and revised <= agreed
        notice_due_by, fixed = agreed, False
        if facts.agreed_open_ended or within_agreement or facts.express_consent:
            # Nothing the customer has not agreed to: the notice informs; silence keeps the order.
            silence_is_consent, cancel_on = True, None
            if facts.agreed_open_ended:
                citations, notice_due_by = (OPTION_NOTICE,), max(agreed, facts.today)
            else:
                citations = (OPTION_NOTICE, SILENCE_IS_CONSENT)
        elif facts.auto_cancel_on is not None:
            silence_is_consent, cancel_on, fixed = False, facts.auto_cancel_on, True
            citations = (OPTION_NOTICE, EXPRESS_CONSENT, AUTO_CANCEL)
            notice_due_by = facts.auto_cancel_on
        elif facts.delay_notices_sent >= 1:
            silence_is_consent, cancel_on = False, agreed  # 435.2(b)(2), (c)(3)
            citations = (RENEWED_NOTICE, RENEWED_CANCEL)
        else:
            short_limit = agreed + timedelta(days=self.rules.us_silence_consent_max_delay_days)
            silence_is_consent = revised is not None and revised <= short_limit
            if silence_is_consent:
                citations, cancel_on = (OPTION_NOTICE, SILENCE_IS_CONSENT), None  # 435.2(b)(1)(ii)
            else:
                # 435.2(b)(1)(iii), (c)(2): long or indefinite first delay.
                citations = (OPTION_NOTICE, EXPRESS_CONSENT, AUTO_CANCEL)
                cancel_on = agreed + timedelta(days=self.rules.us_auto_cancel_after_days)
        if default_applied:
            rule = DEFAULT_PROMISE_CREDIT if facts.buyer_applied_for_credit else DEFAULT_PROMISE
            citations = (rule, *citations)
        return SlipDecision(
            region=self.region,
            notice_kind=self._notice_kind(facts),
            # 435.2(b)(1), (b)(2): no later than the date the customer holds the seller to; a
            # notice after it counts as none.
            notice_due_by=notice_due_by,
            notice_overdue=facts.today > notice_due_by,
            measures=self.measures,
            promised_date=told,
            revised_date=revised,
            default_promise_applied=default_applied,
            silence_is_consent=silence_is_consent,
            express_consent_required=not silence_is_consent,
            cancel_on=cancel_on,
            # 435.2(b)(1): every option notice lets the buyer cancel for a prompt refund, and a
            # buyer who agreed to an indefinite delay keeps that right until shipment.
            customer_may_terminate_now=True,
            customer_may_set_additional_period=False,
            consented_open_ended=facts.agreed_open_ended,
            fixed_deadline=fixed,
            citations=citations,
        )

    def auto_cancel_on(self, facts: SlipFacts, decision: SlipDecision | None) -> date | None:
        """Return the cancellation date to keep: the decision's while the line slips past
        what the customer agreed to; none once the promise is back within the agreed date."""
        if decision is not None:
            return decision.cancel_on
        if facts.new_ship_date is not None and facts.new_ship_date <= self.agreed_date(facts):
            return None
        return facts.auto_cancel_on

    def agreed_after_notice(self, agreed: date | None, *, silence_is_consent: bool,
                            revised: date | None) -> date | None:
        """Return the agreed date once a notice went out: a revised date the customer accepts
        by silence (a first delay of 30 days or less, 435.2(b)(1)(ii)) becomes the one the
        customer holds the seller to; nothing else a notice says moves it."""
        if silence_is_consent and revised is not None and (agreed is None or revised > agreed):
            return revised
        return agreed

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
        """Return whether the agreed date passed unshipped with no delay notice (435.2(c)(5))."""
        # A delay that was told is handled by decide(): its cancel_on is fixed.
        return (
            facts.delay_notices_sent == 0
            and not facts.agreed_open_ended
            and self.is_slip(facts)
            and facts.today > self.agreed_date(facts)
        )
