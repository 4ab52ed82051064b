"""The exception as a work item: due-by dates that mean something, exceptions that close when
their cause goes away, agents' actions as rows, and the exception page that says what to do."""

import importlib
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.apps import apps
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from promises.models import OrderException
from promises.roles import AGENT, BUYER, OPS
from tests.factories.inventory import BackorderCapFactory
from tests.factories.promises import OrderExceptionFactory, backorder_line
from workflow import services as workflow
from workflow.models import ExceptionEvent
from workflow.workitem import due_state, kind_label, work_item

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:promises_orderexception_changelist")
FRIDAY = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)  # 10:00 in New York


def change_url(exc):
    return reverse("admin:promises_orderexception_change", args=[exc.pk])


def assess(b, now=None):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return workflow.lines_assess(line_ids=[b.line.pk], now=now or timezone.now())


def cap_breach(line):
    return OrderException.objects.filter(line=line, kind="cap_breach").order_by("-pk").first()


@pytest.fixture
def people(staff_by_role):
    return staff_by_role


# --- due-by dates -----------------------------------------------------------------------------


def test_a_cap_breach_is_due_the_next_working_day_and_overdue_only_after_it():
    with time_machine.travel(FRIDAY, tick=False):
        b = backorder_line("US", eta_days=14)
        BackorderCapFactory(sku=b.line.sku, max_backorder_qty=None, max_promise_days=5)
        assess(b)
        exc = cap_breach(b.line)
        # Raised on a Friday: due the Monday after, not overdue the day it is raised
        assert exc.status == "open" and exc.due_by == date(2026, 12, 14)
        assert due_state(exc, date(2026, 12, 11)) == ""
    with time_machine.travel(datetime(2026, 12, 12, 15, 0, tzinfo=UTC), tick=False):
        assess(b)  # re-assessed on Saturday: the due-by raised stays
        exc.refresh_from_db()
        assert exc.due_by == date(2026, 12, 14) and exc.status == "open"
    assert due_state(exc, date(2026, 12, 14)) == "today"
    assert due_state(exc, date(2026, 12, 15)) == "overdue"


def test_the_queue_marks_overdue_by_the_regions_own_date(client, superuser):
    client.force_login(superuser)
    with time_machine.travel(FRIDAY, tick=False):
        b = backorder_line("US", eta_days=14)
        BackorderCapFactory(sku=b.line.sku, max_backorder_qty=None, max_promise_days=5)
        assess(b)
        html = client.get(CHANGELIST).content.decode()
        assert "(overdue)" not in html
        assert client.get(CHANGELIST + "?due=overdue").context["cl"].result_count == 0
    # Tuesday 03:00 UTC is still Monday in New York: due today there, not overdue
    with time_machine.travel(datetime(2026, 12, 15, 3, 0, tzinfo=UTC), tick=False):
        html = client.get(CHANGELIST).content.decode()
        assert "(today)" in html and "(overdue)" not in html
    with time_machine.travel(datetime(2026, 12, 15, 15, 0, tzinfo=UTC), tick=False):
        response = client.get(CHANGELIST + "?due=overdue")
        assert response.context["cl"].result_count == 1 and "(overdue)" in response.content.decode()
        assert response.context["queue_summary"]["totals"]["overdue"] == 1


def test_a_consent_due_weeks_ahead_is_awaited_not_overdue():
    with time_machine.travel(FRIDAY, tick=False):
        b = backorder_line("US", eta_days=14)
        exc = OrderExceptionFactory(line=b.line, kind="consent_overdue", due_by=date(2027, 1, 8))
        assert kind_label(exc, date(2026, 12, 11)) == "Consent awaited"
        assert kind_label(exc, date(2027, 1, 9)) == "Consent overdue"


# --- exceptions close when their cause goes away -----------------------------------------------


def test_a_cap_breach_closes_when_the_customer_accepts_and_is_not_raised_again(superuser):
    with time_machine.travel(FRIDAY, tick=True):
        b = backorder_line("US", eta_days=14)
        BackorderCapFactory(sku=b.line.sku, max_backorder_qty=None, max_promise_days=5)
        assess(b)
        exc = cap_breach(b.line)
        with TestCase.captureOnCommitCallbacks(execute=True):
            workflow.exception_consent_record(exception=exc, channel="phone", user=superuser,
                                              note="happy to wait")
        exc.refresh_from_db()
        assert exc.status == "resolved" and exc.resolution.startswith("Customer accepted the new date")
        assess(b)
        assert not OrderException.objects.filter(line=b.line, kind="cap_breach", status="open").exists()


def test_a_broken_guarantee_is_worded_in_the_words_of_the_trade():
    from promises.models import Promise

    b = backorder_line("US", eta_days=14)
    Promise.objects.filter(pk=b.line.pk).update(guarantee_broken=True)
    assess(b)
    exc = OrderException.objects.get(line=b.line, kind="supplier_slip")
    assert exc.cause.startswith("Less supply than planned") and "guarantee" not in exc.cause
    item = work_item(OrderException.objects.select_related("order__region", "line__promise").get(pk=exc.pk),
                     now=timezone.now())
    assert "Less supply than planned" in item.what_happened and "Split-ship" in item.next_step


def test_a_cap_breach_closes_when_the_promise_is_back_within_the_cap():
    with time_machine.travel(FRIDAY, tick=True):
        b = backorder_line("US", eta_days=14)
        cap = BackorderCapFactory(sku=b.line.sku, max_backorder_qty=None, max_promise_days=5)
        assess(b)
        cap.max_promise_days = 60
        cap.save()
        assess(b)
        exc = cap_breach(b.line)
        assert exc.status == "resolved" and exc.resolution == "Promise within every cap's horizon"


# --- agents' actions are rows ----------------------------------------------------------------


def test_every_agent_action_is_an_event_row_not_text_in_the_notes(client, superuser):
    client.force_login(superuser)
    b = backorder_line("US", eta_days=14)
    exc = OrderExceptionFactory(line=b.line, kind="cap_breach")

    def act(action, **data):
        payload = {"action": action, "_selected_action": [exc.pk]}
        with TestCase.captureOnCommitCallbacks(execute=True):
            return client.post(CHANGELIST + "?state=all", {**payload, "confirm": "yes", **data}, follow=True)

    act("assign_to_me")
    act("goodwill_credit", amount="10.00", note="sorry for the wait")
    act("add_note", note="Customer asked for a call back on Monday")
    response = act("add_note", note="")
    assert "This field is required" in response.content.decode()
    events = list(ExceptionEvent.objects.filter(exception=exc))
    assert [e.action for e in events] == ["assigned", "goodwill_credit", "note"]
    assert events[1].text == "Goodwill credit 10.00 USD" and events[1].note == "sorry for the wait"
    assert all(e.user == superuser and e.order_id == exc.order_id for e in events)
    exc.refresh_from_db()
    assert exc.notes == "" and exc.owner == superuser and exc.status == "in_progress"


def test_notes_appended_before_become_rows():
    migration = importlib.import_module("workflow.migrations.0002_exception_notes_to_events")
    b = backorder_line("US", eta_days=14)
    agent = apps.get_model("auth", "User").objects.create_user("maria", password="pw")
    exc = OrderExceptionFactory(line=b.line, notes=(
        "[2026-11-30 09:15 maria] Assigned to me\n"
        "[2026-11-30 09:20 maria] Goodwill credit 5.00 USD: called, upset\n"
        "she will call back\n"
        "[2026-11-30 10:00 gone-user] Split-ship requested: 1 of 2 open units in stock (1 on hand): ok"))
    loose = OrderExceptionFactory(line=b.line, kind="cap_breach", notes="called the customer, no answer")
    migration.notes_to_events(apps, None)
    rows = list(ExceptionEvent.objects.filter(exception=exc))
    assert [(r.action, r.user_id) for r in rows] == [("assigned", agent.pk), ("goodwill_credit", agent.pk),
                                                     ("split_ship", None)]
    assert rows[1].text == "Goodwill credit 5.00 USD" and rows[1].note == "called, upset\nshe will call back"
    assert rows[2].text.endswith("(1 on hand)") and rows[2].note == "ok"
    assert timezone.localtime(rows[0].at).strftime("%Y-%m-%d %H:%M") == "2026-11-30 09:15"
    [legacy] = ExceptionEvent.objects.filter(exception=loose)
    assert legacy.action == "legacy" and legacy.note == "called the customer, no answer"
    assert set(OrderException.objects.values_list("notes", flat=True)) == {""}


# --- the exception page -----------------------------------------------------------------------


@pytest.fixture
def slipped(frozen_clock):
    """A US line whose 45-day slip needs a delay notice held for review."""
    from tests.workflow.steps import slip

    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=45)
    return b, OrderException.objects.get(line=b.line, kind="delay_notice_due")


def test_the_exception_page_says_what_happened_what_the_customer_was_told_and_what_to_do(
        client, people, slipped, django_assert_max_num_queries):
    b, exc = slipped
    client.force_login(people[AGENT])
    with django_assert_max_num_queries(40):
        response = client.get(change_url(exc))
    html = response.content.decode()
    assert response.status_code == 200
    item = response.context["work_item"]
    assert "later than the customer was told" in item.what_happened
    assert "Send delay notice now" in item.next_step and "held for review" in item.next_step
    assert "counts as none" in item.at_deadline  # the US rule: a late notice is no notice
    # what the customer was told: the held notice, and the timeline of the line
    assert "What the customer was told" in html and "Delay notice" in html and "held" in html
    assert 'id="timeline"' in html and "Promise moved" in html and "Exception raised" in html
    # the agent's actions as buttons, each posting to the queue's action machinery
    buttons = [name for name, _ in response.context["buttons"]]
    assert {"send_notice_now", "record_consent", "cancel_and_refund", "add_note"} <= set(buttons)
    assert f'name="_selected_action" value="{exc.pk}"' in html
    # engine words are gone from what the agent reads first
    assert "guarantee broken" not in item.what_happened


def test_a_buyer_reads_the_page_without_buttons(client, people, slipped):
    _b, exc = slipped
    client.force_login(people[BUYER])
    response = client.get(change_url(exc))
    assert response.status_code == 200
    assert response.context["buttons"] == [] and "Act on it" not in response.content.decode()


def test_a_button_runs_the_action_through_its_confirmation_and_comes_back_to_the_page(
        client, people, slipped):
    _b, exc = slipped
    client.force_login(people[AGENT])
    payload = {"action": "add_note", "_selected_action": [exc.pk], "index": 0, "_work_item": "1"}
    confirm = client.post(CHANGELIST + "?state=all", payload)
    assert confirm.status_code == 200 and 'name="_work_item"' in confirm.content.decode()
    payload.pop("index")
    done = client.post(CHANGELIST + "?state=all", {**payload, "confirm": "yes", "note": "left a voicemail"})
    assert done.status_code == 302 and done.url == change_url(exc)
    assert ExceptionEvent.objects.get(exception=exc).note == "left a voicemail"
    assert "left a voicemail" in client.get(change_url(exc)).content.decode()


def test_the_owner_is_a_choice_of_the_people_who_work_the_queue(client, people, slipped):
    _b, exc = slipped
    client.force_login(people[AGENT])
    response = client.get(change_url(exc))
    owner = response.context["adminform"].form.fields["owner"]
    names = {user.username for user in owner.queryset}
    assert names == {"cs-agent", "ops", "root"}  # not the buyer: no right to work it
    html = response.content.decode()
    assert "/admin/auth/user/" not in html  # no lookup into the user list (403 for agents)
    form = {"status": "in_progress", "owner": people[OPS].pk}
    saved = client.post(change_url(exc), form)
    assert saved.status_code == 302
    exc.refresh_from_db()
    assert exc.owner == people[OPS]
    refused = client.post(change_url(exc), {"status": "open", "owner": people[BUYER].pk})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
