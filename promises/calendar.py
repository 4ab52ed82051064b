"""Warehouse and transit business-day calendars: promised ship dates and delivery windows.

Pure: the standard library and the `holidays` package only, no Django. A business day is a
weekday (Monday-Friday) that is not a public holiday, observed days included, of the
calendar's country (and subdivision, when given) as the `holidays` package lists them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = ["ShipCalendar", "TransitCalendar", "holidays_load"]

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend
# Any year validates a country/subdivision code; a fixed one keeps construction cheap and cached.
_PROBE_YEAR = 2026


@functools.lru_cache(maxsize=1024)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Return the public holidays of a country (and subdivision) in one year."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def holidays_load(country: str, subdivision: str | None, years) -> None:
    """Load (and keep) the public holidays of a country in these years ahead of their first use."""
    for year in years:
        _holiday_dates(country, subdivision, year)


def _is_business_day(d: date, country: str, subdivision: str | None) -> bool:
    """Return whether d is neither a weekend day nor a public holiday."""
    return d.weekday() < _SATURDAY and d not in _holiday_dates(country, subdivision, d.year)


@functools.lru_cache(maxsize=65536)
def _next_business_day(d: date, country: str, subdivision: str | None) -> date:
    """Return the first business day on or after d."""
    while not _is_business_day(d, country, subdivision):
        d += _ONE_DAY
    return d


@functools.lru_cache(maxsize=65536)
def _add_business_days(d: date, n: int, country: str, subdivision: str | None) -> date:
    """Return the date n business days after d."""
    if n < 0:
        raise ValueError(f"business days to add must be >= 0, got {n}")
    while n:
        d += _ONE_DAY
        if _is_business_day(d, country, subdivision):
            n -= 1
    return d


def _check_region(country: str, subdivision: str | None) -> None:
    """Raise ValueError when `holidays` does not know the country or its subdivision."""
    try:
        _holiday_dates(country, subdivision, _PROBE_YEAR)
    except NotImplementedError as exc:  # how `holidays` reports an unknown code
        where = repr(country) if subdivision is None else f"{country!r} subdivision {subdivision!r}"
        raise ValueError(f"no holiday calendar for {where}: {exc}") from exc


def _require_aware(moment: datetime, name: str) -> None:
    """Raise ValueError for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


@dataclass(frozen=True)
class ShipCalendar:
    """A warehouse's working calendar: timezone, order cut-off, handling days, holidays."""

    timezone: str
    cutoff: time
    handling_days: int
    country: str
    subdivision: str | None = None

    def __post_init__(self) -> None:
        """Reject a calendar that would fail later, on the first promise."""
        ZoneInfo(self.timezone)  # raises ZoneInfoNotFoundError for an unknown zone
        if self.cutoff.tzinfo is not None:
            raise ValueError("cutoff is warehouse local time; give it without tzinfo")
        if self.handling_days < 0:
            raise ValueError(f"handling_days must be >= 0, got {self.handling_days}")
        _check_region(self.country, self.subdivision)

    def is_business_day(self, d: date) -> bool:
        """Return whether the warehouse works (and carriers collect) on d."""
        return _is_business_day(d, self.country, self.subdivision)

    def next_business_day_on_or_after(self, d: date) -> date:
        """Return the first business day on or after d."""
        return _next_business_day(d, self.country, self.subdivision)

    def add_business_days(self, d: date, n: int) -> date:
        """Return the date n business days after d (d itself when n is 0)."""
        return _add_business_days(d, n, self.country, self.subdivision)

    def local_date(self, moment: datetime) -> date:
        """Return the warehouse-local calendar date of an aware datetime."""
        _require_aware(moment, "moment")
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def order_day(self, placed_at: datetime) -> date:
        """Return the day an order counts as received, after applying the cut-off."""
        _require_aware(placed_at, "placed_at")
        local = placed_at.astimezone(ZoneInfo(self.timezone))
        # At or after the cut-off the order joins the next day's batch.
        if local.time() >= self.cutoff:
            return local.date() + _ONE_DAY
        return local.date()

    def ship_date(self, *, supply_date: date | None, placed_at: datetime, now: datetime) -> date:
        """Return the promised ship date for an order line whose supply is ready on supply_date.

        Processing starts on the first business day on or after the later of the order day
        (cut-off applied) and the supply date; the line ships handling_days business days
        later. A date already past (the line is late) becomes the next pick batch: the first
        business day on or after today, or after tomorrow once today's cut-off has passed.
        Re-promising an unshipped line never moves it earlier than it can go, and never
        pushes a line still within its handling time.
        """
        order_day = self.order_day(placed_at)
        start = self.next_business_day_on_or_after(max(order_day, supply_date or order_day))
        ship = self.add_business_days(start, self.handling_days)
        # A late line goes with the next pick batch: today before the cut-off, else the next
        # business day (the cut-off applies to now as it does to a new order).
        floor = self.next_pick_batch(now)
        if ship < floor:
            ship = floor
        return ship

    def next_pick_batch(self, now: datetime) -> date:
        """The next pick batch at `now`: today before the cut-off, else the next business day
        (no line, late or not, ships before it)."""
        return _late_floor(self, now)


@functools.lru_cache(maxsize=256)
def _late_floor(calendar: ShipCalendar, now: datetime) -> date:
    """The next pick batch at `now` (one per calendar and run, not one per line)."""
    return calendar.next_business_day_on_or_after(calendar.order_day(now))


@dataclass(frozen=True)
class TransitCalendar:
    """A destination region's carrier transit time, in business days of its holiday calendar."""

    country: str
    min_days: int
    max_days: int
    subdivision: str | None = None

    def __post_init__(self) -> None:
        """Reject an impossible transit range or an unknown holiday calendar."""
        if not 0 <= self.min_days <= self.max_days:
            raise ValueError(
                f"need 0 <= min_days <= max_days, got {self.min_days}..{self.max_days}"
            )
        _check_region(self.country, self.subdivision)

    def is_business_day(self, d: date) -> bool:
        """Return whether carriers deliver in the destination country on d."""
        return _is_business_day(d, self.country, self.subdivision)

    def delivery_window(self, ship_date: date) -> tuple[date, date]:
        """Return the first and last expected delivery dates for a line shipped on ship_date."""
        return (
            _add_business_days(ship_date, self.min_days, self.country, self.subdivision),
            _add_business_days(ship_date, self.max_days, self.country, self.subdivision),
        )
