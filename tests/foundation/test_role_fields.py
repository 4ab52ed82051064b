"""What each role may change in an order and a refund: the channel's record stays as sold."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from orders.models import Cancellation, Order
from tests.factories.orders import CancellationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    call_command("setup_roles", stdout=StringIO())

    def user(role):
        u = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="pw", is_staff=True)
        u.groups.add(Group.objects.get(name=role))
        return u

    return user


def test_an_agent_cannot_change_what_the_channel_sold(client, staff, seeded):
    order = Order.objects.order_by("pk").first()
    client.force_login(staff("CS agent"))
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    for field in ("paid_amount", "currency", "region", "shipping_amount"):
        assert f'name="{field}"' not in html, field
    assert 'name="lines-0-qty"' not in html and 'name="lines-0-unit_price"' not in html
    assert 'name="essential_date"' in html  # what the customer said, the agent may record


def test_only_finance_records_a_refund_and_nobody_adds_a_cancellation_by_hand(client, staff):
    cancellation = CancellationFactory()
    url = reverse("admin:orders_cancellation_change", args=[cancellation.pk])
    agent, finance = staff("CS agent"), staff("Finance")
    client.force_login(agent)
    assert 'name="refunded_at_0"' not in client.get(url).content.decode()
    assert client.get(reverse("admin:orders_cancellation_add")).status_code == 403
    client.force_login(finance)
    assert 'name="refunded_at_0"' in client.get(url).content.decode()
    assert client.get(reverse("admin:orders_cancellation_add")).status_code == 403
    assert Cancellation.objects.count() == 1
