"""The consent page over a line's life: links that work until the line closes, cancelling
after accepting, and the EU withdrawal function (Art. 11a) labelled, confirmed, acknowledged."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import TestCase
from django.urls import reverse

from notifications.links import consent_token, consent_token_read
from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent
from tests.factories.promises import backorder_line
from tests.workflow.steps import consent_paths, emails_to, slip
from workflow.fulfilment import shipment_record

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ANSWER = re.compile(r'name="answer" value="([^"]+)"')


def answers_offered(html: str) -> set[str]:
    """Return the actions of the answers the page offers (each form carries a signed one)."""
    return {consent_token_read(token).action for token in ANSWER.findall(html)}


def post(client, path, action, line, version, **extra):
    token = consent_token(line_id=line.pk, version=version, action=action)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, {"answer": token, **extra})


def test_a_delay_link_still_works_months_later_and_stops_offering_choices_once_shipped(client):
    with time_machine.travel(START, tick=False) as clock:
        # Given an EU delay notice of 7 December
        b = backorder_line("EU", eta_days=14)
        slip(b, days=50)
        [message] = emails_to(b.customer.email)
        page_path = consent_paths(message)[0]
        # When the customer opens its link two months later
        clock.shift(timedelta(days=60))
        response = client.get(page_path)
        # Then the page works and still offers the withdrawal, and a browser keeps no copy
        assert response.status_code == 200
        assert "withdraw" in answers_offered(response.content.decode())
        assert "no-store" in response["Cache-Control"]
        # And once the line has shipped, the page says so and offers nothing
        with TestCase.captureOnCommitCallbacks(execute=True):
            shipment_record(order=b.order, lines=[(b.line.pk, b.line.qty)])
        after = client.get(page_path)
        assert after.status_code == 200 and answers_offered(after.content.decode()) == set()


def test_a_us_customer_who_accepted_can_cancel_on_the_same_page(client):
    # Given a long US delay the customer accepts on the consent page
    b = backorder_line("US", eta_days=14)
    slip(b, days=45)
    path = consent_paths(emails_to(b.customer.email)[0])[0]
    assert {"accept", "cancel"} <= answers_offered(client.get(path).content.decode())
    assert post(client, path, "accept", b.line, b.promise.version).status_code == 302
    # Then the page no longer offers to accept, but still offers to cancel
    page = client.get(path).content.decode()
    assert answers_offered(page) == {"cancel"}
    # When the customer cancels after all
    assert post(client, path, "cancel", b.line, b.promise.version).status_code == 302
    # Then the line is cancelled at the customer's request and the page says so
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    assert Cancellation.objects.get(line=b.line).initiated_by == Cancellation.Initiator.CUSTOMER
    assert answers_offered(client.get(path).content.decode()) == set()


def test_the_eu_withdrawal_is_confirmed_on_a_second_step_and_acknowledged_with_date_and_time(client):
    with time_machine.travel(datetime(2026, 12, 9, 13, 3, tzinfo=UTC), tick=False):
        # Given an EU customer who accepted a delay
        b = backorder_line("EU", eta_days=14, locale="en_IE")
        slip(b, days=20)
        path = consent_paths(emails_to(b.customer.email)[0])[0]
        post(client, path, "accept", b.line, b.promise.version)
        assert "withdraw" in answers_offered(client.get(path).content.decode())
        # When they press "withdraw from contract here"
        first = post(client, path, "withdraw", b.line, b.promise.version)
        # Then nothing is recorded yet: the page asks them to confirm
        assert first.status_code == 200
        assert not DelayConsent.objects.filter(decision="withdraw").exists()
        assert 'name="confirm" value="1"' in first.content.decode()
        # When they confirm
        second = post(client, path, "withdraw", b.line, b.promise.version, confirm="1")
        # Then the withdrawal is recorded and acknowledged by e-mail with its date and time
        assert second.status_code == 302
        b.refresh()
        assert b.line.status == OrderLine.Status.CANCELLED
        assert Cancellation.objects.get(line=b.line).reason == Cancellation.Reason.WITHDRAWAL
        acknowledgement = Notice.objects.get(line=b.line, kind=Notice.Kind.CANCELLATION_REFUND_CONFIRMATION)
        assert acknowledgement.status == Notice.Status.SENT
        assert acknowledgement.context["decided_at"].startswith("2026-12-09T13:03")
        assert "14:03" in acknowledgement.body_text  # Berlin time, when it was received


def test_the_order_confirmation_carries_the_eu_withdrawal_function():
    # Given an EU order taken on backorder
    b = backorder_line("EU", eta_days=14)
    from notifications.services import backorder_confirmation_queue

    with TestCase.captureOnCommitCallbacks(execute=True):
        backorder_confirmation_queue(order=b.order, line_ids=[b.line.pk])
    [message] = emails_to(b.customer.email)
    # Then its e-mail links to the line's page, which offers the withdrawal
    [path] = consent_paths(message)
    token = path.rstrip("/").split("/")[-1]
    assert consent_token_read(token).action == "withdraw"
    assert path == reverse("notifications:consent", args=[token])
