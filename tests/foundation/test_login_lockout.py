"""The admin login locks a username out of an address after too many wrong passwords."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def attempt(client, password):
    return client.post("/admin/login/?next=/admin/", {"username": "clerk", "password": password,
                                                      "next": "/admin/"})


def test_ten_wrong_passwords_lock_the_account_out_then_the_lock_is_lifted(client, django_user_model, settings):
    django_user_model.objects.create_user("clerk", "clerk@example.com", "right-one", is_staff=True)
    # Nine wrong passwords: the right one still works, and a success forgets the failures
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "guess").status_code == 200
    assert attempt(client, "right-one").status_code == 302
    client.logout()
    # Ten wrong passwords in a row: the right one is refused too
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "guess")
    refused = attempt(client, "right-one")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    # Until an operator lifts the lock
    call_command("axes_reset_username", "clerk", stdout=StringIO())
    assert attempt(client, "right-one").status_code == 302
