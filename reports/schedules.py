"""The reports' recurring jobs on django-q2's schedule (collected by promises.schedules)."""

from django_q.models import Schedule

# name -> (task, schedule type, minutes for MINUTES, when the first run falls)
JOBS = {
    "monthly finance reports": ("reports.tasks.monthly_reports_send", Schedule.MONTHLY, None, "MONTHLY"),
}
