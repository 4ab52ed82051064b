"""One row of every model the admin shows, built for the admin-wide tests (smoke, role
matrix, query counts). A model admin without a builder here fails those tests by name."""

import itertools
from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

MODELS = sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label)
IDS = [model._meta.label for model, _ in MODELS]
_serial = itertools.count(1)  # unique names, so a book can be built more than once


def _backorder():
    from django.test import TestCase

    from promises.services import dirty_pools_repromise
    from tests.factories.promises import backorder_line
    from tests.workflow.steps import slip

    b = backorder_line("US", eta_days=14)
    slip(b, days=10)  # a promise change, a delay exception and its notice
    if not b.line.promise_changes.exists():  # a re-promise task already queued took the mark
        with TestCase.captureOnCommitCallbacks(execute=True):
            dirty_pools_repromise()
    return b


def _task(success: bool):
    from django_q.models import Task

    now, n = timezone.now(), next(_serial)
    return Task.objects.create(id=f"row{n}", name=f"row-{n}", func="math.floor",
                               started=now, stopped=now, success=success, attempt_count=1)


def _queued():
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    return OrmQ.objects.create(key="default", payload=SignedPackage.dumps({"id": f"q{next(_serial)}",
                                                                           "func": "math.floor"}),
                               lock=None)


def _login_attempt(model_name):
    def build(book):
        from django.apps import apps

        model = apps.get_model("axes", model_name)
        fields = {"username": f"clerk-{next(_serial)}", "ip_address": "127.0.0.1", "user_agent": "rows",
                  "path_info": "/admin/login/"}
        if model_name == "AccessAttempt":
            fields.update(get_data="", post_data="", failures_since_start=1, attempt_time=timezone.now())
        elif model_name == "AccessFailureLog":
            fields.update(locked_out=False, attempt_time=timezone.now())
        else:
            fields.update(attempt_time=timezone.now())
        return model.objects.create(**fields)
    return build


def _eta_change(book):
    from inventory.services import EtaMove, eta_changes_record

    po = book["inventory.purchaseorder"]
    return eta_changes_record(po=po, moves=[EtaMove(po.eta, po.eta + timedelta(days=5))],
                              reason="supplier: port congestion")[0]


def _dirty_pool(book):
    from promises.models import DirtyPool

    stock = book["inventory.stocklevel"]
    return DirtyPool.objects.create(sku_id=stock.sku_id, warehouse_id=stock.warehouse_id, cause="manual",
                                    marked_at=timezone.now())


def _factory(path):
    def build(book):
        module, name = path.rsplit(".", 1)
        from importlib import import_module

        return getattr(import_module(module), name)()
    return build


#: model label -> builder(book) of one row; rows built earlier in the dict are in `book`.
BUILDERS = {
    "inventory.region": lambda book: book["backorder"].order.region,
    "inventory.channel": lambda book: book["backorder"].order.channel,
    "inventory.warehouse": lambda book: book["backorder"].warehouse,
    "inventory.sku": lambda book: book["backorder"].line.sku,
    "inventory.supplier": lambda book: book["backorder"].line.sku.supplier or _factory(
        "tests.factories.inventory.SupplierFactory")(book),
    "inventory.stocklevel": _factory("tests.factories.inventory.StockLevelFactory"),
    "inventory.purchaseorder": lambda book: book["backorder"].po,
    "inventory.purchaseorderline": lambda book: book["backorder"].po.lines.first(),
    "inventory.purchaseorderetachange": _eta_change,
    "inventory.receipt": _factory("tests.factories.inventory.ReceiptFactory"),
    "inventory.backordercap": _factory("tests.factories.inventory.BackorderCapFactory"),
    "orders.customer": lambda book: book["backorder"].order.customer,
    "orders.order": lambda book: book["backorder"].order,
    "orders.orderline": lambda book: book["backorder"].line,
    "orders.shipment": _factory("tests.factories.orders.ShipmentFactory"),
    "orders.cancellation": _factory("tests.factories.orders.CancellationFactory"),
    "promises.promisechange": lambda book: book["backorder"].line.promise_changes.first(),
    "promises.orderexception": lambda book: book["backorder"].line.exceptions.first(),
    "promises.delayconsent": lambda book: _factory_consent(book),
    "promises.dirtypool": _dirty_pool,
    "notifications.notice": lambda book: book["backorder"].order.notices.first(),
    "promises.poolsupply": lambda book: _ledger_row(book),
    "workflow.exceptionevent": lambda book: _exception_event(book),
    "api.partnerkey": _factory("tests.factories.api.PartnerKeyFactory"),
    "django_q.schedule": lambda book: __import__("django_q.models", fromlist=["Schedule"]).Schedule.objects.create(
        name=f"rows-{next(_serial)}", func="math.floor", schedule_type="D"),
    "django_q.success": lambda book: _task(True),
    "django_q.failure": lambda book: _task(False),
    "django_q.ormq": lambda book: _queued(),
    "axes.accessattempt": _login_attempt("AccessAttempt"),
    "axes.accessfailurelog": _login_attempt("AccessFailureLog"),
    "axes.accesslog": _login_attempt("AccessLog"),
    "auth.group": lambda book: __import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.create(
        name=f"Rows {next(_serial)}"),
    "auth.user": lambda book: __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
    .objects.create_user(f"rows-user-{next(_serial)}", password="pw"),
}


def _ledger_row(book):
    from promises.models import PoolSupply

    line = book["backorder"].line
    return (PoolSupply.objects.filter(sku_id=line.sku_id, warehouse_id=line.warehouse_id).first()
            or PoolSupply.objects.create(sku_id=line.sku_id, warehouse_id=line.warehouse_id, free=0))


def _exception_event(book):
    from workflow.models import ExceptionEvent

    exc = book["backorder"].line.exceptions.first()
    return ExceptionEvent.objects.create(exception=exc, order_id=exc.line.order_id, at=timezone.now(),
                                         action=ExceptionEvent.Action.NOTE, text="Customer rang")


def _factory_consent(book):
    from tests.factories.promises import DelayConsentFactory

    b = book["backorder"]
    return DelayConsentFactory(line=b.line, promise_version=b.line.promise.version)


def admin_book() -> dict:
    """Build one row of each registered admin model; return them by model label."""
    registered = [model._meta.label_lower for model, _ in MODELS]
    missing = sorted(set(registered) - set(BUILDERS))
    assert not missing, f"no row builder in tests/foundation/admin_rows.py for {missing}"
    book = {"backorder": _backorder()}
    for label in BUILDERS:
        book[label] = BUILDERS[label](book)
        assert book[label] is not None, f"the builder of {label} made no row"
    return book
