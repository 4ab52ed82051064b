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


def _task(success: bool):
    from django.utils import timezone
    from django_q.models import Task

    now = timezone.now()
    return Task.objects.create(id=f"smoke{int(success)}", name=f"smoke-{success}", func="math.floor",
                               started=now, stopped=now, success=success, attempt_count=1)


def _queued():
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    return OrmQ.objects.create(key="default", payload=SignedPackage.dumps({"id": "q1", "func": "math.floor"}),
                               lock=None)


def _consent():
    from promises.models import Promise
    from tests.factories.promises import DelayConsentFactory

    promise = Promise.objects.order_by("pk").first()
    return DelayConsentFactory(line=promise.line, promise_version=promise.version)


def _dirty_pool():
    from django.utils import timezone

    from inventory.models import StockLevel
    from promises.models import DirtyPool

    stock = StockLevel.objects.order_by("pk").first()
    return DirtyPool.objects.create(sku_id=stock.sku_id, warehouse_id=stock.warehouse_id, cause="manual",
                                    marked_at=timezone.now())


def _partner_key():
    from tests.factories.api import PartnerKeyFactory

    return PartnerKeyFactory()


def _group():
    from django.contrib.auth.models import Group

    return Group.objects.create(name="Smoke")


def _schedule():
    from django_q.models import Schedule

    return Schedule.objects.create(name="smoke", func="math.floor", schedule_type=Schedule.DAILY)


def _login_attempt(model_name):
    def build():
        from django.apps import apps
        from django.utils import timezone

        model = apps.get_model("axes", model_name)
        fields = {"username": "clerk", "ip_address": "127.0.0.1", "user_agent": "smoke", "path_info": "/admin/login/"}
        if model_name == "AccessAttempt":
            fields.update(get_data="", post_data="", failures_since_start=1, attempt_time=timezone.now())
        else:
            fields.update(locked_out=False, attempt_time=timezone.now())
        return model.objects.create(**fields)
    return build


def _exception_event():
    from django.utils import timezone

    from promises.models import OrderException
    from workflow.models import ExceptionEvent

    exc = OrderException.objects.order_by("pk").first()
    return ExceptionEvent.objects.create(exception=exc, order_id=exc.order_id, at=timezone.now(),
                                         action=ExceptionEvent.Action.NOTE, text="Customer rang")


def _ledger_row():
    from inventory.models import StockLevel
    from promises.models import PoolSupply

    stock = StockLevel.objects.order_by("pk").first()
    return PoolSupply.objects.create(sku_id=stock.sku_id, warehouse_id=stock.warehouse_id, free=0)


#: Rows the demo book does not hold, built for their change form.
ROW_BUILDERS = {
    "django_q.Success": lambda: _task(True), "django_q.Failure": lambda: _task(False),
    "django_q.OrmQ": _queued, "django_q.Schedule": _schedule, "promises.DelayConsent": _consent,
    "promises.DirtyPool": _dirty_pool, "api.PartnerKey": _partner_key, "auth.Group": _group,
    "workflow.ExceptionEvent": _exception_event, "promises.PoolSupply": _ledger_row,
    "axes.AccessAttempt": _login_attempt("AccessAttempt"),
    "axes.AccessFailureLog": _login_attempt("AccessFailureLog"),
    "axes.AccessLog": _login_attempt("AccessLog"),
}


@pytest.mark.parametrize(("model", "model_admin"), MODELS, ids=IDS)
def test_change_form_renders(agent_client, model, model_admin):
    obj = model._default_manager.order_by("pk").first() or ROW_BUILDERS[model._meta.label]()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    response = agent_client.get(url)
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize(("model", "model_admin"), MODELS, ids=IDS)
def test_add_form_renders_where_adding_is_allowed_and_is_refused_elsewhere(agent_client, model, model_admin, rf,
                                                                           superuser):
    request = rf.get("/")
    request.user = superuser
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    # Records (orders, notices, exceptions, history) are never added by hand, not even by a superuser.
    assert agent_client.get(url).status_code == (200 if model_admin.has_add_permission(request) else 403)


def test_history_pages_render_for_audited_models(agent_client):
    from inventory.models import PurchaseOrder

    po = PurchaseOrder.objects.first()
    assert agent_client.get(reverse("admin:inventory_purchaseorder_history", args=[po.pk])).status_code == 200
