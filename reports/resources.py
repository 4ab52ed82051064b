"""What the admin lists finance works from export (CSV, XLSX): one export-only resource each.

Columns are the ones a finance clerk reconciles with: ids, the order's external id, channel,
region and currency, amounts, dates, reason, who decided, refund due and refunded. Each
resource joins what its columns read, so an export costs a fixed number of queries.
"""

from import_export import fields, resources

from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import OrderException
from reports.selectors import decider_case


def _column(attribute: str, name: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=name, readonly=True)


class ExportOnlyResource(resources.ModelResource):
    """A resource that only exports: its admins offer no import."""

    #: Related rows every exported row reads (added to the list's own select_related).
    select_related: tuple[str, ...] = ()

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(*self.select_related) if self.select_related else queryset


class CancellationResource(ExportOnlyResource):
    order = _column("order__external_id", "order")
    channel = _column("order__channel__code", "channel")
    region = _column("order__region__code", "region")
    sku = _column("line__sku__code", "sku")
    reason = _column("get_reason_display", "reason")
    decided_by = _column("decided_by", "decided_by")
    initiated_by = _column("get_initiated_by_display", "initiated_by")
    recorded_by = _column("user__username", "recorded_by")

    select_related = ("order__channel", "order__region", "line__sku", "user")

    class Meta:
        model = Cancellation
        name = "Cancellations and refunds"
        fields = ("id", "order", "channel", "region", "line", "sku", "qty", "amount", "currency",
                  "reason", "decided_by", "initiated_by", "recorded_by", "cancelled_at",
                  "refund_due_by", "refunded_at", "refund_reference")
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        # Who decided is the report's definition (reports.selectors.decider_case), not a copy.
        return super().filter_export(queryset, **kwargs).annotate(decided_by=decider_case())


class OrderLineResource(ExportOnlyResource):
    order = _column("order__external_id", "order")
    channel = _column("order__channel__code", "channel")
    region = _column("order__region__code", "region")
    currency = _column("order__currency", "currency")
    placed_at = _column("order__placed_at", "placed_at")
    sku = _column("sku__code", "sku")
    warehouse = _column("warehouse__code", "warehouse")
    open_qty = fields.Field(column_name="open_qty", readonly=True)
    open_value = fields.Field(column_name="open_value", readonly=True)
    ship_date = fields.Field(column_name="promised_ship_date", readonly=True)
    confirmed = fields.Field(column_name="confirmed", readonly=True)

    select_related = ("order__channel", "order__region", "sku", "warehouse", "promise")

    class Meta:
        model = OrderLine
        name = "Order lines"
        fields = ("id", "order", "channel", "region", "currency", "placed_at", "sku", "warehouse",
                  "status", "qty", "qty_shipped", "qty_cancelled", "open_qty", "unit_price",
                  "open_value", "ship_date", "confirmed")
        export_order = fields

    def dehydrate_open_qty(self, line):
        return line.qty - line.qty_shipped - line.qty_cancelled

    def dehydrate_open_value(self, line):
        return self.dehydrate_open_qty(line) * line.unit_price

    def dehydrate_ship_date(self, line):
        promise = getattr(line, "promise", None)
        return promise.ship_date if promise else None

    def dehydrate_confirmed(self, line):
        promise = getattr(line, "promise", None)
        return promise.confirmed if promise else None


class OrderExceptionResource(ExportOnlyResource):
    order = _column("order__external_id", "order")
    channel = _column("channel__code", "channel")
    region = _column("region__code", "region")
    currency = _column("order__currency", "currency")
    sku = _column("line__sku__code", "sku")
    owner = _column("owner__username", "owner")

    select_related = ("order", "channel", "region", "line__sku", "owner")

    class Meta:
        model = OrderException
        name = "Exceptions"
        fields = ("id", "kind", "status", "due_by", "order", "channel", "region", "currency", "line",
                  "sku", "owner", "cause", "promised_date", "revised_date", "cancel_on",
                  "notice_state", "notified_at", "opened_at", "resolved_at", "resolution")
        export_order = fields


class NoticeResource(ExportOnlyResource):
    order = _column("order__external_id", "order")
    channel = _column("order__channel__code", "channel")
    region = _column("region__code", "region")

    select_related = ("order__channel", "region")

    class Meta:
        model = Notice
        name = "Notices"
        fields = ("id", "kind", "status", "order", "channel", "region", "line", "email", "locale",
                  "promise_version", "created_at", "attempts", "next_attempt_at", "sent_at",
                  "held_reason")
        export_order = fields
