"""Read the supply, demand and current promises of (SKU, warehouse) pools in bulk."""

from dataclasses import dataclass, field
from datetime import date

import orjson
from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from core.compiled import compiled_sql
from inventory.models import (
    SKU,
    PurchaseOrder,
    PurchaseOrderLine,
    Region,
    StockLevel,
    Warehouse,
    po_line_available_on,
)
from orders.models import OrderLine
from promises.engine import STOCK, Demand, PoolPolicy, Supply, SupplyKey

PoolKey = tuple[int, int]  # (sku_id, warehouse_id)

#: Stock is ready before any order day, so it never delays a line beyond its handling time
#: (the calendar bounds late lines by today). Stored promises show stock without a date.
STOCK_DATE = date.min


@dataclass(frozen=True, slots=True)
class CurrentPromise:
    """The stored promise of a line, as compared with a new one."""

    ship_date: date
    delivery_from: date
    delivery_to: date
    confirmed: bool
    supply_date: date | None
    stock_qty: int
    sources: list
    rule: str
    strategy: str
    guarantee_broken: bool
    version: int
    communicated_ship_date: date | None
    communicated_delivery_to: date | None


@dataclass(slots=True)
class OpenLine:
    """An open order line of a pool: its demand plus what re-promising needs to write it."""

    demand: Demand
    order_id: int
    region_id: int
    status: str
    current: CurrentPromise | None


@dataclass(slots=True)
class PoolState:
    sku_id: int
    warehouse_id: int
    policy: PoolPolicy
    supply: list[Supply] = field(default_factory=list)
    lines: list[OpenLine] = field(default_factory=list)

    @property
    def demand(self) -> list[Demand]:
        return [line.demand for line in self.lines]


PROMISE_FIELDS = (
    "ship_date", "delivery_from", "delivery_to", "confirmed", "supply_date", "stock_qty",
    "sources", "rule", "strategy", "guarantee_broken", "version", "communicated_ship_date",
    "communicated_delivery_to",
)


def pools_load(*, pools: set[PoolKey] | None = None, sku_ids=None,
               today: date) -> dict[PoolKey, PoolState]:
    """Return the state of the given pools (or of every pool with stock rows when None).

    Four queries whatever the number of pools: stock with the SKU policy, open PO lines,
    open order lines with their orders and channels, and their current promises.
    """
    warehouse_ids = None
    if pools is not None:
        sku_ids = {sku for sku, _ in pools}
        # The pools of an order or a PO share one warehouse: reading only its rows (not the
        # SKU's in every warehouse) is exact there and a superset elsewhere, cut below.
        warehouse_ids = {wh for _, wh in pools}
    # Server-side cursors pay off for a full run; for the few pools of an order or a PO
    # change their extra round trips (DECLARE, FETCH, CLOSE) cost more than they save.
    full = sku_ids is None or len(sku_ids) > 50
    filters = {"sku_ids": sku_ids, "warehouse_ids": warehouse_ids}
    states: dict[PoolKey, PoolState] = {}
    for sku_id, wh_id, wh_code, on_hand, safety, lead, beyond in _select(_stock_query, filters, full):
        key = (sku_id, wh_id)
        if pools is not None and key not in pools:
            continue
        state = PoolState(sku_id, wh_id, PoolPolicy(lead_time_days=lead, sell_beyond_supply=beyond))
        usable = on_hand - safety
        if usable > 0:
            state.supply.append(Supply(STOCK, "stock", wh_code, usable, STOCK_DATE))
        states[key] = state
    _missing_pools_add(states, pools, today)
    _po_supply_add(states, _select(_po_supply_query, filters, full), today)
    _demand_add(states, _select(_demand_query, filters, full,
                                json_columns=(_DEMAND_HEAD + PROMISE_FIELDS.index("sources"),)))
    return states


def _select(build, filters: dict, full: bool, json_columns: tuple[int, ...] = ()):
    """Rows of one of the load's queries.

    On PostgreSQL as raw rows of Django's cursor (server-side for a full run), with the SQL of a
    few pools' read compiled once (core.compiled). Django's per-row work (results
    iterator, converters) was most of what a million-line load spent beyond the floor's
    plain read; building and compiling the querysets, half of an order's pool load.
    Elsewhere through the ORM, which converts the database's values.
    """
    if connection.vendor == "postgresql":
        if full:
            sql, params = build(**filters).query.sql_with_params()
        else:
            sql, params = compiled_sql(build, **filters)
        return _raw_rows(sql, params, json_columns, server_side=full)
    queryset = build(**filters)
    return queryset.iterator(chunk_size=5000) if full else queryset


def _pool_filter(queryset, sku_ids, warehouse_ids, warehouse="warehouse_id"):
    if sku_ids is not None:
        queryset = queryset.filter(sku_id__any=sku_ids)
    if warehouse_ids is not None:
        queryset = queryset.filter(**{f"{warehouse}__any": warehouse_ids})
    return queryset


def _stock_query(sku_ids, warehouse_ids):
    return _pool_filter(StockLevel.objects.all(), sku_ids, warehouse_ids).values_list(
        "sku_id", "warehouse_id", "warehouse__code", "on_hand", "sku__safety_stock",
        "sku__lead_time_days", "sku__sell_beyond_supply",
    )


#: Rows a full run's server-side cursor fetches a round trip (psycopg's default is 100).
SERVER_SIDE_ROWS = 5000


def _raw_rows(sql: str, params, json_columns: tuple[int, ...], *, server_side: bool):
    """Run SQL through Django's cursor (a server-side one for a full run, as
    `QuerySet.iterator()` uses); rows as psycopg builds them, JSON columns parsed here.

    Django's cursor adds no per-row work (no converters); it raises django.db's errors and
    query counters (assertNumQueries, execute_wrapper) and APM see the statement. Rows are
    fetched in batches: psycopg builds a batch in C, where iterating fetched a row at a time
    (0.5-0.9 µs more a row, measured on a 5,900-line pool's rows).
    """
    cursor = connection.chunked_cursor() if server_side else connection.cursor()
    with cursor:
        cursor.execute(sql, params)
        batches = iter(lambda: cursor.fetchmany(SERVER_SIDE_ROWS), []) if server_side else [cursor.fetchall()]
        for batch in batches:
            for row in batch:
                if json_columns:
                    row = list(row)
                    for i in json_columns:
                        if row[i] is not None:
                            row[i] = orjson.loads(row[i])
                yield row


def _missing_pools_add(states, pools, today):
    """Give a pool without a stock row (nothing ever received) its SKU policy."""
    if pools is None:
        return
    missing = pools - states.keys()
    if not missing:
        return
    policy = {
        sku_id: PoolPolicy(lead_time_days=lead, sell_beyond_supply=beyond)
        for sku_id, lead, beyond in SKU.objects.filter(id__in={s for s, _ in missing}).values_list(
            "id", "lead_time_days", "sell_beyond_supply")
    }
    for sku_id, wh_id in missing:
        if sku_id in policy:
            states[(sku_id, wh_id)] = PoolState(sku_id, wh_id, policy[sku_id])


def _po_supply_query(sku_ids, warehouse_ids):
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=PurchaseOrder.SUPPLY_STATUSES, qty_ordered__gt=F("qty_received")
    )
    return _pool_filter(lines, sku_ids, warehouse_ids, warehouse="purchase_order__warehouse_id").values_list(
        "id", "sku_id", "purchase_order__warehouse_id", "qty_ordered", "qty_received", "eta",
        "purchase_order__eta", "purchase_order__dock_to_stock_days", "purchase_order__number",
    )


def _po_supply_add(states, rows, today):
    for line_id, sku_id, wh_id, ordered, received, line_eta, po_eta, dock, number in rows:
        state = states.get((sku_id, wh_id))
        if state is None:
            continue
        available_on = po_line_available_on(eta=line_eta or po_eta, dock_to_stock_days=dock, today=today)
        state.supply.append(
            Supply(SupplyKey(line_id), "purchase_order", number, ordered - received, available_on)
        )


_DEMAND_HEAD = 14  # the columns before the promise's own


def _demand_query(sku_ids, warehouse_ids):
    # One query: open lines LEFT JOIN their promise (a separate IN (subquery) read of the
    # promises cost most of a full re-promise's load time).
    return _pool_filter(OrderLine.objects.open(), sku_ids, warehouse_ids).values_list(
        "id", "sku_id", "warehouse_id", "qty", "qty_shipped", "qty_cancelled", "status",
        "order_id", "order__region_id", "order__placed_at", "order__strategy",
        "order__channel__strategy", "order__channel__priority", "promise__version",
        *(f"promise__{name}" for name in PROMISE_FIELDS),
    ).order_by()


def _demand_add(states, rows):
    for row in rows:
        (line_id, sku_id, wh_id, qty, shipped, cancelled, status, order_id, region_id, placed_at,
         order_strategy, channel_strategy, priority, has_promise) = row[:_DEMAND_HEAD]
        state = states.get((sku_id, wh_id))
        open_qty = qty - shipped - cancelled
        if state is None or open_qty <= 0:
            continue
        promise = CurrentPromise(*row[_DEMAND_HEAD:]) if has_promise is not None else None
        state.lines.append(OpenLine(
            demand=Demand(
                line_id=line_id, qty=open_qty, strategy=order_strategy or channel_strategy,
                channel_priority=priority, placed_at=placed_at,
                current_ship_date=promise.ship_date if promise else None,
                current_confirmed=promise.confirmed if promise else False,
            ),
            order_id=order_id, region_id=region_id, status=status, current=promise,
        ))


def warehouses_by_id() -> dict[int, Warehouse]:
    return {w.id: w for w in Warehouse.objects.all()}


def regions_by_id() -> dict[int, Region]:
    return {r.id: r for r in Region.objects.all()}


def open_backorder_qty(*, sku_id=None, channel_id=None, region_id=None, exclude_line_ids=()) -> int:
    """Return the open units not served from stock among lines in a cap's scope."""
    lines = OrderLine.objects.open().exclude(id__in=exclude_line_ids)
    if sku_id is not None:
        lines = lines.filter(sku_id=sku_id)
    if channel_id is not None:
        lines = lines.filter(order__channel_id=channel_id)
    if region_id is not None:
        lines = lines.filter(order__region_id=region_id)
    total = lines.aggregate(
        n=Coalesce(Sum(F("qty") - F("qty_shipped") - F("qty_cancelled") - Coalesce(F("promise__stock_qty"), 0)), 0)
    )["n"]
    return max(total, 0)

