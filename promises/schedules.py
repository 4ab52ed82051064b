"""The recurring jobs on django-q2's schedule."""

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from core.queue import cluster_for

# name -> (task, schedule type, minutes for MINUTES, run at hour for DAILY)
JOBS = {
    "nightly re-promise": ("promises.tasks.repromise_all", Schedule.DAILY, None, "NIGHTLY"),
    "dirty pool sweep": ("promises.tasks.repromise_dirty_pools", Schedule.MINUTES, 1, None),
}


def all_jobs() -> dict:
    """Collect the JOBS of every installed app that has a schedules module."""
    from importlib import import_module

    from django.apps import apps

    jobs = {}
    for app in apps.get_app_configs():
        try:
            module = import_module(f"{app.name}.schedules")
        except ModuleNotFoundError:
            continue
        jobs.update(getattr(module, "JOBS", {}))
    return jobs


def schedules_setup(jobs: dict | None = None) -> list[str]:
    """Create or update each recurring job of every app; return their names."""
    jobs = jobs or all_jobs()
    now = timezone.now()
    for name, (func, kind, minutes, at) in jobs.items():
        next_run = now
        if at == "NIGHTLY":
            hour = settings.BACKORDER_DESK["NIGHTLY_REPROMISE_HOUR"]
            next_run = now.replace(hour=hour, minute=0, second=0, microsecond=0)
            if next_run <= now:
                next_run += timezone.timedelta(days=1)
        elif at == "MONTHLY":  # the first of next month, early morning
            first = (now.replace(day=1) + timezone.timedelta(days=32)).replace(day=1)
            next_run = first.replace(hour=6, minute=0, second=0, microsecond=0)
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": kind, "minutes": minutes, "next_run": next_run,
                      "repeats": -1, "cluster": cluster_for(func)},
        )
    return list(jobs)
