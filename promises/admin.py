"""Admin screens that show promises: orders and their lines, purchase orders, promise history."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from inventory.models import PurchaseOrder, PurchaseOrderLine
from orders.models import Order, OrderLine
from promises.explain import promise_explanation
from promises.impact import POLineChange, po_change_impact
from promises.models import DirtyPool, Promise, PromiseChange
from promises.services import pools_mark_dirty


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
    ordering = ("sku__code",)
    fields = ("sku", "qty_ordered", "qty_received", "eta")
    readonly_fields = ("qty_received",)
    autocomplete_fields = ("sku",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")


class PurchaseOrderForm(forms.ModelForm):
    change_reason = forms.CharField(
        required=False, max_length=100, label="Reason for the change",
        help_text="Kept in the ETA history (e.g. “supplier: port congestion”).",
    )

    class Meta:
        model = PurchaseOrder
        fields = ("number", "supplier", "warehouse", "status", "eta", "dock_to_stock_days", "notes")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and "eta" in self.changed_data and not cleaned.get("change_reason"):
            self.add_error("change_reason", "Say why the ETA moves: it is kept with the change.")
        return cleaned


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SimpleHistoryAdmin):
    form = PurchaseOrderForm
    change_form_template = "admin/inventory/purchaseorder/change_form.html"
    list_display = ("number", "supplier", "warehouse", "status", "eta", "dock_to_stock_days",
                    "line_count", "updated_at")
    list_filter = ("status", "warehouse", "supplier")
    list_select_related = ("supplier", "warehouse")
    search_fields = ("number", "supplier__name", "lines__sku__code")
    date_hierarchy = "eta"
    autocomplete_fields = ("supplier",)
    inlines = [PurchaseOrderLineInline]
    history_list_display = ("status", "eta")
    fieldsets = (
        (None, {"fields": ("number", "supplier", "warehouse", "status")}),
        ("Arrival", {"fields": ("eta", "dock_to_stock_days", "change_reason", "notes")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_line_count=Count("lines"))

    @admin.display(description="Lines", ordering="_line_count")
    def line_count(self, obj):
        return obj._line_count

    def get_urls(self):
        return [
            path("<path:object_id>/impact/", self.admin_site.admin_view(self.impact_view),
                 name="inventory_purchaseorder_impact"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data.get("change_reason") or ""
        super().save_model(request, obj, form, change)

    def response_change(self, request, obj):
        messages.info(request, "The promises this change touches are being re-promised in the background; "
                               "moved lines appear under Promise changes and in the exception queue.")
        return super().response_change(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        po = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "eta_history": eta_history(po) if po else []}
        return super().change_view(request, object_id, form_url, extra_context)

    def impact_view(self, request, object_id):
        """Render the promise impact of the unsaved form (POSTed by the change form's button)."""
        po = self.get_object(request, object_id)
        if po is None or request.method != "POST" or not self.has_view_permission(request, po):
            return HttpResponseBadRequest("Post the purchase order form to preview its impact.")
        try:
            change = _form_change(request.POST, po)
        except forms.ValidationError as exc:
            return TemplateResponse(request, "admin/inventory/purchaseorder/impact.html",
                                    {"error": "; ".join(exc.messages)})
        impact = po_change_impact(po=po, **change)
        return TemplateResponse(request, "admin/inventory/purchaseorder/impact.html",
                                {"impact": impact, "later": impact.later[:20], "earlier": impact.earlier[:20]})


def _form_change(data, po) -> dict:
    """Read the proposed PO values and line changes from the admin change form's POST."""
    date_field = forms.DateField(required=False)
    int_field = forms.IntegerField(required=False, min_value=0)
    change = {
        "eta": date_field.clean(data.get("eta")),
        "status": data.get("status") if data.get("status") in PurchaseOrder.Status.values else None,
        "dock_to_stock_days": int_field.clean(data.get("dock_to_stock_days")),
        "lines": {},
    }
    ids = set(po.lines.values_list("id", flat=True))
    total = int_field.clean(data.get("lines-TOTAL_FORMS")) or 0
    for i in range(total):
        raw_id = data.get(f"lines-{i}-id")
        if not raw_id or not raw_id.isdigit() or int(raw_id) not in ids:
            continue
        change["lines"][int(raw_id)] = POLineChange(
            qty_ordered=int_field.clean(data.get(f"lines-{i}-qty_ordered")),
            eta=date_field.clean(data.get(f"lines-{i}-eta")),
            delete=bool(data.get(f"lines-{i}-DELETE")),
        )
    return change


def eta_history(po) -> list[dict]:
    """Each ETA or status change of a PO: when, who, from, to, why (from its audit history)."""
    records = list(po.history.select_related("history_user").order_by("history_date", "history_id"))
    rows = []
    for before, after in zip(records, records[1:], strict=False):
        if (before.eta, before.status) != (after.eta, after.status):
            rows.append({"at": after.history_date, "user": after.history_user,
                         "eta": (before.eta, after.eta), "status": (before.status, after.status),
                         "reason": after.history_change_reason or ""})
    return list(reversed(rows))


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
class PromiseChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "order", "line", "sku", "old_ship_date", "new_ship_date", "direction", "cause", "po_line", "user")
    list_filter = ("cause", "new_confirmed", "order__region", "order__channel")
    list_select_related = ("order__channel", "line__sku", "line__order__channel",
                           "po_line__purchase_order", "po_line__sku", "user")
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
