"""allocate_new: new lines against a pool's free supply get what a full run would give them.

No database: a pool is run in full (promised, then re-promised), its balances taken from
that run, new lines added one order at a time from the balances, sometimes days later, and
each answer compared with a full run of the pool holding every promise made so far plus the
new lines.
"""

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from promises.engine import (
    Balance,
    Demand,
    Strategy,
    Supply,
    allocate,
    allocate_new,
    balances_after,
    balances_take,
    cover_bound,
)
from tests.depth import examples
from tests.promises.test_engine_properties import CAL, NOW, POLICY, TODAY, _days

ORDERS = settings(max_examples=examples(400), deadline=None)


@st.composite
def pools(draw):
    """Supply (stock and PO lines, dates often shared) and waiting lines of every strategy."""
    supply = [Supply("a-stock", "stock", "", draw(st.integers(0, 6)), TODAY)]
    for i in range(draw(st.integers(0, 4))):
        supply.append(Supply(f"po:{i}", "purchase_order", f"PO-{i}", draw(st.integers(0, 6)),
                             _days(draw(st.sampled_from((-2, 5, 5, 20, 40))))))
    lines = [_line(draw, 1 + i) for i in range(draw(st.integers(0, 8)))]
    orders = [[_line(draw, 1000 + 10 * i + j) for j in range(draw(st.integers(1, 2)))]
              for i in range(draw(st.integers(1, 6)))]
    for order in orders:  # one order: one strategy, channel and time
        first = order[0]
        order[:] = [replace(d, strategy=first.strategy, channel_priority=first.channel_priority,
                            placed_at=first.placed_at) for d in order]
    # Days between the last full run and the orders: promises made then may be late now.
    return supply, lines, orders, NOW + timedelta(days=draw(st.sampled_from((0, 0, 0, 1, 4))))


def _line(draw, line_id: int) -> Demand:
    return Demand(
        line_id=line_id, qty=draw(st.integers(1, 3)), strategy=draw(st.sampled_from(list(Strategy))),
        channel_priority=draw(st.sampled_from((0, 5))),
        placed_at=NOW - timedelta(hours=draw(st.integers(0, 24 * 10))), current_ship_date=None)


def _promised(demand: list[Demand], assignments) -> list[Demand]:
    """The lines holding what they were just given, as a re-promise would read them."""
    by_line = {a.line_id: a for a in assignments}
    return [replace(d, current_ship_date=by_line[d.line_id].ship_date,
                    current_confirmed=by_line[d.line_id].confirmed) for d in demand]


def _view(a):
    return (a.allocations, a.confirmed, a.ship_date, a.rule, a.guarantee_broken)


@ORDERS
@given(pool=pools())
def test_new_lines_get_from_the_free_supply_what_a_full_run_gives_them(pool):
    supply, lines, orders, now = pool
    for _ in range(2):  # promised, then re-promised: promise holders reserve their units
        assignments = allocate(supply, lines, CAL, POLICY, now=NOW)
        lines = _promised(lines, assignments)
    balances = balances_after(supply, lines, assignments)
    for order in orders:
        full = {a.line_id: a for a in allocate(supply, lines + order, CAL, POLICY, now=now)}
        quick = allocate_new(balances, order, CAL, POLICY, now=now)
        # What intake refuses on without a full run: no line gets more than its bound.
        for d in order:
            assert sum(al.qty for al in full[d.line_id].allocations) <= cover_bound(balances, d)
        if quick is None:  # the order displaces others: a full run decides, as intake does
            assignments = list(full.values())
            balances = balances_after(supply, lines + order, assignments)
        else:
            assert [_view(a) for a in quick] == [_view(full[d.line_id]) for d in order]
            balances = balances_take(balances, order, quick)
            assignments = quick
        lines = _promised(lines + order, list(full.values()))
        # The balances always add up to the supply.
        for b, s in zip(balances, supply, strict=True):
            assert b.supply.qty + sum(b.held.values()) + b.waiting == s.qty


def test_a_redistribute_order_takes_free_supply_beside_promise_holders():
    supply = [Supply("stock", "stock", "", 1, TODAY), Supply("po:1", "purchase_order", "PO-1", 5, _days(10))]
    holder = Demand(1, 1, Strategy.REDISTRIBUTE, 0, NOW - timedelta(days=1), _days(1), True)
    balances = [Balance(replace(supply[0], qty=0), {Strategy.REDISTRIBUTE: 1}), Balance(supply[1], {})]
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    [a] = allocate_new(balances, [new], CAL, POLICY, now=NOW)
    assert [(al.supply_key, al.qty) for al in a.allocations] == [("po:1", 1)]
    full = allocate(supply, [holder, new], CAL, POLICY, now=NOW)
    assert next(x for x in full if x.line_id == 2) == a


def test_a_win_order_that_would_take_a_promised_unit_needs_a_full_run():
    supply = [Supply("stock", "stock", "", 1, TODAY), Supply("po:1", "purchase_order", "PO-1", 5, _days(10))]
    balances = [Balance(replace(supply[0], qty=0), {Strategy.REDISTRIBUTE: 1}), Balance(supply[1], {})]
    new = Demand(2, 1, Strategy.WIN, 0, NOW, None)
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is None


def test_a_redistribute_order_reaching_a_lose_line_unit_needs_a_full_run():
    supply = [Supply("stock", "stock", "", 1, TODAY)]
    balances = [Balance(replace(supply[0], qty=0), {Strategy.LOSE: 1})]
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is None


def test_an_estimate_ranked_before_the_order_keeps_its_units():
    supply = [Supply("stock", "stock", "", 2, TODAY)]
    earlier = (2, 0, NOW - timedelta(days=2))  # redistribute, priority 0, two days ago
    balances = [Balance(replace(supply[0], qty=0), {}, waiting=2, waiting_last=earlier)]
    new = Demand(3, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    [a] = allocate_new(balances, [new], CAL, POLICY, now=NOW)
    assert not a.confirmed and a.allocations == ()
    later = replace(new, placed_at=NOW - timedelta(days=3))  # placed before it: it would take them
    assert allocate_new(balances, [later], CAL, POLICY, now=NOW) is None


def _fill_holder(line_id, qty, ship_date, placed_at=NOW - timedelta(days=1)):
    return Demand(line_id, qty, Strategy.FILL, 0, placed_at, ship_date, True)


def test_a_fill_promise_that_cannot_reach_later_supply_stays_out_of_the_way():
    # The fill line holds stock for tomorrow; the PO comes long after its date.
    supply = [Supply("stock", "stock", "", 2, TODAY), Supply("po:1", "purchase_order", "PO-1", 5, _days(20))]
    holder = _fill_holder(1, 2, None)
    [held] = allocate(supply, [replace(holder, current_ship_date=None, current_confirmed=False)], CAL, POLICY,
                      now=NOW)
    holder = replace(holder, current_ship_date=held.ship_date)
    balances = balances_after(supply, [holder], [held])
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    [a] = allocate_new(balances, [new], CAL, POLICY, now=NOW)
    full = allocate(supply, [holder, new], CAL, POLICY, now=NOW)
    assert next(x for x in full if x.line_id == 2) == a and a.allocations[0].supply_key == "po:1"


def test_a_fill_promise_whose_date_reaches_later_free_supply_needs_a_full_run():
    # Promised for after the PO's date, it holds stock: a full run reserves the PO's units
    # for it instead and gives the stock to the new line.
    supply = [Supply("stock", "stock", "", 2, TODAY), Supply("po:1", "purchase_order", "PO-1", 5, _days(5))]
    holder = _fill_holder(1, 2, _days(30))
    balances = balances_after(supply, [holder], allocate(supply, [], CAL, POLICY, now=NOW))
    balances = [replace(balances[0], supply=replace(supply[0], qty=0), held={Strategy.FILL: 2},
                        fill=(_days(30), _days(30), TODAY)), balances[1]]
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is None
    full = allocate(supply, [holder, new], CAL, POLICY, now=NOW)
    assert next(x for x in full if x.line_id == 2).allocations[0].supply_key == "stock"


def test_a_fill_promise_past_its_date_needs_a_full_run():
    # Its date has passed: a full run breaks its guarantee and it takes the earliest units,
    # the stock the ledger holds free, so the new line gets the PO's unit.
    supply = [Supply("stock", "stock", "", 1, TODAY), Supply("po:1", "purchase_order", "PO-1", 2, _days(2))]
    holder = _fill_holder(1, 1, _days(-3), placed_at=NOW - timedelta(days=10))
    balances = [Balance(supply[0], {}),
                Balance(replace(supply[1], qty=1), {Strategy.FILL: 1}, fill=(_days(-3), _days(-3), _days(2)))]
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is None
    full = {x.line_id: x for x in allocate(supply, [holder, new], CAL, POLICY, now=NOW)}
    assert full[1].guarantee_broken and full[2].allocations[0].supply_key == "po:1"


def test_a_fill_promise_on_a_po_whose_date_moved_on_needs_a_full_run():
    # Promised from the PO's date two days out; the overdue PO is now due in four days.
    supply = [Supply("stock", "stock", "", 1, TODAY), Supply("po:1", "purchase_order", "PO-1", 2, _days(4))]
    [earlier] = allocate([replace(supply[1], available_on=_days(2))], [_fill_holder(1, 1, None)], CAL, POLICY,
                         now=NOW)
    balances = [Balance(supply[0], {}),
                Balance(replace(supply[1], qty=1), {Strategy.FILL: 1},
                        fill=(earlier.ship_date, earlier.ship_date, _days(2)))]
    new = Demand(2, 1, Strategy.REDISTRIBUTE, 0, NOW, None)
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is None
    # Where the PO's date stands as it was, the fill promise stays out of the way.
    balances[1] = replace(balances[1], supply=replace(balances[1].supply, available_on=_days(2)))
    assert allocate_new(balances, [new], CAL, POLICY, now=NOW) is not None
