"""Who may run each admin action: the role matrix, walked for every action and role."""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from notifications.models import Notice
from orders.models import Cancellation, Order
from promises.models import OrderException

pytestmark = pytest.mark.django_db

EXCEPTION_ACTIONS = {"send_notice_now", "record_consent", "cancel_and_refund", "offer_alternative",
                     "split_ship", "goodwill_credit", "assign_to_me", "add_note"}
NOTICE_ACTIONS = {"send_now", "retry", "mark_sent", "resend_stuck"}
#: model -> role -> the actions the role may run (nothing else may show in its list)
MATRIX = {
    OrderException: {"CS agent": EXCEPTION_ACTIONS, "Ops": EXCEPTION_ACTIONS, "Buyer": set(), "Finance": set()},
    Notice: {"CS agent": NOTICE_ACTIONS, "Ops": NOTICE_ACTIONS, "Buyer": set(), "Finance": set()},
    Order: {"CS agent": {"repromise_now"}, "Ops": {"repromise_now"}, "Buyer": set(), "Finance": set()},
}
CASES = [(model, role) for model, roles in MATRIX.items() for role in roles]


@pytest.fixture
def staff(django_user_model):
    call_command("setup_roles", stdout=StringIO())

    def user(role):
        u = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="pw", is_staff=True)
        u.groups.add(Group.objects.get(name=role))
        return u

    return user


@pytest.mark.parametrize(("model", "role"), CASES, ids=[f"{m.__name__}-{r}" for m, r in CASES])
def test_each_role_sees_only_the_actions_it_may_run(staff, model, role):
    request = RequestFactory().get("/")
    request.user = staff(role)
    offered = set(admin.site._registry[model].get_actions(request)) - {"export_admin_action"}
    assert offered == MATRIX[model][role]


def test_a_buyer_who_posts_cancel_and_refund_anyway_cancels_nothing(client, staff):
    from tests.factories.promises import backorder_line
    from tests.workflow.steps import slip

    b = backorder_line("US", eta_days=14)
    slip(b, days=45)
    exc = OrderException.objects.filter(line=b.line).first()
    client.force_login(staff("Buyer"))
    url = reverse("admin:promises_orderexception_changelist")
    client.post(url, {"action": "cancel_and_refund", "_selected_action": [exc.pk], "confirm": "yes",
                      "decided_by": "customer"})
    assert not Cancellation.objects.exists()
    b.refresh()
    assert b.line.status == "backordered"
