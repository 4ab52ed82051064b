"""In a real browser: every page works under the Content-Security-Policy, none breaks it."""

import pytest
from playwright.sync_api import expect

from inventory.models import PurchaseOrder
from notifications.links import consent_token
from notifications.models import Notice

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def watched(browser):
    """A page whose CSP violations are collected: the browser's console reports and the
    `securitypolicyviolation` events the page raises."""
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.violations = []
    page.on("console", lambda m: page.violations.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    yield page
    context.close()


def visit(page, url, *, ready="body"):
    response = page.goto(url)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    assert response.status < 400, url
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    violations = page.violations + page.evaluate("window.__csp")
    assert violations == [], f"{url}: {violations}"
    return response


def test_admin_reports_swagger_and_the_consent_page_break_no_rule_of_the_policy(
        watched, live_server, seeded, superuser):
    page, base = watched, live_server.url
    # The admin: login, the dashboard (its chart included), lists, a change form
    visit(page, f"{base}/admin/login/", ready="#id_username")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    index = visit(page, f"{base}/admin/", ready="#dashboard-health")
    assert "no-store" in index.headers["cache-control"]
    assert page.locator("#dashboard-purchasing svg, #dashboard-purchasing img").count() == 1
    for path in ("/admin/orders/order/", "/admin/promises/orderexception/", "/admin/notifications/notice/",
                 "/admin/api/partnerkey/add/"):
        visit(page, base + path, ready="#content")
    # The PO form's promise-impact preview: an inline script (with the request's nonce) and a fetch
    po = PurchaseOrder.objects.filter(status="confirmed").first()
    visit(page, f"{base}/admin/inventory/purchaseorder/{po.pk}/change/", ready="#preview-impact")
    page.click("#preview-impact")
    expect(page.locator("#impact-result")).not_to_be_empty()
    expect(page.locator("#impact-result")).not_to_contain_text("Computing")
    assert page.violations + page.evaluate("window.__csp") == []
    # A notice's change form (its e-mail previewed in a frame)
    notice = Notice.objects.exclude(body_html="").first() or Notice.objects.first()
    visit(page, f"{base}/admin/notifications/notice/{notice.pk}/change/", ready="#content")
    # The reports page
    visit(page, f"{base}/admin/reports/", ready="#content")
    # Swagger UI, drawn by its scripts from our own static files, reading the schema
    visit(page, f"{base}/api/docs/", ready=".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 5
    # The customer's consent page
    notice = Notice.objects.filter(line__isnull=False, promise_version__isnull=False).first()
    token = consent_token(line_id=notice.line_id, version=notice.promise_version, action="accept")
    consent = visit(page, f"{base}/notices/consent/{token}/", ready="main, body")
    assert "no-store" in consent.headers["cache-control"]
