"""Re-promising: mark pools dirty, recompute them with the engine, write what changed."""

import logging
import operator
import time
from collections import namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.bulk import (
    commit_without_waiting_for_disk,
    copy_into_temp,
    copy_rows,
    execute_rows,
    gc_paused,
    model_build,
)
from core.lookups import id_array
from core.queue import enqueue_on_commit
from inventory.models import SKU, StockLevel, Warehouse
from orders.models import OrderLine, OrderSync
from promises import engine
from promises.calendars import ship_calendar_for, transit_calendar_for
from promises.ledger import ledger_rebuild
from promises.models import DirtyPool, Promise, PromiseChange
from promises.ports import workflow
from promises.selectors import (
    STOCK_DATE,
    OpenLine,
    PoolKey,
    PoolState,
    pools_load,
    regions_by_id,
    warehouses_by_id,
)

log = logging.getLogger(__name__)

Cause = PromiseChange.Cause


@dataclass
class RepromiseResult:
    pools: int = 0
    lines: int = 0
    written: int = 0
    changes: list[PromiseChange] = field(default_factory=list)

    def add(self, other: "RepromiseResult") -> None:
        self.pools += other.pools
        self.lines += other.lines
        self.written += other.written
        self.changes += other.changes

    @property
    def later(self) -> int:
        return sum(1 for c in self.changes if c.later)


# --- Marking ----------------------------------------------------------------------------


def pools_mark_dirty(*, pools: Iterable[PoolKey], cause: str, po_line_id: int | None = None,
                     user_id: int | None = None, note: str = "",
                     po_lines: dict[PoolKey, int] | None = None, supply_or_demand: bool = True) -> None:
    """Record pools as needing a re-promise and enqueue the coalescing task on commit.

    `po_lines` names the PO line behind each pool where they differ (a PO's ETA moved:
    one pool per line), in place of the shared `po_line_id`. `supply_or_demand=False`
    says the change leaves what the pools allocate alone (a cap's change, which re-checks
    the promises against it): their free-supply ledger stays valid (promises.ledger).
    """
    pools = sorted(set(pools))
    if not pools:
        return
    now = timezone.now()
    table = DirtyPool._meta.db_table
    with transaction.atomic():
        # Every pool has a stock row: it is the row intake and re-promising lock. Pools never
        # stocked are rare; they get theirs one by one (with its history, safe against a race).
        stocked = set(StockLevel.objects.filter(sku_id__any=[s for s, _ in pools])
                      .values_list("sku_id", "warehouse_id"))
        for sku_id, warehouse_id in pools:
            if (sku_id, warehouse_id) not in stocked:
                StockLevel.objects.get_or_create(sku_id=sku_id, warehouse_id=warehouse_id)
        # One statement marks them all (a PO change marks one pool per line).
        for start in range(0, len(pools), 500):
            chunk = pools[start:start + 500]
            rows = ", ".join([f"(%s, %s, %s, %s, %s, %s, 1, {int(supply_or_demand)}, %s)"] * len(chunk))
            params = [v for pool in chunk for v in (
                *pool, cause, (po_lines or {}).get(pool, po_line_id), user_id, note[:200], now)]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""INSERT INTO {table}
                        (sku_id, warehouse_id, cause, po_line_id, user_id, note, generation,
                         ledger_generation, marked_at)
                        VALUES {rows}
                        ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET
                          cause = excluded.cause, po_line_id = excluded.po_line_id,
                          user_id = excluded.user_id, note = excluded.note,
                          generation = {table}.generation + 1,
                          ledger_generation = CASE WHEN excluded.ledger_generation > 0
                            THEN {table}.generation + 1 ELSE {table}.ledger_generation END,
                          marked_at = excluded.marked_at""",
                    params,
                )
    enqueue_on_commit("promises.tasks.repromise_dirty_pools")


# --- Recomputing ----------------------------------------------------------------------------


#: Dirty pools claimed per transaction: one load, one engine run, one write and one workflow
#: pass for all of them (a PO change marks one pool per line), few enough to keep the locks
#: short for intake on those SKUs.
DIRTY_POOLS_PER_TRANSACTION = 100


def dirty_pools_repromise(*, now: datetime | None = None, max_passes: int = 10) -> RepromiseResult:
    """Re-promise every dirty pool, a batch of pools per transaction; safe with many workers.

    A worker claims pools by locking their stock rows with SKIP LOCKED, so two workers never
    recompute the same pool at once. A worker that dies mid-batch rolls back: the old
    promises stay and the pools stay dirty. A mark is cleared only if no newer mark
    arrived meanwhile (its generation is unchanged).
    """
    result = RepromiseResult()
    for _ in range(max_passes):
        batch = list(DirtyPool.objects.order_by("marked_at", "id").values_list("id", flat=True)
                     [:DIRTY_POOLS_PER_TRANSACTION])
        if not batch:
            break
        batch_result = _dirty_pools_batch_repromise_isolated(batch, now=now or timezone.now())
        if batch_result is None:
            time.sleep(0.2)  # the pools left are held by other workers or intake
            continue
        result.add(batch_result)
    return result


def _dirty_pools_batch_repromise_isolated(dirty_ids: list[int], *, now: datetime) -> RepromiseResult | None:
    """Re-promise a batch; if it fails, retry its pools one by one so one bad pool (logged,
    left dirty) does not hold back the others."""
    try:
        return _dirty_pools_batch_repromise(dirty_ids, now=now)
    except Exception:
        if len(dirty_ids) == 1:
            raise
        log.exception("re-promising %s dirty pools together failed; retrying them one by one", len(dirty_ids))
    result, failed = None, 0
    for dirty_id in dirty_ids:
        try:
            pool_result = _dirty_pools_batch_repromise([dirty_id], now=now)
        except Exception:
            failed += 1
            log.exception("re-promising dirty pool mark %s failed; it stays dirty", dirty_id)
            continue
        if pool_result is not None:
            result = result or RepromiseResult()
            result.add(pool_result)
    if failed == len(dirty_ids):
        raise RuntimeError(f"every one of {failed} dirty pools failed to re-promise (see the log)")
    return result


def _dirty_pools_batch_repromise(dirty_ids: list[int], *, now: datetime) -> RepromiseResult | None:
    with gc_paused(), transaction.atomic():
        commit_without_waiting_for_disk()  # the pool stays dirty if lost
        claimed = _dirty_pools_claim(dirty_ids)
        if not claimed:
            return None
        # Re-read the marks under the locks: a newer mark may have replaced one meanwhile.
        marks = [m for m in DirtyPool.objects.filter(id__in=dirty_ids).values(
            "id", "sku_id", "warehouse_id", "cause", "po_line_id", "user_id", "note", "generation",
            "ledger_generation")
            if (m["sku_id"], m["warehouse_id"]) in claimed]
        if not marks:
            return None
        causes = {(m["sku_id"], m["warehouse_id"]): (m["cause"], m["po_line_id"], m["user_id"], m["note"])
                  for m in marks}
        states = pools_load(pools=set(causes), today=now.date())
        result = pools_repromise(states, cause=Cause.MANUAL, now=now, causes=causes, marks={
            (m["sku_id"], m["warehouse_id"]): (m["id"], m["ledger_generation"]) for m in marks})
        cleared = Q(pk__in=[])
        for m in marks:
            cleared |= Q(id=m["id"], generation=m["generation"])
        DirtyPool.objects.filter(cleared).delete()
        return result


def _dirty_pools_claim(dirty_ids: list[int]) -> set[PoolKey]:
    """Lock the stock rows of these marks' pools that no other transaction holds; return
    their pools. Rows are locked in primary-key order, as intake locks them.

    SQLite has no row locks (Django ignores select_for_update there); its single writer
    serialises the transactions instead.
    """
    marked = DirtyPool.objects.filter(id__in=dirty_ids, sku_id=OuterRef("sku_id"),
                                      warehouse_id=OuterRef("warehouse_id"))
    rows = (StockLevel.objects.select_for_update(skip_locked=True).filter(Exists(marked))
            .order_by("pk").values_list("sku_id", "warehouse_id"))
    return set(rows)


def pools_repromise_all(*, cause: str = Cause.NIGHTLY, sku_ids=None, now: datetime | None = None,
                           chunk_skus: int = 5000, note: str = "") -> RepromiseResult:
    """Re-promise every pool (or those of sku_ids), a chunk of SKUs per transaction.

    Each chunk locks its stock rows in primary-key order, the order intake also uses, so
    a nightly run and live orders never deadlock; intake on those SKUs waits for the chunk.
    """
    now = now or timezone.now()
    if sku_ids is None:
        sku_ids = SKU.objects.values_list("id", flat=True)
    sku_ids = sorted(sku_ids)
    result = RepromiseResult()
    for start in range(0, len(sku_ids), chunk_skus):
        chunk = sku_ids[start:start + chunk_skus]
        with gc_paused(), transaction.atomic():
            commit_without_waiting_for_disk()  # lost: its marks stay, the next run redoes it
            list(StockLevel.objects.select_for_update().filter(sku_id__in=chunk)
                 .order_by("pk").values_list("id", flat=True))
            marks = list(DirtyPool.objects.filter(sku_id__in=chunk).values_list(
                "id", "generation", "sku_id", "warehouse_id", "ledger_generation"))
            states = pools_load(sku_ids=chunk, today=now.date())
            result.add(pools_repromise(states, cause=cause, now=now, note=note, marks={
                (sku_id, wh_id): (mark_id, ledger_generation)
                for mark_id, _generation, sku_id, wh_id, ledger_generation in marks}))
            for mark_id, generation, _sku_id, _wh_id, _ledger_generation in marks:
                DirtyPool.objects.filter(id=mark_id, generation=generation).delete()
    return result


def pools_allocate(states: dict[PoolKey, PoolState], *, now: datetime,
                   warehouses: dict[int, Warehouse] | None = None) -> dict[PoolKey, list]:
    """Run the engine on each loaded pool; return its assignments by pool.

    `warehouses` (by id) spares the read when the caller holds the pools' warehouses.
    """
    warehouses = warehouses or warehouses_by_id()
    return {
        key: engine.allocate(state.supply, state.demand, ship_calendar_for(warehouses[state.warehouse_id]),
                             state.policy, now=now)
        for key, state in states.items() if state.lines
    }


def pools_repromise(states: dict[PoolKey, PoolState], *, cause: str, now: datetime,
                    po_line_id: int | None = None, user_id: int | None = None,
                    note: str = "", allocated: dict[PoolKey, list] | None = None,
                    causes: dict[PoolKey, tuple] | None = None,
                    marks: dict[PoolKey, tuple[int, int]] | None = None) -> RepromiseResult:
    """Write the engine's promises for loaded pools where they changed, and their ledger of
    free supply (promises.ledger); the caller holds their locks.

    `allocated` passes assignments the caller already computed (intake judges them first).
    `causes` gives some pools a cause of their own, (cause, po_line_id, user_id, note), in
    place of the shared one (a batch of dirty pools, each marked by its own PO line).
    `marks` names the dirty marks read before the pools were loaded (promises.ledger).
    """
    allocated = pools_allocate(states, now=now) if allocated is None else allocated
    ledger_rebuild(states, allocated, marks)
    transits = {rid: transit_calendar_for(r) for rid, r in regions_by_id().items()}
    result = RepromiseResult(pools=len(states))
    rows, statuses, changes, touched, first = [], [], [], set(), set()
    shared = (cause, po_line_id, user_id, note)
    for key, assignments in allocated.items():
        state = states[key]
        result.lines += len(state.lines)
        by_line = {line.demand.line_id: line for line in state.lines}
        pool_cause, pool_po_line_id, pool_user_id, pool_note = (causes or {}).get(key, shared)
        for a in assignments:
            line = by_line[a.line_id]
            row = promise_row(line, a, transits[line.region_id], str(line.demand.strategy), now)
            if row is None:
                continue
            rows.append(row)
            touched.add(line.order_id)
            if line.current is None:
                first.add(a.line_id)
            status = line_status(line.demand.qty, row.stock_qty, a.confirmed)
            if status != line.status:
                statuses.append((status, a.line_id))
            change = promise_change(line, a, cause=pool_cause, po_line_id=pool_po_line_id,
                                    user_id=pool_user_id, note=pool_note, now=now, version=row.version)
            if change is not None:
                changes.append(change)
    promises_write(rows, statuses, changes, touched_orders=touched, first=first)
    result.written = len(rows)
    result.changes = changes
    if changes:
        # The regional workflow judges the moved lines before this transaction commits.
        workflow().promise_changes_assess(changes=changes, now=now)
    return result


PROMISE_COLUMNS = (
    "line_id", "ship_date", "delivery_from", "delivery_to", "confirmed", "supply_date",
    "stock_qty", "sources", "rule", "strategy", "guarantee_broken", "version", "computed_at",
)
#: A promise row as written in bulk: the promise table's columns, in PROMISE_COLUMNS' order
#: (a tuple, so COPY and executemany take it as it is).
PromiseRow = namedtuple("PromiseRow", PROMISE_COLUMNS)
_SOURCES = PROMISE_COLUMNS.index("sources")


def promise_row(line: OpenLine, a: engine.Assignment, transit, strategy: str, now: datetime):
    """Return the promise row for an assignment, or None when the stored one is the same."""
    delivery_from, delivery_to = transit.delivery_window(a.ship_date)
    sources = [
        {"kind": al.kind, "reference": al.reference,
         "po_line": al.supply_key.po_line,
         "qty": al.qty,
         "available_on": None if al.available_on == STOCK_DATE else al.available_on.isoformat()}
        for al in a.allocations
    ]
    supply_date = None if a.supply_date == STOCK_DATE else a.supply_date
    stock_qty = sum(al.qty for al in a.allocations if al.kind == "stock")
    current = line.current
    if current is not None and (
        current.ship_date, current.delivery_from, current.delivery_to, current.confirmed,
        current.supply_date, current.stock_qty, current.sources, current.rule, current.strategy,
        current.guarantee_broken,
    ) == (a.ship_date, delivery_from, delivery_to, a.confirmed, supply_date, stock_qty, sources,
          a.rule, strategy, a.guarantee_broken):
        return None
    if current is None:
        version = 1
    elif (current.ship_date, current.confirmed) != (a.ship_date, a.confirmed):
        version = current.version + 1
    else:
        version = current.version
    return PromiseRow(a.line_id, a.ship_date, delivery_from, delivery_to, a.confirmed, supply_date,
                      stock_qty, sources, a.rule, strategy, a.guarantee_broken, version, now)


def line_status(open_qty: int, stock_qty: int, confirmed: bool) -> str:
    if confirmed and stock_qty >= open_qty:
        return OrderLine.Status.ALLOCATED
    return OrderLine.Status.BACKORDERED


def promise_change(line: OpenLine, a: engine.Assignment, *, cause, po_line_id, user_id, note, now,
                   version) -> PromiseChange | None:
    current = line.current
    if current is None or (current.ship_date, current.confirmed) == (a.ship_date, a.confirmed):
        return None
    return model_build(
        PromiseChange, line_id=a.line_id, order_id=line.order_id, old_ship_date=current.ship_date,
        new_ship_date=a.ship_date, old_confirmed=current.confirmed, new_confirmed=a.confirmed,
        cause=cause, po_line_id=po_line_id, user_id=user_id, note=note[:200], version=version,
        at=now,
    )


# --- Writing --------------------------------------------------------------------------------


#: Below this many rows a plain INSERT beats the temp table, TRUNCATE and COPY round trips
#: (an order placed at intake writes one to three promises).
COPY_MIN_ROWS = 100


def promises_write(rows, statuses, changes, *, touched_orders=(), first=frozenset()) -> None:
    """Upsert promise rows, update line statuses and insert promise changes, in bulk.

    On PostgreSQL promises and changes go through COPY and statuses through one set-based
    UPDATE, each many times faster than executemany or bulk_create for a large re-promise
    (docs/architecture.md, "What each fast path saves"). `first` names the lines that had no promise yet.
    """
    postgres = connection.vendor == "postgresql"
    if rows:
        if postgres and len(rows) >= COPY_MIN_ROWS:
            _promises_copy_upsert(rows, first)
        else:
            _promises_executemany_upsert(rows, postgres=postgres)
    if statuses:
        table = OrderLine._meta.db_table
        with connection.cursor() as cursor:
            if postgres:
                # Arrays, not a temporary table: PostgreSQL has no statistics on a fresh temp
                # table and hash-joined all order lines for each chunk.
                cursor.execute(
                    f"UPDATE {table} AS l SET status = t.status FROM "
                    f"(SELECT unnest(%s::varchar[]) AS status, unnest(%s::bigint[]) AS id) t "
                    f"WHERE l.id = t.id",
                    [[status for status, _ in statuses], id_array(line_id for _, line_id in statuses)])
            else:
                cursor.executemany(f"UPDATE {table} SET status = %s WHERE id = %s", statuses)
    if changes:
        if postgres and len(changes) >= COPY_MIN_ROWS:
            _changes_copy(changes)
        else:
            PromiseChange.objects.bulk_create(changes, batch_size=2000)
    # Any order whose promises moved, in date, sources or status, shows up in updated_since
    # pulls: its sync clock moves (the narrow OrderSync row, not the order's own).
    order_ids = sorted(set(touched_orders) | {c.order_id for c in changes})
    if order_ids:
        at = Value(timezone.now())
        step = len(order_ids) if postgres else 5000  # one array on PostgreSQL; SQLite's IN lists stay short
        for start in range(0, len(order_ids), step):
            OrderSync.objects.filter(order_id__any=order_ids[start:start + step]).update(
                updated_at=Greatest("updated_at", at))


CHANGE_COLUMNS = ("line_id", "order_id", "old_ship_date", "new_ship_date", "old_confirmed",
                  "new_confirmed", "cause", "po_line_id", "user_id", "note", "version", "at")


_change_values = operator.attrgetter(*CHANGE_COLUMNS)


def _changes_copy(changes) -> None:
    with connection.cursor() as cursor:
        copy_rows(cursor, table=PromiseChange._meta.db_table, columns=", ".join(CHANGE_COLUMNS),
                  rows=map(_change_values, changes))


def _upsert_sql(source: str) -> str:
    table = Promise._meta.db_table
    cols = ", ".join(PROMISE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in PROMISE_COLUMNS[1:])
    return f"INSERT INTO {table} ({cols}) {source} ON CONFLICT (line_id) DO UPDATE SET {updates}"


def _promises_copy_upsert(rows, first=frozenset()) -> None:
    """COPY first promises (lines in `first`) straight into the table, upsert the others via a temp table.

    A line's first promise is written under its pool's lock, the lock every promise writer
    holds, so no other row for the line can appear meanwhile; should one exist anyway (a
    line moved between pools), the COPY fails, the transaction rolls back and the pool stays
    dirty to be re-promised through the upsert. A book's first full run (a migration) is
    all first promises: this skips a million-row temp table and conflict check.
    """
    cols = ", ".join(PROMISE_COLUMNS)
    new = [_copy_values(row) for row in rows if row.line_id in first] if first else []
    rest = [row for row in rows if row.line_id not in first] if new else rows
    with connection.cursor() as cursor:
        if new:
            copy_rows(cursor, table=Promise._meta.db_table, columns=cols, rows=new)
        if rest:
            temp = copy_into_temp(cursor, table=Promise._meta.db_table, columns=cols,
                                  rows=map(_copy_values, rest))
            cursor.execute(_upsert_sql(f"SELECT {cols} FROM {temp} WHERE true"))


def _sources_json(sources: list[dict]) -> str:
    """A promise's sources as the JSON text its column takes (orjson: 0.3 µs for a
    one-source promise against json.dumps' 3.7 µs, and a large re-promise writes one per line)."""
    return orjson.dumps(sources).decode()


def _copy_values(row: PromiseRow) -> tuple:
    """A promise row as COPY takes it: the sources as JSON text."""
    return (*row[:_SOURCES], _sources_json(row.sources), *row[_SOURCES + 1:])


def _promises_executemany_upsert(rows, *, postgres: bool) -> None:
    placeholders = ", ".join(["%s"] * len(PROMISE_COLUMNS))
    value = (lambda v: v) if postgres else _sqlite_value
    with connection.cursor() as cursor:
        cursor.executemany(
            _upsert_sql(f"VALUES ({placeholders})"),
            [(*(value(v) for v in row[:_SOURCES]), _sources_json(row.sources),
              *(value(v) for v in row[_SOURCES + 1:])) for row in rows],
        )


def promises_first_write(rows, *, at: datetime) -> None:
    """Insert the first promises of new lines, recorded as told to the customer at `at`.

    What promises_write and promises_mark_communicated do for an order's new lines, in one
    statement: their promises are what the customer saw at checkout.
    """
    if not rows:
        return
    postgres = connection.vendor == "postgresql"
    value = (lambda v: v) if postgres else _sqlite_value
    columns = (*PROMISE_COLUMNS, "communicated_ship_date", "communicated_delivery_to", "communicated_at",
               "agreed_ship_date")
    with connection.cursor() as cursor:
        execute_rows(
            cursor, f"INSERT INTO {Promise._meta.db_table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            [(*(value(v) for v in row[:_SOURCES]), _sources_json(row.sources),
              *(value(v) for v in (*row[_SOURCES + 1:], row.ship_date, row.delivery_to, at, row.ship_date)))
             for row in rows],
        )


def promise_first_written(row, *, at: datetime) -> Promise:
    """The Promise promises_first_write stored for a row, without reading it back."""
    promise = Promise(**row._asdict(), communicated_ship_date=row.ship_date,
                      communicated_delivery_to=row.delivery_to, communicated_at=at,
                      agreed_ship_date=row.ship_date)
    promise._state.adding, promise._state.db = False, connection.alias
    return promise


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Communicating --------------------------------------------------------------------------


def promises_mark_communicated(*, line_ids=None, at: datetime | None = None) -> int:
    """Record the current promise of these lines (all open lines when None) as told to the customer."""
    promises = Promise.objects.filter(line__status__in=OrderLine.OPEN_STATUSES)
    if line_ids is not None:
        promises = promises.filter(line_id__in=line_ids)
    # The first date told is the one the customer holds the seller to (US, 16 CFR 435.2(a)).
    return promises.update(
        communicated_ship_date=F("ship_date"), communicated_delivery_to=F("delivery_to"),
        communicated_at=at or timezone.now(), agreed_ship_date=Coalesce("agreed_ship_date", "ship_date"),
    )

