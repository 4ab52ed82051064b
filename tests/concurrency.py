"""Racing real database connections: threads released at the same moment."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def race(fn, n: int, *, expect_success: bool = False) -> list:
    """Run fn(i) for i in range(n) in n threads that start together, each on its own database
    connection; return the results in order, an exception standing for a call that raised
    (with expect_success, any exception fails the test instead)."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=60)
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - a refusal is a result; the caller judges it
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(run, range(n)))
    if expect_success:
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
    return results
