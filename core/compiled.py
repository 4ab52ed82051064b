"""Querysets compiled to SQL once per process and run again with new parameters.

Building a queryset and compiling it costs Django more Python time than PostgreSQL takes
to run the small indexed reads of an order's intake (docs/architecture.md, "What each fast
path saves"). On PostgreSQL a queryset whose id filters use the
`__any` lookup compiles to SQL with one array parameter per filter, so its text is the
same for every call: it is compiled once, with markers in the places of the varying
values, and later calls only swap the values. Other databases compile every time.

Swapped values skip the ORM's preparation of each value: give arrays of ids or codes and
strings, as the field holds them.
"""

from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet
from django.db.transaction import TransactionManagementError

_compiled: dict[tuple, tuple[str, tuple, dict[int, str], bool]] = {}


def compiled_sql(build: Callable[..., QuerySet], /, **values: Iterable | str | None) -> tuple[str, list]:
    """Return (sql, params) of `build(**values)`, compiling it only once on PostgreSQL.

    Each value is an array (list, tuple, set ...) of ids or codes, which `build` must pass
    to an `__any` lookup, or a string, which must reach the SQL as one parameter, or None,
    for which `build` leaves its filter out. The SQL is compiled once per `build` function
    and kind of each value; any other parameter of it must not depend on the values.
    """
    kinds = tuple(sorted((k, _kind(k, v)) for k, v in values.items()))
    if connection.vendor != "postgresql":
        return build(**values).query.sql_with_params()
    key = (build.__module__, build.__qualname__, kinds)
    found = _compiled.get(key)
    if found is None:
        # Values no row holds, one per name, to find each value's parameter.
        markers = {k: f"\x1fmarker {k}\x1f" if kind == "text" else [-7_919_000 - i]
                   for i, (k, kind) in enumerate(kinds) if kind != "none"}
        queryset = build(**{k: markers.get(k) for k in values})
        sql, params = queryset.query.sql_with_params()
        # A text column prepares an id marker as text: ["-7919000"] marks an array of codes.
        slots = {i: k for i, p in enumerate(params) for k, m in markers.items()
                 if p == m or (isinstance(m, list) and p == [str(x) for x in m])}
        if sorted(slots.values()) != sorted(markers):
            raise ValueError(f"{build.__qualname__}: every value must reach the SQL as exactly one parameter")
        found = _compiled[key] = (sql, tuple(params), slots, bool(queryset.query.select_for_update))
    sql, params, slots, for_update = found
    if for_update and connection.get_autocommit():
        # What Django checks when it compiles, which happens only once here.
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    params = list(params)
    for i, k in slots.items():
        params[i] = values[k] if isinstance(values[k], str) else list(values[k])
    return sql, params


def compiled_objects(model, build: Callable[..., QuerySet], /, **values) -> RawQuerySet:
    """The `model` instances `build(**values)` selects (without its select_related), its
    SQL compiled once as by compiled_sql."""
    sql, params = compiled_sql(build, **values)
    return model.objects.raw(sql, params)


def _kind(name: str, value) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Iterable) and not isinstance(value, bytes | dict):
        return "array"
    raise TypeError(f"{name}: give an array of ids or codes, a string or None, not {type(value).__name__}")
