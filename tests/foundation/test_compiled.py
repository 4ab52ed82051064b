"""core.compiled: a queryset compiled once returns what the ORM returns for each call."""

from datetime import datetime
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.transaction import TransactionManagementError

from core import compiled
from core.compiled import compiled_objects, compiled_sql
from inventory.models import SKU, StockLevel, Supplier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(compiled, "_compiled", {})


@pytest.fixture
def skus():
    supplier = Supplier.objects.create(code="s", name="S", lead_time_days=10)
    return [SKU.objects.create(code=f"CMP-{i}", name=f"Item {i}", supplier=supplier, active=i != 2)
            for i in range(5)]


def _by_ids_and_name(ids, name):
    queryset = SKU.objects.filter(active=True).order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__any=ids)
    if name is not None:
        queryset = queryset.filter(name=name)
    return queryset


def _codes(codes):
    return SKU.objects.filter(code__any=codes).order_by("code")


def _ids(rows):
    return [row.pk for row in rows]


def test_each_call_gets_its_own_values_and_the_orm_s_rows(skus):
    for ids, name in ([[skus[0].pk, skus[2].pk, skus[3].pk], None], [[skus[4].pk], None],
                      [[skus[1].pk, skus[4].pk], "Item 4"], [[], None], [None, "Item 3"], [None, None]):
        got = compiled_objects(SKU, _by_ids_and_name, ids=ids, name=name)
        assert _ids(got) == _ids(_by_ids_and_name(ids, name)), (ids, name)


def test_arrays_of_codes_and_the_rows_as_model_instances(skus):
    got = list(compiled_objects(SKU, _codes, codes=["CMP-3", "CMP-1", "nope"]))
    assert [s.code for s in got] == ["CMP-1", "CMP-3"]
    assert got[0].supplier_id == skus[0].supplier_id and got[0].name == "Item 1"
    assert [s.code for s in compiled_objects(SKU, _codes, codes=["CMP-4"])] == ["CMP-4"]


def test_the_swap_on_postgresql_s_sql_puts_each_value_in_its_own_place():
    # Compiled as for PostgreSQL (compiling runs nothing, so this runs on SQLite too).
    def stock(sku_ids, warehouse_ids, code):
        return StockLevel.objects.filter(sku_id__any=sku_ids, warehouse_id__any=warehouse_ids,
                                         warehouse__code=code)

    with mock.patch.object(connection, "vendor", "postgresql"):
        compiled_sql(stock, sku_ids=[1], warehouse_ids=[2], code="A")
        sql, params = compiled_sql(stock, sku_ids={7, 8}, warehouse_ids=(9,), code="EU-1")
        _, codes = compiled_sql(_codes, codes=["X-1", "X-2"])
    assert sql.count("= ANY(%s)") == 2
    assert sorted(str(sorted(p) if isinstance(p, list) else p) for p in params) == ["EU-1", "[7, 8]", "[9]"]
    assert codes == [["X-1", "X-2"]]


def test_one_build_compiles_once_per_kind_of_each_value():
    calls = []

    def build(ids, name):
        calls.append((ids, name))
        return _by_ids_and_name(ids, name)

    with mock.patch.object(connection, "vendor", "postgresql"):
        for ids in ([1], [2, 3], list(range(10_000))):
            compiled_sql(build, ids=ids, name=None)
        compiled_sql(build, ids=[1], name="x")
        sql, params = compiled_sql(build, ids=[7, 8], name="Item 7")
    assert len(calls) == 2  # once with ids only, once with ids and name
    assert "= ANY(%s)" in sql and [7, 8] in params and "Item 7" in params


def test_a_value_that_does_not_reach_the_sql_as_one_parameter_is_refused():
    def filtered_with_in(ids):
        return SKU.objects.filter(pk__in=ids)

    with mock.patch.object(connection, "vendor", "postgresql"), \
            pytest.raises(ValueError, match="exactly one parameter"):
        compiled_sql(filtered_with_in, ids=[1, 2])


def test_a_value_of_no_kind_compiled_sql_knows_is_refused():
    with pytest.raises(TypeError, match="codes: give an array"):
        compiled_sql(_codes, codes=5.5)


@pytest.mark.postgres
def test_a_compiled_lock_still_needs_a_transaction(skus):
    def locked(ids):
        return SKU.objects.select_for_update().filter(pk__any=ids)

    list(compiled_objects(SKU, locked, ids=[skus[0].pk]))  # compiled here, inside the test's transaction
    with mock.patch.object(connection, "get_autocommit", return_value=True), \
            pytest.raises(TransactionManagementError):
        compiled_sql(locked, ids=[skus[0].pk])
    with transaction.atomic():
        assert _ids(compiled_objects(SKU, locked, ids=[skus[1].pk])) == [skus[1].pk]


def test_other_databases_compile_every_call(skus):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL compiles once")
    calls = []

    def build(codes):
        calls.append(codes)
        return _codes(codes)

    compiled_sql(build, codes=["CMP-1"])
    compiled_sql(build, codes=["CMP-2"])
    assert len(calls) == 2


def _sku_values(ids):
    return (SKU.objects.filter(pk__any=ids).order_by("code")
            .values("code", "active", "supplier__code", "lead_time_days", "updated_at"))


def test_compiled_values_returns_the_orm_s_values_rows(skus, monkeypatch):
    monkeypatch.setattr(compiled, "_values_shapes", {})
    for ids in ([skus[0].pk, skus[2].pk], [skus[1].pk], [], [s.pk for s in skus]):
        got = compiled.compiled_values(_sku_values, ids=ids)
        assert got == list(_sku_values(ids)) and len(got) == len(ids), ids
    assert got[0]["updated_at"].tzinfo is not None  # converted as the ORM converts (SQLite's text)


def _sku_values_named(ids):
    return SKU.objects.filter(pk__any=ids).order_by("pk").values("code", code_lower=Lower("code"))


def test_compiled_values_reads_annotations_too(skus, monkeypatch):
    monkeypatch.setattr(compiled, "_values_shapes", {})
    ids = [s.pk for s in skus]
    assert compiled.compiled_values(_sku_values_named, ids=ids) == list(_sku_values_named(ids))
    assert compiled.compiled_values(_sku_values_named, ids=ids)[0]["code_lower"] == skus[0].code.lower()


def test_compiled_values_takes_only_values_querysets():
    with pytest.raises(ValueError, match="values"):
        compiled._values_shape(SKU.objects.all())


def _after(ids, at, after_id):
    # The keyset condition of a cursor page: the datetime reaches the SQL three times.
    return (SKU.objects.filter(pk__any=ids)
            .filter(Q(updated_at__gte=at), Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=after_id))
            .order_by("updated_at", "pk").values("pk"))


def test_integers_and_datetimes_may_reach_the_sql_several_times(skus, monkeypatch):
    monkeypatch.setattr(compiled, "_values_shapes", {})
    ids = [s.pk for s in skus]
    ordered = list(SKU.objects.filter(pk__any=ids).order_by("updated_at", "pk"))
    for variant, cursor in enumerate(ordered[:2]):
        got = compiled.compiled_values(_after, ids=ids, at=cursor.updated_at, after_id=cursor.pk)
        assert got == list(_after(ids, cursor.updated_at, cursor.pk)), variant
        assert [row["pk"] for row in got] == [s.pk for s in ordered[variant + 1:]]


def test_a_naive_datetime_is_refused():
    with pytest.raises(TypeError, match="aware datetime"):
        compiled_sql(_after, ids=[1], at=datetime(2026, 1, 1), after_id=1)  # noqa: DTZ001


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_statement_run_again_and_again_is_prepared_on_the_connection(skus):
    for _ in range(6):
        list(compiled_objects(SKU, _codes, codes=["CMP-1"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%inventory_sku%= ANY($1)%"])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("set_mode, mode", [(compiled.generic_plans_for_transaction, "force_generic_plan"),
                                            (compiled.custom_plans_for_transaction, "force_custom_plan")])
def test_a_plan_mode_is_set_in_the_outermost_transaction_only(set_mode, mode):
    if connection.vendor != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")

    def shown():
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return cursor.fetchone()[0]

    set_mode()  # autocommit: no transaction to set it for
    assert shown() == "auto"
    with transaction.atomic():
        with transaction.atomic():
            set_mode()  # a caller's transaction: its plans stay its own
            assert shown() == "auto"
        set_mode()
        assert shown() == mode
    assert shown() == "auto"
