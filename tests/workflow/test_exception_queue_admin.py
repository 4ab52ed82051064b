"""The exception queue in the admin: sorted by due-by, counted, filtered, acted on with
a confirmation page, and every action leaves an audit trail."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notice
from orders.models import Cancellation
from promises.models import DelayConsent, OrderException
from tests.factories.inventory import SKUFactory
from tests.factories.promises import OrderExceptionFactory, backorder_line
from tests.workflow.steps import slip

pytestmark = pytest.mark.django_db

URL = reverse("admin:promises_orderexception_changelist")


@pytest.fixture
def agent(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def held(db):
    """A US line with a 45-day slip whose delay notice waits for review."""
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=45)
    return b


def act(client, action, exc, **data):
    """Run an admin action through its confirmation page; return both responses."""
    payload = {"action": action, "_selected_action": [exc.pk]}
    confirm_page = client.post(URL, payload)
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(URL, {**payload, "confirm": "yes", **data}, follow=True)
    return confirm_page, done


def test_the_queue_is_sorted_by_due_by_with_overdue_in_red_and_counts_by_kind_and_region(
        agent, django_assert_max_num_queries):
    today = timezone.localdate()
    late = OrderExceptionFactory(due_by=today - timedelta(days=2))
    soon = OrderExceptionFactory(due_by=today + timedelta(days=5), kind="consent_overdue")
    OrderExceptionFactory(due_by=today - timedelta(days=9), status="resolved")
    for _ in range(5):
        OrderExceptionFactory()
    with django_assert_max_num_queries(14):
        response = agent.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Open exceptions by kind and region" in html and "(overdue)" in html and "#ba2121" in html
    rows = list(response.context["cl"].result_list)
    assert rows[0] == late and soon in rows and len(rows) == 7  # resolved ones are hidden
    summary = response.context["queue_summary"]
    assert summary["totals"]["total"] == 7 and summary["totals"]["overdue"] == 1


@pytest.mark.parametrize("query", ["due=overdue", "due=today", "due=week", "state=all", "state=resolved",
                                   "assigned=me", "assigned=nobody", "kind__exact=past_due",
                                   "q=customer", "region__id__exact=1"])
def test_every_filter_and_the_search_render(agent, query):
    OrderExceptionFactory()
    assert agent.get(f"{URL}?{query}").status_code == 200


def test_the_change_form_and_history_render(agent, held):
    exc = OrderException.objects.filter(line=held.line).first()
    assert agent.get(reverse("admin:promises_orderexception_change", args=[exc.pk])).status_code == 200
    assert agent.get(reverse("admin:promises_orderexception_history", args=[exc.pk])).status_code == 200
    assert agent.get(reverse("admin:promises_delayconsent_changelist")).status_code == 200


def test_send_delay_notice_now_releases_the_held_notice(agent, held, superuser):
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    page, done = act(agent, "send_notice_now", exc)
    assert page.status_code == 200 and "Yes, delay notice sent" in page.content.decode()
    notice = Notice.objects.get(line=held.line)
    assert notice.status == Notice.Status.SENT and notice.released_by == superuser
    assert len(mail.outbox) == 1
    exc.refresh_from_db()
    assert exc.status == "resolved" and exc.notified_at is not None
    assert exc.events.get().text == "Delay notice sent on request (queued)"
    assert LogEntry.objects.filter(object_id=str(exc.pk), change_message__startswith="Delay notice sent").exists()
    # Express consent is now awaited until T + 30
    assert OrderException.objects.get(line=held.line, kind="consent_overdue").status == "open"


def test_record_consent_by_phone_resolves_the_exception(agent, held, superuser):
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    page, done = act(agent, "record_consent", exc, channel="phone", note="called 10:14")
    assert 'name="channel"' in page.content.decode()
    consent = DelayConsent.objects.get(line=held.line)
    assert consent.channel == "phone" and consent.recorded_by == superuser and consent.note == "called 10:14"
    exc.refresh_from_db()
    event = exc.events.get()
    assert exc.status == "resolved" and event.text == "Consent recorded (phone)" and event.note == "called 10:14"
    assert exc.history.count() >= 2  # simple_history keeps each change


def test_cancel_and_refund_cancels_the_line_and_confirms_to_the_customer(agent, held):
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    act(agent, "cancel_and_refund", exc, note="customer phoned", decided_by="customer")
    cancellation = Cancellation.objects.get(line=held.line)
    assert cancellation.initiated_by == "agent" and cancellation.reason == "customer_declined_delay"
    notice = Notice.objects.get(kind="cancellation_refund_confirmation")
    assert notice.status == Notice.Status.SENT and notice.context["reason"] == "customer_declined_delay"
    assert not OrderException.objects.filter(line=held.line, status="open").exists()


def test_cancel_and_refund_says_when_the_seller_decided(agent, held):
    # Given an agent who cancels because the brand will not supply the item
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    confirm_page, _ = act(agent, "cancel_and_refund", exc, note="discontinued", decided_by="seller")
    assert "Who decided" in confirm_page.content.decode()
    # Then the cancellation and the customer's e-mail say the seller decided, not the customer
    cancellation = Cancellation.objects.get(line=held.line)
    assert cancellation.reason == "out_of_stock"
    notice = Notice.objects.get(kind="cancellation_refund_confirmation")
    assert notice.context["reason"] == "out_of_stock" and "as you asked" not in notice.body_text.lower()


def test_cancel_and_refund_needs_to_know_who_decided(agent, held):
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    _, done = act(agent, "cancel_and_refund", exc, note="")
    assert "This field is required" in done.content.decode()
    assert not Cancellation.objects.exists()


def test_notes_actions_record_the_offer_the_split_and_the_credit(agent, held, superuser):
    exc = OrderException.objects.get(line=held.line, kind="delay_notice_due")
    SKUFactory(code="LAMP-BLUE", name="Blue lamp")
    act(agent, "offer_alternative", exc, sku="LAMP-BLUE", note="same price")
    act(agent, "split_ship", exc, note="")
    act(agent, "goodwill_credit", exc, amount="10.00", note="sorry")
    act(agent, "assign_to_me", exc)
    exc.refresh_from_db()
    events = {e.action: e for e in exc.events.all()}  # rows, not text appended to the notes
    offered = events["alternative_offered"]
    assert offered.text == "Offered alternative SKU LAMP-BLUE (Blue lamp)" and offered.note == "same price"
    assert events["split_ship"].text.startswith("Split-ship requested: 0 of 1 open units in stock")
    assert (events["goodwill_credit"].text, events["goodwill_credit"].note) == ("Goodwill credit 10.00 USD", "sorry")
    assert events["assigned"].user == superuser and exc.notes == ""
    assert exc.owner == superuser and exc.status == "in_progress"
    assert not mail.outbox  # none of these tells the customer anything by itself
    # An unknown SKU is refused with a message and changes nothing
    _, done = act(agent, "offer_alternative", exc, sku="NOPE")
    assert "Unknown SKU" in done.content.decode()


def test_the_outbox_admin_lists_renders_and_sends_held_notices(agent, held):
    url = reverse("admin:notifications_notice_changelist")
    notice = Notice.objects.get(line=held.line)
    for query in ["", "?attention=held", "?attention=stuck", "?attention=gave_up", "?status__exact=held"]:
        assert agent.get(url + query).status_code == 200
    assert agent.get(reverse("admin:notifications_notice_change", args=[notice.pk])).status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent.post(url, {"action": "send_now", "_selected_action": [notice.pk]})
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT
    assert agent.get(reverse("admin:notifications_notice_change", args=[notice.pk])).status_code == 200
