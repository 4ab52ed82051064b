"""Intake from the ledger of free supply promises what a full run of the pool would.

Random pools (stock, PO lines sharing dates, channels of every strategy and priority,
SKUs selling beyond supply or not, some sold from stock only) go through random
interleavings of orders, full re-promises, receipts, cancellations and the dirty-pool
worker. Each order is placed twice from the same state: once with the pool's ledger taken
away, so intake runs the pool in full (what a re-promise computes), rolled back; then as
intake places it. The two must agree on the refusal (code, message, fields) or on the new
lines' promises (dates, sources, status), and the ledger must equal the supply less what
the stored promises hold. Availability, asked before each order, answers from the ledger
what it answers from a full run.
"""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BusinessRefusal
from inventory.models import BackorderCap, PurchaseOrder, PurchaseOrderLine, StockLevel
from inventory.services import receipt_record
from orders.models import Order, OrderLine
from promises.intake import CustomerInput, LineInput, OrderInput, available_to_promise, order_place
from promises.models import PoolSupply, Promise
from promises.services import dirty_pools_repromise, pools_repromise_all
from tests.depth import examples
from tests.factories.inventory import (
    ChannelFactory,
    PurchaseOrderFactory,
    SKUFactory,
    WarehouseFactory,
    region,
)
from tests.intake.helpers import MONDAY
from workflow.fulfilment import order_cancel

pytestmark = pytest.mark.django_db

STRATEGIES = ("win", "gain", "redistribute", "fill", "lose")

channel_specs = st.lists(st.tuples(st.sampled_from(STRATEGIES), st.sampled_from((0, 10, 50))),
                         min_size=1, max_size=3)
operations = st.lists(st.one_of(
    # (kind, channel index, qty, strategy override, minutes before now, second SKU line)
    st.tuples(st.just("order"), st.integers(0, 2), st.integers(1, 3),
              st.sampled_from(("",) * 3 + STRATEGIES), st.integers(0, 3 * 24 * 60), st.booleans()),
    st.tuples(st.just("repromise")),
    st.tuples(st.just("receipt"), st.integers(0, 2), st.integers(1, 3)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("worker")),
    # a cap on the first SKU: at most this many units on backorder (a re-check, not a supply change)
    st.tuples(st.just("cap"), st.integers(0, 8)),
), min_size=1, max_size=14)


class _Rollback(Exception):
    pass


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(channels=channel_specs, on_hand=st.integers(0, 4),
       po_lines=st.lists(st.tuples(st.integers(1, 5), st.sampled_from((3, 3, 10, 30))), max_size=3),
       sell_beyond=st.booleans(), backorder_allowed=st.sampled_from((True, True, True, False)),
       ops=operations)
def test_intake_promises_what_a_full_run_would(channels, on_hand, po_lines, sell_beyond, backorder_allowed, ops):
    try:
        with transaction.atomic():
            _scenario(channels, on_hand, po_lines, sell_beyond, backorder_allowed, ops)
            raise _Rollback
    except _Rollback:
        pass


def _scenario(channel_specs, on_hand, po_lines, sell_beyond, backorder_allowed, ops):
    now = MONDAY
    warehouse = WarehouseFactory(code="US-EAST", country="US", timezone="America/New_York", serves=["US"])
    channels = [ChannelFactory(code=f"prop-{i}", region=region("US"), strategy=strategy, priority=priority)
                for i, (strategy, priority) in enumerate(channel_specs)]
    skus = [SKUFactory(sell_beyond_supply=sell_beyond, backorder_allowed=backorder_allowed) for _ in range(2)]
    pos = []
    for sku in skus:
        StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=on_hand)
        for qty, days in po_lines:
            po = PurchaseOrderFactory(warehouse=warehouse, eta=now.date() + timedelta(days=days),
                                      status=PurchaseOrder.Status.CONFIRMED)
            PurchaseOrderLine.objects.create(purchase_order=po, sku=sku, qty_ordered=qty)
            pos.append(po)
    pools_repromise_all(sku_ids=[s.id for s in skus], now=now)
    fast = 0
    for n, op in enumerate(ops):
        if op[0] == "order":
            _, channel_index, qty, strategy, minutes, two = op
            channel = channels[channel_index % len(channels)]
            lines = [(skus[0], qty)] + ([(skus[1], 1)] if two else [])
            data = OrderInput(
                external_id=f"P-{n}", channel=channel.code, region="US", currency="USD",
                customer=CustomerInput(email=f"p{n}@example.com", name=f"Customer {n}"),
                lines=tuple(LineInput(sku=sku.code, qty=q, unit_price=Decimal("10.00")) for sku, q in lines),
                placed_at=now - timedelta(minutes=minutes), strategy=strategy)
            if not strategy:  # availability asks with the channel's strategy
                assert _available(skus[0], channel, qty, now) == _available_in_full(skus[0], channel, qty, now)
            expected = _placed_in_full(data, now)
            fast += _ledger_known(skus, warehouse)
            got = _placed(data, now)
            assert got == expected, (op, got, expected)
        elif op[0] == "repromise":
            pools_repromise_all(sku_ids=[s.id for s in skus], now=now)
        elif op[0] == "receipt" and pos:
            po = pos[op[1] % len(pos)]
            line = po.lines.get()
            line.refresh_from_db()
            if line.qty_received + op[2] <= line.qty_ordered:
                receipt_record(po_number=po.number, lines=[(line.sku.code, op[2])], received_at=now)
        elif op[0] == "cancel":
            orders = list(Order.objects.filter(status="open").order_by("pk"))
            if orders:
                order_cancel(order=orders[op[1] % len(orders)], reason="customer_request",
                             initiated_by="customer", now=now)
        elif op[0] == "worker":
            dirty_pools_repromise(now=now, max_passes=2)
        elif op[0] == "cap":
            BackorderCap.objects.update_or_create(sku=skus[0], defaults={"max_backorder_qty": op[1]})
        _ledger_matches_promises(skus, warehouse)
    return fast


def _placed(data, now):
    """The refusal as the partner sees it, or the new lines' promises as the customer sees them."""
    try:
        order, created = order_place(data=data, now=now)
    except BusinessRefusal as refusal:
        return refusal.code, refusal.message, refusal.errors
    assert created
    return tuple(_promise_of(line) for line in order.lines.order_by("pk"))


def _promise_of(line):
    p = Promise.objects.get(line=line)
    return (line.status, p.ship_date, p.confirmed, p.supply_date, p.stock_qty, p.rule,
            tuple((s["kind"], s["po_line"], s["qty"]) for s in p.sources), p.communicated_ship_date)


def _placed_in_full(data, now):
    """What intake answers when it runs the pools in full (no ledger), rolled back."""
    try:
        with transaction.atomic():
            PoolSupply.objects.all().delete()
            result = _placed(data, now)
            raise _Rollback
    except _Rollback:
        return result


def _available(sku, channel, qty, now):
    return available_to_promise(sku=sku.code, channel=channel.code, region="US", qty=qty, at=now)


def _available_in_full(sku, channel, qty, now):
    try:
        with transaction.atomic():
            PoolSupply.objects.all().delete()
            result = _available(sku, channel, qty, now)
            raise _Rollback
    except _Rollback:
        return result


def _ledger_known(skus, warehouse) -> bool:
    return PoolSupply.objects.filter(sku__in=skus, warehouse=warehouse, po_line__isnull=True).exists()


def _ledger_matches_promises(skus, warehouse):
    """Where the ledger knows a clean pool, free = supply less what open lines' promises hold."""
    from promises.models import DirtyPool

    for sku in skus:
        rows = {r.po_line_id: r for r in PoolSupply.objects.filter(sku=sku, warehouse=warehouse)}
        # A mark of supply or demand since (ledger_generation > 0) may leave the rows behind.
        if None not in rows or DirtyPool.objects.filter(sku=sku, warehouse=warehouse,
                                                        ledger_generation__gt=0).exists():
            continue
        held, fill = Counter(), {}
        for p in Promise.objects.filter(line__sku=sku, line__status__in=OrderLine.OPEN_STATUSES):
            for s in p.sources:
                held[s["po_line"]] += s["qty"]
                if p.confirmed and p.strategy == "fill":
                    on = date.fromisoformat(s["available_on"]) if s["available_on"] else date.min
                    first, last, supply_date = fill.get(s["po_line"], (p.ship_date, p.ship_date, on))
                    fill[s["po_line"]] = (min(first, p.ship_date), max(last, p.ship_date), min(supply_date, on))
        stock = StockLevel.objects.get(sku=sku, warehouse=warehouse)
        supply = {None: max(stock.on_hand - sku.safety_stock, 0)}
        for line in PurchaseOrderLine.objects.filter(sku=sku, purchase_order__warehouse=warehouse,
                                                     purchase_order__status__in=PurchaseOrder.SUPPLY_STATUSES):
            if line.qty_ordered > line.qty_received:
                supply[line.id] = line.qty_ordered - line.qty_received
        assert {k: r.free for k, r in rows.items()} == {k: q - held[k] for k, q in supply.items()}
        assert all(r.held_waiting + sum(getattr(r, f"held_{s}") for s in STRATEGIES) == held[k]
                   for k, r in rows.items())
        # What tells intake whether a full run would move the fill promises' reservations.
        assert {k: (r.fill_date_first, r.fill_date_last, r.fill_supply_date) for k, r in rows.items()
                if r.held_fill} == fill


def test_an_order_costs_the_same_statements_with_thirty_lines_waiting():
    """Intake on a pool the ledger knows reads no line of it: the order placed with thirty
    lines waiting runs the statements of the order placed with one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.intake.helpers import place, us_pool

    sku, _warehouse, _po = us_pool(on_hand=0, po_qty=200)
    place(sku)  # the pool's first order runs it in full and writes its ledger
    with CaptureQueriesContext(connection) as first:
        place(sku)
    for _ in range(30):
        place(sku)
    with CaptureQueriesContext(connection) as later:
        place(sku)
    assert len(later.captured_queries) == len(first.captured_queries)
    selects = [q["sql"] for q in later.captured_queries if q["sql"].startswith("SELECT")]
    assert any("promises_poolsupply" in sql for sql in selects)
    assert PoolSupply.objects.get(sku=sku, po_line__isnull=False).free == 200 - 33


def test_a_cap_s_change_leaves_the_ledger_valid_and_a_stock_change_after_it_does_not():
    """A cap bounds intake but allocates nothing: its mark asks for a re-check and intake
    stays on the ledger; a stock count after it makes the pool run in full again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from promises.models import DirtyPool
    from tests.intake.helpers import place, us_pool

    sku, warehouse, _po = us_pool(on_hand=0, po_qty=200)
    place(sku)  # the pool's first order runs it in full and writes its ledger
    with CaptureQueriesContext(connection) as clean:
        place(sku)
    before = DirtyPool.objects.filter(sku=sku, warehouse=warehouse).values_list(
        "generation", "ledger_generation").first() or (0, 0)  # the PO's mark, if the worker has not run
    BackorderCap.objects.create(sku=sku, max_backorder_qty=100)
    mark = DirtyPool.objects.get(sku=sku, warehouse=warehouse)
    assert (mark.cause, mark.generation, mark.ledger_generation) == ("cap_change", before[0] + 1, before[1])
    with CaptureQueriesContext(connection) as capped:
        place(sku)
    def ran_in_full(queries):  # a full run rewrites the pool's ledger rows
        return any("DELETE FROM promises_poolsupply" in q["sql"] for q in queries.captured_queries)

    assert not ran_in_full(clean) and not ran_in_full(capped)
    assert len(capped.captured_queries) == len(clean.captured_queries) + 1  # + the cap's sum
    stock = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    stock.on_hand = 5
    stock.save()
    mark.refresh_from_db()
    assert mark.ledger_generation == mark.generation == before[0] + 2
    with CaptureQueriesContext(connection) as stale:
        place(sku)
    assert ran_in_full(stale)
    # The run moved the three earlier lines to the new stock too: one of the five is left.
    assert PoolSupply.objects.get(sku=sku, po_line__isnull=True).free == 1


def test_a_channel_s_new_priority_or_strategy_marks_the_pools_of_its_open_lines():
    """The ledger records who holds what by strategy: a channel that changes either is
    re-ranked in every pool it waits in, through a re-promise."""
    from promises.models import DirtyPool
    from tests.intake.helpers import place, us_pool

    sku, warehouse, _po = us_pool(on_hand=0, po_qty=20)
    place(sku)
    pools_repromise_all(sku_ids=[sku.id], now=MONDAY)
    channel = Order.objects.get().channel
    channel.name = "Renamed"
    channel.save()
    assert not DirtyPool.objects.exists()
    channel.strategy = "lose"
    channel.save()
    mark = DirtyPool.objects.get()
    assert (mark.sku_id, mark.warehouse_id) == (sku.id, warehouse.id) and "strategy" in mark.note
