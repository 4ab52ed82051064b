"""Reads of the partner API, always narrowed to what the calling key may see."""

from django.db.models import Prefetch, QuerySet

from api.auth import Partner
from api.serializers.orders import order_rows
from core.compiled import compiled_values
from inventory.models import SKU, PurchaseOrder, PurchaseOrderLine
from orders.models import Cancellation, Order, OrderLine
from promises.models import OrderException, PromiseChange


def skus_all() -> QuerySet[SKU]:
    return SKU.objects.select_related("supplier")


def purchase_orders_all() -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("sku").order_by("id")))


#: The order pull's cursor: the order's sync clock (orders.models.OrderSync), shown as its
#: updated_at. Ties break on the sync row's own order id, so the whole keyset condition is
#: on one index.
ORDER_CURSOR = ("sync__updated_at", "sync__order_id")


def orders_visible(partner: Partner) -> QuerySet[Order]:
    """Orders of the key's channels, with everything their representation reads.

    Three queries per page whatever its size: orders (with channel, region, customer),
    lines (with SKU, warehouse and promise), cancellations. Related rows load only the
    columns the representation and the promise label read; prefetches go to lists
    (`line_list`, `cancellation_list`), which spares Django a queryset clone per order.
    """
    lines = OrderLine.objects.select_related("sku", "warehouse", "promise").only(
        "id", "order_id", "qty", "qty_shipped", "qty_cancelled", "unit_price", "status",
        "sku__code", "sku__preorder", "sku__lead_time_slip_days",
        "warehouse__code", "warehouse__timezone", "warehouse__cutoff_time",
        "warehouse__handling_days", "warehouse__country", "warehouse__holiday_subdivision",
        "promise__ship_date", "promise__delivery_from", "promise__delivery_to",
        "promise__confirmed", "promise__stock_qty", "promise__sources",
    ).order_by("id")
    return _orders_of_channels(partner.channel_ids).select_related(
        "channel", "region", "customer", "sync",
    ).defer(*_RELATED_UNREAD).prefetch_related(
        Prefetch("lines", queryset=lines, to_attr="line_list"),
        Prefetch("cancellations", queryset=Cancellation.objects.order_by("cancelled_at", "id"),
                 to_attr="cancellation_list"),
    )


#: Columns of an order's channel, region and customer that its representation never reads.
_RELATED_UNREAD = (
    "channel__name", "channel__kind", "channel__priority", "channel__strategy",
    "channel__hold_notices_for_review", "channel__late_shipment_target_pct",
    "channel__cancel_rate_target_pct", "channel__active",
    "region__name", "region__legal_regime", "region__currency", "region__timezone",
    "region__transit_min_days", "region__transit_max_days", "region__holiday_country",
    "region__default_warehouse", "region__hold_notices_for_review",
    "customer__region", "customer__created_at", "customer__channel",
)


def order_rows_of_channels(channel_ids) -> QuerySet[Order]:
    """The list rows (api.serializers.orders.order_rows, with the pull's cursor columns) of
    the orders of these channels: what orders_visible gives a key holding them, as rows."""
    return order_rows(_orders_of_channels(channel_ids), *ORDER_CURSOR)


def order_row_visible(partner: Partner, order_id: int) -> list[dict]:
    """The list row of this order (api.serializers.orders.order_rows) when one of the key's
    channels holds it, else none: what the order's intake answers with. Its SQL is compiled
    once per process (core.compiled), not built for every order placed."""
    return compiled_values(_order_rows_by_id, order_ids=[order_id], channel_ids=sorted(partner.channel_ids))


def _order_rows_by_id(order_ids, channel_ids) -> QuerySet[Order]:
    return order_rows(_orders_of_channels(channel_ids).filter(pk__any=order_ids))


def _orders_of_channels(channel_ids) -> QuerySet[Order]:
    """The one scope of every order read of the API. Filtered on the sync row's copy of the
    channel: a pull is one range of its index."""
    return Order.objects.filter(sync__channel_id__any=channel_ids)


def order_visible_get(partner: Partner, order_id) -> Order | None:
    return orders_visible(partner).filter(pk=order_id).first()


def promise_changes_visible(partner: Partner) -> QuerySet[PromiseChange]:
    return PromiseChange.objects.filter(order__channel_id__in=partner.channel_ids).select_related(
        "order__channel")


def exceptions_visible(partner: Partner) -> QuerySet[OrderException]:
    return OrderException.objects.filter(channel_id__in=partner.channel_ids).select_related(
        "region", "channel", "order")
