"""The notice jobs on django-q2's schedule (collected by promises.schedules)."""

from django_q.models import Schedule

from workflow.assessment import PAST_DUE_SWEEP_TASK

# name -> (task, schedule type, minutes for MINUTES, run at hour for DAILY)
JOBS = {
    "notice send and retry sweep": ("notifications.tasks.notices_send_due", Schedule.MINUTES, 1, None),
    "US consent deadline cancellations": (
        "notifications.tasks.consent_deadlines_enforce", Schedule.MINUTES, 30, None),
    "past-due sweep": (PAST_DUE_SWEEP_TASK, Schedule.MINUTES, 30, None),
    "slip sweep (renewed notices)": ("notifications.tasks.slips_sweep", Schedule.MINUTES, 15, None),
    "owed notices catch-up (after a worker stopped)": (
        "notifications.tasks.owed_notices_catch_up", Schedule.MINUTES, 1, None),
    "held notices released before their deadline": (
        "notifications.tasks.held_notices_release", Schedule.MINUTES, 30, None),
}
