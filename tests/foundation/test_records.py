"""Records are kept: nobody deletes them, cancellations keep their history, e-mails say who sends."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core import mail
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.test import TestCase
from django.urls import reverse

from inventory.models import PurchaseOrder
from notifications.models import Notice
from orders.models import Cancellation, Order, OrderLine, Shipment
from promises.intake import CustomerInput, LineInput, OrderInput, order_place
from promises.models import DelayConsent, OrderException, PromiseChange
from tests.factories.inventory import PurchaseOrderFactory, PurchaseOrderLineFactory, SKUFactory
from tests.factories.notifications import NoticeFactory
from tests.factories.orders import (
    CancellationFactory,
    OrderFactory,
    OrderLineFactory,
    ShipmentFactory,
)
from tests.factories.promises import DelayConsentFactory, backorder_line
from tests.workflow.steps import slip

pytestmark = pytest.mark.django_db

RECORDS = [Order, OrderLine, Notice, DelayConsent, PromiseChange, Cancellation, Shipment,
           OrderException]


def label(model) -> str:
    return model._meta.label


@pytest.fixture
def users(staff_by_role):
    return staff_by_role


@pytest.fixture
def book():
    """One record of each kind: a slipped US backorder with its notice and exception, a
    consent, a cancellation and a shipment."""
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    DelayConsentFactory(line=b.line, promise_version=b.promise.version)
    CancellationFactory(line=OrderLineFactory(order=b.order, sku=b.line.sku, warehouse=b.warehouse))
    ShipmentFactory(order=b.order)
    for model in RECORDS:
        assert model._default_manager.exists(), f"no {label(model)} in the book"
    return b


def request_of(rf, user):
    request = rf.get("/admin/")
    request.user = user
    return request


# --- No role deletes a record in the admin ---------------------------------------------------


@pytest.mark.parametrize("model", RECORDS, ids=label)
def test_no_role_may_delete_a_record_in_the_admin(model, users, book, rf):
    model_admin = admin.site._registry[model]
    obj = model._default_manager.order_by("pk").first()
    for who, user in users.items():
        request = request_of(rf, user)
        assert not model_admin.has_delete_permission(request), who
        assert not model_admin.has_delete_permission(request, obj), who
        assert "delete_selected" not in model_admin.get_actions(request), who
        for inline_class in model_admin.inlines:
            inline = inline_class(model, admin.site)
            assert not inline.has_delete_permission(request, obj), (who, inline_class.__name__)
            formset = inline.get_formset(request, obj)
            assert not formset.can_delete, (who, inline_class.__name__)


@pytest.mark.parametrize("model", RECORDS, ids=label)
def test_the_changelist_offers_no_delete_and_the_delete_page_refuses(model, users, book, client):
    client.force_login(users["superuser"])
    opts = model._meta
    obj = model._default_manager.order_by("pk").first()
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    action_form = changelist.context["action_form"]
    if action_form is not None:
        assert "delete_selected" not in dict(action_form.fields["action"].choices)
    assert b'value="delete_selected"' not in changelist.content
    delete = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]))
    assert delete.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


# --- Deleting through the ORM is refused where records hang on the order --------------------


def test_deleting_an_order_with_a_notice_is_refused():
    notice = NoticeFactory()
    order = notice.order
    with pytest.raises(ProtectedError), transaction.atomic():
        order.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        notice.line.delete()
    assert Order.objects.filter(pk=order.pk).exists()
    assert Notice.objects.filter(pk=notice.pk).exists()


def test_deleting_an_order_with_an_order_level_notice_is_refused():
    order = OrderFactory()
    NoticeFactory(line=None, order=order, region=order.region, email=order.customer.email,
                  locale="en_US", kind=Notice.Kind.BACKORDER_CONFIRMATION)
    with pytest.raises(ProtectedError), transaction.atomic():
        order.delete()


# --- Credit applications ---------------------------------------------------------------------


def test_orders_inserted_without_the_credit_flag_get_false():
    # Raw SQL and COPY loaders that predate the column name no value for it.
    template = OrderFactory()
    table = Order._meta.db_table
    columns = ", ".join(f.column for f in Order._meta.concrete_fields
                        if f.column not in ("id", "external_id", "buyer_applied_for_credit"))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}, external_id) "
                       f"SELECT {columns}, 'RAW-CREDIT' FROM {table} WHERE id = %s", [template.pk])
    assert Order.objects.get(external_id="RAW-CREDIT").buyer_applied_for_credit is False


def test_the_order_admin_shows_the_credit_flag_read_only(users, client):
    order = OrderFactory(buyer_applied_for_credit=True)
    client.force_login(users["superuser"])
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "buyer_applied_for_credit" not in page.context["adminform"].form.fields
    assert "Buyer applied for credit" in page.content.decode()


# --- Cancellation history --------------------------------------------------------------------


def test_a_refund_recorded_in_the_admin_is_kept_in_the_cancellations_history(users, client):
    # Given a cancellation whose refund is due
    cancellation = CancellationFactory(note="customer phoned")
    finance = users["Finance"]
    client.force_login(finance)
    # When Finance records the refund in the admin
    url = reverse("admin:orders_cancellation_change", args=[cancellation.pk])
    response = client.post(url, {"note": "customer phoned", "refunded_at_0": "2026-12-01",
                                 "refunded_at_1": "10:30:00", "refund_reference": "RF-1"})
    assert response.status_code == 302, response.content[:2000]
    # Then the history has the change, who made it, and the value before
    cancellation.refresh_from_db()
    assert cancellation.refunded_at is not None
    change, created = cancellation.history.order_by("-history_date", "-history_id")[:2]
    assert (change.history_type, change.history_user) == ("~", finance)
    assert change.refunded_at == cancellation.refunded_at and change.refund_reference == "RF-1"
    assert created.refunded_at is None
    delta = change.diff_against(created)
    assert {"refunded_at", "refund_reference"} <= set(delta.changed_fields)
    # And its history page shows it
    history = client.get(reverse("admin:orders_cancellation_history", args=[cancellation.pk]))
    assert history.status_code == 200 and "RF-1" in history.content.decode()


def test_a_refund_changed_later_keeps_the_first_value():
    cancellation = CancellationFactory()
    first = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    cancellation.refunded_at = first
    cancellation.save()
    cancellation.refunded_at = first + timedelta(days=1)
    cancellation.save()
    values = list(cancellation.history.order_by("history_date", "history_id")
                  .values_list("refunded_at", flat=True))
    assert values == [None, first, first + timedelta(days=1)]


# --- Every customer e-mail names the merchant and takes replies ------------------------------


def test_every_customer_email_comes_from_the_merchant_and_takes_replies(settings, us_channel,
                                                                        us_warehouse):
    settings.MERCHANT_NAME = "Northwind Outfitters"
    settings.NOTICE_REPLY_TO = "care@northwind.example"
    settings.DEFAULT_FROM_EMAIL = "Backorder Desk <orders@example.com>"
    # Given a delay notice, good news and a backorder confirmation
    slip(backorder_line("EU", eta_days=14), days=10)
    slip(backorder_line("UK", eta_days=21), days=-7)
    sku = SKUFactory(code="LAMP-1")
    po = PurchaseOrderFactory(warehouse=us_warehouse, status=PurchaseOrder.Status.CONFIRMED,
                              dock_to_stock_days=0)
    PurchaseOrderLineFactory(purchase_order=po, sku=sku, qty_ordered=10)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_place(data=OrderInput(
            external_id="W-1", channel=us_channel.code, region="US", currency="USD",
            customer=CustomerInput(email="ada@example.com", name="Ada", locale="en_US"),
            lines=(LineInput(sku="LAMP-1", qty=2, unit_price=Decimal("15.00")),)))
    # Then every e-mail sent carries the merchant's name and the care address
    kinds = {m.extra_headers["X-Notice-Key"].split(":")[1] for m in mail.outbox}
    assert {Notice.Kind.BACKORDER_CONFIRMATION, Notice.Kind.DELAY_NOTICE,
            Notice.Kind.EARLIER_DATE} <= kinds
    for message in mail.outbox:
        headers = message.message()
        assert headers["From"] == "Northwind Outfitters <orders@example.com>"
        assert headers["Reply-To"] == "care@northwind.example"
        assert message.reply_to == ["care@northwind.example"]
    assert Notice.objects.filter(status=Notice.Status.SENT).count() == len(mail.outbox)


def test_a_merchant_name_with_punctuation_is_quoted(settings):
    settings.MERCHANT_NAME = "Lamp & Co, Ltd."
    slip(backorder_line("US", eta_days=14), days=10)
    [message] = mail.outbox
    assert message.message()["From"] == '"Lamp & Co, Ltd." <orders@example.com>'
