"""EU (Directive 2011/83/EU art. 18) and UK (CRA 2015 s.28): the notice informs of the new
delivery date and the customer's rights; only the customer ends the contract."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase

from notifications.locales import money_format
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent, OrderException
from tests.factories.promises import backorder_line
from tests.workflow.steps import (
    answer,
    consent_paths,
    emails_to,
    html_of,
    noon,
    run_job,
    slip,
)
from workflow import services as workflow

pytestmark = pytest.mark.django_db

Kind = OrderException.Kind


def test_an_eu_slip_tells_a_german_customer_the_new_delivery_date_and_rights_by_the_date_told():
    # Given an EU line whose delivery date was told to a German-speaking customer
    b = backorder_line("EU", eta_days=14, locale="de_DE")
    told = b.promise.delivery_to
    # When the supplier's ETA slips
    slip(b, days=12)
    # Then the exception was due by the delivery date told (EU measures delivery)
    exc = OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE)
    assert exc.due_by == told and exc.revised_date == b.promise.delivery_to
    assert exc.cancel_on is None and not exc.express_consent_required
    assert b.promise.communicated_delivery_to == b.promise.delivery_to
    # And the German notice gives the new delivery date, the rights and the withdrawal button
    [message] = emails_to(b.customer.email)
    assert message.subject.startswith("Neuer Liefertermin")
    new = b.promise.delivery_to
    assert f"Neuer Liefertermin: bis zum {new.day}." in message.body
    assert "angemessene zusätzliche Frist" in message.body  # art. 18(2) ¶1
    assert "innerhalb von 14 Tagen" in message.body  # refund, art. 13 / 18(3)
    assert "Vertrag hier widerrufen" in message.body  # art. 11a, from 19 June 2026
    assert "Art. 18(2) ¶1" in message.body
    assert 'lang="de"' in html_of(message)


def test_an_eu_customer_withdraws_on_the_consent_page_and_is_owed_a_refund_in_14_days(client):
    b = backorder_line("EU", eta_days=14, locale="fr_FR")
    slip(b, days=12)
    [message] = emails_to(b.customer.email)
    assert "Se rétracter du contrat ici" in message.body and "délai supplémentaire" in message.body
    _accept, withdraw_path = consent_paths(message)
    mail.outbox.clear()
    # When the customer uses "withdraw from contract here"
    page = client.get(withdraw_path).content.decode()
    assert 'lang="fr"' in page and "Nouvelle date de livraison" in page
    step = answer(client, withdraw_path, "Se rétracter du contrat ici")
    # Then the page asks to confirm (Art. 11a), and nothing is recorded before
    assert step.status_code == 200 and 'name="confirm" value="1"' in step.content.decode()
    assert not DelayConsent.objects.filter(line=b.line).exists()
    [confirm_token] = re.findall(r'name="answer" value="([^"]+)"', step.content.decode())
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(withdraw_path, {"answer": confirm_token, "confirm": "1"}, follow=True)
    assert "Nous avons bien reçu votre rétractation" in response.content.decode()
    # Then the line is cancelled as a withdrawal, refund due in 14 days, acknowledged by e-mail
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    cancellation = Cancellation.objects.get(line=b.line)
    assert cancellation.reason == Cancellation.Reason.WITHDRAWAL
    assert cancellation.initiated_by == Cancellation.Initiator.CUSTOMER
    assert cancellation.refund_due_by == cancellation.cancelled_at.date() + timedelta(days=14)
    assert DelayConsent.objects.get(line=b.line).decision == "withdraw"
    [ack] = emails_to(b.customer.email)
    assert "confirmation de votre rétractation" in ack.subject
    assert money_format(cancellation.amount, "EUR", "fr_FR") in ack.body  # "40,00 €", babel


def test_an_eu_customer_who_stays_silent_keeps_the_order_and_the_product_never_cancels_it():
    b = backorder_line("EU", eta_days=14)
    slip(b, days=40)
    told = b.promise.communicated_delivery_to
    # When every scheduled job runs long after the new date
    later = noon(told + timedelta(days=10), "EU")
    run_job(workflow.consent_deadlines_enforce, now=later)
    assert run_job(workflow.past_due_sweep, now=later) == []
    # Then the contract goes on; an agent is asked to contact the customer
    assert b.refresh().line.status == OrderLine.Status.BACKORDERED
    assert not Cancellation.objects.exists()
    past_due = OrderException.objects.get(line=b.line, kind=Kind.PAST_DUE)
    assert past_due.status == "open" and "Art. 18(2)" in past_due.citations


def test_an_essential_date_lets_the_eu_customer_end_the_contract_at_once():
    b = backorder_line("EU", eta_days=14, locale="en_GB", essential_date=True)
    slip(b, days=5)
    [message] = emails_to(b.customer.email)
    assert "you may end the contract at once" in message.body
    assert "Art. 18(2) ¶2" in message.body


def test_a_uk_slip_tells_the_customer_the_cra_rights_and_the_customer_accepts(client):
    # Given a UK line told to deliver by a date
    b = backorder_line("UK", eta_days=14)
    told = b.promise.delivery_to
    slip(b, days=9)
    exc = OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE)
    assert exc.due_by == told
    [message] = emails_to(b.customer.email)
    new = b.promise.delivery_to
    assert f"New delivery date: by {new.day} {new:%B} {new.year}" in message.body
    assert "Consumer Rights Act 2015 (section 28)" in message.body
    assert "further period for delivery" in message.body and "within 14 days" in message.body
    accept_path, _ = consent_paths(message)
    mail.outbox.clear()
    # When the customer accepts the new date
    answer(client, accept_path, "Accept the new date")
    # Then it is recorded and becomes the date told
    consent = DelayConsent.objects.get(line=b.line)
    assert consent.decision == "accept" and consent.revised_delivery_date == new
    assert b.refresh().promise.communicated_delivery_to == new
    [thanks] = emails_to(b.customer.email)
    assert "thank you for waiting" in thanks.subject


def test_a_uk_customer_ends_the_contract_on_the_consent_page(client):
    b = backorder_line("UK", eta_days=14, essential_date=True)
    slip(b, days=9)
    [message] = emails_to(b.customer.email)
    assert "treat the contract as at an end straight away" in message.body  # CRA s.28(6)
    _, cancel_path = consent_paths(message)
    answer(client, cancel_path, "End the contract and get a refund")
    cancellation = Cancellation.objects.get(line=b.line)
    assert cancellation.reason == Cancellation.Reason.CUSTOMER_DECLINED_DELAY
    assert cancellation.refund_due_by == cancellation.cancelled_at.date() + timedelta(days=14)
    assert "ended the contract" in emails_to(b.customer.email)[-1].body
