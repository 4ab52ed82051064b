"""inventory.compiled: a queryset compiled once returns what the ORM returns for each call."""

import pytest
from django.db import connection

from inventory.compiled import compiled_objects, compiled_sql
from inventory.models import SKU, Supplier

pytestmark = pytest.mark.django_db


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
        got = compiled_objects(SKU, "test.by_ids_and_name", _by_ids_and_name, ids=ids, name=name)
        assert _ids(got) == _ids(_by_ids_and_name(ids, name)), (ids, name)


def test_arrays_of_codes_and_the_rows_as_model_instances(skus):
    got = list(compiled_objects(SKU, "test.codes", _codes, codes=["CMP-3", "CMP-1", "nope"]))
    assert [s.code for s in got] == ["CMP-1", "CMP-3"]
    assert got[0].supplier_id == skus[0].supplier_id and got[0].name == "Item 1"
    assert [s.code for s in compiled_objects(SKU, "test.codes", _codes, codes=["CMP-4"])] == ["CMP-4"]


@pytest.mark.postgres
def test_postgres_compiles_once_per_set_of_values_given(skus):
    calls = []

    def build(ids, name):
        calls.append((ids, name))
        return _by_ids_and_name(ids, name)

    for ids in ([skus[0].pk], [skus[1].pk, skus[3].pk], list(range(10_000))):
        compiled_sql("test.once", build, ids=ids, name=None)
    compiled_sql("test.once", build, ids=[1], name="x")
    assert len(calls) == 2  # once with ids only, once with ids and name
    sql, params = compiled_sql("test.once", build, ids=[7, 8], name="Item 7")
    assert "= ANY(%s)" in sql and [7, 8] in params and "Item 7" in params


@pytest.mark.postgres
def test_a_value_that_does_not_reach_the_sql_as_one_parameter_is_refused(skus):
    def filtered_with_in(ids):
        return SKU.objects.filter(pk__in=ids)

    with pytest.raises(ValueError, match="exactly one parameter"):
        compiled_sql("test.in", filtered_with_in, ids=[1, 2])


def test_other_databases_compile_every_call(skus):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL compiles once")
    calls = []

    def build(codes):
        calls.append(codes)
        return _codes(codes)

    compiled_sql("test.each", build, codes=["CMP-1"])
    compiled_sql("test.each", build, codes=["CMP-2"])
    assert len(calls) == 2
