"""Partner keys in the admin: list with last use, create (key shown once), expire, revoke."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from api.models import PartnerKey
from inventory.models import Channel
from tests.factories.api import PartnerKeyFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:api_partnerkey_changelist"


@pytest.fixture
def admin_client_(client, superuser, reference):
    client.force_login(superuser)
    return client


def test_changelist_shows_scopes_channels_and_last_use(admin_client_):
    key = PartnerKeyFactory(name="Shopify connector", scopes=["orders:read"],
                            channels=list(Channel.objects.filter(code="shopify-us")))
    PartnerKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    response = admin_client_.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shopify connector" in html and "orders:read" in html and "shopify-us" in html
    assert key.prefix in html and key.plain_key not in html


def test_adding_a_key_shows_it_once(admin_client_):
    us = Channel.objects.get(code="shopify-us")
    response = admin_client_.post(reverse("admin:api_partnerkey_add"), {
        "name": "From the admin", "channels": [us.pk], "scopes": ["orders:read", "promises:read"],
        "expiry_date_0": "", "expiry_date_1": "",
    }, follow=True)
    assert response.status_code == 200
    key = PartnerKey.objects.get(name="From the admin")
    assert sorted(key.scopes) == ["orders:read", "promises:read"]
    assert list(key.channels.all()) == [us]
    shown = [str(m) for m in get_messages(response.wsgi_request)] + [response.content.decode()]
    assert any(key.prefix + "." in text for text in shown)


def test_expire_and_revoke_actions(admin_client_):
    a, b = PartnerKeyFactory(), PartnerKeyFactory()
    url = reverse(CHANGELIST)
    admin_client_.post(url, {"action": "expire_now", "_selected_action": [a.pk]})
    admin_client_.post(url, {"action": "revoke", "_selected_action": [b.pk]})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.has_expired and not a.revoked
    assert b.revoked
