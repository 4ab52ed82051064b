"""The notice jobs are on django-q2's schedule and safe to run when there is nothing to do."""

import pytest
from django_q.models import Schedule

from notifications import tasks
from promises.schedules import all_jobs, schedules_setup

pytestmark = pytest.mark.django_db


def test_the_notice_jobs_are_collected_and_scheduled():
    jobs = all_jobs()
    funcs = {job[0] for job in jobs.values()}
    assert {"notifications.tasks.notices_send_due", "notifications.tasks.consent_deadlines_enforce",
            "notifications.tasks.past_due_sweep", "notifications.tasks.slips_sweep"} <= funcs
    schedules_setup()
    assert Schedule.objects.filter(func="notifications.tasks.notices_send_due", minutes=1).exists()


def test_notice_jobs_run_on_the_notices_cluster_and_repromising_on_the_main_one(settings):
    settings.NOTICES_CLUSTER = "desk-notices"
    schedules_setup()
    clusters = dict(Schedule.objects.values_list("func", "cluster"))
    assert clusters["notifications.tasks.notices_send_due"] == "desk-notices"
    assert clusters["notifications.tasks.past_due_sweep"] == "desk-notices"
    assert clusters["promises.tasks.repromise_all"] is None
    assert clusters["promises.tasks.repromise_dirty_pools"] is None


def test_every_job_runs_on_an_empty_book():
    assert tasks.notices_send_due() == {}
    assert tasks.consent_deadlines_enforce(today="2027-01-04") == {"cancelled": 0}
    assert tasks.past_due_sweep(today="2027-01-04") == {"cancelled": 0}
    assert tasks.slips_sweep() == {"assessed": 0}
