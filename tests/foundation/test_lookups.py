"""`field__any`: the same rows as `field__in`, on PostgreSQL as one array parameter."""

import pytest
from django.db import connection

from inventory.models import SKU, Region, Supplier

pytestmark = pytest.mark.django_db


@pytest.fixture
def skus():
    supplier = Supplier.objects.create(code="s", name="S", lead_time_days=10)
    return [SKU.objects.create(code=f"ANY-{i}", name=f"Item {i}", supplier=supplier) for i in range(5)]


def test_any_matches_what_in_matches(skus):
    wanted = [skus[0].pk, skus[3].pk, 10**9]
    assert (sorted(SKU.objects.filter(pk__any=wanted).values_list("pk", flat=True))
            == sorted(SKU.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            == [skus[0].pk, skus[3].pk])


def test_any_on_a_foreign_key_and_on_text(skus):
    supplier_id = skus[0].supplier_id
    assert SKU.objects.filter(supplier_id__any=[supplier_id]).count() == 5
    assert SKU.objects.filter(supplier__any=[supplier_id]).count() == 5
    assert set(SKU.objects.filter(code__any=["ANY-1", "ANY-4", "nope"]).values_list("code", flat=True)) == {
        "ANY-1", "ANY-4"}
    assert Region.objects.filter(code__any=["US"]).count() == 1


def test_an_empty_list_matches_nothing(skus):
    assert not SKU.objects.filter(pk__any=[]).exists()


@pytest.mark.postgres
def test_postgres_sends_one_parameter_however_long_the_list(skus):
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        list(SKU.objects.filter(pk__any=list(range(5000))).values_list("pk", flat=True))
    (sql, params), = sent
    assert "= ANY(%s)" in sql and len(params) == 1 and len(params[0]) == 5000


def test_model_build_gives_the_instance_model_init_gives():
    from core.bulk import model_build
    from notifications.models import Notice

    values = {"kind": "delay_notice", "idempotency_key": "1:delay_notice:2", "order_id": 7,
              "email": "a@example.com", "locale": "en_US"}
    built, init = model_build(Notice, **values), Notice(**values)
    for field in Notice._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(init, field.attname), field.name
    assert built._state.adding and built.pk is None
    assert model_build(Notice, **values).context is not built.context  # a fresh dict each


def test_model_build_refuses_an_unknown_field():
    from core.bulk import model_build
    from notifications.models import Notice

    with pytest.raises(TypeError, match="no field"):
        model_build(Notice, kind="delay_notice", colour="red")


def test_ids_match_what_a_list_matches_without_django_touching_each_id(skus, monkeypatch):
    from django.db.models.sql.query import Query

    from core.lookups import Ids

    wanted = [skus[1].pk, skus[2].pk, 10**9]
    resolved = []
    original = Query.resolve_lookup_value

    def counting(self, value, *args, **kwargs):
        resolved.append(value)
        return original(self, value, *args, **kwargs)

    monkeypatch.setattr(Query, "resolve_lookup_value", counting)
    found = sorted(SKU.objects.filter(pk__any=Ids(iter(wanted))).values_list("pk", flat=True))
    assert found == [skus[1].pk, skus[2].pk]
    assert all(not isinstance(value, int) for value in resolved)  # no id resolved one by one
    assert sorted(SKU.objects.filter(supplier_id__any=Ids([skus[0].supplier_id])).values_list(
        "pk", flat=True)) == sorted(s.pk for s in skus)
    assert not SKU.objects.filter(pk__any=Ids([])).exists()


def test_model_loaded_gives_the_instance_the_orm_loads(skus):
    from core.bulk import model_loaded

    names = [f.attname for f in SKU._meta.concrete_fields]
    row = SKU.objects.filter(pk=skus[2].pk).values_list(*names).get()
    loaded, orm = model_loaded(SKU, names, row, "default"), SKU.objects.get(pk=skus[2].pk)
    for name in names:
        assert getattr(loaded, name) == getattr(orm, name), name
    assert not loaded._state.adding and loaded._state.db == "default" and not loaded.get_deferred_fields()
    loaded.name = "Renamed"
    loaded.save(update_fields=["name"])  # saved as an update of its row, not an insert
    assert SKU.objects.get(pk=skus[2].pk).name == "Renamed" and SKU.objects.count() == 5


def test_ids_take_integers_only():
    from core.lookups import Ids, id_array

    assert Ids(iter([3, True, 5])).values == [3, 1, 5]
    assert id_array(iter([3, True, 5])) == "{3,1,5}" and id_array([]) == "{}"
    for wrong in (["7"], [7.0], [None], ["1}, {2"]):
        with pytest.raises(TypeError):
            Ids(wrong)
        with pytest.raises(TypeError):
            id_array(wrong)
