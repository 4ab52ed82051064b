"""In a real browser: the customer's page behind a delay notice's link, over a line's life."""

import pytest

from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent
from tests.factories.promises import backorder_line
from tests.workflow.steps import consent_paths, emails_to, slip

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_us_customer_accepts_a_long_delay_then_cancels_on_the_same_page(page, live_server):
    # Given a 45-day delay notice
    b = backorder_line("US", eta_days=14)
    slip(b, days=45)
    [page_path, *_] = consent_paths(emails_to(b.customer.email)[0])
    # When the customer accepts the new date
    page.goto(f"{live_server.url}{page_path}")
    page.click("button.primary")
    page.wait_for_selector(".notice")
    assert DelayConsent.objects.get(line=b.line).decision == "accept"
    # Then the page still offers to cancel, and cancelling works
    assert page.locator("button.primary").count() == 0
    page.click("button.secondary")
    page.wait_for_selector("text=cancelled this item")
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    assert Cancellation.objects.get(line=b.line).initiated_by == Cancellation.Initiator.CUSTOMER
    assert page.locator("button").count() == 0


def test_an_italian_customer_withdraws_in_italian_with_a_confirmation_step(page, live_server):
    # Given an EU delay notice to an Italian customer
    b = backorder_line("EU", eta_days=14, locale="it_IT")
    slip(b, days=20)
    [message] = emails_to(b.customer.email)
    assert "Recedi dal contratto qui" in message.body
    [page_path, *_] = consent_paths(message)
    page.goto(f"{live_server.url}{page_path}")
    assert page.get_attribute("html", "lang") == "it"
    # When the customer uses the withdrawal function
    page.click("text=Recedi dal contratto qui")
    # Then nothing is recorded until they confirm
    page.wait_for_selector("input[name=confirm]", state="attached")
    assert not DelayConsent.objects.exists()
    page.click("button.primary")
    page.wait_for_selector(".notice")
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    assert Cancellation.objects.get(line=b.line).reason == Cancellation.Reason.WITHDRAWAL
    # And the acknowledgement went out by e-mail, in Italian, with the date and time
    acknowledgement = emails_to(b.customer.email)[-1]
    assert acknowledgement is not message and "recesso" in acknowledgement.body.lower()
