"""The bulk writer of OrderException rows and their history (`ExceptionBatch`)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction

from core.bulk import copy_into_temp, model_build, model_loaded
from core.lookups import Ids, id_array
from orders.models import OrderLine
from promises.models import OrderException

Kind = OrderException.Kind
Status = OrderException.Status

COPY_MIN_ROWS = 200  # below this a plain bulk INSERT is cheaper than a temp table and COPY
#: An open exception is read as a row of these and built without Model.__init__ (a large
#: slip's open exceptions are thousands; docs/architecture.md, "What each fast path saves").
_ATTNAMES = tuple(f.attname for f in OrderException._meta.concrete_fields)


class ExceptionBatch:
    """The open exceptions of a batch of lines; raises, updates and resolves them.

    Changes are kept in memory and written by `flush()` in bulk, with their history
    (simple_history's bulk helpers): a slip of 5,000 lines costs a handful of statements.
    """

    def __init__(self, line_ids: Iterable[int], now: datetime, user=None, *, unseen: bool = False):
        """Read (and lock) the lines' open exceptions. `unseen`: lines created in this
        transaction, which no other one sees: they have none open and none can be raised
        for them concurrently, so nothing is read and new ones need no savepoint."""
        self.now, self.user, self.unseen = now, user if getattr(user, "pk", None) else None, unseen
        self.open: dict[tuple[int, str], OrderException] = {}
        self.new: list[OrderException] = []
        self.changed: dict[int, tuple[OrderException, set[str]]] = {}
        if unseen:
            return
        rows = (OrderException.objects.filter(line_id__any=Ids(line_ids), status__in=OrderException.OPEN_STATUSES)
                .select_for_update(of=("self",)).order_by("pk").values_list(*_ATTNAMES))
        for row in rows:
            exc = model_loaded(OrderException, _ATTNAMES, row, rows.db)
            self.open[(exc.line_id, exc.kind)] = exc

    def get(self, line_id: int, kind: str) -> OrderException | None:
        return self.open.get((line_id, kind))

    def _set(self, exc: OrderException, values: dict) -> None:
        changed = {name for name, value in values.items() if getattr(exc, name) != value}
        for name in changed:
            setattr(exc, name, values[name])
        if changed and exc.pk is not None:
            self.changed.setdefault(exc.pk, (exc, set()))[1].update(changed)

    def raise_(self, line: OrderLine, kind: str, *, due_by: date, cause: str, **fields) -> OrderException:
        exc = self.open.get((line.pk, kind))
        if exc is None:
            exc = model_build(
                OrderException, kind=kind, line_id=line.pk, order_id=line.order_id, region_id=line.order.region_id,
                channel_id=line.order.channel_id, due_by=due_by, cause=cause[:200],
                opened_at=self.now, **fields,
            )
            self.open[(line.pk, kind)] = exc
            self.new.append(exc)
            return exc
        self._set(exc, {"due_by": due_by, "cause": cause[:200], **fields})
        return exc

    def resolve(self, line_id: int, kind: str, resolution: str) -> OrderException | None:
        exc = self.open.pop((line_id, kind), None)
        if exc is None:
            return None
        if exc.pk is None:
            self.new.remove(exc)
        self._set(exc, {"status": Status.RESOLVED, "resolution": resolution[:200], "resolved_at": self.now})
        return exc

    def set_field(self, exc: OrderException, **fields) -> None:
        self._set(exc, fields)

    def flush(self) -> None:
        """Write the changes, then insert the new exceptions (a resolved row makes room for a
        new one of its kind); one by one if a concurrent worker raised the same meanwhile.
        Each write records its rows' history (on PostgreSQL in the same statement)."""
        changed, self.changed = self.changed, {}
        # Rows that change the same fields to the same values (a pool's lines resolved
        # together) share one UPDATE ... WHERE id IN (...).
        groups: dict[tuple, list[OrderException]] = {}
        for exc, fields in changed.values():
            exc.updated_at = self.now
            values = tuple((name, getattr(exc, name)) for name in sorted(fields | {"updated_at"}))
            groups.setdefault(values, []).append(exc)
        postgres = connection.vendor == "postgresql"
        for values, objs in groups.items():
            for start in range(0, len(objs), 2000):
                ids = [e.pk for e in objs[start:start + 2000]]
                if postgres:
                    _exceptions_update_recorded(ids, dict(values), at=self.now, user=self.user)
                else:
                    OrderException.objects.filter(pk__any=Ids(ids)).update(**dict(values))
        if changed and not postgres:
            _history_snapshot([exc.pk for exc, _ in changed.values()], "~", at=self.now, user=self.user)
        new, self.new = self.new, []
        if not new:
            return
        for exc in new:
            exc.updated_at = self.now
        if postgres and len(new) >= COPY_MIN_ROWS:
            inserted = _exceptions_copy_insert(new, at=self.now, user=self.user)
        else:
            if self.unseen:  # no savepoint: no concurrent insert to recover from
                OrderException.objects.bulk_create(new, batch_size=1000)
                inserted = [exc for exc in new if exc.pk is not None]
            else:
                try:
                    with transaction.atomic():
                        OrderException.objects.bulk_create(new, batch_size=1000)
                    inserted = [exc for exc in new if exc.pk is not None]
                except IntegrityError:
                    inserted = []
            _history_snapshot([exc.pk for exc in inserted], "+", at=self.now, user=self.user)
        done = {id(exc) for exc in inserted}
        for exc in new:
            if id(exc) not in done:  # a concurrent worker raised the same (line, kind)
                _exception_insert_or_merge(exc)


_INSERT_COLUMNS = [f for f in OrderException._meta.concrete_fields if not f.primary_key]
_insert_values = operator.attrgetter(*(f.attname for f in _INSERT_COLUMNS))


def _exceptions_copy_insert(new: list[OrderException], *, at: datetime, user=None) -> list[OrderException]:
    """PostgreSQL: COPY new exceptions into a temp table, insert them and their history in
    one statement.

    Much cheaper than a bulk INSERT for thousands of rows (a slip of a busy SKU); a row
    that collides with an open exception raised meanwhile is skipped and merged after.
    """
    table = OrderException._meta.db_table
    cols = ", ".join(f.column for f in _INSERT_COLUMNS)
    with connection.cursor() as cursor:
        temp = copy_into_temp(cursor, table=table, columns=cols, rows=map(_insert_values, new))
        cursor.execute(
            f"WITH inserted AS (INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp} "
            f"ON CONFLICT DO NOTHING RETURNING {_history_columns()}), "
            f"recorded AS ({_history_insert('inserted')}) SELECT id, line_id, kind FROM inserted",
            _history_params(at, "+", user))
        ids = {(line_id, kind): pk for pk, line_id, kind in cursor.fetchall()}
    inserted = []
    for exc in new:
        pk = ids.get((exc.line_id, exc.kind))
        if pk is not None:
            exc.pk = exc.id = pk
            exc._state.adding, exc._state.db = False, "default"
            inserted.append(exc)
    return inserted


def _exceptions_update_recorded(ids: list[int], values: dict, *, at: datetime, user=None) -> None:
    """PostgreSQL: set these fields of these exceptions and record their history, in one
    statement (the history's rows are the UPDATE's own, not read again)."""
    fields = [OrderException._meta.get_field(name) for name in values]
    sets = ", ".join(f"{f.column} = %s" for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH changed AS (UPDATE {OrderException._meta.db_table} SET {sets} WHERE id = ANY(%s) "
            f"RETURNING {_history_columns()}) {_history_insert('changed')}",
            [*params, id_array(ids), *_history_params(at, "~", user)])


_HISTORY_OWN = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")


def _history_columns() -> str:
    """The exception's columns its history rows copy."""
    history = OrderException.history.model
    return ", ".join(f.column for f in history._meta.concrete_fields if f.column not in _HISTORY_OWN)


def _history_insert(source: str) -> str:
    """INSERT of the history rows of the exceptions in `source` (their table or a CTE of
    their rows); its parameters are _history_params'."""
    names = _history_columns()
    return (f"INSERT INTO {OrderException.history.model._meta.db_table} ({names}, history_date, history_type, "
            f"history_user_id, history_change_reason) SELECT {names}, %s, %s, %s, NULL FROM {source}")


def _history_params(at: datetime, history_type: str, user) -> list:
    return [connection.ops.adapt_datetimefield_value(at), history_type, getattr(user, "pk", None)]


def _history_snapshot(ids: list[int], history_type: str, *, at: datetime, user=None) -> None:
    """Record the current state of these exceptions in their history, in one statement.

    The same rows simple_history writes on save ("+" created, "~" changed), copied by the
    database instead of built object by object.
    """
    if not ids:
        return
    insert = _history_insert(f"{OrderException._meta.db_table} WHERE ")
    head = _history_params(at, history_type, user)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(insert + "id = ANY(%s)", [*head, id_array(ids)])
            return
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            cursor.execute(insert + f"id IN ({', '.join(['%s'] * len(chunk))})", [*head, *chunk])


def _exception_insert_or_merge(exc: OrderException) -> None:
    try:
        with transaction.atomic():
            exc.save()
    except IntegrityError:
        # Another worker raised the same (line, kind) meanwhile: update its row instead.
        current = OrderException.objects.select_for_update().get(
            line_id=exc.line_id, kind=exc.kind, status__in=OrderException.OPEN_STATUSES)
        exc.pk, exc.id = current.pk, current.pk
        exc.opened_at = current.opened_at
        exc.save()
