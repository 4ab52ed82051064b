"""Keys: hashed, scoped, bound to channels; 401 / 403 / 429 in the one error shape."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import PartnerKey, Scope

pytestmark = pytest.mark.django_db

SKUS = "/api/v1/skus/"


def error_of(response, status, code):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_no_key_is_401_not_authenticated(reference):
    response = APIClient().get(SKUS)
    error_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("header", [
    "Api-Key nonsense", "Api-Key abc.def", "Api-Key ", "Bearer abc.def", "Api-Key .x",
])
def test_an_invalid_key_is_401(reference, make_client, header):
    make_client()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    error_of(client.get(SKUS), 401, "not_authenticated")


def test_a_key_with_the_right_prefix_but_a_wrong_secret_is_401(reference, make_client):
    key = make_client().key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.prefix}.wrongsecretwrongsecretwrongsecre")
    error_of(client.get(SKUS), 401, "not_authenticated")


def test_a_revoked_key_is_401(reference, make_client):
    client = make_client()
    PartnerKey.objects.filter(pk=client.key.pk).update(revoked=True)
    body = error_of(client.get(SKUS), 401, "not_authenticated")
    assert "revoked" in body["message"]


def test_an_expired_key_is_401(reference, make_client):
    client = make_client(expiry_date=timezone.now() - timedelta(seconds=1))
    body = error_of(client.get(SKUS), 401, "not_authenticated")
    assert "expired" in body["message"]


def test_a_key_not_yet_expired_works(reference, make_client):
    client = make_client(expiry_date=timezone.now() + timedelta(days=1))
    assert client.get(SKUS).status_code == 200


def test_a_missing_scope_is_403_permission_denied(reference, make_client):
    client = make_client(scopes=[Scope.ORDERS_READ])
    body = error_of(client.get(SKUS), 403, "permission_denied")
    assert "catalog:read" in body["message"]


def test_read_scope_does_not_allow_writes(reference, make_client):
    client = make_client(scopes=[Scope.CATALOG_READ])
    assert client.get(SKUS).status_code == 200
    error_of(client.put(f"{SKUS}NEW-1/", {"name": "New"}, format="json"), 403, "permission_denied")


def test_only_a_hash_of_the_key_is_stored(reference, make_client):
    client = make_client()
    row = PartnerKey.objects.get(pk=client.key.pk)
    plain = client.key.plain_key
    assert plain not in row.hashed_key and plain.split(".")[1] not in row.id
    assert row.hashed_key.startswith("sha512$$")


def test_last_used_is_written_at_most_once_a_minute(reference, make_client,
                                                    django_assert_num_queries):
    client = make_client()
    assert PartnerKey.objects.get(pk=client.key.pk).last_used_at is None
    client.get(SKUS)
    first = PartnerKey.objects.get(pk=client.key.pk).last_used_at
    assert first is not None
    client.get(SKUS)
    assert PartnerKey.objects.get(pk=client.key.pk).last_used_at == first
    with time_machine.travel(first + timedelta(minutes=2), tick=False):
        client.get(SKUS)
    assert PartnerKey.objects.get(pk=client.key.pk).last_used_at == first + timedelta(minutes=2)


def test_a_key_revoked_or_moved_off_a_channel_is_refused_on_its_next_request(
        reference, make_client, admin_client, django_capture_on_commit_callbacks):
    """The key's record is reused between requests, but a change drops it as it commits:
    the admin's revoke action (one UPDATE), a channel taken off the key, an expiry set."""
    from inventory.models import Channel

    client = make_client()
    assert client.get("/api/v1/availability/?sku=NONE&channel=amazon-us&qty=1").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.key.channels.remove(Channel.objects.get(code="amazon-us"))
    assert client.get("/api/v1/availability/?sku=NONE&channel=amazon-us&qty=1").status_code == 404
    key = PartnerKey.objects.get(pk=client.key.pk)
    key.expiry_date = timezone.now() - timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        key.save()
    assert "expired" in error_of(client.get(SKUS), 401, "not_authenticated")["message"]
    other = make_client()
    assert other.get(SKUS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/api/partnerkey/", {"action": "revoke", "_selected_action": [other.key.pk]})
    assert "revoked" in error_of(other.get(SKUS), 401, "not_authenticated")["message"]


def test_throttled_requests_get_429_with_retry_after(reference, make_client, settings):
    settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_RATE": "3/min"}
    client, other = make_client(), make_client()
    assert [client.get(SKUS).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(SKUS)
    error_of(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # The limit is per key: another key is not held back.
    assert other.get(SKUS).status_code == 200


# --- create_api_key ------------------------------------------------------------------------


def test_create_api_key_prints_the_key_alone_on_its_last_line(reference):
    out = StringIO()
    call_command("create_api_key", "Shopify US", "--channels", "shopify-us,amazon-us",
                 "--scopes", "orders:write,orders:read,promises:read", stdout=out)
    key = out.getvalue().rstrip("\n").splitlines()[-1]
    row = PartnerKey.objects.get()
    assert key.startswith(row.prefix + ".") and " " not in key
    assert row.name == "Shopify US"
    assert sorted(row.scopes) == ["orders:read", "orders:write", "promises:read"]
    assert sorted(row.channels.values_list("code", flat=True)) == ["amazon-us", "shopify-us"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/orders/").status_code == 200


def test_create_api_key_accepts_all_scopes_and_an_expiry(reference):
    out = StringIO()
    call_command("create_api_key", "Ops", "--scopes", "all", "--expires-in-days", "30", stdout=out,
                 stderr=StringIO())
    row = PartnerKey.objects.get()
    assert sorted(row.scopes) == sorted(Scope.values)
    assert timedelta(days=29) < row.expiry_date - timezone.now() <= timedelta(days=30)


@pytest.mark.parametrize(("args", "message"), [
    (["--channels", "shopify-us,nope-us", "--scopes", "orders:read"], "Unknown channel(s): nope-us"),
    (["--channels", "shopify-us", "--scopes", "orders:read,orders:delete"],
     "Unknown scope(s): orders:delete"),
    (["--channels", "shopify-us", "--scopes", ""], "Unknown scope(s)"),
    (["--scopes", "orders:read", "--expires-in-days", "0"], "--expires-in-days"),
])
def test_create_api_key_refuses_unknown_channels_and_scopes(reference, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("create_api_key", "X", *args, stdout=StringIO(), stderr=StringIO())
    assert not PartnerKey.objects.exists()
