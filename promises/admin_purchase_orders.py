"""The purchase-order admin: lines, ETA history with reasons, the promise-impact preview and
"Receive".

It sits in promises because its change form previews the impact on promises, which
inventory may not import; promises/admin.py imports it so the admin registers it.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.forms.renderers import DjangoTemplates
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from core.errors import BusinessRefusal, InvalidInput
from inventory.models import PurchaseOrder, PurchaseOrderLine
from inventory.services import EtaMove, eta_changes_record, receipt_record
from promises.impact import POLineChange, po_change_impact

#: Rows of the impact preview per page.
IMPACT_PAGE_SIZE = 20
REASON_MISSING = "Say why the ETA moves: it is kept in the ETA history."


#: Widget templates that are one <input> (django/forms/widgets/input.html and its includes).
INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{kind}.html"
                            for kind in ("input", "text", "number", "hidden", "date", "checkbox"))


class InputsRenderer(DjangoTemplates):
    """The form renderer, writing plain <input> widgets without the template engine.

    The HTML is the same as Django's input.html; a 58-line PO renders some 300 inputs, and
    through templates they took most of the form's time."""

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        if template_name == "admin/widgets/date.html":
            return format_html('<p class="date">\n  {}\n\n\n</p>', input_html(context["widget"]))
        if template_name == "admin/widgets/foreign_key_raw_id.html":
            return raw_id_html(context)
        if template_name == "django/forms/errors/list/ul.html" and not context.get("errors"):
            return ""  # the template writes nothing for no errors
        return super().render(template_name, context, request)


def input_html(widget: dict) -> str:
    """Return `<input ...>` as django/forms/widgets/input.html writes it (the renderer strips
    what a template writes; its includes keep their newlines)."""
    parts = [f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"']
    if widget["value"] is not None:
        parts.append(f' value="{conditional_escape(str(widget["value"]))}"')
    for name, value in widget["attrs"].items():
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        elif value is not False:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 (every value is escaped above)


def raw_id_html(context: dict) -> str:
    """Return the raw-id widget as admin/widgets/foreign_key_raw_id.html writes it."""
    widget, related_url = context["widget"], context.get("related_url")
    html = format_html("{}\n", input_html(widget))  # the template's include ends with a newline
    if related_url:
        html = format_html('<div>{}<a href="{}" class="related-lookup" id="lookup_id_{}" title="{}"></a>',
                           html, related_url, widget["name"], context.get("link_title", ""))
    if context.get("link_label"):
        label = (format_html('<a href="{}">{}</a>', context["link_url"], context["link_label"])
                 if context.get("link_url") else conditional_escape(context["link_label"]))
        html = format_html("{}\n<strong>{}</strong>", html, label)
    return format_html("{}</div>", html) if related_url else mark_safe(html.strip())  # noqa: S308


class PurchaseOrderLineForm(forms.ModelForm):
    default_renderer = InputsRenderer()

    class Meta:
        model = PurchaseOrderLine
        fields = ("sku", "qty_ordered", "eta")


class PurchaseOrderLineFormSet(BaseInlineFormSet):
    """A line whose ETA moves needs the reason given above the lines (the PO form's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The lines' SKUs came with them (select_related): their raw-id widgets name them from here.
        known = {line.sku_id: line.sku for line in self.get_queryset()}
        for form in self.forms:
            widget = form.fields["sku"].widget
            widget.known = known

    def clean(self):
        super().clean()
        if (self.data.get("change_reason") or "").strip():
            return
        for form in self.forms:
            if (form.instance.pk and "eta" in form.changed_data and hasattr(form, "cleaned_data")
                    and not form.cleaned_data.get("DELETE")):
                form.add_error("eta", f"{REASON_MISSING} Fill in “Reason for the change” above.")


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    formset = PurchaseOrderLineFormSet
    extra = 0
    ordering = ("sku__code",)
    fields = ("sku", "qty_ordered", "qty_received", "eta")
    readonly_fields = ("qty_received",)
    # A raw id, not an autocomplete: the autocomplete widget reads its SKU once per line.
    raw_id_fields = ("sku",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sku":
            kwargs["widget"] = KnownSKURawIdWidget(db_field.remote_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class KnownSKURawIdWidget(admin.widgets.ForeignKeyRawIdWidget):
    """The raw-id widget naming the SKU of a saved line from the line itself (no query)."""

    known: dict = {}

    def label_and_url_for_value(self, value):
        known = self.known
        try:
            sku = known[int(value)]
        except (KeyError, TypeError, ValueError):
            return super().label_and_url_for_value(value)
        url = reverse(f"{self.admin_site.name}:inventory_sku_change", args=[sku.pk])
        return sku.code, url


class PurchaseOrderForm(forms.ModelForm):
    change_reason = forms.CharField(
        required=False, max_length=200, label="Reason for the change",
        help_text="Kept in the ETA history with every ETA move, the PO's or a line's "
                  "(e.g. “supplier: port congestion”).",
    )

    class Meta:
        model = PurchaseOrder
        fields = ("number", "supplier", "warehouse", "status", "eta", "dock_to_stock_days", "notes")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and "eta" in self.changed_data and not (cleaned.get("change_reason") or "").strip():
            self.add_error("change_reason", REASON_MISSING)
        return cleaned


class ReceiveLineForm(forms.Form):
    line_id = forms.IntegerField(widget=forms.HiddenInput)
    qty = forms.IntegerField(min_value=0, label="Receive")


ReceiveLineFormSet = forms.formset_factory(ReceiveLineForm, extra=0)


class ReceiveForm(forms.Form):
    reference = forms.CharField(max_length=80, required=False, help_text="Dock or ASN reference.")
    received_at = forms.DateTimeField(initial=timezone.now, help_text="When the units arrived.")


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
    actions = ["receive"]
    fieldsets = (
        (None, {"fields": ("number", "supplier", "warehouse", "status")}),
        ("Arrival", {"fields": ("eta", "dock_to_stock_days", "change_reason", "notes")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_line_count=Count("lines"))

    def get_object(self, request, object_id, from_field=None):
        return (PurchaseOrder.objects.select_related("supplier", "warehouse")
                .filter(pk=object_id).first() if str(object_id).isdigit() else None)

    @admin.display(description="Lines", ordering="_line_count")
    def line_count(self, obj):
        return obj._line_count

    def get_urls(self):
        return [
            path("<path:object_id>/impact/", self.admin_site.admin_view(self.impact_view),
                 name="inventory_purchaseorder_impact"),
            path("<path:object_id>/receive/", self.admin_site.admin_view(self.receive_view),
                 name="inventory_purchaseorder_receive"),
            *super().get_urls(),
        ]

    # --- saving: every ETA move lands in the ETA history with its reason ---

    def save_model(self, request, obj, form, change):
        # The audit history keeps 100 characters of it; the ETA history keeps it whole.
        obj._change_reason = (form.cleaned_data.get("change_reason") or "")[:100]
        request._eta_moves = []
        if change and {"eta", "status"} & set(form.changed_data):
            request._eta_moves.append(EtaMove(form.initial.get("eta"), obj.eta,
                                              old_status=form.initial.get("status", ""),
                                              new_status=obj.status))
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        old_po_eta = form.initial.get("eta") if change else None
        moves = getattr(request, "_eta_moves", [])
        if formset.model is PurchaseOrderLine:
            reason = (form.cleaned_data.get("change_reason") or "")[:100]
            for line_form in formset.forms:
                line_form.instance._change_reason = reason  # the lines' audit history keeps it too
            for line_form in formset.initial_forms:
                line = line_form.instance
                if "eta" in line_form.changed_data and not line_form.cleaned_data.get("DELETE"):
                    before = line_form.initial.get("eta") or old_po_eta or form.instance.eta
                    moves.append(EtaMove(before, line.eta or form.instance.eta, po_line=line))
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        moves = getattr(request, "_eta_moves", [])
        if moves:
            eta_changes_record(po=form.instance, moves=moves, reason=form.cleaned_data.get("change_reason", ""),
                               user=request.user)

    def response_change(self, request, obj):
        messages.info(request, "The promises this change touches are being re-promised in the background; "
                               "moved lines appear under Promise changes and in the exception queue.")
        return super().response_change(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        po = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "eta_history": eta_history(po) if po else [],
            "can_receive": po is not None and _receivable(po) and self.has_receive_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the impact preview ---

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
        moved = impact.later + impact.earlier
        page = Paginator(moved, IMPACT_PAGE_SIZE).get_page(request.POST.get("impact_page") or 1)
        return TemplateResponse(request, "admin/inventory/purchaseorder/impact.html",
                                {"impact": impact, "page": page, "rows": page.object_list})

    # --- receiving ---

    def has_receive_permission(self, request) -> bool:
        """Receiving records receipts: the role matrix's "add receipt"."""
        return request.user.has_perm("inventory.add_receipt")

    @admin.action(description="Receive the open lines of the selected PO…", permissions=["receive"])
    def receive(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select one purchase order to receive.", messages.WARNING)
            return None
        po = queryset.get()
        return HttpResponseRedirect(reverse("admin:inventory_purchaseorder_receive", args=[po.pk]))

    def receive_view(self, request, object_id):
        """Receive every open line of a PO in one step (quantities editable), through the receipt service."""
        po = self.get_object(request, object_id)
        if po is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_receive_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
        if not _receivable(po):
            self.message_user(request, f"{po.number} is {po.get_status_display().lower()}: nothing to receive.",
                              messages.WARNING)
            return HttpResponseRedirect(change_url)
        lines = list(po.lines.select_related("sku").order_by("sku__code"))
        open_lines = {line.pk: line for line in lines if line.qty_open > 0}
        if request.method == "POST":
            form = ReceiveForm(request.POST)
            formset = ReceiveLineFormSet(request.POST, prefix="receive")
            if form.is_valid() and formset.is_valid():
                wanted = _receipt_lines(formset, open_lines)
                if wanted:
                    try:
                        receipts = receipt_record(po_number=po.number, lines=wanted,
                                                  received_at=form.cleaned_data["received_at"],
                                                  reference=form.cleaned_data["reference"], user=request.user)
                    except (InvalidInput, BusinessRefusal) as refusal:
                        form.add_error(None, _refusal_text(refusal))
                    else:
                        units = sum(r.qty for r in receipts)
                        self.message_user(request, f"Received {units} units on {len(receipts)} lines of "
                                                   f"{po.number}.", messages.SUCCESS)
                        return HttpResponseRedirect(change_url)
                elif not formset.non_form_errors():
                    form.add_error(None, "Enter a quantity on at least one line.")
        else:
            form = ReceiveForm()
            formset = ReceiveLineFormSet(prefix="receive", initial=[
                {"line_id": line.pk, "qty": line.qty_open} for line in open_lines.values()])
        rows = [(f, open_lines.get(_int(f["line_id"].value()))) for f in formset.forms]
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "original": po, "po": po,
            "title": f"Receive {po.number}", "form": form, "formset": formset, "rows": rows,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/receive.html", context)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _receivable(po) -> bool:
    return po.status in PurchaseOrder.SUPPLY_STATUSES


def _receipt_lines(formset, open_lines) -> list[tuple[str, int]]:
    """Return (SKU code, qty) per line with a quantity; errors go on the line's form."""
    wanted = []
    for form in formset.forms:
        line = open_lines.get(form.cleaned_data.get("line_id"))
        qty = form.cleaned_data.get("qty") or 0
        if line is None:
            form.add_error("qty", "This line is not open on the purchase order.")
        elif qty > line.qty_open:
            form.add_error("qty", f"Only {line.qty_open} still open on this line.")
        elif qty:
            wanted.append((line.sku.code, qty))
    return [] if any(f.errors for f in formset.forms) else wanted


def _refusal_text(refusal) -> str:
    errors = getattr(refusal, "errors", None) or {}
    details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items())
    return f"{refusal} {details}".strip()


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


def eta_history(po) -> list:
    """The PO's ETA history, newest first, with who moved what and why."""
    return list(po.eta_changes.select_related("user").order_by("-at", "-id"))

