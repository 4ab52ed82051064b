"""The exception page, the lists agents and finance read, and the notice preview, in a real
Chromium at 1440 × 900: the key columns fit, the page's buttons work, the e-mail is whole."""

import re

import pytest
from django.test import TestCase
from playwright.sync_api import expect

from notifications.models import Notice
from orders.models import Cancellation
from promises.models import OrderException
from tests.e2e.helpers import role_users
from tests.factories.inventory import BackorderCapFactory
from tests.factories.orders import CustomerFactory
from tests.factories.promises import backorder_line
from tests.workflow.steps import slip
from workflow import services as workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTS = {
    "exceptions": "/admin/promises/orderexception/?state=all",
    "cancellations": "/admin/orders/cancellation/",
    "notices": "/admin/notifications/notice/",
    "promise changes": "/admin/promises/promisechange/",
}
KEY_COLUMNS = {
    "exceptions": ["Notice state", "Cancel on", "Owner", "Due by"],
    "cancellations": ["Refund due", "Refund", "Refunded at"],
    "notices": ["Status", "Delivery", "To"],
    "promise changes": ["Ships (old → new)", "Cause", "User"],
}


@pytest.fixture
def book(frozen_clock):
    """A book like the demo's: slipped lines in each region, long addresses, a cap breach,
    a held notice sent, a cancellation owed a refund."""
    people = role_users()
    lines = []
    for region in ("US", "EU", "UK"):
        for n in range(3):
            b = backorder_line(region, eta_days=14 + n)
            b.customer.email = f"someone.with.a.rather.long.name.{region.lower()}{n}@example-mail-provider.com"
            b.customer.save()
            lines.append(b)
    BackorderCapFactory(sku=lines[0].line.sku, max_backorder_qty=None, max_promise_days=5)
    lines[0].region.hold_notices_for_review = True
    lines[0].region.save()
    for b in lines:
        slip(b, days=45)
    us = lines[0]
    exc = OrderException.objects.get(line=us.line, kind="delay_notice_due")
    with TestCase.captureOnCommitCallbacks(execute=True):
        workflow.exception_notice_send_now(exception=exc, user=people["agent"])
        workflow.exception_cancel_refund(exception=OrderException.objects.get(
            line=lines[1].line, kind="delay_notice_due"), user=people["agent"], decided_by="customer")
    CustomerFactory()
    return {"people": people, "lines": lines}


def table_fits(page) -> dict:
    return page.evaluate("""() => {
        const table = document.querySelector('#result_list');
        const results = table.closest('.results') || table.parentElement;
        const edge = results.getBoundingClientRect().left + results.clientWidth;
        return {right_edge: edge, viewport: window.innerWidth, scroll: results.scrollWidth,
                client: results.clientWidth, page: document.documentElement.scrollWidth,
                headers: [...table.querySelectorAll('thead th')].map(th => {
                    const r = th.getBoundingClientRect();
                    return [th.textContent.trim(), r.right];
                })};
    }""")


@pytest.mark.parametrize("username", ["agent", "finance", "ops"])
def test_the_lists_fit_1440_px_with_their_key_columns_in_view(book, open_as, live_server, username):
    page = open_as(username)
    too_wide = {}
    for name, url in LISTS.items():
        response = page.goto(live_server.url + url)
        if response.status == 403:
            continue  # not this role's list
        assert response.status == 200, (name, response.status)
        fit = table_fits(page)
        headers = {text: right for text, right in fit["headers"]}
        off_screen = [column for column in KEY_COLUMNS[name]
                      if column not in headers or headers[column] > min(fit["viewport"], fit["right_edge"])]
        if fit["scroll"] > fit["client"] or fit["page"] > fit["viewport"] or off_screen:
            too_wide[name] = {**fit, "off_screen": off_screen}
    assert too_wide == {}


def test_an_agent_works_the_exception_from_its_page_and_reads_it_on_the_timeline(book, open_as, live_server):
    b = book["lines"][2]
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due")
    page = open_as("agent")
    page.goto(f"{live_server.url}/admin/promises/orderexception/{exc.pk}/change/")
    expect(page.locator("#what-happened")).to_contain_text("later than the customer was told")
    expect(page.locator("#deadline")).to_contain_text("Due by")
    expect(page.locator("#next-step")).not_to_be_empty()
    # The owner is a plain choice of the queue's people, not a lookup into the user list
    expect(page.locator("select#id_owner")).to_be_visible()
    assert page.locator("#lookup_id_owner").count() == 0

    page.get_by_role("button", name="Add a note").click()
    page.get_by_label("Note").fill("Left a voicemail; will try again tomorrow.")
    page.get_by_role("button", name=re.compile(r"^Yes, note added")).click()
    expect(page).to_have_url(re.compile(rf"/orderexception/{exc.pk}/change/$"))
    expect(page.locator("#timeline")).to_contain_text("Left a voicemail")

    page.get_by_role("button", name="Assign to me").click()
    page.get_by_role("button", name=re.compile(r"^Yes, assigned")).click()
    expect(page.locator("#next-step")).to_contain_text("Worked by agent")

    # The same story on the order's page, with who did it
    page.goto(f"{live_server.url}/admin/orders/order/{b.order.pk}/change/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Promise moved")
    expect(timeline).to_contain_text("Exception raised")
    expect(timeline).to_contain_text("Left a voicemail")
    expect(timeline).to_contain_text("agent")


def test_the_buyer_reads_the_exception_page_without_buttons(book, open_as, live_server):
    exc = OrderException.objects.filter(status="open").first()
    page = open_as("buyer")
    page.goto(f"{live_server.url}/admin/promises/orderexception/{exc.pk}/change/")
    expect(page.locator("#what-happened")).to_be_visible()
    assert page.locator("#work-item-actions").count() == 0


def test_the_notice_preview_shows_the_whole_email(book, open_as, live_server):
    notice = Notice.objects.filter(status=Notice.Status.SENT).exclude(body_html="").first()
    assert notice is not None and Cancellation.objects.exists()
    page = open_as("agent")
    page.goto(f"{live_server.url}/admin/notifications/notice/{notice.pk}/change/")
    frame = page.locator("iframe.notice-preview")
    expect(frame).to_be_visible()
    page.wait_for_function("""() => {
        const f = document.querySelector('iframe.notice-preview');
        const doc = f.contentDocument;
        return doc && doc.readyState === 'complete'
            && f.clientHeight >= doc.documentElement.scrollHeight;
    }""")
    sizes = page.evaluate("""() => {
        const f = document.querySelector('iframe.notice-preview');
        return {frame: f.clientHeight, email: f.contentDocument.documentElement.scrollHeight,
                width: f.clientWidth};
    }""")
    assert sizes["frame"] >= sizes["email"] > 200 and sizes["width"] >= 600, sizes
