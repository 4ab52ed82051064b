"""On the first of each month the Finance group gets the previous month's reports."""

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django_q.models import Schedule

from reports.services import last_month, monthly_reports_send

pytestmark = pytest.mark.django_db


def test_last_month_is_the_whole_calendar_month_before():
    assert (last_month(date(2027, 3, 1)).start, last_month(date(2027, 3, 1)).end) == (
        date(2027, 2, 1), date(2027, 2, 28))
    assert last_month(date(2027, 1, 15)).start == date(2026, 12, 1)


def test_finance_members_get_the_three_reports_of_last_month(django_user_model):
    # Given the role groups, two finance clerks (one without an address) and an agent
    call_command("setup_roles", stdout=StringIO())
    for name, role, email in [("fin", "Finance", "fin@example.com"), ("fin2", "Finance", ""),
                              ("agent", "CS agent", "agent@example.com")]:
        user = django_user_model.objects.create_user(name, email, "pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
    # When the monthly job runs on 1 December
    assert monthly_reports_send(today=date(2026, 12, 1)) == 1
    # Then the clerk with an address gets November's reports as PDF and XLSX, and no one else
    [message] = mail.outbox
    assert message.to == ["fin@example.com"] and "November 2026" in message.subject
    names = sorted(name for name, _content, _mime in message.attachments)
    assert names == sorted(f"{kind}-20261101-20261130.{fmt}" for kind in ("exposure", "refunds", "performance")
                           for fmt in ("pdf", "xlsx"))
    assert all(content[:4] == b"%PDF" for name, content, _ in message.attachments if name.endswith(".pdf"))


def test_the_monthly_job_is_on_the_schedule_for_the_first_of_next_month():
    call_command("setup_schedules", stdout=StringIO())
    job = Schedule.objects.get(name="monthly finance reports")
    assert job.func == "reports.tasks.monthly_reports_send" and job.schedule_type == Schedule.MONTHLY
    assert job.next_run.day == 1
