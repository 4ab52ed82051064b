"""Every admin changelist, add form and change form renders on the demo data."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label)
IDS = [model._meta.label for model, _ in MODELS]


@pytest.fixture
def agent_client(client, superuser, seeded):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(("model", "model_admin"), MODELS, ids=IDS)
def test_changelist_renders_in_a_handful_of_queries(agent_client, model, model_admin,
                                                    django_assert_max_num_queries):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(14):
        response = agent_client.get(url)
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize(("model", "model_admin"), MODELS, ids=IDS)
def test_change_form_renders(agent_client, model, model_admin):
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        pytest.skip(f"no {model._meta.verbose_name} in the demo data")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    response = agent_client.get(url)
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize(("model", "model_admin"), MODELS, ids=IDS)
def test_add_form_renders_when_adding_is_allowed(agent_client, model, model_admin, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    if not model_admin.has_add_permission(request):
        pytest.skip("adding is not allowed")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    assert agent_client.get(url).status_code == 200


def test_history_pages_render_for_audited_models(agent_client):
    from inventory.models import PurchaseOrder

    po = PurchaseOrder.objects.first()
    assert agent_client.get(reverse("admin:inventory_purchaseorder_history", args=[po.pk])).status_code == 200
