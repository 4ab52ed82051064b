"""Regional delay-notice policies: one object per region turns a slip into what is due."""

from __future__ import annotations

from .base import (
    DeliveryPolicy,
    Measure,
    NoticeKind,
    Region,
    RegionalPolicy,
    RegionRules,
    SlipDecision,
    SlipFacts,
)
from .eu import EUPolicy
from .uk import UKPolicy
from .us import USPolicy

POLICIES: dict[str, type[RegionalPolicy]] = {"US": USPolicy, "EU": EUPolicy, "UK": UKPolicy}


def regions_where_a_late_notice_cancels() -> list[str]:
    """Return the codes of the regions where a line the customer was not told of in time
    counts as cancelled (the policy's `late_notice_cancels`)."""
    return sorted(code for code, policy in POLICIES.items() if policy.late_notice_cancels)


def regions_measuring(measure: Measure) -> list[str]:
    """Return the codes of the regions whose law measures `measure` (shipment or delivery)."""
    return sorted(code for code, policy in POLICIES.items() if policy.measure == measure)

__all__ = [
    "POLICIES",
    "DeliveryPolicy",
    "EUPolicy",
    "Measure",
    "NoticeKind",
    "Region",
    "RegionRules",
    "RegionalPolicy",
    "SlipDecision",
    "SlipFacts",
    "UKPolicy",
    "regions_measuring",
    "regions_where_a_late_notice_cancels",
    "USPolicy",
    "policy_class_for",
    "policy_for",
]


def policy_for(region_code: str, rules: RegionRules | None = None) -> RegionalPolicy:
    """Return the policy for a region code ("US", "EU", "UK"; case-insensitive)."""
    return policy_class_for(region_code)(rules)


def policy_class_for(region_code: str) -> type[RegionalPolicy]:
    """Return the policy class of a region code: what the law is, without the configured
    numbers (its `measure`, `late_notice_cancels` ...)."""
    try:
        return POLICIES[region_code.strip().upper()]
    except KeyError:
        raise ValueError(
            f"no delay-notice policy for region {region_code!r}; known: {', '.join(POLICIES)}"
        ) from None
