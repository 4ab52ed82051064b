"""Allocate one (SKU, warehouse) pool's supply to its open order lines and promise ship dates.

Pure: standard library only, plain frozen dataclasses in, decisions out, no database. The
processing order follows SAP's backorder processing; docs/promising.md explains it with
worked examples. In short, after sorting supply by (available_on, key) and lines by
(strategy class; lines holding a confirmed promise first, by promised date; then
channel_priority, placed_at, line_id):

1. win lines take the earliest free supply;
2. gain, then fill, lines holding a confirmed promise reserve the latest supply that still
   meets it; when both classes keep some, the fill promises reserve again first, so they sit
   on the latest units whatever the gain ones held; the lines whose promise no supply can
   meet any more then take the earliest supply left and are flagged guarantee_broken;
3. gain lines, in priority order, give back what they hold and take the earliest free supply
   (never worse: their own units are back in the pool); new gain lines are served here too;
4. redistribute lines take the earliest free supply;
5. fill lines keep their reservation and their current date; new fill lines are served here;
6. lose lines take what is left.
Quantity nothing covers gets an unconfirmed estimate from the pool's fallback lead time.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "Allocation",
    "Assignment",
    "Calendar",
    "Demand",
    "PoolPolicy",
    "Strategy",
    "Supply",
    "Balance",
    "allocate",
    "allocate_new",
    "cover_bound",
    "balances_after",
    "balances_take",
    "free_supply",
]

SUPPLY_KINDS = ("stock", "purchase_order")


class Strategy(enum.StrEnum):
    """Backorder strategy of a line; the definition order is the processing order."""

    WIN = "win"
    GAIN = "gain"
    REDISTRIBUTE = "redistribute"
    FILL = "fill"
    LOSE = "lose"


_CLASS_RANK = {strategy: rank for rank, strategy in enumerate(Strategy)}
_STRATEGIES = {strategy.value: strategy for strategy in Strategy}


class Calendar(Protocol):
    """What the engine needs from promises.calendar.ShipCalendar."""

    @property
    def timezone(self) -> str: ...

    def ship_date(
        self, *, supply_date: date | None, placed_at: datetime, now: datetime
    ) -> date: ...

    def next_pick_batch(self, now: datetime) -> date: ...


@dataclass(frozen=True, slots=True)
class SupplyKey:
    """Which source a supply is: the pool's stock (no PO line), or one purchase order line."""

    po_line: int | None = None

    def __str__(self) -> str:
        return "stock" if self.po_line is None else f"po line {self.po_line}"

    def __hash__(self) -> int:
        # The generated hash builds a tuple each time; sources are dict keys in every run.
        return hash(self.po_line)

    def __lt__(self, other: SupplyKey) -> bool:
        # Breaks ties between sources available the same day: stock, then PO lines by id.
        return (self.po_line is not None, self.po_line or 0) < (other.po_line is not None, other.po_line or 0)


#: The pool's stock: one source per pool.
STOCK = SupplyKey()


@dataclass(frozen=True, slots=True)
class Supply:
    """Units of one source that a pool can promise from a date on."""

    key: SupplyKey | str  # any hashable name in tests; the service's keys are SupplyKeys
    kind: str
    reference: str
    qty: int
    available_on: date

    def __post_init__(self) -> None:
        """Reject a negative quantity or an unknown kind."""
        if self.qty < 0:
            raise ValueError(f"supply {self.key!r}: qty must be >= 0, got {self.qty}")
        if self.kind not in SUPPLY_KINDS:
            raise ValueError(f"supply {self.key!r}: kind must be one of {SUPPLY_KINDS}")


@dataclass(frozen=True, slots=True)
class Demand:
    """The open quantity of one order line, with the promise it holds now."""

    line_id: int
    qty: int
    strategy: Strategy
    channel_priority: int
    placed_at: datetime
    current_ship_date: date | None
    current_confirmed: bool = False

    def __post_init__(self) -> None:
        """Coerce a plain strategy string and reject unusable lines."""
        # Model fields hand over "gain"; grouping needs the enum member (a dict lookup:
        # Strategy("gain") costs more than the rest of a line's allocation).
        if type(self.strategy) is not Strategy:
            object.__setattr__(self, "strategy", _STRATEGIES.get(self.strategy) or Strategy(self.strategy))
        if self.qty <= 0:
            raise ValueError(f"line {self.line_id}: open qty must be > 0, got {self.qty}")
        if self.placed_at.tzinfo is None or self.placed_at.utcoffset() is None:
            raise ValueError(f"line {self.line_id}: placed_at must be timezone-aware")

    @property
    def holds_promise(self) -> bool:
        """Return whether the line holds a confirmed promise (an estimate is no promise)."""
        return self.current_confirmed and self.current_ship_date is not None

    @property
    def is_protected(self) -> bool:
        """Return whether the engine reserves supply for this line's promise (gain, fill)."""
        return self.strategy in (Strategy.GAIN, Strategy.FILL) and self.holds_promise


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units of one source given to a line."""

    supply_key: SupplyKey | str
    kind: str
    reference: str
    qty: int
    available_on: date


@dataclass(frozen=True, slots=True)
class Assignment:
    """The engine's decision for one line: its sources and its promised ship date."""

    line_id: int
    allocations: tuple[Allocation, ...]
    confirmed: bool
    supply_date: date | None
    ship_date: date
    rule: str
    guarantee_broken: bool = False


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    """Per-pool settings the allocation needs beyond supply and demand."""

    lead_time_days: int
    sell_beyond_supply: bool

    def __post_init__(self) -> None:
        """Reject a negative lead time."""
        if self.lead_time_days < 0:
            raise ValueError(f"lead_time_days must be >= 0, got {self.lead_time_days}")


def _supply_order(s: Supply) -> tuple[date, str]:
    return (s.available_on, s.key)


def _priority(d: Demand) -> tuple[int, int, date, int, datetime, int]:
    # Within a class, lines already holding a confirmed promise come first, in the order of
    # their promised dates, so each keeps the supply it was promised while supply allows:
    # a new order never takes supply promised to an older line (only `win` may), and a
    # re-promise with unchanged supply moves nobody later. Channel priority and placed time
    # order the waiting lines, and break ties (docs/promising.md).
    held = d.holds_promise
    return (_CLASS_RANK[d.strategy], 0 if held else 1,
            d.current_ship_date if held else date.min, d.channel_priority, d.placed_at, d.line_id)


class _Pool:
    """Free units per source, walked earliest first (or latest first for reservations)."""

    __slots__ = ("sources", "free", "_index", "_head")

    def __init__(self, supply: Iterable[Supply]) -> None:
        # Zero-quantity sources (all safety stock, fully received PO) can never be taken.
        self.sources = sorted((s for s in supply if s.qty > 0), key=_supply_order)
        self.free = {s.key: s.qty for s in self.sources}
        self._index = {s.key: i for i, s in enumerate(self.sources)}
        self._head = 0  # no source before this index has free units; keeps big pools linear

    def take_earliest(self, qty: int) -> dict[str, int]:
        """Take up to qty units from the earliest sources with free units."""
        while self._head < len(self.sources) and not self.free[self.sources[self._head].key]:
            self._head += 1
        return self._take(itertools.islice(self.sources, self._head, None), qty)

    def take_latest(self, prefix: int, qty: int) -> dict[str, int]:
        """Take qty units from the latest of the first `prefix` sources."""
        return self._take(reversed(self.sources[:prefix]), qty)

    def free_in(self, prefix: int) -> int:
        """Return the free units of the first `prefix` sources."""
        return sum(self.free[s.key] for s in self.sources[:prefix])

    def release(self, taken: dict[str, int]) -> None:
        """Give units back to their sources."""
        for key, qty in taken.items():
            self.free[key] += qty
            self._head = min(self._head, self._index[key])

    def _take(self, sources: Iterable[Supply], qty: int) -> dict[str, int]:
        taken: dict[str, int] = {}
        for s in sources:
            if not qty:
                break
            n = min(self.free[s.key], qty)
            if n:
                self.free[s.key] -= n
                taken[s.key] = n
                qty -= n
        return taken


class _Run:
    """One allocate() call: the pool, the calendar and a ship-date memo."""

    def __init__(self, supply: Sequence[Supply], calendar: Calendar, now: datetime) -> None:
        self.pool = _Pool(supply)
        self.calendar = calendar
        self.now = now
        self.today = now.astimezone(ZoneInfo(calendar.timezone)).date()
        self._ship_dates: dict[tuple[date | None, datetime], date] = {}

    def ship_date(self, supply_date: date | None, placed_at: datetime) -> date:
        """Return the calendar's ship date, memoised: reservations ask it per source."""
        key = (supply_date, placed_at)
        if key not in self._ship_dates:
            self._ship_dates[key] = self.calendar.ship_date(
                supply_date=supply_date, placed_at=placed_at, now=self.now
            )
        return self._ship_dates[key]

    def reserve(self, d: Demand) -> dict[str, int] | None:
        """Reserve the latest units that still meet d's promise, or None if too few do."""
        assert d.current_ship_date is not None
        # Ship dates only grow with the supply date, so the sources meeting it form a prefix.
        prefix = 0
        for s in self.pool.sources:
            if self.ship_date(s.available_on, d.placed_at) > d.current_ship_date:
                break
            prefix += 1
        if self.pool.free_in(prefix) < d.qty:
            return None
        return self.pool.take_latest(prefix, d.qty)


def allocate(
    supply: Sequence[Supply],
    demand: Sequence[Demand],
    calendar: Calendar,
    policy: PoolPolicy,
    *,
    now: datetime,
) -> list[Assignment]:
    """Allocate a pool's supply to its lines; return one Assignment per line in priority order.

    Priority order is (strategy class win..lose; lines holding a confirmed promise first,
    by promised date; channel_priority, placed_at, line_id); the
    result is the same for any order of the inputs.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    _check_unique((s.key for s in supply), "supply key")
    _check_unique((d.line_id for d in demand), "line_id")

    run = _Run(supply, calendar, now)
    pool = run.pool
    lines = sorted(demand, key=_priority)
    by_class: dict[Strategy, list[Demand]] = {strategy: [] for strategy in Strategy}
    for d in lines:
        by_class[d.strategy].append(d)
    held: dict[int, dict[str, int]] = {}
    broken: set[int] = set()

    # 1. win
    for d in by_class[Strategy.WIN]:
        held[d.line_id] = pool.take_earliest(d.qty)

    # 2. guarantees: gain before fill. Keep every promise that can still be met before a broken
    # one grabs early supply, so one breach does not cascade into others.
    guaranteed = [d for d in by_class[Strategy.GAIN] + by_class[Strategy.FILL] if d.is_protected]
    for d in guaranteed:
        reserved = run.reserve(d)
        if reserved is None:
            broken.add(d.line_id)
        else:
            held[d.line_id] = reserved
    # The kept fill promises then reserve again, first: fill lines keep their units, so they
    # sit on the latest units their dates allow, whatever gain lines held a moment ago, and
    # leave the earliest to gain and the classes after (a re-promise moves nobody later).
    # Taking the latest units meeting a date never leaves another line short, so all succeed.
    kept = [d for d in guaranteed if d.line_id not in broken]
    if any(d.strategy is Strategy.GAIN for d in kept) and any(d.strategy is Strategy.FILL for d in kept):
        for d in kept:
            pool.release(held[d.line_id])
        for d in sorted(kept, key=lambda d: d.strategy is Strategy.GAIN):
            reserved = run.reserve(d)
            assert reserved is not None
            held[d.line_id] = reserved
    for d in guaranteed:
        if d.line_id in broken:
            held[d.line_id] = pool.take_earliest(d.qty)

    # 3. gain: improve (release, then earliest), new gain lines interleaved by priority.
    for d in by_class[Strategy.GAIN]:
        if d.line_id in held:
            pool.release(held[d.line_id])
        held[d.line_id] = pool.take_earliest(d.qty)

    # 4. redistribute, 5. fill (guaranteed ones keep their reservation), 6. lose.
    for strategy in (Strategy.REDISTRIBUTE, Strategy.FILL, Strategy.LOSE):
        for d in by_class[strategy]:
            if d.line_id not in held:
                held[d.line_id] = pool.take_earliest(d.qty)

    by_key = {s.key: s for s in pool.sources}
    return [
        _assignment(d, held[d.line_id], d.line_id in broken, by_key, run, policy) for d in lines
    ]


def _assignment(
    d: Demand,
    taken: dict[str, int],
    broken: bool,
    by_key: dict[str, Supply],
    run: _Run,
    policy: PoolPolicy,
) -> Assignment:
    """Turn the units a line holds into its Assignment."""
    sources = sorted((by_key[key] for key in taken), key=_supply_order)
    allocations = tuple(
        Allocation(s.key, s.kind, s.reference, taken[s.key], s.available_on) for s in sources
    )
    covered = sum(taken.values())
    confirmed = covered == d.qty
    supply_date = sources[-1].available_on if sources else None
    kept = d.is_protected and not broken

    if not confirmed:
        # The line ships complete, so the estimate can't beat its own latest partial source.
        estimate = run.today + timedelta(days=policy.lead_time_days)
        if supply_date is not None and supply_date > estimate:
            estimate = supply_date
        ship_date = run.ship_date(estimate, d.placed_at)
        rule = "estimate:lead_time"
    elif kept and d.strategy is Strategy.FILL:
        assert d.current_ship_date is not None
        ship_date = d.current_ship_date  # fill is never improved
        rule = "fill:kept"
    else:
        ship_date = run.ship_date(supply_date, d.placed_at)
        rule = d.strategy.value
        if kept:  # gain
            improved = d.current_ship_date is not None and ship_date < d.current_ship_date
            rule = "gain:improved" if improved else "gain:kept"
    if d.strategy is Strategy.WIN and d.holds_promise:
        # Win lines reserve nothing (they come first), yet losing their date is a breach too.
        assert d.current_ship_date is not None
        broken = not confirmed or ship_date > d.current_ship_date
    if broken:
        rule = "guarantee_broken"
    return Assignment(
        line_id=d.line_id,
        allocations=allocations,
        confirmed=confirmed,
        supply_date=supply_date,
        ship_date=ship_date,
        rule=rule,
        guarantee_broken=broken,
    )


@dataclass(frozen=True, slots=True)
class Balance:
    """One source of a pool as the free-supply ledger keeps it."""

    supply: Supply  # its qty: the units no line holds
    held: dict[Strategy, int]  # units held by lines holding a confirmed promise, by class
    waiting: int = 0  # units held by lines without one (the partial cover of an estimate)
    # (class rank, channel_priority, placed_at) of the last in priority order of those lines
    waiting_last: tuple[int, int, datetime] | None = None
    # The fill lines holding units here: (earliest promised date, latest promised date, the
    # source's date when they took them), to tell whether a full run would move them.
    fill: tuple[date, date, date] | None = None


def _fill_widened(fill: tuple[date, date, date] | None, a: Assignment, al: Allocation):
    """A source's fill summary with one more confirmed fill line holding units there."""
    if fill is None:
        return (a.ship_date, a.ship_date, al.available_on)
    return (min(fill[0], a.ship_date), max(fill[1], a.ship_date), min(fill[2], al.available_on))



#: The promise holders a full run serves after a new line of each class: all of them for
#: win (gain and fill reserve in step 2), redistribute holders for gain, lose for the rest
#: (gain and fill holders reserve before any later class is served).
_HOLDERS_AFTER = {
    Strategy.WIN: (Strategy.GAIN, Strategy.REDISTRIBUTE, Strategy.FILL, Strategy.LOSE),
    Strategy.GAIN: (Strategy.REDISTRIBUTE, Strategy.LOSE),
    Strategy.REDISTRIBUTE: (Strategy.LOSE,),
    Strategy.FILL: (Strategy.LOSE,),
    Strategy.LOSE: (),
}


_PROTECTED = (Strategy.GAIN, Strategy.FILL)


def allocate_new(
    balances: Sequence[Balance],
    demand: Sequence[Demand],
    calendar: Calendar,
    policy: PoolPolicy,
    *,
    now: datetime,
) -> list[Assignment] | None:
    """Allocate new lines of one class against a pool's free supply, as a full run would.

    A full run serves the new lines after every line it serves before them, so they take
    the earliest supply left free by those lines, which the ledger holds, unless units held
    by lines served after them, or reserved anew by gain and fill promises, are in the way:
    units of an earlier source than the last one the new lines take, or any unit when free
    supply does not cover them. Return None then (and for lines already holding a promise,
    or of mixed classes): only a full run decides those. Assumes the ledger is what the
    last full run of the pool and the new lines allocated since left.
    """
    if not demand or any(d.holds_promise for d in demand):
        return None
    strategy = demand[0].strategy
    if any(d.strategy is not strategy for d in demand):
        return None
    first = min((_CLASS_RANK[strategy], d.channel_priority, d.placed_at) for d in demand)
    # Gain and fill promises are served first but reserve the latest units meeting their
    # dates, which need not be the units they hold: count them as in the way too, unless
    # a full run would reserve just the units the fill promises hold (and none is gain).
    fill_in_the_way = True if strategy is Strategy.WIN else _fill_in_the_way(balances, calendar, now)
    if fill_in_the_way is None:
        return None
    later: dict[object, int] = {}
    for b in balances:
        units = b.held.get(Strategy.GAIN, 0) + (b.held.get(Strategy.FILL, 0) if fill_in_the_way else 0)
        units += sum(b.held.get(c, 0) for c in _HOLDERS_AFTER[strategy] if c not in _PROTECTED)
        # Unconfirmed lines ranked after the new ones (ties count as after: the safe side).
        if b.waiting and (b.waiting_last is None or b.waiting_last >= first):
            units += b.waiting
        later[b.supply.key] = units
    assignments = allocate([b.supply for b in balances], demand, calendar, policy, now=now)
    if not any(later.values()):
        return assignments
    if not all(a.confirmed for a in assignments):
        return None  # the walk went through every source: it would reach those units
    # Every source in the engine's order, those with no free unit too (the walk skips them).
    order = sorted((b.supply for b in balances), key=_supply_order)
    position = {s.key: i for i, s in enumerate(order)}
    last = max(position[al.supply_key] for a in assignments for al in a.allocations)
    if any(later[s.key] for s in order[:last]):
        return None
    return assignments


def _fill_in_the_way(balances: Sequence[Balance], calendar: Calendar, now: datetime) -> bool | None:
    """Return whether a full run might reserve for the fill promises other units than they
    hold (True), would reserve just those, source by source (False), or might break one
    (None: it would take the earliest units instead, wherever they are).

    A fill promise breaks when its source no longer meets its date: the date passed (the
    next pick batch is later), or its source's date moved on (an overdue PO). Gain
    promises are judged first: one whose own units stopped meeting its date can reserve
    the fill promises' units and break them, so a pool holding both runs in full too. Kept
    fill promises reserve the latest units meeting their dates (before the kept gain ones),
    so the units stay where they are when no later source their dates reach (available on
    or before the latest) has a unit beyond win and fill promises'.
    """
    if not any(b.held.get(Strategy.FILL, 0) for b in balances):
        return False
    if any(b.held.get(Strategy.GAIN, 0) for b in balances):
        return None
    order = sorted(balances, key=lambda b: _supply_order(b.supply))
    next_batch = calendar.next_pick_batch(now)
    moves = False
    for i, b in enumerate(order):
        if not b.held.get(Strategy.FILL, 0):
            continue
        if b.fill is None:
            return None  # written before the ledger kept fill dates: the full run writes them
        earliest, latest, supply_date = b.fill
        # Each met its date from this source's date then; the next pick batch must too.
        if b.supply.available_on > supply_date or next_batch > earliest:
            return None
        for later in order[i + 1:]:
            if moves or later.supply.available_on > latest:
                break
            others = sum(q for c, q in later.held.items() if c not in (Strategy.WIN, Strategy.FILL))
            moves = bool(later.supply.qty + later.waiting + others)
    return moves


def cover_bound(balances: Sequence[Balance], d: Demand) -> int:
    """Return the most units a full run could give a new line: at most its qty.

    Every line a full run serves takes as many units as are left, up to its qty (a
    reservation that fails takes the earliest instead), so the lines served before the new
    one take min(supply, their qty). Those include every holder of a promise of the classes
    served before it, and each holder holds its qty in the ledger. What the new line can
    get is therefore at most the pool's units less what those holders hold, wherever a full
    run would put them. Lines without a promise served before it only lower the figure.
    """
    before = [c for c in Strategy if c not in _HOLDERS_AFTER[d.strategy]]
    total = held_before = 0
    for b in balances:
        total += b.supply.qty + b.waiting + sum(b.held.values())
        held_before += sum(b.held.get(c, 0) for c in before)
    return max(0, min(d.qty, total - held_before))


def balances_after(
    supply: Sequence[Supply], demand: Sequence[Demand], assignments: Iterable[Assignment]
) -> list[Balance]:
    """Return the balance of each source after a full run's assignments (all sources kept)."""
    by_line = {d.line_id: d for d in demand}
    free = {s.key: s.qty for s in supply}
    held: dict[object, dict[Strategy, int]] = {s.key: {} for s in supply}
    waiting = dict.fromkeys(free, 0)
    last: dict[object, tuple | None] = dict.fromkeys(free)
    fill: dict[object, tuple | None] = dict.fromkeys(free)
    # Plain dicts, not balances_take's copies: a full run of a million lines passes here.
    for a in assignments:
        d = by_line[a.line_id]
        for al in a.allocations:
            key = al.supply_key
            free[key] -= al.qty
            if a.confirmed:
                held[key][d.strategy] = held[key].get(d.strategy, 0) + al.qty
                if d.strategy is Strategy.FILL:
                    fill[key] = _fill_widened(fill[key], a, al)
            else:
                waiting[key] += al.qty
                rank = (_CLASS_RANK[d.strategy], d.channel_priority, d.placed_at)
                if last[key] is None or rank > last[key]:
                    last[key] = rank
    if any(qty < 0 for qty in free.values()):
        raise ValueError("a supply source is over-used")
    return [Balance(replace(s, qty=free[s.key]), held[s.key], waiting[s.key], last[s.key], fill[s.key])
            for s in supply]


def balances_take(
    balances: Sequence[Balance], demand: Sequence[Demand], assignments: Iterable[Assignment]
) -> list[Balance]:
    """Return the balances after these lines took their assignments' units."""
    by_line = {d.line_id: d for d in demand}
    by_key = {b.supply.key: b for b in balances}
    for a in assignments:
        d = by_line[a.line_id]
        for al in a.allocations:
            b = by_key[al.supply_key]
            if al.qty > b.supply.qty:
                raise ValueError(f"supply {al.supply_key!r} is over-used")
            supply = replace(b.supply, qty=b.supply.qty - al.qty)
            if a.confirmed:
                held = dict(b.held)
                held[d.strategy] = held.get(d.strategy, 0) + al.qty
                fill = _fill_widened(b.fill, a, al) if d.strategy is Strategy.FILL else b.fill
                by_key[al.supply_key] = replace(b, supply=supply, held=held, fill=fill)
            else:
                rank = (_CLASS_RANK[d.strategy], d.channel_priority, d.placed_at)
                last = rank if b.waiting_last is None else max(b.waiting_last, rank)
                by_key[al.supply_key] = replace(b, supply=supply, waiting=b.waiting + al.qty,
                                                waiting_last=last)
    return [by_key[b.supply.key] for b in balances]


def free_supply(supply: Sequence[Supply], assignments: Iterable[Assignment]) -> list[Supply]:
    """Return the supply left after assignments, zero-quantity sources dropped, earliest first."""
    _check_unique((s.key for s in supply), "supply key")
    left = {s.key: s.qty for s in supply}
    for a in assignments:
        for alloc in a.allocations:
            if alloc.supply_key not in left:
                raise ValueError(f"line {a.line_id} uses unknown supply {alloc.supply_key!r}")
            left[alloc.supply_key] -= alloc.qty
            if left[alloc.supply_key] < 0:
                raise ValueError(f"supply {alloc.supply_key!r} is over-used")
    return sorted(
        (replace(s, qty=left[s.key]) for s in supply if left[s.key] > 0), key=_supply_order
    )


def _check_unique(values: Iterable[object], what: str) -> None:
    """Raise ValueError naming the first duplicate value."""
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what}: {value!r}")
        seen.add(value)
