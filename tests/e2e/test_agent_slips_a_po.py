"""In a real browser: a buyer slips a PO, the agent sees the exception, the customer consents."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail

from inventory.models import PurchaseOrder
from promises.models import OrderException, Promise

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username="root", password="pw"):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def us_backorder():
    """A US line promised from a confirmed PO, and that PO."""
    for promise in Promise.objects.filter(line__order__region__code="US", confirmed=True, stock_qty=0,
                                          line__status="backordered").select_related("line__order"):
        reference = promise.sources[0]["reference"]
        po = PurchaseOrder.objects.filter(number=reference, status="confirmed").first()
        if po is not None:
            return promise, po
    pytest.fail("the demo book has no US backorder on a confirmed PO")


def test_slip_in_the_admin_raises_an_exception_and_the_customer_accepts(
        page, live_server, seeded, superuser):
    promise, po = us_backorder()
    login(page, live_server)

    # The buyer previews the slip, then saves it with a reason
    page.goto(f"{live_server.url}/admin/inventory/purchaseorder/{po.pk}/change/")
    new_eta = (po.eta + timedelta(days=45)).isoformat()
    page.fill("#id_eta", new_eta)
    page.click("#preview-impact")
    summary = page.wait_for_selector("#impact-summary").inner_text()
    assert re.search(r"Moves \d+ promises later", summary), summary
    page.fill("#id_change_reason", "Supplier: factory fire")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    po.refresh_from_db()
    assert po.eta.isoformat() == new_eta

    # The agent finds the slipped line in the exception queue, with its legal due-by
    assert OrderException.objects.filter(line=promise.line, kind="delay_notice_due").exists()
    page.goto(f"{live_server.url}/admin/promises/orderexception/?q={promise.line.order.external_id}")
    row = page.wait_for_selector("#result_list tbody tr").inner_text()
    assert promise.line.order.external_id in row

    # The customer got a delay notice with a link, and accepts the new date
    notice = next(m for m in mail.outbox if promise.line.order.customer.email in m.to)
    link = re.search(r"https?://\S+/notices/consent/\S+/", notice.body).group(0)
    page.goto(live_server.url + urlparse(link).path)
    page.click("button.primary")
    page.wait_for_selector(".notice[role=status]")
    # Then the notice and consent exceptions are closed; the buyer's supplier-slip (and any cap
    # breach the new date causes) stay open for the people who own them
    status = dict(OrderException.objects.filter(line=promise.line).values_list("kind", "status"))
    assert status["delay_notice_due"] == OrderException.Status.RESOLVED
    assert status.get("consent_overdue", "resolved") == OrderException.Status.RESOLVED
    assert status["supplier_slip"] == OrderException.Status.OPEN
