"""Bulk writes on PostgreSQL: COPY rows into a temporary table, then one set-based statement."""

import functools
import gc
from collections.abc import Iterable, Sequence
from contextlib import contextmanager, nullcontext

from django.db import connection
from django.db.models.base import ModelState
from model_utils import FieldTracker


def copy_into_temp(cursor, *, table: str, columns: str, rows: Iterable[Sequence]) -> str:
    """COPY rows into a session temp table with `table`'s `columns`; return the temp table's name.

    The table lives for the session and is emptied at each commit and before each use, so
    the caller's INSERT ... SELECT reads exactly these rows; for thousands of rows this takes
    a fraction of a bulk INSERT's time.
    """
    temp = f"tmp_{table}_write"
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS "
                   f"AS SELECT {columns} FROM {table} WITH NO DATA")
    cursor.execute(f"TRUNCATE {temp}")
    copy_rows(cursor, table=temp, columns=columns, rows=rows)
    return temp


def copy_rows(cursor, *, table: str, columns: str, rows: Iterable[Sequence]) -> None:
    """COPY rows into `table`'s `columns` (a Django cursor on PostgreSQL).

    COPY has no `execute`, so it is run the way Django's cursor runs a statement: through the
    connection's execute wrappers (APM and query-count hooks see it), logged in
    `connection.queries` when queries are logged (assertNumQueries counts it), and with
    psycopg's errors turned into Django's (`django.db.DataError`, `IntegrityError`).
    """
    sql = f"COPY {table} ({columns}) FROM STDIN"

    def _copy(sql, params, many, context):
        with cursor.db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    logged = cursor.debug_sql(sql) if hasattr(cursor, "debug_sql") else nullcontext()
    with logged:
        # Django's own CursorWrapper step that applies connection.execute_wrappers.
        cursor._execute_with_wrappers(sql, None, False, executor=_copy)


@functools.cache
def _model_defaults(model) -> tuple[dict, tuple, frozenset]:
    fields = model._meta.concrete_fields
    per_row = [f for f in fields if f.has_default() and callable(f.default)]  # dict, list, now
    fixed = {f.attname: f.get_default() for f in fields if f not in per_row}
    fresh = tuple((f.attname, f.default) for f in per_row)
    return fixed, fresh, frozenset(f.attname for f in fields)


def model_build(model, **values):
    """Return an unsaved `model(**values)` without Model.__init__, for rows written in bulk.

    Values are given by attribute name (`order_id`, not `order`). Model.__init__ costs
    tens of microseconds a row, most of a 5,000-line slip's Python time; this is the same
    instance (defaults filled in, a fresh dict or list for callable defaults) at a fraction.
    """
    fixed, fresh, names = _model_defaults(model)
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(values.keys() - names)}")
    obj = model.__new__(model)
    state = obj.__dict__
    state.update(fixed)
    for name, default in fresh:
        state[name] = default()
    state.update(values)
    obj._state = ModelState()
    _initialised(model, obj)
    return obj


def model_loaded(model, attnames: Sequence[str], row: Sequence, db: str):
    """Return the `model` instance of a row read with `values_list(*attnames)`, as
    `Model.from_db` would build it (every concrete field given), without Model.__init__."""
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, row, strict=True))
    state = obj._state = ModelState()
    state.adding, state.db = False, db
    _initialised(model, obj)
    return obj


def _initialised(model, obj) -> None:
    """Start the instance's field trackers (model_utils.FieldTracker), as the tracker's own
    wrapper of Model.__init__ would: they keep the loaded values a later save compares."""
    for tracker in _trackers(model):
        tracker.initialize_tracker(model, obj)


@functools.cache
def _trackers(model) -> tuple[FieldTracker, ...]:
    return tuple(value for klass in model.__mro__ for value in vars(klass).values()
                 if isinstance(value, FieldTracker))


def execute_rows(cursor, sql: str, rows: Sequence[Sequence]) -> None:
    """cursor.executemany(sql, rows), or cursor.execute for a single row: psycopg runs
    executemany in a pipeline, which costs a single row 20-40 µs more (measured)."""
    if len(rows) == 1:
        cursor.execute(sql, rows[0])
    else:
        cursor.executemany(sql, rows)


def parent_and_children_insert(parent, children: Sequence, *, link: str) -> None:
    """Insert `parent` (unsaved) and its unsaved `children` in one statement on PostgreSQL,
    their foreign key `link` set to the parent's new id, and set the ids on the instances:
    what parent.save() and bulk_create(children) do, in one round trip and without
    compiling an INSERT each time. Elsewhere it is those two.

    On PostgreSQL no signal is sent for the parent either (bulk_create sends none for the
    children): for models whose saves no receiver watches. The children's rows come from
    arrays in their order, so their ids, drawn in that order, are theirs sorted.
    """
    if connection.vendor != "postgresql":
        parent.save(force_insert=True)
        for child in children:
            setattr(child, link, parent)
        type(children[0])._default_manager.bulk_create(children)
        return
    sql, parent_fields, child_fields = _parent_and_children_sql(type(parent), type(children[0]), link)
    params = [_db_value(f, parent) for f in parent_fields]
    params += [[_db_value(f, child) for child in children] for f in child_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = sorted(cursor.fetchall())
    parent.pk = rows[0][1]
    parent._state.adding, parent._state.db = False, connection.alias
    for child, (child_id, _parent_id) in zip(children, rows, strict=True):
        child.pk = child_id
        setattr(child, link, parent)
        child._state.adding, child._state.db = False, connection.alias


def _db_value(field, obj):
    return field.get_db_prep_save(field.pre_save(obj, add=True), connection)


@functools.cache
def _parent_and_children_sql(parent_model, child_model, link: str):
    """WITH parent AS (INSERT ... VALUES ... RETURNING id) INSERT INTO children
    SELECT parent.id, c.* FROM parent, unnest(arrays) WITH ORDINALITY c ORDER BY ordinality."""
    quote = connection.ops.quote_name
    link_field = child_model._meta.get_field(link)
    parent_fields = [f for f in parent_model._meta.local_concrete_fields if not f.primary_key]
    child_fields = [f for f in child_model._meta.local_concrete_fields
                    if not f.primary_key and f is not link_field]
    parent_pk, child_pk = quote(parent_model._meta.pk.column), quote(child_model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in child_fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in child_fields)
    names = ", ".join(f"c{i}" for i in range(len(child_fields)))
    sql = (f"WITH parent AS (INSERT INTO {quote(parent_model._meta.db_table)} "
           f"({', '.join(quote(f.column) for f in parent_fields)}) "
           f"VALUES ({', '.join(['%s'] * len(parent_fields))}) RETURNING {parent_pk}) "
           f"INSERT INTO {quote(child_model._meta.db_table)} ({quote(link_field.column)}, {columns}) "
           f"SELECT parent.{parent_pk}, {names} FROM parent, "
           f"unnest({arrays}) WITH ORDINALITY AS c({names}, n) ORDER BY n "
           f"RETURNING {child_pk}, {quote(link_field.column)}")
    return sql, parent_fields, child_fields


def commit_without_waiting_for_disk() -> None:
    """PostgreSQL: the current transaction's COMMIT does not wait for its WAL flush.

    For work that is recomputed if lost: a crash in the moment after such a commit loses
    the whole transaction, never part of it, and the database stays consistent. Each caller
    says what redoes its work. No e-mail leaves for a lost row: a notice is sent only after
    the drain's own claim commits synchronously, which flushes all the WAL before it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for the length of a bulk step.

    A step over thousands of lines allocates hundreds of thousands of short-lived objects,
    and each allocation burst triggers collections, some of them full passes over the
    worker's whole heap (Django's included): a noticeable share of a large slip's time
    (docs/architecture.md, "What each fast path saves"). Reference counting still frees
    everything at once;
    cycles made meanwhile wait for the next collection after the step.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
