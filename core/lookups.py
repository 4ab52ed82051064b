"""`field__any=[...]`: membership in a long list of ids as one array parameter on PostgreSQL.

`field__in` with thousands of ids sends thousands of placeholders: Django prepares each one
and psycopg parses the long statement. `= ANY(%s)` sends one array. Other databases get a
plain IN list.

A list still costs Django a resolution and a preparation of each id before the lookup
sees it, and psycopg a conversion of each element when it sends the array. `Ids(...)` wraps
integer ids so that the ORM hands them on untouched, and sends them to PostgreSQL as one
array literal (`id_array`), a single string PostgreSQL reads as the column's array type.
What each saves is in docs/architecture.md, "What each fast path saves".
"""

import operator

from django.db.models import Field, ForeignObject, Lookup


class Ids:
    """Integer ids for an `__any` lookup, passed through the ORM without per-id work.

    Each must be an integer (`operator.index`: a string or a float raises TypeError at once,
    where PostgreSQL and SQLite would answer differently); nothing else checks them.
    """

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = list(map(operator.index, values))

    def __repr__(self):
        return f"Ids({len(self.values)} ids)"

    def __iter__(self):
        return iter(self.values)


def id_array(ids) -> str:
    """Integer ids as one PostgreSQL array literal ("{3,5,8}"), for `= ANY(%s)` and
    `unnest(%s::bigint[])`: psycopg sends a string whole, where it converts a list element
    by element (a tenth of a millisecond per 200 ids). Each id must be an integer."""
    return "{" + ",".join(map(str, map(operator.index, ids))) + "}"


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        if isinstance(self.rhs, Ids):
            return self.rhs
        return [self.lhs.output_field.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            return "1 = 0", []  # empty membership matches nothing, as IN () would
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, id_array(values) if isinstance(self.rhs, Ids) else values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own (line_id__any)
