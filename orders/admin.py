"""Admin for customers, shipments and cancellations.

The order admin lives in promises/admin.py: it shows each line's promise and sources.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from orders.models import Cancellation, Customer, Shipment, ShipmentLine


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "channel", "region", "locale", "created_at")
    list_filter = ("channel", "region", "locale")
    list_select_related = ("channel", "region")
    search_fields = ("email", "name")
    readonly_fields = ("created_at",)


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    raw_id_fields = ("order_line",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "shipped_at", "carrier", "tracking_number")
    list_filter = ("carrier", "order__channel", "order__region")
    list_select_related = ("order__channel",)
    search_fields = ("order__external_id", "tracking_number", "order__customer__email")
    date_hierarchy = "shipped_at"
    raw_id_fields = ("order",)
    inlines = [ShipmentLineInline]

    def has_delete_permission(self, request, obj=None):
        return False  # shipments are records: no role deletes them, whatever its permissions


class RefundStatusFilter(admin.SimpleListFilter):
    title = "refund"
    parameter_name = "refund"

    def lookups(self, request, model_admin):
        return [("due", "Refund due"), ("overdue", "Refund overdue"), ("done", "Refunded")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "due":
            return queryset.filter(refunded_at__isnull=True)
        if self.value() == "overdue":
            return queryset.filter(refunded_at__isnull=True, refund_due_by__lt=today)
        if self.value() == "done":
            return queryset.filter(refunded_at__isnull=False)
        return queryset


@admin.register(Cancellation)
class CancellationAdmin(SimpleHistoryAdmin):
    # Fits 1440 px: order, SKU and quantity share a column, the refund owed and its
    # deadline are never pushed off screen; the note and the user are on the change page.
    list_display = ("cancelled_on", "what", "refund", "reason", "initiated_by", "refund_due", "refunded_at")
    list_display_links = ("cancelled_on",)
    list_filter = (RefundStatusFilter, "reason", "initiated_by", "currency", "order__region")
    list_select_related = ("order", "line__sku")
    search_fields = ("order__external_id", "order__customer__email", "line__sku__code")
    date_hierarchy = "cancelled_at"
    raw_id_fields = ("order", "line", "user")
    readonly_fields = ("order", "line", "qty", "amount", "currency", "reason", "initiated_by",
                       "cancelled_at", "refund_due_by", "user")
    history_list_display = ("refunded_at", "refund_reference")

    @admin.display(description="Cancelled", ordering="cancelled_at")
    def cancelled_on(self, obj):
        return obj.cancelled_at.date()

    @admin.display(description="Order · line", ordering="order__external_id")
    def what(self, obj):
        return f"{obj.order.external_id} · {obj.qty} × {obj.line.sku.code}"

    @admin.display(description="Refund", ordering="amount")
    def refund(self, obj):
        return f"{obj.amount} {obj.currency}"

    @admin.display(description="Refund due", ordering="refund_due_by")
    def refund_due(self, obj):
        if obj.refunded_at is None and obj.refund_due_by < timezone.localdate():
            return format_html('<strong style="color:#ba2121">{} (overdue)</strong>', obj.refund_due_by)
        return obj.refund_due_by

    def has_delete_permission(self, request, obj=None):
        return False  # a refund owed is a record: no role deletes it, whatever its permissions

    def has_add_permission(self, request):
        return False  # cancelled through the exception queue or the API, which owe the refund
