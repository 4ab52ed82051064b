"""The free-supply ledger: per pool and supply source, the units no open line holds.

Intake allocates a new order's lines against it (engine.allocate_new) in a few statements
whatever the number of lines waiting in the pool, instead of loading and re-running the
whole pool. It is kept exact under the pool's lock, the lock every writer of a pool's
promises holds:

- a full run of a pool (a re-promise, or an intake that ran the pool in full) rewrites the
  pool's rows from its assignments (`ledger_rebuild`);
- intake moves the units a new line takes from `free` to the line's class (`ledger_take`).

Anything else that changes a pool's supply or demand (receipts, stock counts, PO changes,
shipments, cancellations, line edits, SKU policy, caps, a channel's priority or strategy)
marks the pool dirty (promises.services.pools_mark_dirty) and leaves the ledger alone. The
rows record the mark (id, ledger generation) the full run that wrote them read before
loading the pool; a change commits with its mark, so that run saw the change. A pool whose
supply or demand was marked since is out of date: intake runs it in full, which rewrites its
rows with the new mark. A mark that changes neither (a cap's, to re-check promises) leaves
the ledger generation, and so the ledger, as it was.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import OuterRef, Subquery

from core.bulk import copy_rows, execute_rows
from core.compiled import compiled_sql
from inventory.models import po_line_available_on
from promises import engine
from promises.engine import STOCK, Strategy, Supply, SupplyKey
from promises.models import DirtyPool, PoolSupply
from promises.selectors import STOCK_DATE, PoolKey, PoolState

HELD_COLUMNS = {strategy: f"held_{strategy.value}" for strategy in Strategy}
COLUMNS = ("sku_id", "warehouse_id", "po_line_id", "free", *HELD_COLUMNS.values(), "held_waiting",
           "waiting_rank", "waiting_priority", "waiting_placed_at", "fill_date_first", "fill_date_last",
           "fill_supply_date", "mark_id", "mark_generation")

Mark = tuple[int, int]  # a DirtyPool row's (id, ledger_generation)

#: Below this many rows a plain INSERT beats COPY's round trips.
COPY_MIN_ROWS = 100


@dataclass(slots=True)
class PoolLedger:
    """A pool's ledger rows as intake reads them: each source's balance and its row id."""

    balances: list[engine.Balance]
    row_ids: dict[SupplyKey, int]
    dirty: bool  # marked dirty since the full run that wrote the rows: they may be out of date


# --- Reading ----------------------------------------------------------------------------------


def _ledger_query(sku_ids, warehouse_ids):
    marked = DirtyPool.objects.filter(sku_id=OuterRef("sku_id"), warehouse_id=OuterRef("warehouse_id"))
    return (PoolSupply.objects.filter(sku_id__any=sku_ids, warehouse_id__any=warehouse_ids)
            .annotate(dirty_id=Subquery(marked.values("id")[:1]),
                      dirty_generation=Subquery(marked.values("ledger_generation")[:1]))
            .values_list("id", "sku_id", "warehouse_id", "po_line_id", "warehouse__code", "free",
                         *HELD_COLUMNS.values(), "held_waiting", "waiting_rank", "waiting_priority",
                         "waiting_placed_at", "fill_date_first", "fill_date_last", "fill_supply_date",
                         "po_line__eta", "po_line__purchase_order__eta",
                         "po_line__purchase_order__dock_to_stock_days",
                         "po_line__purchase_order__number", "mark_id", "mark_generation",
                         "dirty_id", "dirty_generation")
            .order_by())


def ledgers_read(*, pools: set[PoolKey], today: date) -> dict[PoolKey, PoolLedger]:
    """Return the ledger of each of these pools the ledger knows (one statement).

    A pool is known when it has its stock row; a PO line's date is derived for `today`,
    as pools_load derives it.
    """
    filters = {"sku_ids": {s for s, _ in pools}, "warehouse_ids": {w for _, w in pools}}
    if connection.vendor == "postgresql":  # compiled once per process (core.compiled)
        sql, params = compiled_sql(_ledger_query, **filters)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = _ledger_query(**filters)
    ledgers: dict[PoolKey, PoolLedger] = {}
    known: set[PoolKey] = set()
    for (row_id, sku_id, wh_id, po_line_id, wh_code, free, *held, waiting, w_rank, w_priority,
         w_placed_at, fill_first, fill_last, fill_supply, line_eta, po_eta, dock, number, mark_id,
         mark_generation, dirty_id, dirty_generation) in rows:
        key = (sku_id, wh_id)
        if key not in pools:
            continue
        if po_line_id is None:
            known.add(key)
            supply = Supply(STOCK, "stock", wh_code, free, STOCK_DATE)
        else:
            supply = Supply(SupplyKey(po_line_id), "purchase_order", number, free,
                            po_line_available_on(eta=line_eta or po_eta, dock_to_stock_days=dock, today=today))
        balance = engine.Balance(
            supply=supply, held=dict(zip(HELD_COLUMNS, held, strict=True)), waiting=waiting,
            waiting_last=(w_rank, w_priority, w_placed_at) if w_rank is not None else None,
            fill=(fill_first, fill_last, fill_supply) if fill_first is not None else None)
        ledger = ledgers.setdefault(key, PoolLedger([], {}, False))
        ledger.balances.append(balance)
        ledger.row_ids[supply.key] = row_id
        # Out of date when supply or demand was marked since the run that wrote it (a new
        # mark, or a newer ledger generation); 0: the row's marks changed neither.
        ledger.dirty = ledger.dirty or (dirty_id is not None and dirty_generation != 0 and (
            dirty_id, dirty_generation) != (mark_id, mark_generation))
    return {key: ledger for key, ledger in ledgers.items() if key in known}


# --- Writing ----------------------------------------------------------------------------------


def ledger_take(ledger: PoolLedger, demand: list[engine.Demand], assignments: list[engine.Assignment]) -> None:
    """Record the units new lines of a pool took (the caller holds the pool's lock)."""
    after = engine.balances_take(ledger.balances, demand, assignments)
    changed = [b for b, old in zip(after, ledger.balances, strict=True) if b != old]
    if not changed:
        return
    sets = ", ".join(f"{c} = %s" for c in COLUMNS[3:-2])
    with connection.cursor() as cursor:
        execute_rows(cursor, f"UPDATE {PoolSupply._meta.db_table} SET {sets} WHERE id = %s",
                     [_adapted((*_values(b), ledger.row_ids[b.supply.key])) for b in changed])


def _values(b: engine.Balance) -> tuple:
    """A balance as its row's columns from `free` to `fill_supply_date`."""
    return (b.supply.qty, *(b.held.get(s, 0) for s in Strategy), b.waiting,
            *(b.waiting_last or (None, None, None)), *(b.fill or (None, None, None)))


def ledger_rebuild(states: dict[PoolKey, PoolState], allocated: dict[PoolKey, list],
                   marks: dict[PoolKey, Mark] | None = None) -> None:
    """Rewrite the ledger of pools a full run just allocated (the caller holds their locks).

    `marks` names the dirty mark of each pool the caller read before loading it: the rows
    include its change. A pool marked without its mark named here stays out of date.
    """
    if not states:
        return
    marks = marks or {}
    rows = []
    for key, state in states.items():
        supply = state.supply
        if not any(s.key == STOCK for s in supply):  # every known pool has its stock row
            supply = [Supply(STOCK, "stock", "", 0, STOCK_DATE), *supply]
        for b in engine.balances_after(supply, state.demand, allocated.get(key, ())):
            rows.append((state.sku_id, state.warehouse_id, b.supply.key.po_line, *_values(b),
                         *marks.get(key, (None, None))))
    _pools_delete(list(states))
    table, columns = PoolSupply._meta.db_table, ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
            copy_rows(cursor, table=table, columns=columns, rows=rows)
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                               [_adapted(row) for row in rows])


def dirty_marks_read(pools: set[PoolKey]) -> dict[PoolKey, Mark]:
    """Return the dirty marks of these pools, to read before loading them for a full run."""
    rows = DirtyPool.objects.filter(sku_id__in={s for s, _ in pools}, warehouse_id__in={w for _, w in pools})
    return {(sku, wh): (mark_id, generation)
            for mark_id, sku, wh, generation in rows.values_list("id", "sku_id", "warehouse_id",
                                                                 "ledger_generation")
            if (sku, wh) in pools}


def _pools_delete(pools: list[PoolKey]) -> None:
    table = PoolSupply._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"DELETE FROM {table} WHERE (sku_id, warehouse_id) IN "
                f"(SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                [[s for s, _ in pools], [w for _, w in pools]])
        else:
            cursor.executemany(f"DELETE FROM {table} WHERE sku_id = %s AND warehouse_id = %s", pools)


def _adapted(row: tuple) -> tuple:
    """Datetimes as the database driver takes them (SQLite stores text)."""
    adapt = connection.ops.adapt_datetimefield_value
    return tuple(adapt(v) if hasattr(v, "tzinfo") and hasattr(v, "hour") else v for v in row)
