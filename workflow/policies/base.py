"""Shared types and the policy interface for regional delay notices (pure Python)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import ClassVar, Literal

Region = Literal["US", "EU", "UK"]
Measure = Literal["shipment", "delivery"]
NoticeKind = Literal["delay_notice", "renewed_delay_notice"]


@dataclass(frozen=True)
class RegionRules:
    """Hold every regional number; defaults follow docs/regional-rules.md."""

    us_default_ship_days: int = 30  # 16 CFR 435.2(a)(1)(ii)
    us_default_ship_days_credit: int = 50  # 16 CFR 435.2(a)(2): the buyer applied for credit
    us_silence_consent_max_delay_days: int = 30  # 16 CFR 435.2(b)(1)(ii)
    us_auto_cancel_after_days: int = 30  # 16 CFR 435.2(b)(1)(iii), (c)(2)
    us_refund_working_days: int = 7  # 16 CFR 435.1(b), (d)
    eu_default_delivery_days: int = 30  # Directive 2011/83/EU Art. 18(1)
    eu_refund_days: int = 14  # Directive 2011/83/EU Art. 13, 18(3)
    uk_default_delivery_days: int = 30  # CRA 2015 s.28(3)
    uk_refund_days: int = 14  # CCR 2013 reg 34, CRA 2015 s.28(9)
    withdrawal_days: int = 14  # Directive 2011/83/EU Art. 9; CCR 2013 regs 29-31
    eu_withdrawal_button_from: date = date(2026, 6, 19)  # Art. 11a (Directive 2023/2673)

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int) and value < 0:
                raise ValueError(f"RegionRules.{field.name} must not be negative: {value}")


@dataclass(frozen=True)
class SlipFacts:
    """Describe one order line whose promised date slips."""

    ordered_on: date  # contract date (order placed)
    communicated_ship_date: date | None  # US T: ship date last communicated (None = none stated)
    communicated_delivery_to: date | None  # EU/UK: latest delivery date last communicated
    new_ship_date: date | None  # revised ship date; None = unknown (indefinite)
    new_delivery_to: date | None  # revised latest delivery date; None = unknown
    today: date
    essential_date: bool = False  # EU Art. 18(2)¶2 / CRA s.28(6): flagged at intake
    delay_notices_sent: int = 0  # delay notices already sent for this line (0 = first delay)
    express_consent: bool = False  # the customer expressly consented to this slip's revised date
    buyer_applied_for_credit: bool = False  # US 435.2(a)(2): 50 days instead of 30
    # US: the ship-by date the customer holds the seller to (None: the date told), whether the
    # customer expressly agreed to wait with no date, and an automatic-cancellation date
    # already fixed for a delay that awaits express consent (later slips never move it).
    agreed_ship_date: date | None = None
    agreed_open_ended: bool = False
    auto_cancel_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class SlipDecision:
    """State what a slip makes due, by when, and under which rules."""

    region: Region
    notice_kind: NoticeKind
    notice_due_by: date
    notice_overdue: bool  # today is past notice_due_by
    measures: Measure
    promised_date: date  # T: the date last communicated, or the default promise
    revised_date: date | None  # the new ship (US) or delivery (EU/UK) date; None = unknown
    default_promise_applied: bool
    silence_is_consent: bool
    express_consent_required: bool
    cancel_on: date | None  # US: cancelled at the end of this day unless shipped or consented
    # to; always None in EU/UK, where only the customer ends the contract
    customer_may_terminate_now: bool
    customer_may_set_additional_period: bool
    withdrawal_button: bool = False  # EU Art. 11a: offer "withdraw from contract here"
    consented_open_ended: bool = False  # US: the customer already agreed to wait with no date
    fixed_deadline: bool = False  # US: cancel_on was fixed by an earlier delay, not by this one
    withdrawal_days: int | None = None  # EU Art. 9 / CCR regs 29-31; None in the US
    citations: tuple[str, ...] = ()


class RegionalPolicy(ABC):
    """Turn a slipped order line into what is due and by when, for one region."""

    region_code: ClassVar[Region]
    measure: ClassVar[Measure]
    #: Whether a line the customer was not told of in time counts as cancelled (US
    #: 435.2(c)(5)); elsewhere a late notice is still sent and the contract goes on.
    late_notice_cancels: ClassVar[bool] = False
    refund_citations: ClassVar[tuple[str, ...]]  # the rules behind refund_due_by
    #: The consent-page action an order confirmation offers beside each line: the EU
    #: withdrawal function ("withdraw", Art. 11a) or the UK right to cancel ("cancel", CCR
    #: 2013 reg 29); None where the law asks for no such link (US).
    line_right_action: ClassVar[str | None] = None

    def __init__(self, rules: RegionRules | None = None) -> None:
        self.rules = rules if rules is not None else RegionRules()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rules!r})"

    @property
    def region(self) -> Region:
        """Return the region code this policy answers for."""
        return self.region_code

    @property
    def measures(self) -> Measure:
        """Return what the region's law measures: shipment or delivery."""
        return self.measure

    @abstractmethod
    def default_promise(self, ordered_on: date, *, buyer_applied_for_credit: bool = False) -> date:
        """Return the date owed when no date was stated."""

    @abstractmethod
    def promised_date(self, facts: SlipFacts) -> tuple[date, bool]:
        """Return T and whether it is the default promise."""

    @abstractmethod
    def revised_date(self, facts: SlipFacts) -> date | None:
        """Return the revised date this region measures, None when unknown."""

    @abstractmethod
    def decide(self, facts: SlipFacts) -> SlipDecision:
        """Return the notice, deadlines and customer rights for a slip."""

    @abstractmethod
    def refund_due_by(self, cancelled_on: date) -> date:
        """Return the last day to refund a line cancelled on `cancelled_on`."""

    @abstractmethod
    def past_due(self, facts: SlipFacts) -> bool:
        """Return whether the law treats the line as cancelled for lack of a timely notice."""

    def auto_cancel_on(self, facts: SlipFacts, decision: SlipDecision | None) -> date | None:
        """Return the automatic-cancellation date to keep for the line after an assessment
        (`decision` is None when the line does not slip): None where the product never
        cancels on its own."""
        return None

    def withdrawal_button(self, today: date) -> bool:
        """Return whether a "withdraw from contract here" function must be offered."""
        return False

    @property
    def refund_days(self) -> int | None:
        """Return the refund window in calendar days; None where it counts working days."""
        return None

    def agreed_after_notice(self, agreed: date | None, *, silence_is_consent: bool,
                            revised: date | None) -> date | None:
        """Return the date the customer holds the seller to once a delay notice went out."""
        return agreed

    def is_slip(self, facts: SlipFacts) -> bool:
        """Return whether the revised date is later than T or unknown."""
        revised = self.revised_date(facts)
        return revised is None or revised > self.promised_date(facts)[0]

    def _notice_kind(self, facts: SlipFacts) -> NoticeKind:
        return "delay_notice" if facts.delay_notices_sent == 0 else "renewed_delay_notice"

    def _require_slip(self, facts: SlipFacts) -> None:
        if not self.is_slip(facts):
            raise ValueError(f"{self.region}: the revised date does not slip past the promise")


class DeliveryPolicy(RegionalPolicy):
    """Share the EU/UK shape: delivery is measured, the customer alone ends the contract."""

    measure: ClassVar[Measure] = "delivery"
    late_delivery_citations: ClassVar[tuple[str, ...]]  # a delivery date passed: the rights

    @property
    @abstractmethod
    def default_delivery_days(self) -> int:
        """Return the default delivery window in calendar days."""

    @property
    @abstractmethod
    def refund_days(self) -> int:
        """Return the refund window in calendar days."""

    @abstractmethod
    def citations(self, facts: SlipFacts, *, default_applied: bool) -> tuple[str, ...]:
        """Return the rules behind a decision."""

    def default_promise(self, ordered_on: date, *, buyer_applied_for_credit: bool = False) -> date:
        """Return the contract date plus the default delivery window (calendar days)."""
        return ordered_on + timedelta(days=self.default_delivery_days)

    def promised_date(self, facts: SlipFacts) -> tuple[date, bool]:
        """Return the latest delivery date communicated, or the default promise."""
        if facts.communicated_delivery_to is not None:
            return facts.communicated_delivery_to, False
        return self.default_promise(facts.ordered_on), True

    def revised_date(self, facts: SlipFacts) -> date | None:
        """Return the revised latest delivery date."""
        return facts.new_delivery_to

    def decide(self, facts: SlipFacts) -> SlipDecision:
        """Return an informing notice; the customer, never the product, ends the contract."""
        self._require_slip(facts)
        promised, default_applied = self.promised_date(facts)
        # EU/UK law sets no statutory deadline for a delay notice. The product's default is
        # the date last communicated, so the customer hears of the slip before noticing it.
        notice_due_by = promised
        return SlipDecision(
            region=self.region,
            notice_kind=self._notice_kind(facts),
            notice_due_by=notice_due_by,
            notice_overdue=facts.today > notice_due_by,
            measures=self.measures,
            promised_date=promised,
            revised_date=self.revised_date(facts),
            default_promise_applied=default_applied,
            # No consent regime: the contract simply continues unless the customer ends it.
            silence_is_consent=False,
            express_consent_required=False,
            cancel_on=None,
            customer_may_terminate_now=facts.essential_date,
            customer_may_set_additional_period=True,
            withdrawal_button=self.withdrawal_button(facts.today),
            withdrawal_days=self.rules.withdrawal_days,
            citations=self.citations(facts, default_applied=default_applied),
        )

    def refund_due_by(self, cancelled_on: date) -> date:
        """Return the cancellation date plus the refund window (calendar days)."""
        return cancelled_on + timedelta(days=self.refund_days)

    def past_due(self, facts: SlipFacts) -> bool:
        """Return False: a late delivery never ends the contract by itself here."""
        return False
