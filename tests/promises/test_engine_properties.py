"""Properties every allocation must have, checked on generated pools (hypothesis); no database."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from promises.calendar import ShipCalendar
from promises.engine import Assignment, Demand, PoolPolicy, Strategy, Supply, allocate
from tests.depth import examples

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tue 09:00 in New York
TODAY = date(2026, 3, 3)
CAL = ShipCalendar(timezone="America/New_York", cutoff=time(17, 0), handling_days=1, country="US")
POLICY = PoolPolicy(lead_time_days=30, sell_beyond_supply=True)
FAST = settings(max_examples=examples(200), deadline=None)


def _days(n: int) -> date:
    return TODAY + timedelta(days=n)


@st.composite
def supplies(draw) -> list[Supply]:
    """Draw a pool's supply: maybe stock, and up to five PO lines (some late, some empty)."""
    supply = []
    if draw(st.booleans()):
        supply.append(Supply("stock", "stock", "", draw(st.integers(0, 8)), TODAY))
    for i in range(draw(st.integers(0, 5))):
        supply.append(
            Supply(
                key=f"po:{i}",
                kind="purchase_order",
                reference=f"PO-{i}",
                qty=draw(st.integers(0, 8)),
                available_on=_days(draw(st.integers(-5, 60))),
            )
        )
    return supply


@st.composite
def demands(draw) -> list[Demand]:
    """Draw open lines of every strategy, some holding (confirmed or estimated) promises."""
    ids = draw(st.lists(st.integers(1, 10_000), max_size=10, unique=True))
    return [
        Demand(
            line_id=line_id,
            qty=draw(st.integers(1, 5)),
            strategy=draw(st.sampled_from(list(Strategy))),
            channel_priority=draw(st.integers(0, 2)),
            # Whole hours, so equal placed_at values (line_id ties) happen too.
            placed_at=NOW - timedelta(hours=draw(st.integers(0, 24 * 30))),
            current_ship_date=draw(st.none() | st.integers(0, 70).map(_days)),
            current_confirmed=draw(st.booleans()),
        )
        for line_id in ids
    ]


@st.composite
def growth(draw, supply: list[Supply]) -> list[Supply]:
    """Draw the same supply with some quantities raised and maybe new PO lines added."""
    grown = [replace(s, qty=s.qty + draw(st.integers(0, 3))) for s in supply]
    for i in range(draw(st.integers(0, 2))):
        grown.append(
            Supply(
                f"po:new{i}",
                "purchase_order",
                f"PO-N{i}",
                draw(st.integers(1, 5)),
                _days(draw(st.integers(-5, 60))),
            )
        )
    return grown


def run(supply: list[Supply], demand: list[Demand]) -> list[Assignment]:
    return allocate(supply, demand, CAL, POLICY, now=NOW)


def calendar_ship_date(supply_date: date | None, d: Demand) -> date:
    return CAL.ship_date(supply_date=supply_date, placed_at=d.placed_at, now=NOW)


def promised_back(demand: list[Demand], result: list[Assignment]) -> list[Demand]:
    """Return the lines holding the promises the engine just made, as the service stores them."""
    by_id = {a.line_id: a for a in result}
    return [
        replace(
            d,
            current_ship_date=by_id[d.line_id].ship_date,
            current_confirmed=by_id[d.line_id].confirmed,
        )
        for d in demand
    ]


@FAST
@given(supplies(), demands())
def test_no_source_is_over_used(supply, demand):
    result = run(supply, demand)
    used = Counter()
    for a in result:
        for alloc in a.allocations:
            used[alloc.supply_key] += alloc.qty
    by_key = {s.key: s for s in supply}
    for key, qty in used.items():
        assert qty <= by_key[key].qty
    for a in result:
        for alloc in a.allocations:
            source = by_key[alloc.supply_key]
            assert alloc.qty > 0
            assert (alloc.kind, alloc.reference, alloc.available_on) == (
                source.kind,
                source.reference,
                source.available_on,
            )


@FAST
@given(supplies(), demands())
def test_no_line_gets_more_than_its_open_qty(supply, demand):
    result = run(supply, demand)
    qty = {d.line_id: d.qty for d in demand}
    assert sorted(a.line_id for a in result) == sorted(qty)
    for a in result:
        covered = sum(alloc.qty for alloc in a.allocations)
        assert covered <= qty[a.line_id]
        assert a.confirmed == (covered == qty[a.line_id])
        assert a.supply_date == max((x.available_on for x in a.allocations), default=None)


@FAST
@given(supplies(), demands())
def test_no_line_ships_before_its_latest_source_allows(supply, demand):
    result = run(supply, demand)
    lines = {d.line_id: d for d in demand}
    for a in result:
        d = lines[a.line_id]
        if a.supply_date is not None:
            assert a.ship_date >= calendar_ship_date(a.supply_date, d)
        if not a.confirmed:
            estimate = calendar_ship_date(TODAY + timedelta(days=POLICY.lead_time_days), d)
            assert a.ship_date >= estimate


@FAST
@given(supplies(), demands())
def test_fifo_within_a_class_among_lines_without_a_held_promise(supply, demand):
    # Lines holding a confirmed promise are served first, by promised date, so FIFO is
    # checked among waiting lines, per queue (strategy, channel priority).
    result = {a.line_id: a for a in run(supply, demand)}
    plain = [d for d in demand if not d.holds_promise and result[d.line_id].confirmed]
    for earlier in plain:
        for later in plain:
            same_queue = (earlier.strategy, earlier.holds_promise, earlier.channel_priority) == (
                later.strategy,
                later.holds_promise,
                later.channel_priority,
            )
            if same_queue and (earlier.placed_at, earlier.line_id) < (
                later.placed_at,
                later.line_id,
            ):
                assert result[earlier.line_id].supply_date <= result[later.line_id].supply_date


@FAST
@given(supplies(), demands(), st.randoms(use_true_random=False))
def test_same_output_under_any_input_order(supply, demand, rnd):
    expected = run(supply, demand)
    rnd.shuffle(supply)
    rnd.shuffle(demand)
    assert run(supply, demand) == expected


@FAST
@given(st.data(), supplies(), demands())
def test_gain_and_win_are_never_worse_when_supply_grows_or_stays(data, supply, demand):
    # Given the promises the engine made, stored back on the lines
    first = {a.line_id: a for a in run(supply, demand)}
    promised = promised_back(demand, list(first.values()))
    # When the pool is re-promised with the same or more supply
    again = {a.line_id: a for a in run(data.draw(growth(supply)), promised)}
    # Then no confirmed gain (or win) line ships later, and none is flagged
    for d in promised:
        if d.strategy in (Strategy.GAIN, Strategy.WIN) and d.current_confirmed:
            assert not again[d.line_id].guarantee_broken
            assert again[d.line_id].confirmed
            assert again[d.line_id].ship_date <= first[d.line_id].ship_date


@FAST
@given(st.data(), supplies(), demands())
def test_fill_keeps_exactly_its_date_when_supply_covers_all_guarantees(data, supply, demand):
    # Given the promises the engine made: they fit the supply, so all guarantees can be met
    first = {a.line_id: a for a in run(supply, demand)}
    promised = promised_back(demand, list(first.values()))
    # When the pool is re-promised with the same or more supply
    again = {a.line_id: a for a in run(data.draw(growth(supply)), promised)}
    # Then every confirmed fill line keeps exactly its date
    for d in promised:
        if d.strategy is Strategy.FILL and d.current_confirmed:
            assert again[d.line_id].rule == "fill:kept"
            assert again[d.line_id].ship_date == first[d.line_id].ship_date


@FAST
@given(supplies(), demands())
def test_kept_guarantees_meet_their_promise(supply, demand):
    result = {a.line_id: a for a in run(supply, demand)}
    for d in demand:
        a = result[d.line_id]
        if d.is_protected and not a.guarantee_broken:
            assert a.confirmed
            if d.strategy is Strategy.FILL:
                assert a.ship_date == d.current_ship_date
            else:
                assert a.ship_date <= d.current_ship_date
        if a.guarantee_broken:
            assert d.holds_promise and a.rule == "guarantee_broken"
            assert d.strategy in (Strategy.WIN, Strategy.GAIN, Strategy.FILL)
        if d.strategy is Strategy.WIN and d.holds_promise and not a.guarantee_broken:
            assert a.confirmed and a.ship_date <= d.current_ship_date


@settings(max_examples=examples(2000), deadline=None)  # cheap, and its counterexamples are rare
@given(supplies(), demands())
def test_repromising_unchanged_supply_moves_no_confirmed_line_later(supply, demand):
    # Given the engine's own answer recorded as each line's current promise
    first = {a.line_id: a for a in run(supply, demand)}
    held = [
        replace(d, current_ship_date=first[d.line_id].ship_date,
                current_confirmed=first[d.line_id].confirmed)
        for d in demand
    ]
    # When the same supply is allocated again
    second = {a.line_id: a for a in run(supply, held)}
    # Then no line that was confirmed gets a later date or loses its confirmation
    for line_id, before in first.items():
        if before.confirmed:
            assert second[line_id].confirmed
            assert second[line_id].ship_date <= before.ship_date
