"""How a refused order ends its transaction.

An order refused before anything was written ends its transaction without a ROLLBACK
(psycopg forgets every statement prepared on the connection at a ROLLBACK); an order
refused after a full run's writes rolls them back. Inside the tests' own transaction an
order's transaction is a savepoint, so the two show as RELEASE SAVEPOINT and ROLLBACK TO
SAVEPOINT.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import BusinessRefusal
from inventory.models import BackorderCap
from orders.models import Order, OrderLine
from promises.services import pools_mark_dirty
from tests.intake.helpers import place, us_pool

pytestmark = pytest.mark.django_db


def _statements(queries) -> list[str]:
    return [" ".join(q["sql"].split()[:2]).upper() for q in queries
            if q["sql"].split()[0].upper() in ("ROLLBACK", "RELEASE", "SAVEPOINT")]


def _writes(sql: str) -> bool:
    """Whether a statement writes rows (a data-modifying WITH too; not a SELECT … FOR UPDATE)."""
    return re.search(r"\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE \S+ SET\b", sql, re.IGNORECASE) is not None


def test_an_order_refused_before_any_write_ends_its_transaction_without_a_rollback():
    sku, _, _ = us_pool(on_hand=1, po_qty=0, backorder_allowed=False)
    place(sku)  # takes the only unit; its pool's ledger is written
    with CaptureQueriesContext(connection) as queries, pytest.raises(BusinessRefusal) as refused:
        place(sku)
    assert refused.value.code == "backorder_not_allowed"
    assert "ROLLBACK TO" not in _statements(queries.captured_queries)
    assert "RELEASE SAVEPOINT" in _statements(queries.captured_queries)
    assert not [q for q in queries.captured_queries if _writes(q["sql"])]
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1


def test_a_refusal_after_a_full_runs_writes_rolls_them_back():
    sku, warehouse, _ = us_pool(on_hand=0, po_qty=10)
    place(sku)  # one unit backordered; the pool's ledger is written
    BackorderCap.objects.create(sku=sku, max_backorder_qty=1)
    pools_mark_dirty(pools={(sku.id, warehouse.id)}, cause="stock_adjustment")  # the next order runs it in full
    with CaptureQueriesContext(connection) as queries, pytest.raises(BusinessRefusal) as refused:
        place(sku)
    assert refused.value.code == "cap_exceeded"
    assert [q for q in queries.captured_queries if _writes(q["sql"])], "the full run wrote first"
    assert "ROLLBACK TO" in _statements(queries.captured_queries)
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_orders_own_transaction_plans_generically_and_leaves_the_connection_as_it_was():
    if connection.vendor != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    sku, _, _ = us_pool(on_hand=2)
    with CaptureQueriesContext(connection) as queries:
        place(sku)
    sets = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET LOCAL")]
    assert sets == ["SET LOCAL plan_cache_mode = force_generic_plan"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"
