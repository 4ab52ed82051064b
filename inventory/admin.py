"""Admin for reference data, catalog, stock, caps and the PO ETA history.

The purchase-order admin lives in promises/admin_purchase_orders.py: its change form
previews the impact on promises, which inventory must not import.
"""

from django import forms
from django.contrib import admin
from django.db.models import Sum
from simple_history.admin import SimpleHistoryAdmin

from core.admin_views import ReadOnlyAdmin
from inventory.models import (
    SKU,
    BackorderCap,
    Channel,
    PurchaseOrder,
    PurchaseOrderEtaChange,
    PurchaseOrderLine,
    Receipt,
    Region,
    StockLevel,
    Supplier,
    Warehouse,
    holiday_calendar_errors,
)
from inventory.services import receipt_record


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "legal_regime", "currency", "locale", "timezone",
        "transit_min_days", "transit_max_days", "holiday_country", "holiday_subdivision",
        "default_warehouse", "hold_notices_for_review",
    )
    list_select_related = ("default_warehouse",)
    readonly_fields = ("code",)

    def has_add_permission(self, request):
        # The three regions and their legal regimes are fixed by a migration.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region", "priority", "strategy", "active")
    list_editable = ("priority", "strategy", "active")
    list_filter = ("kind", "region", "strategy", "active")
    list_select_related = ("region",)
    search_fields = ("code", "name")


class WarehouseForm(forms.ModelForm):
    """Reject a country or subdivision the holiday calendars cannot load."""

    class Meta:
        model = Warehouse
        fields = (
            "code", "name", "operator", "country", "holiday_subdivision", "timezone", "cutoff_time",
            "handling_days", "regions_served",
        )

    def clean(self):
        cleaned = super().clean()
        errors = holiday_calendar_errors(
            cleaned.get("country", ""), cleaned.get("holiday_subdivision", ""),
            fields=("country", "holiday_subdivision"),
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return cleaned


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    form = WarehouseForm
    list_display = (
        "code", "name", "operator", "country", "holiday_subdivision", "timezone", "cutoff_time",
        "handling_days",
    )
    list_filter = ("operator", "country")
    search_fields = ("code", "name")
    filter_horizontal = ("regions_served",)


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "country", "lead_time_days", "email")
    search_fields = ("name", "code", "email")
    list_filter = ("country",)


class SharedChoicesFormSet(forms.BaseInlineFormSet):
    """An inline formset whose `shared_choices` fields read their choices once for all rows,
    not once per row (a select, or an autocomplete naming its value, queries per row)."""

    shared_choices: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.shared_choices:
            choices = None
            for form in self.forms:
                field = form.fields[name]
                choices = choices if choices is not None else list(field.choices)
                field.choices = choices
                inner = getattr(field.widget, "widget", None)  # the admin's related-field wrapper
                if inner is not None:
                    inner.choices = field.widget.choices = choices


class StockLevelFormSet(SharedChoicesFormSet):
    shared_choices = ("warehouse",)


class StockLevelInline(admin.TabularInline):
    model = StockLevel
    formset = StockLevelFormSet
    extra = 0
    fields = ("warehouse", "on_hand", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "on_hand_total", "backorder_allowed", "preorder", "sell_beyond_supply",
        "safety_stock", "lead_time_days", "supplier", "active",
    )
    list_filter = ("backorder_allowed", "preorder", "sell_beyond_supply", "active", "supplier")
    list_select_related = ("supplier",)
    search_fields = ("code", "name")
    autocomplete_fields = ("supplier",)
    inlines = [StockLevelInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "supplier", "active")}),
        ("Backorder policy", {"fields": (
            "backorder_allowed", "preorder", "release_date", "sell_beyond_supply", "safety_stock",
            "lead_time_days", "lead_time_slip_days",
        )}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_on_hand=Sum("stock_levels__on_hand"))

    @admin.display(description="On hand", ordering="_on_hand")
    def on_hand_total(self, obj):
        return obj._on_hand or 0


@admin.register(StockLevel)
class StockLevelAdmin(SimpleHistoryAdmin):
    list_display = ("sku", "warehouse", "on_hand", "updated_at")
    list_filter = ("warehouse",)
    list_select_related = ("sku", "warehouse")
    search_fields = ("sku__code", "sku__name")
    autocomplete_fields = ("sku",)
    history_list_display = ("on_hand",)


class ReceiptForm(forms.ModelForm):
    """Receive units on a PO line; saving goes through the receipt service."""

    class Meta:
        model = Receipt
        fields = ("po_line", "qty", "received_at", "reference")

    def clean(self):
        cleaned = super().clean()
        line, qty = cleaned.get("po_line"), cleaned.get("qty")
        if line and qty:
            po = line.purchase_order
            if po.status in (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED):
                self.add_error("po_line", f"{po.number} is {po.get_status_display().lower()}; "
                                          "confirm it before receiving.")
            elif qty > line.qty_open:
                self.add_error("qty", f"Only {line.qty_open} still open on this line.")
        return cleaned


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    form = ReceiptForm
    list_display = ("id", "received_at", "purchase_order", "sku", "qty", "reference", "received_by")
    list_filter = ("po_line__purchase_order__warehouse", "received_at")
    list_select_related = ("po_line__purchase_order", "po_line__sku", "received_by")
    search_fields = ("po_line__purchase_order__number", "po_line__sku__code", "reference")
    date_hierarchy = "received_at"
    raw_id_fields = ("po_line",)

    def has_change_permission(self, request, obj=None):
        # A receipt is a fact; correct it with a stock adjustment, not an edit.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        line = obj.po_line
        receipt = receipt_record(
            po_number=line.purchase_order.number, lines=[(line.sku.code, obj.qty)],
            received_at=obj.received_at, reference=obj.reference, user=request.user,
        )[0]
        obj.pk = receipt.pk

    @admin.display(description="PO", ordering="po_line__purchase_order__number")
    def purchase_order(self, obj):
        return obj.po_line.purchase_order

    @admin.display(description="SKU", ordering="po_line__sku__code")
    def sku(self, obj):
        return obj.po_line.sku


@admin.register(BackorderCap)
class BackorderCapAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "sku", "channel", "region", "max_backorder_qty", "max_promise_days", "active")
    list_display_links = ("__str__",)
    list_editable = ("max_backorder_qty", "max_promise_days", "active")
    list_filter = ("active", "region", "channel")
    list_select_related = ("sku", "channel", "region")
    search_fields = ("sku__code", "channel__code", "note")
    autocomplete_fields = ("sku",)


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(SimpleHistoryAdmin):
    list_display = ("purchase_order", "sku", "qty_ordered", "qty_received", "eta", "po_status")
    list_filter = ("purchase_order__status", "purchase_order__warehouse")
    list_select_related = ("purchase_order", "sku")
    search_fields = ("purchase_order__number", "sku__code")
    raw_id_fields = ("purchase_order", "sku")

    @admin.display(description="PO status", ordering="purchase_order__status")
    def po_status(self, obj):
        return obj.purchase_order.get_status_display()


@admin.register(PurchaseOrderEtaChange)
class PurchaseOrderEtaChangeAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The ETA history of every PO, read-only: rows are written by the PO services and form."""

    list_display = ("at", "purchase_order", "what", "eta_move", "status_move", "reason", "user")
    list_filter = ("purchase_order__warehouse", "purchase_order__supplier", "at")
    list_select_related = ("purchase_order", "user")
    search_fields = ("purchase_order__number", "sku_code", "reason")
    date_hierarchy = "at"
    raw_id_fields = ("purchase_order", "po_line", "user")

    @admin.display(description="What")
    def what(self, obj):
        return f"line {obj.sku_code}" if obj.sku_code else "whole PO"

    @admin.display(description="ETA")
    def eta_move(self, obj):
        return f"{obj.old_eta or 'the PO’s'} → {obj.new_eta or 'the PO’s'}" if obj.eta_moved else "—"

    @admin.display(description="Status")
    def status_move(self, obj):
        if not obj.status_moved:
            return "—"
        return f"{obj.get_old_status_display()} → {obj.get_new_status_display()}"
