"""Keyset cursor pagination: `{next, previous, results}` over a fixed, unique ordering.

DRF's CursorPagination keys on the first ordering field and counts an offset among
equal values; bulk writes give thousands of orders the same `updated_at`, so that offset
grows and rows updated while a client pages can shift it. This one keys on the whole
ordering tuple (e.g. `(updated_at, id)`), each page is one indexed range query, and a
row changed mid-pull moves behind the cursor, to be read again on a later page: pulls
are at-least-once, never lossy.
"""

import base64
import binascii
import json
from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.compiled import compiled_values
from core.errors import InvalidInput


class KeysetPagination(BasePagination):
    """Pages of `page_size` rows ordered by the view's `cursor_ordering` (ascending)."""

    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        return self._paginate(request, view, queryset.model,
                              lambda position, forward: list(self._page(queryset, position, forward)))

    def paginate_build(self, build, request, view, model, **values):
        """paginate_queryset of the values() queryset `build(**values)`, its page's SQL
        compiled once per ordering, page size, direction and cursor presence (core.compiled): the
        view builds no queryset. `values` are arrays of ids, strings, integers or datetimes."""

        def read(position, forward):
            def page_build(**given):
                # The cursor's values come as parameters of their own: c0, c1 ...
                at = tuple(given.pop(f"c{i}") for i in range(len(self.fields))) if position is not None else None
                return self._page(build(**given), at, forward)

            cursor = {f"c{i}": v for i, v in enumerate(position)} if position is not None else {}
            variant = (build.__module__, build.__qualname__, self.fields, self.page_size, forward,
                       position is not None)
            return compiled_values(page_build, variant, **values, **cursor)

        return self._paginate(request, view, model, read)

    def _page(self, queryset, position, forward):
        if position is not None:
            queryset = queryset.filter(self._after(position, forward))
        ordering = self.fields if forward else tuple(f"-{f}" for f in self.fields)
        return queryset.order_by(*ordering)[: self.page_size + 1]

    def _paginate(self, request, view, model, read):
        self.request = request
        self.fields = tuple(view.cursor_ordering)
        self.page_size = self._page_size(request)
        self.base_url = request.build_absolute_uri()
        raw = request.query_params.get(self.cursor_query_param)
        forward, position = (True, None) if not raw else self._decode(raw, model)

        rows = read(position, forward)
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if not forward:
            rows.reverse()

        self.next_position = self.previous_position = None
        if rows:
            first, last = self._position(rows[0]), self._position(rows[-1])
            if forward:
                self.next_position = last if has_more else None
                self.previous_position = first if position is not None else None
            else:
                self.previous_position = first if has_more else None
                self.next_position = last
        elif position is not None:
            # An empty page after a cursor: the way back starts from where it pointed.
            if forward:
                self.previous_position = position
            else:
                self.next_position = position
        return rows

    def get_paginated_response(self, data):
        return Response({
            "next": self._link(self.next_position, forward=True),
            "previous": self._link(self.previous_position, forward=False),
            "results": data,
        })

    # --- Cursor encoding ----------------------------------------------------------------

    def _position(self, obj) -> tuple:
        return tuple(_value(obj, f) for f in self.fields)

    def _link(self, position, *, forward: bool) -> str | None:
        if position is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param,
                                   cursor_token(position, forward=forward))

    def _decode(self, raw: str, model) -> tuple[bool, tuple]:
        try:
            padded = raw + "=" * (-len(raw) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            forward = {"n": True, "p": False}[payload["d"]]
            values = payload["k"]
            if not isinstance(values, list) or len(values) != len(self.fields):
                raise ValueError
            position = tuple(
                _field(model, f).to_python(v) for f, v in zip(self.fields, values, strict=True)
            )
            if any(v is None for v in position):
                raise ValueError
            # PostgreSQL refuses offsets past ±15:59: compare in UTC. The cursors given out
            # carry their offset; a timestamp without one is read as UTC.
            position = tuple((v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC))
                             if isinstance(v, datetime) else v for v in position)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, binascii.Error,
                ValidationError):
            raise InvalidInput("The cursor is not valid; start again without it.",
                               errors={self.cursor_query_param: ["invalid cursor"]}) from None
        return forward, position

    def _after(self, position: tuple, forward: bool) -> Q:
        """Rows strictly after (or before) the position in the ordering tuple.

        `(a > x) OR (a = x AND b > y)`, plus the redundant `a >= x`: without it PostgreSQL
        cannot bound the index scan on `a` and reads every row before the cursor (a walk
        through the book would be quadratic).
        """
        op = "gt" if forward else "lt"
        q = Q(pk__in=[])
        for i, field in enumerate(self.fields):
            cond = Q(**{f"{field}__{op}": position[i]})
            for prev, value in zip(self.fields[:i], position[:i], strict=True):
                cond &= Q(**{prev: value})
            q |= cond
        return Q(**{f"{self.fields[0]}__{op}e": position[0]}) & q

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
            if size < 1:
                raise ValueError
        except ValueError:
            raise InvalidInput("page_size must be a whole number from 1.",
                               errors={"page_size": [f"a whole number from 1 to {self.max_page_size}"]}
                               ) from None
        return min(size, self.max_page_size)

    # --- OpenAPI ------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "URL of the next page; null on the last page."},
                "previous": {"type": "string", "format": "uri", "nullable": True,
                             "description": "URL of the previous page; null on the first."},
                "results": {**schema, "description": "This page's rows, in cursor order."},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Opaque position from a `next` or `previous` link.",
             "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]


def cursor_token(position, *, forward: bool = True) -> str:
    """The opaque cursor for rows after (or before) `position`, a tuple of ordering values."""
    payload = {"d": "n" if forward else "p", "k": [_jsonable(v) for v in position]}
    token = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return token.decode().rstrip("=")


def _field(model, path: str):
    """The model field an ordering path names (`updated_at`, or across relations `sync__updated_at`)."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


def _value(obj, path: str):
    """The value of an ordering path on a row (its relations already loaded)."""
    *relations, name = path.split("__")
    for relation in relations:
        obj = getattr(obj, relation)
    return getattr(obj, obj._meta.get_field(name).attname)


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value

