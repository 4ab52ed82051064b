"""Admin screens that show promises: orders and their lines, purchase orders, promise history."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.admin_views import ReadOnlyAdmin
from orders.models import Order, OrderLine
from promises import admin_purchase_orders  # noqa: F401  (registers the purchase-order admin)
from promises.explain import promise_explanation
from promises.models import DirtyPool, PoolSupply, Promise, PromiseChange
from promises.services import pools_mark_dirty


def sources_html(promise):
    """Render a promise's sources as one short line each."""
    if promise is None or not promise.sources:
        return "—"
    return format_html_join(
        mark_safe("<br>"),
        "{} × {}{}",
        (
            (
                s["qty"],
                "stock" if s["kind"] == "stock" else f"PO {s['reference']}",
                f" (from {s['available_on']})" if s.get("available_on") else "",
            )
            for s in promise.sources
        ),
    )


# --- Purchase orders: promises/admin_purchase_orders.py (registered on import) ---------


# --- Orders ------------------------------------------------------------------------------

#: What the channel sold: read-only in the admin for everyone but superusers.
ORDER_FACTS = ("channel", "region", "external_id", "customer", "placed_at", "currency", "paid_amount",
               "shipping_amount")
LINE_FACTS = ("order", "sku", "warehouse", "qty", "unit_price")


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

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + ((), LINE_FACTS)[not request.user.is_superuser]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order__channel", "sku", "warehouse", "promise")

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
    readonly_fields = ("status", "buyer_applied_for_credit", "created_at", "updated_at", "sync_clock")
    inlines = [OrderLineInline]

    def get_readonly_fields(self, request, obj=None):
        # What the channel sold (who, where, what was paid) is its record, not an agent's to
        # edit; superusers may correct it.
        return self.readonly_fields + ((), ORDER_FACTS)[not request.user.is_superuser]
    actions = ["repromise_now"]

    def has_delete_permission(self, request, obj=None):
        return False  # orders are records: no role deletes them, whatever its permissions

    @admin.display(description="Partner sync clock")
    def sync_clock(self, obj):
        """The `updated_at` partners see: the order's own changes and its promises' moves."""
        sync = getattr(obj, "sync", None) if obj.pk else None
        return sync.updated_at if sync else "—"

    @admin.action(description="Re-promise the selected orders now", permissions=["change"])
    def repromise_now(self, request, queryset):
        pools = set(OrderLine.objects.open().filter(order__in=queryset)
                    .values_list("sku_id", "warehouse_id"))
        pools_mark_dirty(pools=pools, cause=PromiseChange.Cause.MANUAL, user_id=request.user.pk,
                         note="re-promise requested in the admin")
        self.message_user(request, f"{len(pools)} pools queued for re-promising; moved lines appear "
                                   "under Promise changes.", messages.SUCCESS)


class PromiseInline(admin.StackedInline):
    model = Promise
    can_delete = False
    extra = 0
    fields = (
        "explanation", "ship_date", "delivery_from", "delivery_to", "confirmed", "supply_date",
        "strategy", "rule", "guarantee_broken", "sources_display", "version", "computed_at",
        "communicated_ship_date", "communicated_delivery_to", "communicated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Sources")
    def sources_display(self, obj):
        return sources_html(obj)

    @admin.display(description="Why this date")
    def explanation(self, obj):
        return promise_explanation(obj)


class PromiseChangeInline(admin.TabularInline):
    model = PromiseChange
    fk_name = "line"
    extra = 0
    can_delete = False
    fields = ("at", "old_ship_date", "new_ship_date", "new_confirmed", "cause", "po_line", "user", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("po_line__sku", "po_line__purchase_order", "user")


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "sku", "warehouse", "qty", "qty_shipped", "qty_cancelled", "status", "ship_date", "confirmed")
    list_filter = ("status", "warehouse", "order__region", "order__channel", "promise__confirmed")
    list_select_related = ("order__channel", "sku", "warehouse", "promise")
    search_fields = ("order__external_id", "sku__code", "order__customer__email")
    raw_id_fields = ("order", "sku")
    readonly_fields = ("qty_shipped", "qty_cancelled", "status")
    inlines = [PromiseInline, PromiseChangeInline]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + ((), LINE_FACTS)[not request.user.is_superuser]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Ships", ordering="promise__ship_date")
    def ship_date(self, obj):
        promise = getattr(obj, "promise", None)
        return promise.ship_date if promise else None

    @admin.display(description="Confirmed", boolean=True, ordering="promise__confirmed")
    def confirmed(self, obj):
        promise = getattr(obj, "promise", None)
        return promise.confirmed if promise else None


@admin.register(PromiseChange)
class PromiseChangeAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    # Fits 1440 px: order, line and SKU share a column, the old and new dates another; the
    # note is on the change page.
    list_display = ("at", "order_line", "moved", "cause", "purchase_order", "user")
    list_display_links = ("at",)
    list_filter = ("cause", "new_confirmed", "order__region", "order__channel")
    list_select_related = ("order", "line__sku", "po_line__purchase_order", "user")
    search_fields = ("order__external_id", "line__sku__code", "po_line__purchase_order__number")
    date_hierarchy = "at"

    @admin.display(description="Order · line · SKU", ordering="order__external_id")
    def order_line(self, obj):
        return f"{obj.order.external_id} · {obj.line_id} · {obj.line.sku.code}"

    @admin.display(description="Ships (old → new)", ordering="new_ship_date")
    def moved(self, obj):
        new = f"{obj.new_ship_date}{'' if obj.new_confirmed else ' (estimate)'}"
        if obj.old_ship_date is None:
            return f"new: {new}"
        delta = (obj.new_ship_date - obj.old_ship_date).days
        return f"{obj.old_ship_date} → {new} ({delta:+d} days)"

    @admin.display(description="PO", ordering="po_line__purchase_order__number")
    def purchase_order(self, obj):
        return obj.po_line.purchase_order.number if obj.po_line_id else "—"


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


@admin.register(PoolSupply)
class PoolSupplyAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Intake's ledger, read-only: what each pool's sources have free and who holds the rest.
    Rewritten by every full run of a pool; for Ops checking why a line was promised so."""

    list_display = ("sku", "warehouse", "source", "free", "held_win", "held_gain", "held_redistribute",
                    "held_fill", "held_lose", "held_waiting")
    list_filter = ("warehouse",)
    list_select_related = ("sku", "warehouse", "po_line__purchase_order")
    search_fields = ("sku__code", "po_line__purchase_order__number")
    ordering = ("sku__code", "warehouse__code", "po_line")

    @admin.display(description="Source")
    def source(self, obj):
        return "stock" if obj.po_line_id is None else f"{obj.po_line.purchase_order.number} line {obj.po_line_id}"
