"""The regional policies with the rule numbers configured in settings."""

from dataclasses import fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from workflow.policies import RegionalPolicy, RegionRules, policy_for


def region_rules() -> RegionRules:
    """Return RegionRules with any overrides from BACKORDER_DESK['REGION_RULES']."""
    overrides = settings.BACKORDER_DESK.get("REGION_RULES") or {}
    known = {f.name for f in fields(RegionRules)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown REGION_RULES keys: {sorted(unknown)}")
    return RegionRules(**overrides)


def regional_policy(region_code: str) -> RegionalPolicy:
    """Return the policy of a region (US, EU, UK) with the configured numbers."""
    return policy_for(region_code, region_rules())


def region_today(region, now: datetime) -> date:
    """Return the calendar date in the region's timezone: every legal deadline is a local date."""
    return now.astimezone(ZoneInfo(region.timezone)).date()
