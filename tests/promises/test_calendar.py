"""Business days, cut-off and delivery windows of the warehouse and transit calendars."""

from datetime import UTC, date, datetime, time
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from inventory.admin import WarehouseForm
from inventory.models import Region, Warehouse
from promises.calendar import ShipCalendar, TransitCalendar
from promises.calendars import transit_calendar_for
from tests.factories.inventory import WarehouseFactory

NEW_YORK = ZoneInfo("America/New_York")
US_EAST = ShipCalendar(
    timezone="America/New_York", cutoff=time(17, 0), handling_days=1, country="US"
)
UK_MIDLANDS = ShipCalendar(
    timezone="Europe/London", cutoff=time(15, 0), handling_days=1, country="GB", subdivision="ENG"
)
EU_CENTRAL = ShipCalendar(
    timezone="Europe/Berlin", cutoff=time(17, 0), handling_days=1, country="DE", subdivision="HE"
)
BERLIN = ZoneInfo("Europe/Berlin")


def ships(calendar: ShipCalendar, placed_at: datetime, supply_date: date | None = None) -> date:
    """Return the ship date of a line placed at placed_at and promised at that moment."""
    return calendar.ship_date(supply_date=supply_date, placed_at=placed_at, now=placed_at)


def test_us_thanksgiving_is_a_holiday_but_the_friday_after_is_a_business_day():
    assert not US_EAST.is_business_day(date(2026, 11, 26))
    assert US_EAST.is_business_day(date(2026, 11, 27))


def test_order_on_thanksgiving_eve_after_cutoff_ships_on_monday():
    # Given an order on Wed 25 Nov 2026 at 18:00, after the cut-off
    placed = datetime(2026, 11, 25, 18, 0, tzinfo=NEW_YORK)
    # Then it is processed Friday (Thursday is Thanksgiving) and ships Monday
    assert ships(US_EAST, placed) == date(2026, 11, 30)


def test_uk_boxing_day_substitute_monday_28_december_2026_is_a_holiday():
    # Boxing Day 2026 is a Saturday; `holidays` lists Mon 28 Dec as "Boxing Day (observed)".
    assert not UK_MIDLANDS.is_business_day(date(2026, 12, 25))
    assert not UK_MIDLANDS.is_business_day(date(2026, 12, 28))
    assert UK_MIDLANDS.is_business_day(date(2026, 12, 29))
    # An order on Christmas Eve after the cut-off is processed Tue 29 and ships Wed 30.
    placed = datetime(2026, 12, 24, 15, 30, tzinfo=ZoneInfo("Europe/London"))
    assert ships(UK_MIDLANDS, placed) == date(2026, 12, 30)


def test_uk_subdivision_adds_england_only_bank_holidays():
    # Easter Monday is a bank holiday in England but not in Scotland, so not GB-wide.
    easter_monday = date(2026, 4, 6)
    gb_wide = ShipCalendar(timezone="Europe/London", cutoff=time(15), handling_days=1, country="GB")
    assert gb_wide.is_business_day(easter_monday)
    assert not UK_MIDLANDS.is_business_day(easter_monday)


def test_german_easter_monday_2027_is_a_holiday():
    assert not EU_CENTRAL.is_business_day(date(2027, 3, 29))
    assert not EU_CENTRAL.is_business_day(date(2027, 3, 26))  # Good Friday
    assert EU_CENTRAL.is_business_day(date(2027, 3, 30))


def test_order_a_minute_before_cutoff_is_processed_today():
    placed = datetime(2026, 3, 3, 16, 59, tzinfo=NEW_YORK)  # Tuesday
    assert ships(US_EAST, placed) == date(2026, 3, 4)


def test_order_a_minute_after_cutoff_is_processed_the_next_business_day():
    placed = datetime(2026, 3, 3, 17, 1, tzinfo=NEW_YORK)
    assert ships(US_EAST, placed) == date(2026, 3, 5)


def test_order_exactly_at_cutoff_counts_for_the_next_day():
    placed = datetime(2026, 3, 3, 17, 0, tzinfo=NEW_YORK)
    assert ships(US_EAST, placed) == date(2026, 3, 5)


def test_friday_order_after_cutoff_is_processed_on_monday():
    placed = datetime(2026, 3, 6, 17, 30, tzinfo=NEW_YORK)
    assert ships(US_EAST, placed) == date(2026, 3, 10)


def test_cutoff_is_local_time_in_the_week_new_york_leaves_daylight_saving():
    # Given the clocks went back on Sun 1 Nov 2026: New York is now UTC-5, was UTC-4
    before_change = datetime(2026, 10, 30, 20, 59, tzinfo=UTC)  # Fri 16:59 EDT
    after_change = datetime(2026, 11, 2, 21, 59, tzinfo=UTC)  # Mon 16:59 EST
    at_cutoff = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)  # Mon 17:00 EST
    # Then 16:59 local makes the 17:00 cut-off on both sides of the change
    assert ships(US_EAST, before_change) == date(2026, 11, 2)
    assert ships(US_EAST, after_change) == date(2026, 11, 3)
    assert ships(US_EAST, at_cutoff) == date(2026, 11, 4)


def test_cutoff_is_local_time_in_the_week_berlin_enters_summer_time():
    # Given the clocks went forward on Sun 28 Mar 2027: Berlin is now UTC+2, was UTC+1
    thursday = datetime(2027, 3, 25, 15, 59, tzinfo=UTC)  # Thu 16:59 CET
    tuesday = datetime(2027, 3, 30, 14, 59, tzinfo=UTC)  # Tue 16:59 CEST
    tuesday_late = datetime(2027, 3, 30, 15, 30, tzinfo=UTC)  # Tue 17:30 CEST
    # Thursday's order ships after Good Friday, the weekend and Easter Monday
    assert ships(EU_CENTRAL, thursday) == date(2027, 3, 30)
    assert ships(EU_CENTRAL, tuesday) == date(2027, 3, 31)
    assert ships(EU_CENTRAL, tuesday_late) == date(2027, 4, 1)


def test_supply_date_drives_the_ship_date_when_later_than_the_order():
    placed = datetime(2026, 3, 3, 9, 0, tzinfo=NEW_YORK)
    # A PO ready on Saturday 14 March is processed Monday and ships Tuesday.
    assert ships(US_EAST, placed, supply_date=date(2026, 3, 14)) == date(2026, 3, 17)


def test_late_line_ships_today_at_the_earliest():
    # Given a line placed weeks ago whose supply arrived on 20 Feb, re-promised on Tue 3 March
    placed = datetime(2026, 2, 2, 18, 0, tzinfo=NEW_YORK)
    now = datetime(2026, 3, 3, 9, 0, tzinfo=NEW_YORK)
    # Then its past date becomes today: it is late and ships as soon as it can
    assert US_EAST.ship_date(supply_date=date(2026, 2, 20), placed_at=placed, now=now) == date(
        2026, 3, 3
    )


def test_repromising_the_next_day_keeps_a_line_within_its_handling_time():
    # Given an order placed Monday morning from stock, promised for Tuesday
    placed = datetime(2026, 3, 2, 9, 0, tzinfo=NEW_YORK)
    monday, tuesday = placed, datetime(2026, 3, 3, 6, 0, tzinfo=NEW_YORK)
    assert US_EAST.ship_date(supply_date=None, placed_at=placed, now=monday) == date(2026, 3, 3)
    # When it is re-promised on Tuesday before it shipped
    # Then it still ships Tuesday: handling started Monday
    assert US_EAST.ship_date(supply_date=None, placed_at=placed, now=tuesday) == date(2026, 3, 3)


def test_zero_handling_days_ships_on_the_start_day():
    same_day = ShipCalendar(
        timezone="America/New_York", cutoff=time(12), handling_days=0, country="US"
    )
    placed = datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK)  # Saturday
    assert ships(same_day, placed) == date(2026, 3, 9)


def test_add_business_days_skips_weekends_and_holidays():
    assert US_EAST.add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert US_EAST.add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert US_EAST.add_business_days(date(2026, 11, 28), 0) == date(2026, 11, 28)
    with pytest.raises(ValueError):
        US_EAST.add_business_days(date(2026, 11, 28), -1)


def test_next_business_day_on_or_after():
    assert US_EAST.next_business_day_on_or_after(date(2026, 11, 26)) == date(2026, 11, 27)
    assert US_EAST.next_business_day_on_or_after(date(2026, 11, 27)) == date(2026, 11, 27)
    assert US_EAST.next_business_day_on_or_after(date(2026, 12, 31)) == date(2026, 12, 31)
    assert US_EAST.next_business_day_on_or_after(date(2027, 1, 1)) == date(2027, 1, 4)


def test_delivery_window_skips_the_weekend():
    transit = TransitCalendar(country="US", min_days=2, max_days=4)
    # Shipped Thursday 5 March 2026: Fri, (weekend), Mon, Tue, Wed
    assert transit.delivery_window(date(2026, 3, 5)) == (date(2026, 3, 9), date(2026, 3, 11))


def test_delivery_window_skips_destination_holidays():
    transit = TransitCalendar(country="GB", subdivision="ENG", min_days=1, max_days=2)
    # Shipped Wed 23 Dec 2026: Thu 24, then Christmas, the weekend and the Boxing Day substitute
    assert transit.delivery_window(date(2026, 12, 23)) == (date(2026, 12, 24), date(2026, 12, 29))


def test_calendars_reject_bad_configuration():
    with pytest.raises(ValueError, match="no holiday calendar"):
        ShipCalendar(timezone="UTC", cutoff=time(17), handling_days=1, country="XX")
    with pytest.raises(ValueError, match="handling_days"):
        ShipCalendar(timezone="UTC", cutoff=time(17), handling_days=-1, country="US")
    with pytest.raises(ValueError, match="min_days"):
        TransitCalendar(country="US", min_days=5, max_days=2)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        US_EAST.ship_date(
            supply_date=None, placed_at=datetime(2026, 3, 3, 9), now=datetime.now(UTC)
        )


def test_late_line_after_the_cut_off_ships_the_next_business_day():
    # Given a late line whose stock arrived long ago, re-promised on Fri 6 March after 17:00
    placed = datetime(2026, 2, 2, 9, 0, tzinfo=NEW_YORK)
    after_cutoff = datetime(2026, 3, 6, 17, 5, tzinfo=NEW_YORK)
    # Then today's batch is gone: it ships Monday
    assert US_EAST.ship_date(supply_date=None, placed_at=placed, now=after_cutoff) == date(2026, 3, 9)


# Carrier transit within the UK: England's bank holidays are not Scotland's, and the GB-wide
# calendar of the `holidays` package holds only the days all four nations share.
UK_TRANSIT = [
    # shipped, business days, delivered with: GB-wide, England (ENG), Scotland (SCT)
    pytest.param(date(2027, 3, 25), 1, date(2027, 3, 29), date(2027, 3, 30), date(2027, 3, 29),
                 id="good-friday-and-easter-monday-2027"),
    pytest.param(date(2027, 8, 27), 1, date(2027, 8, 30), date(2027, 8, 31), date(2027, 8, 30),
                 id="late-august-bank-holiday-2027"),
    pytest.param(date(2027, 11, 29), 1, date(2027, 11, 30), date(2027, 11, 30), date(2027, 12, 1),
                 id="st-andrews-day-2027-is-scottish-only"),
    pytest.param(date(2026, 12, 31), 1, date(2027, 1, 4), date(2027, 1, 4), date(2027, 1, 5),
                 id="new-year-2027-and-scotlands-second-of-january"),
    pytest.param(date(2027, 12, 24), 1, date(2027, 12, 29), date(2027, 12, 29), date(2027, 12, 29),
                 id="christmas-and-boxing-day-2027-substitutes"),
    pytest.param(date(2027, 3, 9), 2, date(2027, 3, 11), date(2027, 3, 11), date(2027, 3, 11),
                 id="ordinary-week"),
]


@pytest.mark.parametrize(("shipped", "days", "gb_wide", "england", "scotland"), UK_TRANSIT)
def test_uk_transit_skips_the_bank_holidays_of_its_subdivision(shipped, days, gb_wide, england,
                                                                scotland):
    def delivered(subdivision):
        transit = TransitCalendar(country="GB", subdivision=subdivision, min_days=days,
                                  max_days=days)
        return transit.delivery_window(shipped)

    assert delivered(None) == (gb_wide, gb_wide)
    assert delivered("ENG") == (england, england)
    assert delivered("SCT") == (scotland, scotland)


def test_uk_region_row_builds_an_england_transit_calendar():
    # Given the UK region row as the migration leaves it (1-3 business days, England)
    uk = Region(code="UK", holiday_country="GB", holiday_subdivision="ENG",
                transit_min_days=1, transit_max_days=3)
    # When a line ships on Thu 25 Mar 2027, before Good Friday and Easter Monday
    # Then delivery starts Tue 30 Mar; GB-wide it would wrongly have started Mon 29 Mar
    assert transit_calendar_for(uk).delivery_window(date(2027, 3, 25)) == (
        date(2027, 3, 30), date(2027, 4, 1)
    )
    uk.holiday_subdivision = ""
    assert transit_calendar_for(uk).subdivision is None
    assert transit_calendar_for(uk).delivery_window(date(2027, 3, 25)) == (
        date(2027, 3, 29), date(2027, 3, 31)
    )


EU_CENTRAL_SHIPPING = [
    # order placed (Berlin, before the cut-off), ships in Hesse (HE), ships with DE-wide days
    pytest.param(datetime(2027, 5, 26, 10, 0, tzinfo=BERLIN), date(2027, 5, 28), date(2027, 5, 27),
                 id="corpus-christi-2027-is-a-hesse-holiday"),
    pytest.param(datetime(2027, 5, 5, 10, 0, tzinfo=BERLIN), date(2027, 5, 7), date(2027, 5, 7),
                 id="ascension-day-2027"),
    pytest.param(datetime(2027, 5, 14, 10, 0, tzinfo=BERLIN), date(2027, 5, 18), date(2027, 5, 18),
                 id="whit-monday-2027"),
    pytest.param(datetime(2026, 12, 31, 10, 0, tzinfo=BERLIN), date(2027, 1, 4), date(2027, 1, 4),
                 id="new-year-2027"),
]


@pytest.mark.parametrize(("placed", "hesse", "germany_wide"), EU_CENTRAL_SHIPPING)
def test_eu_central_ships_on_hesse_business_days(placed, hesse, germany_wide):
    germany = ShipCalendar(timezone="Europe/Berlin", cutoff=time(17, 0), handling_days=1,
                           country="DE")
    assert ships(EU_CENTRAL, placed) == hesse
    assert ships(germany, placed) == germany_wide


def test_corpus_christi_2027_is_a_holiday_in_hesse_only():
    germany = ShipCalendar(timezone="Europe/Berlin", cutoff=time(17), handling_days=1, country="DE")
    assert not EU_CENTRAL.is_business_day(date(2027, 5, 27))
    assert germany.is_business_day(date(2027, 5, 27))


def test_calendars_reject_an_unknown_subdivision():
    with pytest.raises(ValueError, match="no holiday calendar for 'GB' subdivision 'XX'"):
        TransitCalendar(country="GB", subdivision="XX", min_days=1, max_days=3)
    with pytest.raises(ValueError, match="no holiday calendar for 'XX'"):
        TransitCalendar(country="XX", min_days=1, max_days=3)
    with pytest.raises(ValueError, match="no holiday calendar for 'DE' subdivision 'ENG'"):
        ShipCalendar(timezone="Europe/Berlin", cutoff=time(17), handling_days=1, country="DE",
                     subdivision="ENG")


@pytest.mark.parametrize(("country", "subdivision", "field"), [
    ("GB", "XX", "holiday_subdivision"),
    ("GB", "HE", "holiday_subdivision"),
    ("XX", "", "holiday_country"),
    ("UK", "ENG", "holiday_country"),  # an alias `holidays` accepts, not an ISO 3166 code
])
def test_region_clean_names_the_holiday_field_it_rejects(country, subdivision, field):
    region = Region(code="UK", holiday_country=country, holiday_subdivision=subdivision)
    with pytest.raises(ValidationError) as raised:
        region.clean()
    assert list(raised.value.message_dict) == [field]


@pytest.mark.parametrize(("country", "subdivision"), [("GB", "ENG"), ("GB", ""), ("DE", "HE")])
def test_region_clean_accepts_known_holiday_codes(country, subdivision):
    Region(code="UK", holiday_country=country, holiday_subdivision=subdivision).clean()


@pytest.mark.django_db
def test_warehouse_form_rejects_an_unknown_subdivision():
    form = WarehouseForm(data={
        "code": "EU-CENTRAL", "name": "EU Central", "operator": "3pl", "country": "DE",
        "holiday_subdivision": "ENG", "timezone": "Europe/Berlin", "cutoff_time": "13:00",
        "handling_days": 1,
    })
    assert not form.is_valid()
    assert list(form.errors) == ["holiday_subdivision"]


@pytest.mark.django_db
def test_migration_gives_the_uk_region_england_holidays():
    uk = Region.objects.get(code="UK")
    assert uk.holiday_subdivision == "ENG"
    assert not transit_calendar_for(uk).is_business_day(date(2027, 8, 30))


@pytest.mark.django_db
def test_migration_sets_warehouse_subdivisions_only_where_none_is_chosen():
    # Given the EU warehouse without a subdivision and the UK one already set to Wales
    WarehouseFactory(code="EU-CENTRAL", country="DE", timezone="Europe/Berlin")
    WarehouseFactory(code="UK-MIDLANDS", country="GB", timezone="Europe/London",
                     holiday_subdivision="WLS")
    # When the migration's data step runs
    import_module("inventory.migrations.0003_region_holiday_subdivision").holiday_subdivisions_set(
        apps, None
    )
    # Then EU-CENTRAL ships on Hesse's calendar and UK-MIDLANDS keeps its choice
    assert dict(Warehouse.objects.values_list("code", "holiday_subdivision")) == {
        "EU-CENTRAL": "HE", "UK-MIDLANDS": "WLS",
    }
