"""Querysets compiled to SQL once per process and run again with new parameters.

Building a queryset and compiling it costs Django more Python time than PostgreSQL takes
to run the small indexed reads of an order's intake (docs/architecture.md, "What each fast
path saves"). On PostgreSQL a queryset whose id filters use the
`__any` lookup compiles to SQL with one array parameter per filter, so its text is the
same for every call: it is compiled once, with markers in the places of the varying
values, and later calls only swap the values. Other databases compile every time.

Swapped values skip the ORM's preparation of each value: give arrays of ids or codes,
strings, integers and aware datetimes, as the field holds them. An integer or a datetime
may stand in several places (a cursor's keyset condition names its values twice or more).
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.db import connection
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError

_compiled: dict[tuple, tuple[str, tuple, dict[int, str], bool]] = {}


def compiled_sql(build: Callable[..., QuerySet], variant: tuple = (), /,
                 **values: Iterable | str | int | datetime | None) -> tuple[str, list]:
    """Return (sql, params) of `build(**values)`, compiling it only once on PostgreSQL.

    Each value is an array (list, tuple, set ...) of ids or codes, which `build` must pass
    to an `__any` lookup, or a string, which must reach the SQL as one parameter, or an
    integer or an aware datetime, which may reach it as several, or None, for which `build`
    leaves its filter out. The SQL is compiled once per `build` function, `variant` and
    kind of each value; any other parameter of it must not depend on the values, and
    `variant` names whatever else shapes it (a closure's page size, say).
    """
    return _compiled_sql((build.__module__, build.__qualname__, *variant), build, values)


def _compiled_sql(name: tuple, build: Callable[..., QuerySet], values: dict) -> tuple[str, list]:
    kinds = tuple(sorted((k, _kind(k, v)) for k, v in values.items()))
    if connection.vendor != "postgresql":
        return build(**values).query.sql_with_params()
    key = (*name, kinds)
    found = _compiled.get(key)
    if found is None:
        # Values no row holds, one per name, to find each value's parameter.
        markers = {k: _marker(i, k, kind) for i, (k, kind) in enumerate(kinds) if kind != "none"}
        queryset = build(**{k: markers.get(k) for k in values})
        sql, params = queryset.query.sql_with_params()
        # A text column prepares an id marker as text: ["-7919000"] marks an array of codes.
        slots = {i: k for i, p in enumerate(params) for k, m in markers.items()
                 if type(p) is type(m) and (p == m or (isinstance(m, list) and p == [str(x) for x in m]))}
        found_names = sorted(slots.values())
        once = sorted(k for k, kind in kinds if kind in ("text", "array"))
        if (set(found_names) != set(markers)
                or [k for k in found_names if k in once] != once):
            raise ValueError(f"{build.__qualname__}: every array or string must reach the SQL as exactly one "
                             "parameter, every integer or datetime as one or more")
        found = _compiled[key] = (sql, tuple(params), slots, bool(queryset.query.select_for_update))
    sql, params, slots, for_update = found
    if for_update and connection.get_autocommit():
        # What Django checks when it compiles, which happens only once here.
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    params = list(params)
    for i, k in slots.items():
        value = values[k]
        params[i] = list(value) if _kind(k, value) == "array" else value
    return sql, params


def _marker(i: int, name: str, kind: str):
    """A value no row holds, of the kind given, to find the parameters it becomes."""
    if kind == "text":
        return f"\x1fmarker {name}\x1f"
    if kind == "int":
        return -7_919_000 - i
    if kind == "datetime":
        return datetime(1901, 2, 3, 4, 5, 6, 700_000 + i, tzinfo=UTC)
    return [-7_919_000 - i]


def generic_plans_for_transaction() -> None:
    """Run the rest of the current transaction's prepared statements on generic plans
    (PostgreSQL; elsewhere, nothing). `SET LOCAL` ends with the transaction. Only in the
    connection's outermost atomic block: inside a caller's transaction (a savepoint) the
    plans stay the caller's, and nothing is set.

    PostgreSQL plans a prepared statement again for each call's parameters until a generic
    plan looks as cheap as those custom plans; for reads whose arrays of ids it cannot size
    (the compiled reads here) it may never decide so, and planning a read of a few rows
    across five tables costs more than running it (intake's pool ledger: 0.3-1.5 ms
    planned, 0.2 ms run).
    """
    _plan_cache_mode_set("force_generic_plan")


def custom_plans_for_transaction() -> None:
    """Plan each of the rest of the current transaction's prepared statements for its own
    parameters (PostgreSQL; elsewhere, nothing; as generic_plans_for_transaction, only in
    the outermost atomic block): for batch work on thousands of lines.

    A generic plan knows neither the length of an id array nor the values of the other
    parameters: it cannot use a partial index whose condition names a value given as a
    parameter (the delay-notice count's), and it took the lines' index where the values
    called for another (the open exceptions' read), reading every exception those lines
    ever had (a slip's part of 2,950 lines: 43-80 ms and 272 ms, against 7 ms and 0.3 ms
    planned for the values, the lines having no exception open). Planning once per call
    costs a millisecond or two.
    """
    _plan_cache_mode_set("force_custom_plan")


def _plan_cache_mode_set(mode: str) -> None:
    # savepoint_ids is empty in the outermost atomic block only (a nested one pushes its
    # savepoint, or None when it makes none).
    if connection.vendor == "postgresql" and connection.in_atomic_block and not connection.savepoint_ids:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")


def compiled_objects(model, build: Callable[..., QuerySet], /, **values) -> list:
    """The `model` instances `build(**values)` selects (without its select_related), its
    SQL compiled once as by compiled_sql.

    The rows become instances as compiled_chain builds them (Model.from_db), not through a
    RawQuerySet, which maps the cursor's columns to fields anew on every call: 0.15-0.27 ms
    of Python per read, several times an order's intake."""
    return compiled_chain(model, (), build, **values)


def compiled_chain(model, path: tuple[str, ...], build: Callable[..., QuerySet], /, **values) -> list:
    """The `model` instances `build(**values)` selects, each with the chain of forward
    relations `path` attached (("region", "default_warehouse"): channel.region and
    channel.region.default_warehouse), read in one statement compiled once as by
    compiled_sql. A relation that is null leaves None and ends the chain."""
    shape = _chain_shape(model, path)
    sql, params = _compiled_sql((build.__module__, build.__qualname__, path),
                                lambda **v: build(**v).values_list(*shape.columns), values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    db, found = connection.alias, []
    for row in rows:
        objects, start = [], 0
        for level, (m, fields) in enumerate(zip(shape.models, shape.fields, strict=True)):
            row_part = row[start:start + len(fields)]
            start += len(fields)
            if row_part[shape.pk_at[level]] is None:  # a null relation: no row joined
                objects.append(None)
                continue
            for i, (col, converters) in shape.converters[level].items():
                if row_part[i] is not None:
                    row_part = (*row_part[:i], _converted(row_part[i], col, converters), *row_part[i + 1:])
            objects.append(m.from_db(db, shape.attnames[level], row_part))
        for parent, name, child in zip(objects, path, objects[1:], strict=False):
            if parent is None:
                break
            setattr(parent, name, child)
        found.append(objects[0])
    return found


def compiled_values(build: Callable[..., QuerySet], variant: tuple = (), /, **values) -> list[dict]:
    """The rows of `build(**values)`, a values() queryset, as dicts, its SQL compiled once
    as by compiled_sql; each column converted as the queryset itself would convert it (the
    backend's and the field's converters: SQLite's decimals and datetimes, JSON ...)."""
    sql, params = compiled_sql(build, variant, **values)
    shape_key = (build.__module__, build.__qualname__, *variant, connection.vendor)
    shape = _values_shapes.get(shape_key)
    if shape is None:
        shape = _values_shapes[shape_key] = _values_shape(build(**values))
    names, converters = shape
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, (converters_of, col) in converters:
                if row[i] is not None:
                    row[i] = _converted(row[i], col, converters_of)
    return [dict(zip(names, row, strict=True)) for row in rows]


_values_shapes: dict[tuple, tuple[tuple[str, ...], list]] = {}


def _values_shape(queryset: QuerySet) -> tuple[tuple[str, ...], list]:
    """The column names of a values() queryset and, by position, the converters of those
    columns that have any."""
    query = queryset.query
    if query.extra_select or not query.values_select:
        raise ValueError("compiled_values takes a values() queryset of field names and annotations")
    compiler = query.get_compiler(connection.alias)
    compiler.setup_query()
    columns = [col for col, _sql, _alias in compiler.select]
    names = (*query.values_select, *query.annotation_select)
    if len(names) != len(columns):
        raise ValueError("compiled_values: the columns selected are not the values named")
    converters = sorted(compiler.get_converters(columns).items())  # (position, (converters, column))
    return names, converters


class _ChainShape:
    def __init__(self, model, path: tuple[str, ...]) -> None:
        self.models, prefixes = [model], [""]
        for name in path:
            self.models.append(self.models[-1]._meta.get_field(name).related_model)
            prefixes.append(f"{prefixes[-1]}{name}__")
        self.fields = [list(m._meta.concrete_fields) for m in self.models]
        self.columns = [p + f.attname for p, fields in zip(prefixes, self.fields, strict=True) for f in fields]
        self.attnames = [[f.attname for f in fields] for fields in self.fields]
        self.pk_at = [names.index(m._meta.pk.attname) for m, names in zip(self.models, self.attnames, strict=True)]
        # Per level, the columns the backend or the field converts (SQLite's decimals and times, JSON ...).
        self.converters = []
        for fields in self.fields:
            level = {}
            for i, f in enumerate(fields):
                col = f.get_col(f.model._meta.db_table)
                converters = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
                if converters:
                    level[i] = (col, converters)
            self.converters.append(level)


_shapes: dict[tuple, _ChainShape] = {}


def _chain_shape(model, path) -> _ChainShape:
    key = (model, path, connection.vendor)
    if key not in _shapes:
        _shapes[key] = _ChainShape(model, path)
    return _shapes[key]


def _converted(value, col, converters):
    for converter in converters:
        value = converter(value, col, connection)
    return value


def _kind(name: str, value) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"
    if isinstance(value, datetime) and value.tzinfo is not None:
        return "datetime"
    if isinstance(value, Iterable) and not isinstance(value, bytes | dict):
        return "array"
    raise TypeError(f"{name}: give an array of ids or codes, a string, an integer, an aware datetime "
                    f"or None, not {type(value).__name__}")
