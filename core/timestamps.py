"""Timestamps read from PostgreSQL by psycopg's C loader.

Django registers a timestamptz loader of its own on each connection: a subclass of
psycopg's pure-Python loader that replaces the tzinfo of what it parsed. Even with
psycopg's C extension installed, every timestamp read is then parsed in Python, about 5 µs
a value (100,000 values: 0.49-0.61 s through Django's loader, 0.03 s through the C one,
measured on PostgreSQL 15 here). A large slip reads tens of thousands of them (orders'
placing times, exceptions' dates).

When Django wants UTC datetimes (USE_TZ, no TIME_ZONE of the database's own) and the
session's time zone is UTC, which Django sets when it connects, psycopg's C loader
returns exactly what Django's does: the same instant with `datetime.timezone.utc`. The
connection then gets the C loader; anywhere else Django's stays.
"""

from __future__ import annotations

import datetime
import functools

TIMESTAMPTZ = "timestamptz"


@functools.cache
def _utc_loader():
    """A loader class that builds psycopg's C loader of text timestamptz, or None without
    psycopg's C extension. Its `timezone` is what Django's create_cursor compares with the
    connection's time zone before registering its own loader on a cursor."""
    import psycopg
    from psycopg.pq import Format
    from psycopg.types.datetime import TimestamptzLoader

    c_loader = psycopg.adapters.get_loader(psycopg.postgres.types[TIMESTAMPTZ].oid, Format.TEXT)
    if c_loader.__module__.startswith("psycopg."):
        return None

    class UtcTimestamptzLoader(TimestamptzLoader):
        timezone = datetime.UTC

        def __new__(cls, oid, context=None):
            return c_loader(oid, context)

    return UtcTimestamptzLoader


def c_loader_applies(connection) -> bool:
    """Whether psycopg's C loader gives this Django connection the datetimes Django's does."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return False
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return False
    return _utc_loader() is not None


def utc_timestamps_load_in_c(sender, connection, **kwargs) -> None:
    """connection_created receiver: give a new PostgreSQL connection the C loader where it
    applies (c_loader_applies)."""
    if c_loader_applies(connection):
        connection.connection.adapters.register_loader(TIMESTAMPTZ, _utc_loader())
