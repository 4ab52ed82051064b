"""Bulk writes on PostgreSQL: COPY rows into a temporary table, then one set-based statement."""

from collections.abc import Iterable, Sequence


def copy_into_temp(cursor, *, table: str, columns: str, rows: Iterable[Sequence]) -> str:
    """COPY rows into a session temp table with `table`'s `columns`; return the temp table's name.

    The table lives for the session and is emptied at each commit and before each use, so
    the caller's INSERT ... SELECT reads exactly these rows. Measured: thousands of rows
    this way take a fraction of a bulk INSERT's time.
    """
    temp = f"tmp_{table}_write"
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS "
                   f"AS SELECT {columns} FROM {table} WITH NO DATA")
    cursor.execute(f"TRUNCATE {temp}")
    with cursor.cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return temp
