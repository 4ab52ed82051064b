"""The consent page: signed links only, GET changes nothing, POST is CSRF-protected."""

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from notifications.links import SALT, consent_token, consent_url
from orders.models import Cancellation
from promises.models import DelayConsent
from tests.workflow.steps import answer, page_answers, slip
from workflow.fulfilment import shipment_record

pytestmark = pytest.mark.django_db


def path_for(line_id, version, action="view"):
    return reverse("notifications:consent", args=[consent_token(line_id=line_id, version=version, action=action)])


def nothing_recorded():
    return not DelayConsent.objects.exists() and not Cancellation.objects.exists()


def test_a_tampered_link_is_refused_and_changes_nothing(client, slipped_us_line):
    b = slipped_us_line
    good = consent_token(line_id=b.line.pk, version=b.promise.version, action="cancel")
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    url = reverse("notifications:consent", args=[forged])
    assert client.get(url).status_code == 400
    response = client.post(url, {"answer": forged})
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert nothing_recorded()


def test_an_expired_link_gets_410_and_changes_nothing(client, slipped_us_line, settings):
    b = slipped_us_line

    class LastMonth(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 31 * 86400)

    old = LastMonth(salt=SALT).sign_object({"l": b.line.pk, "v": b.promise.version, "a": "cancel"},
                                           compress=True)
    url = reverse("notifications:consent", args=[old])
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "LINK_MAX_AGE_DAYS": 30}
    response = client.get(url)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert client.post(url, {"answer": old}).status_code == 410
    assert nothing_recorded()
    # The same link within a longer configured age still works
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "LINK_MAX_AGE_DAYS": 60}
    assert client.get(url).status_code == 200


def test_an_answer_signed_for_another_line_is_refused(client, slipped_us_line):
    b = slipped_us_line
    url = path_for(b.line.pk, b.promise.version)
    other = consent_token(line_id=b.line.pk + 1, version=b.promise.version, action="cancel")
    assert client.post(url, {"answer": other}).status_code == 400
    assert nothing_recorded()


def test_get_never_changes_anything_and_post_needs_the_csrf_token(slipped_us_line):
    b = slipped_us_line
    url = path_for(b.line.pk, b.promise.version, "cancel")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url)
    assert page.status_code == 200 and nothing_recorded()
    token = page_answers(page.content.decode())["Cancel for a full refund"]
    assert browser.post(url, {"answer": token}).status_code == 403
    assert nothing_recorded()


def test_accepting_a_date_that_has_moved_since_is_refused_but_cancelling_still_works(client, slipped_us_line):
    b = slipped_us_line
    old_version = b.promise.version
    url = path_for(b.line.pk, old_version, "accept")
    stale_accept = consent_token(line_id=b.line.pk, version=old_version, action="accept")
    slip(b, days=3)
    page = client.get(url).content.decode()
    assert "has changed since we sent it" in page and "Accept the new date" not in page
    response = client.post(url, {"answer": stale_accept})
    assert response.status_code == 409 and not DelayConsent.objects.exists()
    answer(client, url, "Cancel for a full refund")
    assert Cancellation.objects.get().line_id == b.line.pk


def test_a_line_that_shipped_has_nothing_left_to_choose(client, slipped_us_line):
    b = slipped_us_line
    shipment_record(order=b.order, lines=[(b.line.pk, 1)])
    page = client.get(path_for(b.line.pk, b.promise.version)).content.decode()
    assert "already shipped" in page and "<form" not in page


def test_links_point_to_the_public_site(slipped_us_line, settings):
    settings.SITE_URL = "https://shop.example"
    url = consent_url(line_id=1, version=2, action="accept")
    assert url.startswith("https://shop.example/notices/consent/")


def test_the_page_speaks_the_customers_language(client):
    from tests.factories.promises import backorder_line

    b = backorder_line("EU", eta_days=14, locale="de_DE")
    slip(b, days=12)
    page = client.get(path_for(b.line.pk, b.promise.version)).content.decode()
    assert 'lang="de"' in page and "Neuer Liefertermin" in page
    assert "Neuen Termin akzeptieren" in page and "Vertrag hier widerrufen" in page
    assert "zusätzliche Lieferfrist" in page
