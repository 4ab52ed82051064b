"""The role matrix (promises/roles.py) holds in the admin: every role × every registered model
admin's list, add and change pages × every admin action, allowed and refused.

A model admin or an action without a rule in the matrix fails here by name. What a role may
reach is the matrix's grant narrowed by what the admin allows anyone (the superuser's
reach): no role adds a region, whatever its permissions.
"""


import pytest
from django.test import RequestFactory
from django.urls import reverse

from promises.roles import (
    ACTION_MATRIX,
    GENERIC_ACTIONS,
    MODEL_MATRIX,
    ROLE_NAMES,
    role_permissions,
)
from tests.foundation.admin_rows import MODELS, admin_book

pytestmark = pytest.mark.django_db


def url(model, page, obj=None):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=[obj.pk] if obj else [])


@pytest.fixture
def people(staff_by_role):
    return staff_by_role


def test_every_model_admin_and_action_has_a_rule():
    registered = {model._meta.label_lower for model, _ in MODELS}
    assert registered - set(MODEL_MATRIX) == set(), "model admins without a row in MODEL_MATRIX"
    # django-q shows its queue (OrmQ) only with its ORM broker, not with Redis.
    shown_somewhere = registered | {"django_q.ormq"}
    assert set(MODEL_MATRIX) - shown_somewhere == set(), "MODEL_MATRIX rows for models the admin does not show"
    request = RequestFactory().get("/")
    request.user = type("Root", (), {"is_active": True, "is_superuser": True, "is_staff": True, "pk": 0,
                                     "has_perm": lambda self, perm, obj=None: True,
                                     "has_perms": lambda self, perms, obj=None: True})()
    offered = {(model._meta.label_lower, name) for model, model_admin in MODELS
               for name in model_admin.get_actions(request)}
    unruled = {pair for pair in offered if pair[1] not in GENERIC_ACTIONS} - set(ACTION_MATRIX)
    assert unruled == set(), "admin actions without a rule in ACTION_MATRIX"
    assert set(ACTION_MATRIX) - offered == set(), "ACTION_MATRIX rules for actions no admin offers"


def test_each_role_reaches_exactly_what_the_matrix_grants(client, people):
    book = admin_book()
    reach = {}  # (who, label, page) -> status code
    for who, user in people.items():
        client.force_login(user)
        for model, _ in MODELS:
            label = model._meta.label_lower
            for page, obj in (("changelist", None), ("add", None), ("change", book[label])):
                reach[(who, label, page)] = client.get(url(model, page, obj)).status_code
    wrong = []
    for role in ROLE_NAMES:
        grants = role_permissions(role)
        for model, _ in MODELS:
            label = model._meta.label_lower
            perms = grants.get(label, set())
            sees = bool(perms & {"view", "change"})
            expected = {
                "changelist": 200 if sees else 403,
                "change": 200 if sees else 403,
                "add": 200 if "add" in perms and reach[("superuser", label, "add")] == 200 else 403,
            }
            for page, status in expected.items():
                got = reach[(role, label, page)]
                if got != status:
                    wrong.append(f"{role} {label} {page}: {got}, the matrix says {status}")
    assert wrong == []


def test_each_role_is_offered_exactly_the_actions_the_matrix_gives_it(people):
    wrong = []
    for role in ROLE_NAMES:
        grants = role_permissions(role)
        request = RequestFactory().get("/")
        request.user = people[role]
        root = RequestFactory().get("/")
        root.user = people["superuser"]
        for model, model_admin in MODELS:
            label = model._meta.label_lower
            offered = set(model_admin.get_actions(request))
            everyone = set(model_admin.get_actions(root))
            perms = grants.get(label, set())
            if not perms & {"view", "change"}:
                continue  # the list itself is refused (the test above), actions and all
            expected = {name for name in everyone if (
                GENERIC_ACTIONS.get(name) in perms if name in GENERIC_ACTIONS
                else role in ACTION_MATRIX.get((label, name), ()))}
            if offered != expected:
                wrong.append(f"{role} {label}: offered {sorted(offered)}, the matrix says {sorted(expected)}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_a_refused_action_posted_anyway_runs_nothing(client, people, role):
    """Every action a role may not run, posted to the list, is answered without running."""
    book = admin_book()
    client.force_login(people[role])
    for (label, action), roles in ACTION_MATRIX.items():
        if role in roles:
            continue
        model = next(m for m, _ in MODELS if m._meta.label_lower == label)
        snapshot = book_state()
        response = client.post(url(model, "changelist"), {"action": action, "_selected_action": [book[label].pk],
                                                          "confirm": "yes", "decided_by": "customer"})
        assert response.status_code in (200, 302, 403), (role, label, action)
        assert book_state() == snapshot, (role, label, action)


def book_state():
    """What a wrongly run action would change: exceptions, notices, cancellations, receipts, keys."""
    from django_q.models import Task

    from api.models import PartnerKey
    from inventory.models import Receipt
    from notifications.models import Notice
    from orders.models import Cancellation
    from promises.models import DirtyPool, OrderException

    return (list(OrderException.objects.order_by("pk").values_list("pk", "status", "owner_id")),
            list(Notice.objects.order_by("pk").values_list("pk", "status")),
            Cancellation.objects.count(), Receipt.objects.count(), DirtyPool.objects.count(), Task.objects.count(),
            list(PartnerKey.objects.order_by("pk").values_list("pk", "revoked", "expiry_date")))


INFRASTRUCTURE = ["promises.dirtypool", "django_q.success", "django_q.failure", "django_q.schedule", "api.partnerkey", "axes.accessattempt", "auth.user"]


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("CS agent", ["promises.orderexception", "notifications.notice", "orders.cancellation"], INFRASTRUCTURE),
    ("Buyer", ["inventory.purchaseorder", "inventory.sku", "inventory.receipt"],
     [*INFRASTRUCTURE, "notifications.notice"]),
    ("Finance", ["orders.cancellation", "orders.order"], INFRASTRUCTURE),
    ("Ops", INFRASTRUCTURE, []),
])
def test_menus_show_each_role_its_work_and_infrastructure_only_to_ops(client, people, role, shown, hidden):
    client.force_login(people[role])
    page = client.get(reverse("admin:index")).content.decode()
    for label in shown:
        assert f'href="{url(_model(label), "changelist")}"' in page, (role, label)
    for label in hidden:
        assert f'href="{url(_model(label), "changelist")}"' not in page, (role, label)


def _model(label):
    return next(m for m, _ in MODELS if m._meta.label_lower == label)


def test_buyers_and_ops_receive_a_po_agents_and_finance_may_not(client, people):
    book = admin_book()
    po = book["inventory.purchaseorder"]
    receive = reverse("admin:inventory_purchaseorder_receive", args=[po.pk])
    for role, status in (("Buyer", 200), ("Ops", 200), ("CS agent", 403), ("Finance", 403)):
        client.force_login(people[role])
        assert client.get(receive).status_code == status, role
