"""Reads of the partner API, always narrowed to what the calling key may see."""

from django.db.models import Prefetch, QuerySet

from api.auth import Partner
from inventory.models import SKU, Channel, PurchaseOrder, PurchaseOrderLine
from orders.models import Cancellation, Order, OrderLine
from promises.models import OrderException, PromiseChange


def skus_all() -> QuerySet[SKU]:
    return SKU.objects.select_related("supplier")


def purchase_orders_all() -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("sku").order_by("id")))


def orders_visible(partner: Partner) -> QuerySet[Order]:
    """Orders of the key's channels, with everything their representation reads.

    Three queries per page whatever its size: orders (with channel, region, customer),
    lines (with SKU, warehouse and promise), cancellations.
    """
    return Order.objects.filter(channel_id__in=partner.channel_ids).select_related(
        "channel", "region", "customer",
    ).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related(
            "sku", "warehouse", "promise").order_by("id")),
        Prefetch("cancellations", queryset=Cancellation.objects.order_by("cancelled_at", "id")),
    )


def order_visible_get(partner: Partner, order_id) -> Order | None:
    return orders_visible(partner).filter(pk=order_id).first()


def promise_changes_visible(partner: Partner) -> QuerySet[PromiseChange]:
    return PromiseChange.objects.filter(order__channel_id__in=partner.channel_ids).select_related(
        "order__channel")


def exceptions_visible(partner: Partner) -> QuerySet[OrderException]:
    return OrderException.objects.filter(channel_id__in=partner.channel_ids).select_related(
        "region", "channel", "order")


def channel_region_code(channel_code: str) -> str:
    """The region code of a channel ("" when there is no such channel)."""
    return Channel.objects.filter(code=channel_code).values_list("region__code", flat=True).first() or ""
