"""Orders: intake input, the order with its lines and promises, cancellations, shipments."""

from datetime import UTC

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, Func, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import SOURCE_KINDS, LocaleField
from core.compiled import compiled_values
from core.money import money
from inventory.models import SKU, Region, Strategy, Warehouse
from orders.models import Cancellation, Currency, Order, OrderLine
from promises.intake import line_promise_label
from promises.models import Promise

MAX_INT = 2_147_483_647



# --- Output ----------------------------------------------------------------------------------


class PromiseSourceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SOURCE_KINDS,
                                   help_text="Where the units come from.")
    reference = serializers.CharField(
        allow_blank=True, help_text="The purchase order number; for stock on hand, the warehouse's code.")
    qty = serializers.IntegerField(help_text="Units of the line covered by this source.")
    available_on = serializers.DateField(
        allow_null=True, help_text="Date the units can be picked; null for stock on hand.")


@extend_schema_field(OpenApiTypes.STR)
class PromiseLabelField(serializers.Field):
    """The localised customer-facing label of a stored promise."""

    def __init__(self, **kwargs):
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, promise):
        order = promise.line.order
        return line_promise_label(promise, order.region, order.customer.locale)


class PromiseSerializer(serializers.Serializer):
    ship_date = serializers.DateField(help_text="Promised ship date.")
    delivery_from = serializers.DateField(help_text="Earliest delivery date.")
    delivery_to = serializers.DateField(help_text="Latest delivery date.")
    confirmed = serializers.BooleanField(
        help_text="Covered by stock or confirmed purchase orders; false: a lead-time estimate.")
    label = PromiseLabelField(help_text="Customer-facing label in the customer's language.")
    sources = PromiseSourceSerializer(many=True, help_text="The supply behind the promise.")


class OrderLineSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Line id (for shipments and cancels).")
    sku = serializers.CharField(source="sku.code", read_only=True, help_text="SKU code.")
    warehouse = serializers.CharField(source="warehouse.code", read_only=True,
                                      help_text="Warehouse the line ships from.")
    qty = serializers.IntegerField(read_only=True, help_text="Units ordered.")
    qty_shipped = serializers.IntegerField(read_only=True, help_text="Units shipped.")
    qty_cancelled = serializers.IntegerField(read_only=True, help_text="Units cancelled.")
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True,
                                          help_text="Unit price in the order's currency.")
    status = serializers.ChoiceField(
        choices=OrderLine.Status.choices, read_only=True,
        help_text="allocated (covered by stock), backordered, shipped or cancelled.")
    promise = PromiseSerializer(read_only=True, allow_null=True,
                                help_text="The current promise; null once nothing is left to ship.")

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "warehouse", "qty", "qty_shipped", "qty_cancelled", "unit_price",
                  "status", "promise"]

    def to_representation(self, line):
        data = super().to_representation(line)
        if line.status not in OrderLine.OPEN_STATUSES:
            data["promise"] = None  # a promise is about units still to ship
        return data


class CustomerSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="Customer e-mail.")
    name = serializers.CharField(help_text="Customer name.")
    locale = serializers.CharField(help_text="Locale of notices and labels, e.g. en_US, de_DE.")


class CancellationSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="line_id", read_only=True, help_text="Line id.")
    qty = serializers.IntegerField(read_only=True, help_text="Units cancelled.")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True,
                                      help_text="Refund owed, in the order's currency.")
    reason = serializers.ChoiceField(choices=Cancellation.Reason.choices, read_only=True,
                                     help_text="Why the units were cancelled.")
    initiated_by = serializers.ChoiceField(choices=Cancellation.Initiator.choices, read_only=True,
                                           help_text="Who cancelled.")
    cancelled_at = serializers.DateTimeField(read_only=True, help_text="When.")
    refund_due_by = serializers.DateField(read_only=True, help_text="Legal refund deadline.")
    refunded_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                            help_text="When the refund was paid; null: not yet.")

    class Meta:
        model = Cancellation
        fields = ["line", "qty", "amount", "reason", "initiated_by", "cancelled_at",
                  "refund_due_by", "refunded_at"]


class OrderSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Order id in Backorder Desk.")
    external_id = serializers.CharField(read_only=True, help_text="The channel's order number.")
    channel = serializers.CharField(source="channel.code", read_only=True, help_text="Channel code.")
    region = serializers.ChoiceField(source="region.code", choices=Region.Code.choices,
                                     read_only=True, help_text="Region code: US, EU or UK.")
    status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True,
                                     help_text="Derived from the lines.")
    currency = serializers.ChoiceField(choices=Currency.choices, read_only=True,
                                       help_text="ISO 4217 currency.")
    placed_at = serializers.DateTimeField(read_only=True, help_text="When the customer ordered.")
    paid_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True,
                                           help_text="Amount paid.")
    shipping_amount = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True,
                                               help_text="Shipping charged.")
    essential_date = serializers.BooleanField(
        read_only=True, help_text="The customer said the delivery date is essential (EU/UK).")
    buyer_applied_for_credit = serializers.BooleanField(
        read_only=True, help_text="US: the buyer applied to the seller for credit to pay (50 days to ship).")
    customer = CustomerSerializer(read_only=True, help_text="The customer.")
    # Filled by api.selectors.orders_visible (prefetched lists, not managers).
    lines = OrderLineSerializer(source="line_list", many=True, read_only=True,
                                help_text="Order lines with promises.")
    cancellations = CancellationSerializer(source="cancellation_list", many=True, read_only=True,
                                           help_text="Cancelled units and the refunds owed.")
    created_at = serializers.DateTimeField(read_only=True, help_text="Creation time.")
    updated_at = serializers.DateTimeField(
        source="sync.updated_at", read_only=True,
        help_text="Last change of the order, its lines or their promises.")

    class Meta:
        model = Order
        fields = ["id", "external_id", "channel", "region", "status", "currency", "placed_at",
                  "paid_amount", "shipping_amount", "essential_date", "buyer_applied_for_credit",
                  "customer", "lines",
                  "cancellations", "created_at", "updated_at"]

    def to_representation(self, order):
        """Build the order by hand: the declared fields above stay the contract.

        A page of 100 orders holds about 5,000 fields; DRF's per-field machinery was half
        of a page's CPU. tests/api/test_representation.py proves this equals DRF's own
        rendering of the declared fields (`declared_representation`).
        """
        customer = order.customer
        return {
            "id": order.id,
            "external_id": order.external_id,
            "channel": order.channel.code,
            "region": order.region.code,
            "status": order.status,
            "currency": order.currency,
            "placed_at": _timestamp(order.placed_at),
            "paid_amount": _money(order.paid_amount),
            "shipping_amount": _money(order.shipping_amount),
            "essential_date": order.essential_date,
            "buyer_applied_for_credit": order.buyer_applied_for_credit,
            "customer": {"email": customer.email, "name": customer.name, "locale": customer.locale},
            "lines": [_line(line, order) for line in order.line_list],
            "cancellations": [_cancellation(c) for c in order.cancellation_list],
            "created_at": _timestamp(order.created_at),
            "updated_at": _timestamp(order.sync.updated_at),
        }

    def declared_representation(self, order):
        """DRF's generic rendering of the declared fields (the reference for the fast path)."""
        return super().to_representation(order)


def _timestamp(value):
    """As DRF renders a DateTimeField: in UTC, ISO 8601, `Z` for +00:00."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _money(value):
    """As DRF renders a 2-decimal DecimalField: a string, quantized."""
    return None if value is None else f"{money(value):f}"


def _date(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _line(line, order):
    data = {
        "id": line.id,
        "sku": line.sku.code,
        "warehouse": line.warehouse.code,
        "qty": line.qty,
        "qty_shipped": line.qty_shipped,
        "qty_cancelled": line.qty_cancelled,
        "unit_price": _money(line.unit_price),
        "status": line.status,
        "promise": None,
    }
    if line.status in OrderLine.OPEN_STATUSES:
        try:
            promise = line.promise
        except ObjectDoesNotExist:
            promise = None
        if promise is not None:
            data["promise"] = {
                "ship_date": _date(promise.ship_date),
                "delivery_from": _date(promise.delivery_from),
                "delivery_to": _date(promise.delivery_to),
                "confirmed": promise.confirmed,
                "label": line_promise_label(promise, order.region, order.customer.locale),
                "sources": [
                    {"kind": s["kind"], "reference": s["reference"], "qty": s["qty"],
                     "available_on": _date(s["available_on"])}
                    for s in promise.sources
                ],
            }
    return data


def _cancellation(c):
    return {
        "line": c.line_id,
        "qty": c.qty,
        "amount": _money(c.amount),
        "reason": c.reason,
        "initiated_by": c.initiated_by,
        "cancelled_at": _timestamp(c.cancelled_at),
        "refund_due_by": _date(c.refund_due_by),
        "refunded_at": _timestamp(c.refunded_at),
    }


# --- Output from rows (lists, the order just placed) ----------------------------------------
#
# A list page builds no model instances: the page's orders, their lines (with SKU, warehouse
# and promise) and their cancellations are read as values() rows and turned into the same
# dicts as OrderSerializer.to_representation (tests/api/test_order_rows.py compares the two
# over the whole demo book). Building ~1,000 instances was most of a page's CPU.

#: The order columns a list row carries (the cursor's columns are added by the view).
ORDER_ROW_COLUMNS = (
    "id", "external_id", "channel__code", "region__code", "region__locale", "status", "currency",
    "paid_amount", "shipping_amount", "essential_date", "buyer_applied_for_credit",
    "customer__email", "customer__name", "customer__locale",
)


class UTCTimestampText(Func):
    """A timestamp as text in UTC, `YYYY-MM-DDTHH:MM:SS[.ffffff]`, written by the database:
    reading a page's 300 timestamps as values and formatting them again took about a
    millisecond of the page. `_utc_text` finishes it as DRF renders a DateTimeField."""

    output_field = CharField()
    arity = 1
    # SQLite keeps a datetime as naive UTC text, `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    template = "replace(%(expressions)s, ' ', 'T')"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, **extra_context, template=(
            "to_char((%(expressions)s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"))


#: The order's timestamps, as text (UTCTimestampText), in a list row.
ORDER_ROW_TIMESTAMPS = {
    "placed_at_text": UTCTimestampText("placed_at"),
    "created_at_text": UTCTimestampText("created_at"),
    "updated_at_text": UTCTimestampText("sync__updated_at"),
}


def order_rows(queryset: QuerySet, *columns: str) -> QuerySet:
    """The list rows of `queryset`'s orders (what orders_from_rows reads), plus `columns`."""
    return queryset.values(*ORDER_ROW_COLUMNS, *columns, **ORDER_ROW_TIMESTAMPS)


def _utc_text(text: str | None) -> str | None:
    """DRF's rendering of a UTC timestamp from its UTCTimestampText: microseconds only when
    there are any, `Z` for UTC."""
    if text is None:
        return None
    return (text[:-7] if text.endswith(".000000") else text) + "Z"


_LINE_ROW_COLUMNS = (
    "id", "order_id", "qty", "qty_shipped", "qty_cancelled", "unit_price", "status",
    "sku__code", "sku__preorder", "sku__lead_time_slip_days",
    "warehouse_id", "warehouse__code", "warehouse__timezone", "warehouse__cutoff_time",
    "warehouse__handling_days", "warehouse__country", "warehouse__holiday_subdivision",
    "promise__line_id", "promise__ship_date", "promise__delivery_from", "promise__delivery_to",
    "promise__confirmed", "promise__stock_qty", "promise__sources",
)
_CANCELLATION_ROW_COLUMNS = (
    "order_id", "line_id", "qty", "amount", "reason", "initiated_by", "cancelled_at",
    "refund_due_by", "refunded_at",
)


def orders_from_rows(rows: list[dict]) -> list[dict]:
    """The representation of a page of order rows (`order_rows`), in their order.

    Two queries whatever the page's size: the orders' lines with SKU, warehouse and
    promise, and their cancellations. A label is rendered once per distinct input (most
    lines share a few ship dates): per process for confirmed promises, per page for estimates.
    """
    ids = [row["id"] for row in rows]
    lines: dict[int, list] = {i: [] for i in ids}
    for line in compiled_values(_lines_of_orders, order_ids=ids):
        lines[line["order_id"]].append(line)
    cancellations: dict[int, list] = {i: [] for i in ids}
    for c in compiled_values(_cancellations_of_orders, order_ids=ids):
        cancellations[c["order_id"]].append(c)
    labels: dict[tuple, str] = {}
    return [{
        "id": row["id"],
        "external_id": row["external_id"],
        "channel": row["channel__code"],
        "region": row["region__code"],
        "status": row["status"],
        "currency": row["currency"],
        "placed_at": _utc_text(row["placed_at_text"]),
        "paid_amount": _money(row["paid_amount"]),
        "shipping_amount": _money(row["shipping_amount"]),
        "essential_date": row["essential_date"],
        "buyer_applied_for_credit": row["buyer_applied_for_credit"],
        "customer": {"email": row["customer__email"], "name": row["customer__name"],
                     "locale": row["customer__locale"]},
        "lines": [_line_from_row(line, row, labels) for line in lines[row["id"]]],
        "cancellations": [_cancellation_from_row(c) for c in cancellations[row["id"]]],
        "created_at": _utc_text(row["created_at_text"]),
        "updated_at": _utc_text(row["updated_at_text"]),
    } for row in rows]


def _lines_of_orders(order_ids):
    return OrderLine.objects.filter(order_id__any=order_ids).order_by("id").values(*_LINE_ROW_COLUMNS)


def _cancellations_of_orders(order_ids):
    return (Cancellation.objects.filter(order_id__any=order_ids).order_by("cancelled_at", "id")
            .values(*_CANCELLATION_ROW_COLUMNS))


def _line_from_row(line: dict, order: dict, labels: dict) -> dict:
    data = {
        "id": line["id"],
        "sku": line["sku__code"],
        "warehouse": line["warehouse__code"],
        "qty": line["qty"],
        "qty_shipped": line["qty_shipped"],
        "qty_cancelled": line["qty_cancelled"],
        "unit_price": _money(line["unit_price"]),
        "status": line["status"],
        "promise": None,
    }
    if line["status"] in OrderLine.OPEN_STATUSES and line["promise__line_id"] is not None:
        data["promise"] = {
            "ship_date": _date(line["promise__ship_date"]),
            "delivery_from": _date(line["promise__delivery_from"]),
            "delivery_to": _date(line["promise__delivery_to"]),
            "confirmed": line["promise__confirmed"],
            "label": _label_from_row(line, order, labels),
            "sources": [
                {"kind": s["kind"], "reference": s["reference"], "qty": s["qty"],
                 "available_on": _date(s["available_on"])}
                for s in line["promise__sources"]
            ],
        }
    return data


#: Labels of confirmed promises by their inputs, for the process's life: such a label depends
#: on nothing else (an estimate's counts business days from today, so it is kept per page).
_CONFIRMED_LABELS: dict[tuple, str] = {}
_CONFIRMED_LABELS_MAX = 50_000


def _label_from_row(line: dict, order: dict, labels: dict) -> str:
    """line_promise_label of the row's promise, rendered once per distinct input.

    The key holds everything line_promise_label reads: whether the SKU is a pre-order,
    whether stock covers the open units, the promise's dates and confirmation, the region
    and the customer's locale, and for an estimate the warehouse and the supplier's slip.
    """
    confirmed = line["promise__confirmed"]
    qty_open = line["qty"] - line["qty_shipped"] - line["qty_cancelled"]
    key = (line["sku__preorder"], confirmed, line["promise__stock_qty"] >= qty_open,
           line["promise__ship_date"], line["promise__delivery_to"], order["region__code"],
           order["region__locale"], order["customer__locale"],
           None if confirmed else (line["warehouse_id"], line["sku__lead_time_slip_days"]))
    cache = _CONFIRMED_LABELS if confirmed else labels
    label = cache.get(key)
    if label is None:
        label = line_promise_label(
            _promise_of_row(line), Region(code=order["region__code"], locale=order["region__locale"]),
            order["customer__locale"])
        if len(cache) >= _CONFIRMED_LABELS_MAX:
            cache.clear()
        cache[key] = label
    return label


def _promise_of_row(line: dict) -> Promise:
    """An unsaved Promise with its line, SKU and warehouse: the fields line_promise_label reads."""
    order_line = OrderLine(id=line["id"], qty=line["qty"], qty_shipped=line["qty_shipped"],
                           qty_cancelled=line["qty_cancelled"], status=line["status"])
    order_line.sku = SKU(code=line["sku__code"], preorder=line["sku__preorder"],
                         lead_time_slip_days=line["sku__lead_time_slip_days"])
    order_line.warehouse = Warehouse(
        id=line["warehouse_id"], code=line["warehouse__code"], timezone=line["warehouse__timezone"],
        cutoff_time=line["warehouse__cutoff_time"], handling_days=line["warehouse__handling_days"],
        country=line["warehouse__country"], holiday_subdivision=line["warehouse__holiday_subdivision"])
    promise = Promise(ship_date=line["promise__ship_date"], delivery_from=line["promise__delivery_from"],
                      delivery_to=line["promise__delivery_to"], confirmed=line["promise__confirmed"],
                      stock_qty=line["promise__stock_qty"], sources=line["promise__sources"])
    promise.line = order_line
    return promise


def _cancellation_from_row(c: dict) -> dict:
    return {
        "line": c["line_id"],
        "qty": c["qty"],
        "amount": _money(c["amount"]),
        "reason": c["reason"],
        "initiated_by": c["initiated_by"],
        "cancelled_at": _timestamp(c["cancelled_at"]),
        "refund_due_by": _date(c["refund_due_by"]),
        "refunded_at": _timestamp(c["refunded_at"]),
    }


# --- Input -----------------------------------------------------------------------------------


class CustomerWriteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="Customer e-mail.")
    name = serializers.CharField(max_length=120, help_text="Customer name.")
    locale = LocaleField(help_text="e.g. en_US, de_DE; default: the region's locale.")


class OrderLineWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40, help_text="SKU code.")
    qty = serializers.IntegerField(min_value=1, max_value=100_000, help_text="Units.")
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0,
                                          help_text="Unit price in the order's currency.")


class OrderWriteSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        max_length=80, help_text="The channel's order number; (channel, external_id) is the "
        "idempotency key: posting it again returns the first order.")
    channel = serializers.CharField(max_length=40, help_text="Channel code; one of the key's.")
    region = serializers.ChoiceField(choices=Region.Code.choices,
                                     help_text="US, EU or UK: the region the channel sells in.")
    currency = serializers.ChoiceField(choices=Currency.choices,
                                       help_text="ISO 4217; the region's currency.")
    placed_at = serializers.DateTimeField(
        required=False, help_text="When the customer ordered: at most 1 day ahead of now and "
        "365 days back. Default: now.")
    customer = CustomerWriteSerializer(
        help_text="The customer, as this channel knows them (customers are kept per channel).")
    lines = OrderLineWriteSerializer(many=True, allow_empty=False, max_length=200,
                                     help_text="One or more lines.")
    essential_date = serializers.BooleanField(
        required=False, default=False,
        help_text="The delivery date is essential to the customer (EU art. 18(2), CRA s.28(6)).")
    buyer_applied_for_credit = serializers.BooleanField(
        required=False, default=False,
        help_text="The buyer applied to the seller for credit to pay for the order (US: the "
        "default shipping time is then 50 days, 16 CFR 435.2(a)(2)). Default: false.")
    strategy = serializers.ChoiceField(
        choices=Strategy.choices, required=False, allow_blank=True, default="",
        help_text="Overrides the channel's backorder strategy. Default: the channel's.")
    paid_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True,
        help_text="Amount paid. Default: lines total plus shipping.")
    shipping_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False,
        help_text="Shipping charged. Default: 0.")


class CancelWriteSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, help_text="Line id."), required=False,
        allow_empty=False, max_length=200,
        help_text="Ids of the lines to cancel (their open units). Absent: every open line.")
    reason = serializers.ChoiceField(
        choices=Cancellation.Reason.choices, default=Cancellation.Reason.PARTNER,
        help_text="Why. Default: partner.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000,
                                 help_text="Free text kept with the cancellation.")


class ShipmentLineWriteSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="Order line id.")
    qty = serializers.IntegerField(min_value=1, max_value=MAX_INT, help_text="Units shipped.")


class ShipmentWriteSerializer(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, help_text="Order id.")
    lines = ShipmentLineWriteSerializer(many=True, allow_empty=False, max_length=200,
                                        help_text="Units shipped per line.")
    shipped_at = serializers.DateTimeField(required=False,
                                           help_text="Hand-over to the carrier. Default: now.")
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=40,
                                    help_text="Carrier name.")
    tracking_number = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=80, help_text="Tracking number.")


class ShipmentLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="order_line_id", help_text="Order line id.")
    qty = serializers.IntegerField(help_text="Units shipped.")


class ShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Shipment id.")
    order = serializers.IntegerField(source="order_id", help_text="Order id.")
    shipped_at = serializers.DateTimeField(help_text="Hand-over to the carrier.")
    carrier = serializers.CharField(help_text="Carrier name.")
    tracking_number = serializers.CharField(help_text="Tracking number.")
    lines = ShipmentLineSerializer(many=True, help_text="Units shipped per line.")
