"""Engine rules, one behaviour per test; no database.

Every test runs in a US-East warehouse (17:00 cut-off, one handling day) on Tuesday
3 March 2026 at 09:00 local: stock ships Wed 4 March, a PO line available Tue 24 March ships
Wed 25 March.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from promises.calendar import ShipCalendar
from promises.engine import (
    Allocation,
    Assignment,
    Demand,
    PoolPolicy,
    Strategy,
    Supply,
    allocate,
    free_supply,
)

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tue 09:00 in New York
TODAY = date(2026, 3, 3)
STOCK_SHIPS = date(2026, 3, 4)
PO_DATE = date(2026, 3, 24)  # three weeks out
PO_SHIPS = date(2026, 3, 25)
ESTIMATE_SHIPS = date(2026, 4, 3)  # today + 30 days = Thu 2 April, shipped the next business day
CAL = ShipCalendar(timezone="America/New_York", cutoff=time(17, 0), handling_days=1, country="US")
POLICY = PoolPolicy(lead_time_days=30, sell_beyond_supply=True)

WIN, GAIN, REDISTRIBUTE, FILL, LOSE = (
    Strategy.WIN,
    Strategy.GAIN,
    Strategy.REDISTRIBUTE,
    Strategy.FILL,
    Strategy.LOSE,
)


def stock(qty: int) -> Supply:
    return Supply(key="stock", kind="stock", reference="", qty=qty, available_on=TODAY)


def po(line: int, qty: int, available_on: date = PO_DATE) -> Supply:
    return Supply(
        key=f"po:{line}",
        kind="purchase_order",
        reference=f"PO-{line}",
        qty=qty,
        available_on=available_on,
    )


def line(
    line_id: int,
    qty: int = 1,
    strategy: Strategy = REDISTRIBUTE,
    *,
    priority: int = 1,
    days_ago: float = 5,
    holds: date | None = None,
    confirmed: bool = True,
) -> Demand:
    return Demand(
        line_id=line_id,
        qty=qty,
        strategy=strategy,
        channel_priority=priority,
        placed_at=NOW - timedelta(days=days_ago),
        current_ship_date=holds,
        current_confirmed=confirmed and holds is not None,
    )


def run(supply: list[Supply], demand: list[Demand]) -> dict[int, Assignment]:
    return {a.line_id: a for a in allocate(supply, demand, CAL, POLICY, now=NOW)}


def sources(a: Assignment) -> list[tuple[str, int]]:
    return [(alloc.supply_key, alloc.qty) for alloc in a.allocations]


def test_prefers_earliest_eta_supply():
    # Given two PO lines, the later one listed first
    late, early = po(1, 5, date(2026, 4, 20)), po(2, 5, PO_DATE)
    # When a line of 2 is allocated
    result = run([late, early], [line(1, qty=2)])
    # Then it takes the earlier ETA
    assert sources(result[1]) == [("po:2", 2)]
    assert result[1].supply_date == PO_DATE
    assert result[1].ship_date == PO_SHIPS


def test_line_is_covered_by_several_sources():
    # Given 2 on hand and a PO of 5
    # When a line of 4 is allocated
    a = run([stock(2), po(1, 5)], [line(1, qty=4)])[1]
    # Then it takes part from stock, part from the PO, and ships after the PO arrives
    assert a.allocations == (
        Allocation("stock", "stock", "", 2, TODAY),
        Allocation("po:1", "purchase_order", "PO-1", 2, PO_DATE),
    )
    assert a.confirmed
    assert a.supply_date == PO_DATE
    assert a.ship_date == PO_SHIPS
    assert a.rule == "redistribute"


def test_uncovered_demand_gets_an_unconfirmed_lead_time_estimate():
    # Given no supply at all
    # When a line is allocated
    a = run([], [line(1, qty=3)])[1]
    # Then it gets an unconfirmed estimate: today + 30 days lead time, plus handling
    assert a.allocations == ()
    assert not a.confirmed
    assert a.supply_date is None
    assert a.ship_date == ESTIMATE_SHIPS
    assert a.rule == "estimate:lead_time"


def test_partial_cover_keeps_its_allocations_but_is_unconfirmed():
    # Given 2 on hand
    # When a line of 5 is allocated
    a = run([stock(2)], [line(1, qty=5)])[1]
    # Then it keeps the 2 units, is unconfirmed and gets the lead-time estimate
    assert sources(a) == [("stock", 2)]
    assert not a.confirmed
    assert a.supply_date == TODAY
    assert a.ship_date == ESTIMATE_SHIPS
    assert a.rule == "estimate:lead_time"


def test_partial_cover_never_ships_before_its_own_latest_source():
    # Given a PO arriving after the lead-time estimate
    far = date(2026, 6, 2)
    # When it only partly covers a line
    a = run([po(1, 1, far)], [line(1, qty=2)])[1]
    # Then the estimate starts from that PO, not from the shorter lead time
    assert not a.confirmed
    assert a.ship_date == date(2026, 6, 3)


def test_supply_with_zero_qty_is_ignored():
    # Given stock that is all safety stock (usable qty 0) and a PO
    # When a line is allocated
    a = run([stock(0), po(1, 1)], [line(1)])[1]
    # Then only the PO is used and no empty allocation appears
    assert sources(a) == [("po:1", 1)]


def test_win_takes_supply_from_an_older_redistribute_line():
    # Given an older redistribute line promised from the only unit on hand
    old = line(1, holds=STOCK_SHIPS, days_ago=10, priority=0)
    # When a new win line arrives, even from a lower-priority channel
    new = line(2, strategy=WIN, days_ago=0, priority=5)
    result = run([stock(1), po(1, 5)], [old, new])
    # Then the win line takes the stock and the older line moves to the PO
    assert sources(result[2]) == [("stock", 1)]
    assert result[2].ship_date == STOCK_SHIPS
    assert result[2].rule == "win"
    assert sources(result[1]) == [("po:1", 1)]
    assert result[1].ship_date == PO_SHIPS


def test_win_line_is_flagged_when_supply_falls_below_its_promise():
    # Given a win line promised from stock, and a stock count that fell to zero
    held = line(1, strategy=WIN, holds=STOCK_SHIPS)
    # When the pool is re-promised
    a = run([stock(0), po(1, 5)], [held])[1]
    # Then it takes the best date left and is flagged
    assert sources(a) == [("po:1", 1)]
    assert a.ship_date == PO_SHIPS
    assert a.guarantee_broken
    assert a.rule == "guarantee_broken"


def test_gain_keeps_its_date_when_a_higher_priority_line_arrives():
    # Given a gain line holding a confirmed promise from the only unit on hand
    held = line(1, strategy=GAIN, priority=3, holds=STOCK_SHIPS)
    # When a gain line and a redistribute line from higher-priority channels arrive
    new_gain = line(2, strategy=GAIN, priority=0, days_ago=0)
    new_redistribute = line(3, priority=0, days_ago=0)
    result = run([stock(1), po(1, 5)], [held, new_gain, new_redistribute])
    # Then the held promise is kept and the newcomers wait for the PO
    assert sources(result[1]) == [("stock", 1)]
    assert result[1].ship_date == STOCK_SHIPS
    assert result[1].rule == "gain:kept"
    assert result[2].ship_date == result[3].ship_date == PO_SHIPS


def test_gain_improves_when_earlier_supply_appears():
    # Given a gain line promised from the PO
    held = line(1, strategy=GAIN, holds=PO_SHIPS)
    # When a unit arrives on hand
    a = run([stock(1), po(1, 5)], [held])[1]
    # Then the line moves to the stock and ships earlier
    assert sources(a) == [("stock", 1)]
    assert a.ship_date == STOCK_SHIPS
    assert a.rule == "gain:improved"


def test_fill_is_never_improved_when_earlier_supply_appears():
    # Given a fill line promised from the PO
    held = line(1, strategy=FILL, holds=PO_SHIPS)
    # When a unit arrives on hand
    supply = [stock(1), po(1, 5)]
    result = allocate(supply, [held], CAL, POLICY, now=NOW)
    # Then the line keeps its date and its PO units, leaving the stock free for others
    assert sources(result[0]) == [("po:1", 1)]
    assert result[0].ship_date == PO_SHIPS
    assert result[0].rule == "fill:kept"
    assert free_supply(supply, result)[0] == stock(1)


def test_fill_is_never_made_worse_by_a_higher_priority_line():
    # Given a fill line promised from the only unit on hand
    held = line(1, strategy=FILL, priority=3, holds=STOCK_SHIPS)
    # When a redistribute line from a higher-priority channel arrives
    result = run([stock(1), po(1, 5)], [held, line(2, priority=0, days_ago=0)])
    # Then the fill line keeps the stock and its date
    assert sources(result[1]) == [("stock", 1)]
    assert result[1].ship_date == STOCK_SHIPS
    assert result[1].rule == "fill:kept"
    assert result[2].ship_date == PO_SHIPS


def test_fill_keeps_a_later_date_than_its_sources_would_allow():
    # Given a fill line holding a date later than any of its possible sources
    held = line(1, strategy=FILL, holds=date(2026, 4, 15))
    # When it is allocated
    a = run([stock(1), po(1, 1)], [held])[1]
    # Then it reserves the latest source still meeting the date, and keeps that date
    assert sources(a) == [("po:1", 1)]
    assert a.supply_date == PO_DATE
    assert a.ship_date == date(2026, 4, 15)


def test_fill_promises_reserve_the_latest_units_before_gain_promises_improve():
    # Given a gain and a fill line both holding 25 Mar, and a new redistribute line;
    # on hand 1, po:7 1 on Tue 10 Mar (ships 11 Mar), PO-100 1 on 24 Mar
    gain = line(1, strategy=GAIN, holds=PO_SHIPS)
    fill = line(2, strategy=FILL, holds=PO_SHIPS)
    supply = [stock(1), po(7, 1, date(2026, 3, 10)), po(100, 1)]
    # When the pool is promised
    result = run(supply, [gain, fill, line(3, days_ago=0)])
    # Then the fill line sits on PO-100, the gain line improves to the stock, and the
    # redistribute line gets po:7 rather than waiting for PO-100
    assert sources(result[2]) == [("po:100", 1)]
    assert result[2].rule == "fill:kept"
    assert (sources(result[1]), result[1].rule) == ([("stock", 1)], "gain:improved")
    assert (sources(result[3]), result[3].ship_date) == ([("po:7", 1)], date(2026, 3, 11))
    # And promising again with those answers held moves nobody
    held = [line(1, strategy=GAIN, holds=STOCK_SHIPS), fill,
            line(3, days_ago=0, holds=date(2026, 3, 11))]
    again = run(supply, held)
    assert [(sources(again[i]), again[i].ship_date) for i in (1, 2, 3)] == [
        (sources(result[i]), result[i].ship_date) for i in (1, 2, 3)]


def test_guarantee_broken_when_the_po_a_gain_line_holds_slips():
    # Given a gain line promised from the PO
    held = line(1, strategy=GAIN, holds=PO_SHIPS)
    # When the PO slips seven weeks
    a = run([po(1, 5, PO_DATE + timedelta(weeks=7))], [held])[1]
    # Then the line gets the best date still possible and is flagged, never silently
    assert a.guarantee_broken
    assert a.rule == "guarantee_broken"
    assert a.confirmed
    assert a.ship_date == date(2026, 5, 13)


def test_guarantee_broken_when_supply_drops_below_what_a_fill_line_holds():
    # Given a fill line of 2 promised from the PO
    held = line(1, qty=2, strategy=FILL, holds=PO_SHIPS)
    # When the PO quantity is cut to 1
    a = run([po(1, 1)], [held])[1]
    # Then the line keeps the 1 unit, is unconfirmed, estimated and flagged
    assert a.guarantee_broken
    assert a.rule == "guarantee_broken"
    assert sources(a) == [("po:1", 1)]
    assert not a.confirmed
    assert a.ship_date == ESTIMATE_SHIPS


def test_a_broken_guarantee_does_not_take_supply_a_kept_guarantee_needs():
    # Given stock cut from 2 to 1 under a gain line that holds 2 from stock,
    # and a lower-priority fill line holding the only PO unit
    gain = line(1, qty=2, strategy=GAIN, priority=0, holds=STOCK_SHIPS)
    fill = line(2, strategy=FILL, priority=5, holds=PO_SHIPS)
    # When the pool is re-promised
    result = run([stock(1), po(1, 1)], [gain, fill])
    # Then the fill promise that can still be met is kept; only the gain line is broken
    assert result[2].rule == "fill:kept"
    assert sources(result[2]) == [("po:1", 1)]
    assert result[1].guarantee_broken
    assert sources(result[1]) == [("stock", 1)]


def test_unconfirmed_current_promise_is_not_protected():
    # Given a gain line holding only an estimate (never covered by supply)
    estimated = line(1, strategy=GAIN, priority=3, holds=ESTIMATE_SHIPS, confirmed=False)
    # When a higher-priority gain line competes for the one unit on hand
    result = run([stock(1)], [estimated, line(2, strategy=GAIN, priority=0, days_ago=0)])
    # Then the estimate is no guarantee: plain priority order decides
    assert sources(result[2]) == [("stock", 1)]
    assert result[1].rule == "estimate:lead_time"
    assert not result[1].guarantee_broken


def test_new_fill_lines_are_served_after_redistribute_lines():
    # Given a fill line without a promise, placed before a redistribute line
    result = run([stock(1)], [line(1, strategy=FILL, days_ago=9), line(2, days_ago=1)])
    # Then the redistribute line is served first
    assert sources(result[2]) == [("stock", 1)]
    assert result[1].rule == "estimate:lead_time"


def test_lose_lines_are_served_last():
    # Given an old lose line from the top channel and a newer redistribute line
    lose = line(1, strategy=LOSE, priority=0, days_ago=30, holds=STOCK_SHIPS)
    redistribute = line(2, priority=9, days_ago=0)
    # When one unit is on hand
    result = run([stock(1), po(1, 1)], [lose, redistribute])
    # Then the redistribute line gets it and the lose line takes what is left
    assert sources(result[2]) == [("stock", 1)]
    assert sources(result[1]) == [("po:1", 1)]
    assert result[1].rule == "lose"


def test_fifo_within_a_class_by_placed_at_then_line_id():
    # Given three lines of one class and channel: line 7 placed first, lines 3 and 5 together
    first = line(7, days_ago=9)
    tie_low, tie_high = line(5, days_ago=2), line(3, days_ago=2)
    # When two units are on hand
    result = run([stock(2), po(1, 5)], [tie_low, tie_high, first])
    # Then the earliest placed, then the lower line id, get them
    assert sources(result[7]) == [("stock", 1)]
    assert sources(result[3]) == [("stock", 1)]
    assert sources(result[5]) == [("po:1", 1)]


def test_channel_priority_comes_before_placed_at():
    # Given an old line from a low-priority channel and a new one from the top channel
    old, new = line(1, priority=2, days_ago=20), line(2, priority=0, days_ago=0)
    # When one unit is on hand
    result = run([stock(1), po(1, 1)], [old, new])
    # Then the top channel is served first
    assert sources(result[2]) == [("stock", 1)]
    assert sources(result[1]) == [("po:1", 1)]


def test_result_lists_lines_in_priority_order():
    # Given one line of each class, listed in reverse
    demand = [
        line(5, strategy=LOSE),
        line(4, strategy=FILL),
        line(3),
        line(2, strategy=GAIN),
        line(1, strategy=WIN),
    ]
    # When allocated
    result = allocate([stock(10)], demand, CAL, POLICY, now=NOW)
    # Then the assignments come in processing order: win, gain, redistribute, fill, lose
    assert [a.line_id for a in result] == [1, 2, 3, 4, 5]


def test_same_input_in_any_order_gives_the_same_assignments():
    # Given a mixed pool
    supply = [stock(3), po(1, 4), po(2, 2, date(2026, 3, 10)), po(3, 0)]
    demand = [
        line(1, qty=2, strategy=WIN, days_ago=1),
        line(2, qty=2, strategy=GAIN, holds=PO_SHIPS),
        line(3, qty=3, strategy=FILL, holds=PO_SHIPS, priority=0),
        line(4, qty=1, days_ago=3),
        line(5, qty=1, days_ago=3),
        line(6, qty=4, strategy=LOSE),
    ]
    expected = allocate(supply, demand, CAL, POLICY, now=NOW)
    rng = random.Random(20260303)
    for _ in range(20):
        # When the same pool is given in another order
        rng.shuffle(supply)
        rng.shuffle(demand)
        # Then the answer is identical
        assert allocate(supply, demand, CAL, POLICY, now=NOW) == expected


def test_free_supply_subtracts_assignments_and_drops_empty_sources():
    # Given 3 on hand and two PO lines, and two lines that take 3 + 1
    supply = [po(2, 4, date(2026, 4, 1)), stock(3), po(1, 1)]
    assignments = allocate(supply, [line(1, qty=3), line(2, qty=2)], CAL, POLICY, now=NOW)
    # When the free supply is computed
    left = free_supply(supply, assignments)
    # Then stock and PO 1 are gone and PO 2 has 3 units left
    assert left == [po(2, 3, date(2026, 4, 1))]


def test_free_supply_rejects_over_use():
    over = Assignment(
        line_id=1,
        allocations=(Allocation("stock", "stock", "", 2, TODAY),),
        confirmed=True,
        supply_date=TODAY,
        ship_date=STOCK_SHIPS,
        rule="redistribute",
    )
    with pytest.raises(ValueError, match="over-used"):
        free_supply([stock(1)], [over])


def test_po_slip_moves_only_the_lines_it_covers():
    # Given 3 on hand, a PO of 10 available in three weeks, and 5 orders of 1
    orders = [line(i, days_ago=10 - i) for i in range(1, 6)]
    before = run([stock(3), po(1, 10)], orders)
    # Then the first three ship from stock and the last two after the PO date
    for i in (1, 2, 3):
        assert sources(before[i]) == [("stock", 1)]
        assert before[i].ship_date == STOCK_SHIPS
    for i in (4, 5):
        assert sources(before[i]) == [("po:1", 1)]
        assert before[i].ship_date == PO_SHIPS > PO_DATE

    # When the PO slips seven weeks and the pool is re-promised
    promised = [
        line(i, days_ago=10 - i, holds=before[i].ship_date, confirmed=True) for i in range(1, 6)
    ]
    after = run([stock(3), po(1, 10, PO_DATE + timedelta(weeks=7))], promised)
    # Then the two PO lines move later and the three stock lines stay
    for i in (1, 2, 3):
        assert after[i] == before[i]
    for i in (4, 5):
        assert after[i].ship_date == date(2026, 5, 13)
        assert after[i].confirmed


def test_strategy_given_as_text_is_accepted():
    assert line(1, strategy="gain").strategy is Strategy.GAIN  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("supply", "demand", "match"),
    [
        ([stock(1), stock(2)], [], "duplicate supply key"),
        ([], [line(1), line(1)], "duplicate line_id"),
    ],
)
def test_allocate_rejects_duplicates(supply, demand, match):
    with pytest.raises(ValueError, match=match):
        allocate(supply, demand, CAL, POLICY, now=NOW)


def test_allocate_rejects_naive_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        line_naive = Demand(1, 1, REDISTRIBUTE, 1, datetime(2026, 3, 1, 9), None)
        allocate([], [line_naive], CAL, POLICY, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        allocate([], [], CAL, POLICY, now=datetime(2026, 3, 3, 9))
