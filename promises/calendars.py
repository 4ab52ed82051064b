"""Build the pure calendars of promises.calendar from warehouse and region rows."""

from functools import lru_cache

from promises.calendar import ShipCalendar, TransitCalendar


def ship_calendar_for(warehouse) -> ShipCalendar:
    """Return the working calendar of a warehouse row."""
    return _ship_calendar(
        warehouse.timezone, warehouse.cutoff_time, warehouse.handling_days, warehouse.country,
        warehouse.holiday_subdivision or None,
    )


def transit_calendar_for(region) -> TransitCalendar:
    """Return the carrier transit calendar of a region row."""
    return _transit_calendar(
        region.holiday_country, region.transit_min_days, region.transit_max_days,
        region.holiday_subdivision or None,
    )


@lru_cache(maxsize=64)
def _ship_calendar(tz, cutoff, handling, country, subdivision):
    return ShipCalendar(timezone=tz, cutoff=cutoff, handling_days=handling, country=country,
                        subdivision=subdivision)


@lru_cache(maxsize=16)
def _transit_calendar(country, min_days, max_days, subdivision):
    return TransitCalendar(country=country, min_days=min_days, max_days=max_days,
                           subdivision=subdivision)
