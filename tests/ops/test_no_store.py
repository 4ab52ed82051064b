"""Pages that carry a secret (a new API key, the consent page's signed answers) are never
kept by a browser or a proxy: Cache-Control no-store."""

import pytest

from api.models import PartnerKey
from tests.factories.promises import backorder_line
from tests.workflow.steps import consent_paths, emails_to, slip

pytestmark = pytest.mark.django_db


def test_the_page_that_shows_a_new_api_key_once_is_not_stored(client, superuser):
    client.force_login(superuser)
    response = client.post("/admin/api/partnerkey/add/", {"name": "Shop connector", "scopes": ["orders:read"]},
                           follow=True)
    key = PartnerKey.objects.get(name="Shop connector")
    html = response.content.decode()
    assert response.status_code == 200 and key.prefix in html  # the key is on this page
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_consent_page_and_its_refusals_are_not_stored(client):
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    [path, *_] = consent_paths(emails_to(b.customer.email)[0])
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_every_admin_page_is_not_stored(client, superuser):
    client.force_login(superuser)
    for path in ("/admin/", "/admin/password_change/", "/admin/reports/"):
        assert "no-store" in client.get(path)["Cache-Control"], path
