"""SQL building blocks of the KPIs: local dates, whole days between dates, percentiles, money rounding."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import connection
from django.db.models import Aggregate, Avg, Count, FloatField, Func, IntegerField, QuerySet
from django.db.models.functions import TruncDate

from core.money import money

CENT = Decimal("0.01")


def money_round(amount: Decimal | int | float | None) -> Decimal:
    """Return a sum of money in cents by the project's one rounding rule (core.money); none
    is zero. SQLite sums decimals as floats: core.money reads them by their shortest repr."""
    return money(0 if amount is None else amount)


def share(part: int | float, whole: int | float) -> Decimal | None:
    """Return part ÷ whole as a percentage with two decimals, or None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_EVEN)


class LocalDate(TruncDate):
    """The date of a timestamp in the current time zone (TruncDate), the zone's name
    written into the SQL on PostgreSQL instead of passed as a parameter.

    Connections bind parameters on the server (config/settings.py), where each parameter is
    a placeholder of its own: the same TruncDate in a query's SELECT and in its GROUP BY
    would read `AT TIME ZONE $1` and `AT TIME ZONE $4`, which PostgreSQL cannot tell are
    equal, and it refuses the query. Written in, the two are the same text.
    """

    def as_postgresql(self, compiler, connection, **extra_context):
        tzname = self.get_tzname()
        if not tzname or not _ZONE_NAME.fullmatch(tzname):
            return self.as_sql(compiler, connection, **extra_context)
        sql, params = compiler.compile(self.lhs)
        return f"(({sql}) AT TIME ZONE '{tzname}')::date", params


#: A time zone name as zoneinfo spells them (Europe/Berlin, Etc/GMT+5, UTC): safe to quote.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


class DaysBetween(Func):
    """Whole calendar days from `earlier` to `later` (two date expressions), as an integer."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # SQLite keeps dates as ISO text: julianday() turns them into day numbers.
        return super().as_sql(
            compiler, connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(", **extra_context,
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="((%(expressions)s))",
            arg_joiner=")::date - (", **extra_context,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(f) WITHIN GROUP (ORDER BY expr): interpolated percentile."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile_of_sorted(values: Sequence[float], fraction: float) -> float | None:
    """Return the percentile of sorted values by linear interpolation, as percentile_cont does."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(values[low])
    return float(values[low]) + (float(values[high]) - float(values[low])) * (position - low)


def _sql_percentiles() -> bool:
    return connection.vendor == "postgresql"


def distribution(
    queryset: QuerySet, expression, *, by: Iterable[str] = (), fractions: Sequence[float] = (0.5, 0.9)
) -> dict[tuple, dict]:
    """Return count, mean and percentiles of `expression` over `queryset`, per `by` group.

    One query whatever the number of rows. PostgreSQL computes the percentiles itself
    (percentile_cont); other databases send the values and Python interpolates them the
    same way. Rows whose value is NULL are left out. The result maps the group's values
    (a tuple, empty without `by`) to {"count", "mean", fractions...}; means and percentiles
    are floats rounded to two decimals, None for an empty group.
    """
    by = tuple(by)
    qs = queryset.annotate(_value=expression).filter(_value__isnull=False)
    if _sql_percentiles():
        aggregates = {"count": Count("_value"), "mean": Avg("_value", output_field=FloatField())}
        for fraction in fractions:
            aggregates[f"p{fraction}"] = PercentileCont("_value", fraction)
        if by:
            rows = qs.order_by().values(*by).annotate(**aggregates)
        else:
            rows = [qs.order_by().aggregate(**aggregates)]
        result = {}
        for row in rows:
            key = tuple(row[name] for name in by)
            result[key] = {
                "count": row["count"],
                "mean": _round(row["mean"]),
                **{f: _round(row[f"p{f}"]) for f in fractions},
            }
        return result

    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in qs.order_by().values_list(*by, "_value"):
        groups[tuple(row[:-1])].append(float(row[-1]))
    if not by:
        groups.setdefault((), [])
    result = {}
    for key, values in groups.items():
        values.sort()
        result[key] = {
            "count": len(values),
            "mean": _round(sum(values) / len(values)) if values else None,
            **{f: _round(percentile_of_sorted(values, f)) for f in fractions},
        }
    return result


def _round(value) -> float | None:
    return None if value is None else round(float(value), 2)
