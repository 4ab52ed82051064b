"""Each role's main journey in the admin, in a real browser, and what each role is refused.

The people: a CS agent, a buyer, a finance clerk and an ops lead, each a staff user in the
group `manage.py setup_roles` makes of the role matrix (promises/roles.py). The clock starts
at the suite's fixed Monday (tests/conftest.py); the book is built with the factories and
the real services.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from playwright.sync_api import expect

from orders.models import Cancellation, OrderLine
from promises.models import OrderException, PromiseChange
from tests.conftest import CLOCK_START
from tests.e2e.helpers import role_users, step_screenshot
from tests.factories.promises import backorder_line
from tests.workflow.steps import emails_to, slip
from workflow.fulfilment import order_cancel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(frozen_clock):
    return role_users()


def overdue_us_consent():
    """A US line whose 45-day slip needed the customer's express consent by the promised
    date + 30 days, a deadline that passed a few days ago with no answer."""
    with time_machine.travel(CLOCK_START - timedelta(days=50), tick=True):
        b = backorder_line("US", eta_days=14)
        slip(b, days=45)
    exc = OrderException.objects.get(line=b.line, kind=OrderException.Kind.CONSENT_OVERDUE)
    assert exc.status == "open" and exc.due_by < CLOCK_START.date() < b.promise.ship_date
    return b, exc


# --- 1. The agent ----------------------------------------------------------------------------


def test_agent_cancels_an_overdue_us_consent_for_a_refund_and_reads_it_on_the_order(
        people, open_as, live_server):
    b, exc = overdue_us_consent()
    mail.outbox.clear()
    agent = open_as("agent")

    # The agent opens the queue's overdue work and the US line's consent exception
    agent.get_by_role("link", name="Order exceptions", exact=True).click()
    agent.get_by_role("link", name="Overdue", exact=True).click()
    row = agent.locator("#result_list tbody tr").filter(has_text=b.order.external_id).filter(
        has_text="Consent overdue")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()

    # The page says what happened, by when, and what the customer was told
    expect(agent.get_by_role("heading", name="What happened")).to_be_visible()
    work_item = agent.locator("#work-item")
    expect(work_item).to_contain_text("express agreement")
    expect(work_item).to_contain_text("overdue")
    expect(agent.locator("#customer-told")).to_contain_text("Delay notice")
    expect(agent.locator("#customer-told")).to_contain_text("sent")
    step_screenshot(agent, "journeys_exception_page")

    # The customer asked to cancel: "Cancel and refund", confirmed with a note
    agent.get_by_role("button", name="Cancel and refund").click()
    agent.get_by_label("The customer asked to cancel").check()
    agent.get_by_label("Note").fill("Customer phoned: would rather not wait.")
    agent.get_by_role("button", name=re.compile(r"^Yes, cancelled for a refund")).click()

    # Back on the exception's page: done, and nothing left to do
    expect(agent.locator(".messagelist")).to_contain_text("Cancelled for a refund")
    expect(agent.locator("#next-step")).to_contain_text("resolved")
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    cancellation = Cancellation.objects.get(line=b.line)
    assert cancellation.reason == Cancellation.Reason.CUSTOMER_DECLINED_DELAY
    assert cancellation.initiated_by == Cancellation.Initiator.AGENT
    assert cancellation.user.username == "agent" and cancellation.refunded_at is None
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED

    # The customer got the cancellation and refund confirmation ...
    [confirmation] = emails_to(b.customer.email)
    assert "cancellation and refund confirmed" in confirmation.subject
    assert "$40.00" in confirmation.body

    # ... and the order's timeline tells the whole story, the e-mail as sent included
    agent.locator("#what-happened").get_by_role("link", name=b.order.external_id).click()
    timeline = agent.locator("#timeline")
    expect(timeline).to_contain_text("Delay notice")
    expect(timeline).to_contain_text("Exception raised: Consent")
    cancelled = timeline.locator("tr").filter(has_text="Cancelled 1 unit(s)")
    expect(cancelled).to_contain_text("agent")
    expect(cancelled).to_contain_text(f"refund 40.00 USD due by {cancellation.refund_due_by}")
    told = timeline.locator("tr").filter(has_text="Cancellation and refund confirmation")
    told.get_by_text("The e-mail as sent").click()
    expect(told.locator("details")).to_contain_text(" ".join(confirmation.body.split()))
    step_screenshot(agent, "journeys_order_timeline")


# --- 2. The buyer ----------------------------------------------------------------------------


def test_buyer_slips_a_po_line_with_a_reason_after_the_preview_and_finds_the_moved_promise(
        people, open_as, live_server):
    b = backorder_line("US", eta_days=14)
    po_line = b.po.lines.get()
    told = b.promise.ship_date
    new_eta = b.po.eta + timedelta(days=20)
    buyer = open_as("buyer")

    # The buyer opens the PO and moves its line's ETA
    buyer.get_by_role("link", name="Purchase orders", exact=True).click()
    buyer.get_by_role("link", name=b.po.number, exact=True).click()
    line_row = buyer.locator("#lines-group tr.form-row").filter(has_text=b.line.sku.code)
    line_row.locator("input[name$='-eta']").fill(new_eta.isoformat())

    # The preview says, before saving, which promises move and what that sets off in the US
    buyer.get_by_role("button", name="Preview impact").click()
    expect(buyer.locator("#impact-summary")).to_contain_text("Moves 1 promises later")
    consequences = buyer.locator("#impact-consequences")
    expect(consequences).to_contain_text("US: 1 of 1 later past the ship date the customer was told")
    expect(consequences).not_to_contain_text("EU")
    expect(buyer.locator("#impact-result")).to_contain_text(b.order.external_id)
    step_screenshot(buyer, "journeys_po_preview")

    # Saving without a reason is refused, naming the field; nothing moves
    buyer.get_by_role("button", name="Save", exact=True).click()
    expect(buyer.locator(".errornote")).to_be_visible()
    expect(buyer.locator("#content-main")).to_contain_text("Say why the ETA moves")
    po_line.refresh_from_db()
    assert po_line.eta is None and not PromiseChange.objects.filter(line=b.line).exists()

    # With the reason it saves, and the ETA history keeps it
    reason = "Supplier: factory fire on line 3"
    buyer.get_by_label("Reason for the change").fill(reason)
    buyer.get_by_role("button", name="Save and continue editing").click()
    expect(buyer.locator(".messagelist")).to_contain_text("was changed successfully")
    po_line.refresh_from_db()
    assert po_line.eta == new_eta
    history = buyer.locator("#eta-history")
    expect(history).to_contain_text(f"line {b.line.sku.code}")
    expect(history).to_contain_text(reason)

    # The moved promise is under Promise changes, and on the line's page with the reason
    b.refresh()
    assert b.promise.ship_date > told
    buyer.goto(f"{live_server.url}/admin/")
    buyer.get_by_role("link", name="Promise changes", exact=True).click()
    buyer.get_by_role("searchbox").fill(b.po.number)
    buyer.get_by_role("searchbox").press("Enter")
    moved = buyer.locator("#result_list tbody tr").filter(has_text=f"{b.order.external_id}")
    expect(moved.filter(has_text=re.compile(r"\+\d+ days"))).to_have_count(1)
    buyer.goto(f"{live_server.url}/admin/orders/orderline/{b.line.pk}/change/")
    change = buyer.locator("#timeline tr").filter(has_text="Promise moved")
    expect(change).to_contain_text(f"{b.promise.ship_date}")
    expect(change).to_contain_text("buyer")
    expect(change).to_contain_text(reason)


# --- 3. Finance ------------------------------------------------------------------------------


def test_finance_records_an_overdue_refund_and_an_agent_cannot(people, open_as, live_server):
    # Given a US line the customer cancelled two weeks ago: its refund (7 working days) is overdue
    with time_machine.travel(CLOCK_START - timedelta(days=14), tick=True):
        b = backorder_line("US", eta_days=14)
        with TestCase.captureOnCommitCallbacks(execute=True):
            [cancellation] = order_cancel(order=b.order, line_ids=[b.line.pk],
                                          reason=Cancellation.Reason.CUSTOMER_REQUEST,
                                          initiated_by=Cancellation.Initiator.CUSTOMER)
    assert cancellation.refund_due_by < CLOCK_START.date()
    finance = open_as("finance")

    # Finance finds it among the overdue refunds and records the refund
    finance.get_by_role("link", name="Cancellations", exact=True).click()
    finance.get_by_role("link", name="Refund overdue", exact=True).click()
    row = finance.locator("#result_list tbody tr").filter(has_text=b.order.external_id)
    expect(row).to_contain_text("overdue")
    row.get_by_role("link").first.click()
    refunded_at = finance.locator(".field-refunded_at")
    refunded_at.get_by_role("link", name="Today").click()
    refunded_at.get_by_role("link", name="Now").click()
    finance.get_by_label("Refund reference").fill("STRIPE-re_3PqX")
    finance.get_by_role("button", name="Save", exact=True).click()
    expect(finance.locator(".messagelist")).to_contain_text("was changed successfully")

    # ... and sees it: refunded, no longer overdue, and on the order's timeline
    cancellation.refresh_from_db()
    assert cancellation.refunded_at.date() == CLOCK_START.date()
    assert cancellation.refund_reference == "STRIPE-re_3PqX"
    finance.get_by_role("link", name="Refunded", exact=True).click()
    expect(finance.locator("#result_list tbody tr").filter(has_text=b.order.external_id)).to_have_count(1)
    finance.goto(f"{live_server.url}/admin/orders/order/{b.order.pk}/change/")
    expect(finance.locator("#timeline")).to_contain_text("Refunded 40.00 USD")
    expect(finance.locator("#timeline")).to_contain_text("STRIPE-re_3PqX")

    # An agent reads the same cancellation but cannot record or change a refund
    agent = open_as("agent")
    agent.goto(f"{live_server.url}/admin/orders/cancellation/{cancellation.pk}/change/")
    expect(agent.get_by_role("heading", name="View cancellation")).to_be_visible()
    expect(agent.locator(".field-refunded_at")).to_contain_text(str(cancellation.refunded_at.year))
    expect(agent.locator("input[name^=refunded_at], input[name=refund_reference]")).to_have_count(0)
    expect(agent.get_by_role("button", name="Save", exact=True)).to_have_count(0)


# --- 4. What each role is refused ------------------------------------------------------------

#: The exception queue's actions on customers, as their buttons and menu entries read.
CUSTOMER_ACTIONS = ("Send delay notice now", "Record consent", "Cancel and refund", "Goodwill credit")
INFRASTRUCTURE = ("Scheduled tasks", "Partner API keys", "Dirty pools")


def refused_to_the_agent(page, url, b, exc):
    # The purchase order is only shown: no field to edit, nothing to save
    page.goto(f"{url}/admin/inventory/purchaseorder/{b.po.pk}/change/")
    expect(page.get_by_role("heading", name="View purchase order")).to_be_visible()
    expect(page.locator("input[name=eta], select[name=status], input[name$='-qty_ordered']")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)
    # The order's money and what was sold are shown, never editable
    page.goto(f"{url}/admin/orders/order/{b.order.pk}/change/")
    expect(page.locator(".field-paid_amount")).to_contain_text("40.00")
    expect(page.locator("[name=paid_amount], [name=currency], [name=region], "
                        "[name$='-unit_price'], [name$='-qty']")).to_have_count(0)
    # No infrastructure in the menu, and its pages are closed
    page.goto(f"{url}/admin/")
    for name in INFRASTRUCTURE:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    assert page.goto(f"{url}/admin/django_q/schedule/").status == 403
    # Adding a cancellation by hand is not offered (the queue's "Cancel and refund" is the way)
    page.goto(f"{url}/admin/orders/cancellation/")
    expect(page.get_by_role("link", name=re.compile("^Add cancellation"))).to_have_count(0)


def refused_on_customers(page, url, b, exc):
    # The exception is there to read, with no action on the customer
    page.goto(f"{url}/admin/promises/orderexception/{exc.pk}/change/")
    expect(page.get_by_role("heading", name="View order exception")).to_be_visible()
    expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    for name in CUSTOMER_ACTIONS:
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.goto(f"{url}/admin/promises/orderexception/?state=all")
    expect(page.locator("#result_list")).to_contain_text(b.order.external_id)
    for name in CUSTOMER_ACTIONS:
        expect(page.locator("select[name=action] option").filter(has_text=name)).to_have_count(0)
    # The order is only shown
    page.goto(f"{url}/admin/orders/order/{b.order.pk}/change/")
    expect(page.get_by_role("heading", name="View order")).to_be_visible()


def allowed_to_ops(page, url, b, exc):
    # Ops runs the infrastructure: schedules and partner API keys open from the menu
    for name, heading in (("Scheduled tasks", "Select scheduled task to change"),
                          ("Partner API keys", "Select partner API key to change")):
        page.goto(f"{url}/admin/")
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    # ... and may act on the queue as an agent would
    page.goto(f"{url}/admin/promises/orderexception/{exc.pk}/change/")
    expect(page.get_by_role("button", name="Cancel and refund")).to_be_visible()


REFUSALS = {"agent": refused_to_the_agent, "buyer": refused_on_customers,
            "finance": refused_on_customers, "ops": allowed_to_ops}


@pytest.mark.parametrize("username", list(REFUSALS))
def test_each_role_is_refused_what_it_must_not_do(people, open_as, live_server, username):
    b = backorder_line("US", eta_days=14)
    slip(b, days=45)
    exc = OrderException.objects.get(line=b.line, kind=OrderException.Kind.CONSENT_OVERDUE)
    REFUSALS[username](open_as(username), live_server.url, b, exc)
