"""Warm a fresh worker process before it takes its first task.

The first re-promise or slip assessment in a new process would otherwise load, on the
clock, what every later one finds ready: the `holidays` package's country modules (about
0.1 s to import, done by the first regional policy built) and this year's and next year's
public holidays of each warehouse and region (kept by promises.calendar's caches). Measured in the ETA benchmark before this: a worker's
first assessment of a 2,950-line part took 0.75-1.0 s, later ones 0.5-0.65 s. django-q2
recycles its worker processes (`recycle` tasks each), so this recurs, not only at deploys.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from django.db import DatabaseError

from inventory.models import Region, Warehouse
from promises.calendars import ship_calendar_for, transit_calendar_for
from promises.regional import regional_policy

log = logging.getLogger(__name__)


def worker_warm(**kwargs) -> float:
    """Load the holiday calendars of every warehouse and region; return the seconds taken.

    Connected to django-q2's `post_spawn`. A database that cannot be read yet only leaves
    the process cold: it is never a reason for a worker not to start.
    """
    started = time.perf_counter()
    today = date.today()
    days = [date(today.year, 12, 31), date(today.year + 1, 12, 31)]  # each loads its year's holidays
    try:
        for region in Region.objects.all():
            regional_policy(region.code)  # imports the holidays package's countries
            calendar = transit_calendar_for(region)
            for day in days:
                calendar.is_business_day(day)
        for warehouse in Warehouse.objects.all():
            calendar = ship_calendar_for(warehouse)
            for day in days:
                calendar.is_business_day(day)
    except (DatabaseError, ValueError):
        log.warning("worker warm-up skipped", exc_info=True)
    seconds = time.perf_counter() - started
    log.info("worker warmed in %.3f s", seconds)
    return seconds
