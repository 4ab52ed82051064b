"""Admin screens that show promises: orders and their lines, purchase orders, promise history."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from inventory.models import PurchaseOrder, PurchaseOrderLine
from orders.models import Order, OrderLine
from promises.models import DirtyPool, Promise, PromiseChange


def sources_html(promise):
    """Render a promise's sources as one short line each."""
    if promise is None or not promise.sources:
        return "—"
    return format_html_join(
        mark_safe("<br>"),
        "{} × {} (from {})",
        (
            (
                s["qty"],
                "stock" if s["kind"] == "stock" else f"PO {s['reference']}",
                s["available_on"],
            )
            for s in promise.sources
        ),
    )


# --- Purchase orders -------------------------------------------------------------------


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    fields = ("sku", "qty_ordered", "qty_received", "eta")
    readonly_fields = ("qty_received",)
    autocomplete_fields = ("sku",)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SimpleHistoryAdmin):
    list_display = ("number", "supplier", "warehouse", "status", "eta", "dock_to_stock_days", "line_count", "updated_at")
    list_filter = ("status", "warehouse", "supplier")
    list_select_related = ("supplier", "warehouse")
    search_fields = ("number", "supplier__name", "lines__sku__code")
    date_hierarchy = "eta"
    autocomplete_fields = ("supplier",)
    inlines = [PurchaseOrderLineInline]
    history_list_display = ("status", "eta")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_line_count=Count("lines"))

    @admin.display(description="Lines", ordering="_line_count")
    def line_count(self, obj):
        return obj._line_count


# --- Orders ------------------------------------------------------------------------------


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = (
        "sku", "warehouse", "qty", "unit_price", "qty_shipped", "qty_cancelled", "status",
        "promised_ship_date", "delivery_window", "promise_sources",
    )
    readonly_fields = (
        "qty_shipped", "qty_cancelled", "status", "promised_ship_date", "delivery_window",
        "promise_sources",
    )
    autocomplete_fields = ("sku",)
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku", "warehouse", "promise")

    @admin.display(description="Ships")
    def promised_ship_date(self, obj):
        promise = getattr(obj, "promise", None)
        if promise is None:
            return "—"
        if not promise.confirmed:
            return format_html("{} <em>(estimate)</em>", promise.ship_date)
        return promise.ship_date

    @admin.display(description="Delivery")
    def delivery_window(self, obj):
        promise = getattr(obj, "promise", None)
        return f"{promise.delivery_from} – {promise.delivery_to}" if promise else "—"

    @admin.display(description="Sources")
    def promise_sources(self, obj):
        return sources_html(getattr(obj, "promise", None))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "placed_at", "customer", "region", "channel", "status", "paid_amount", "currency")
    list_filter = ("status", "region", "channel", "essential_date")
    list_select_related = ("channel", "region", "customer")
    search_fields = ("external_id", "customer__email", "customer__name", "lines__sku__code")
    date_hierarchy = "placed_at"
    raw_id_fields = ("customer",)
    readonly_fields = ("status", "created_at", "updated_at")
    inlines = [OrderLineInline]


class PromiseInline(admin.StackedInline):
    model = Promise
    can_delete = False
    extra = 0
    fields = (
        "ship_date", "delivery_from", "delivery_to", "confirmed", "supply_date", "strategy",
        "rule", "guarantee_broken", "sources_display", "version", "computed_at",
        "communicated_ship_date", "communicated_delivery_to", "communicated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Sources")
    def sources_display(self, obj):
        return sources_html(obj)


class PromiseChangeInline(admin.TabularInline):
    model = PromiseChange
    fk_name = "line"
    extra = 0
    can_delete = False
    fields = ("at", "old_ship_date", "new_ship_date", "new_confirmed", "cause", "po_line", "user", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "sku", "warehouse", "qty", "qty_shipped", "qty_cancelled", "status", "ship_date", "confirmed")
    list_filter = ("status", "warehouse", "order__region", "order__channel", "promise__confirmed")
    list_select_related = ("order__channel", "sku", "warehouse", "promise")
    search_fields = ("order__external_id", "sku__code", "order__customer__email")
    raw_id_fields = ("order", "sku")
    readonly_fields = ("qty_shipped", "qty_cancelled", "status")
    inlines = [PromiseInline, PromiseChangeInline]

    @admin.display(description="Ships", ordering="promise__ship_date")
    def ship_date(self, obj):
        promise = getattr(obj, "promise", None)
        return promise.ship_date if promise else None

    @admin.display(description="Confirmed", boolean=True, ordering="promise__confirmed")
    def confirmed(self, obj):
        promise = getattr(obj, "promise", None)
        return promise.confirmed if promise else None


@admin.register(PromiseChange)
class PromiseChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "order", "line", "sku", "old_ship_date", "new_ship_date", "direction", "cause", "po_line", "user")
    list_filter = ("cause", "new_confirmed", "order__region", "order__channel")
    list_select_related = ("order__channel", "line__sku", "po_line__purchase_order", "po_line__sku", "user")
    search_fields = ("order__external_id", "line__sku__code", "po_line__purchase_order__number")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="SKU", ordering="line__sku__code")
    def sku(self, obj):
        return obj.line.sku

    @admin.display(description="Moved")
    def direction(self, obj):
        if obj.old_ship_date is None:
            return "new"
        delta = (obj.new_ship_date - obj.old_ship_date).days
        return f"{delta:+d} days"


@admin.register(DirtyPool)
class DirtyPoolAdmin(admin.ModelAdmin):
    list_display = ("sku", "warehouse", "cause", "po_line", "user", "generation", "marked_at")
    list_filter = ("cause", "warehouse")
    list_select_related = ("sku", "warehouse", "po_line__purchase_order", "po_line__sku", "user")
    search_fields = ("sku__code",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
