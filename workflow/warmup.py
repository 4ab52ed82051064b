"""Warm a fresh worker process before it takes its first task.

The first re-promise or slip assessment in a new process would otherwise load, on the
clock, what every later one finds ready: the `holidays` package's country modules (a
noticeable import, done by the first regional policy built) and this year's and next year's
public holidays of each warehouse and region (kept by promises.calendar's caches).
Without it a worker's first assessment of a large slip takes markedly longer than later
ones (docs/architecture.md, "What each fast path saves"). django-q2 recycles its worker processes (`recycle` tasks each), so this recurs, not only at deploys.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from inventory.models import Region, Warehouse
from promises.calendar import holidays_load
from workflow.regional import regional_policy

log = logging.getLogger(__name__)


def worker_warm(**kwargs) -> float:
    """Load the holiday calendars of every warehouse and region; return the seconds taken.

    Connected to django-q2's `post_spawn`, which is not robust: an error here would stop the
    worker process at every spawn. Nothing here is a reason for a worker not to start (a
    database that cannot be read yet, a warehouse with a code `holidays` does not know):
    such an error is logged and leaves the process cold.
    """
    started = time.perf_counter()
    year = date.today().year
    years = (year, year + 1)
    try:
        for region in Region.objects.all():
            regional_policy(region.code)  # imports the holidays package's countries
            holidays_load(region.holiday_country, region.holiday_subdivision or None, years)
        for warehouse in Warehouse.objects.all():
            holidays_load(warehouse.country, warehouse.holiday_subdivision or None, years)
    except Exception:  # noqa: BLE001  (see the docstring)
        log.warning("worker warm-up skipped", exc_info=True)
    seconds = time.perf_counter() - started
    log.info("worker warmed in %.3f s", seconds)
    return seconds
