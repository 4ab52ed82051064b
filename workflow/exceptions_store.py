"""The bulk writer of OrderException rows and their history (`ExceptionBatch`)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction

from core.bulk import copy_into_temp, model_build, model_loaded
from core.lookups import Ids
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
        new one of its kind); one by one if a concurrent worker raised the same meanwhile."""
        changed, self.changed = self.changed, {}
        # Rows that change the same fields to the same values (a pool's lines resolved
        # together) share one UPDATE ... WHERE id IN (...).
        groups: dict[tuple, list[OrderException]] = {}
        for exc, fields in changed.values():
            exc.updated_at = self.now
            values = tuple((name, getattr(exc, name)) for name in sorted(fields | {"updated_at"}))
            groups.setdefault(values, []).append(exc)
        for values, objs in groups.items():
            for start in range(0, len(objs), 2000):
                chunk = objs[start:start + 2000]
                OrderException.objects.filter(pk__any=Ids(e.pk for e in chunk)).update(**dict(values))
        if changed:
            _history_snapshot([exc.pk for exc, _ in changed.values()], "~", at=self.now, user=self.user)
        new, self.new = self.new, []
        if not new:
            return
        for exc in new:
            exc.updated_at = self.now
        if connection.vendor == "postgresql" and len(new) >= COPY_MIN_ROWS:
            inserted = _exceptions_copy_insert(new)
        elif self.unseen:  # no savepoint: no concurrent insert to recover from
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


def _exceptions_copy_insert(new: list[OrderException]) -> list[OrderException]:
    """PostgreSQL: COPY new exceptions into a temp table and insert them in one statement.

    Much cheaper than a bulk INSERT for thousands of rows (a slip of a busy SKU); a row
    that collides with an open exception raised meanwhile is skipped and merged after.
    """
    table = OrderException._meta.db_table
    cols = ", ".join(f.column for f in _INSERT_COLUMNS)
    with connection.cursor() as cursor:
        temp = copy_into_temp(cursor, table=table, columns=cols, rows=map(_insert_values, new))
        cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp} "
                       "ON CONFLICT DO NOTHING RETURNING id, line_id, kind")
        ids = {(line_id, kind): pk for pk, line_id, kind in cursor.fetchall()}
    inserted = []
    for exc in new:
        pk = ids.get((exc.line_id, exc.kind))
        if pk is not None:
            exc.pk = exc.id = pk
            exc._state.adding, exc._state.db = False, "default"
            inserted.append(exc)
    return inserted


def _history_snapshot(ids: list[int], history_type: str, *, at: datetime, user=None) -> None:
    """Record the current state of these exceptions in their history, in one statement.

    The same rows simple_history writes on save ("+" created, "~" changed), copied by the
    database instead of built object by object.
    """
    if not ids:
        return
    history = OrderException.history.model
    own = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")
    cols = [f.column for f in history._meta.concrete_fields if f.column not in own]
    names = ", ".join(cols)
    user_id = getattr(user, "pk", None)
    insert = (f"INSERT INTO {history._meta.db_table} ({names}, history_date, history_type, "
              f"history_user_id, history_change_reason) SELECT {names}, %s, %s, %s, NULL "
              f"FROM {OrderException._meta.db_table} WHERE ")
    head = [connection.ops.adapt_datetimefield_value(at), history_type, user_id]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(insert + "id = ANY(%s)", [*head, list(ids)])
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
