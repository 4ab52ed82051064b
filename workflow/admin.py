"""The exception queue customer-service agents live in, and the consents they record.

Sorted by due-by (the legal deadline), overdue rows in red, open counts by kind and region
above the list. Every action asks for confirmation on an intermediate page, calls one
workflow.services service, and leaves an audit trail: the exception's history
(simple_history), an admin log entry and a message.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.errors import BusinessRefusal, InvalidInput
from promises.models import DelayConsent, OrderException
from workflow import services as workflow

OPEN = OrderException.OPEN_STATUSES


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("today", "Due today"), ("week", "Due within 7 days")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(due_by__lt=today, status__in=OPEN)
        if self.value() == "today":
            return queryset.filter(due_by=today, status__in=OPEN)
        if self.value() == "week":
            return queryset.filter(due_by__lte=today + timezone.timedelta(days=7), status__in=OPEN)
        return queryset


class QueueStatusFilter(admin.SimpleListFilter):
    """Show the open queue unless asked otherwise: resolved rows are history."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("in_progress", "In progress"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        value = self.value() or "open_or_in_progress"
        yield {"selected": value == "open_or_in_progress", "display": "Open or in progress",
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for lookup, title in self.lookup_choices:
            yield {"selected": value == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        value = self.value()
        if value in (None, ""):
            return queryset.filter(status__in=OPEN)
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Assigned to me"), ("nobody", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(owner=request.user)
        if self.value() == "nobody":
            return queryset.filter(owner__isnull=True)
        return queryset


# --- Action forms ----------------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class CancelForm(NoteForm):
    decided_by = forms.ChoiceField(choices=[
        ("customer", "The customer asked to cancel"),
        ("seller", "We cannot or will not supply it"),
    ], widget=forms.RadioSelect, help_text="Who decided: the customer's e-mail says so.")


class ConsentForm(NoteForm):
    channel = forms.ChoiceField(choices=[
        (DelayConsent.Channel.EMAIL_REPLY, "E-mail reply"), (DelayConsent.Channel.PHONE, "Phone"),
        (DelayConsent.Channel.CHAT, "Chat"),
    ], help_text="How the customer expressly accepted the new date.")
    field_order = ["channel", "note"]


class AlternativeForm(NoteForm):
    sku = forms.CharField(label="Alternative SKU code", max_length=40)
    field_order = ["sku", "note"]


class CreditForm(NoteForm):
    amount = forms.DecimalField(min_value=0.01, max_digits=10, decimal_places=2,
                                help_text="In the order's currency.")
    field_order = ["amount", "note"]


# --- Admin -----------------------------------------------------------------------------------


@admin.register(OrderException)
class OrderExceptionAdmin(SimpleHistoryAdmin):
    list_display = ("due", "kind", "status", "order_link", "sku", "customer_email", "region", "channel",
                    "notice_state", "cancel_on", "owner", "cause_short")
    list_display_links = ("due", "kind")
    list_filter = (DueFilter, QueueStatusFilter, "kind", "region", "channel", AssignedFilter)
    list_select_related = ("order__customer", "order__channel", "line__sku", "region", "channel", "owner")
    search_fields = ("order__external_id", "order__customer__email", "line__sku__code")
    ordering = ("due_by", "id")
    show_full_result_count = False
    list_per_page = 50
    raw_id_fields = ("line", "order", "owner")
    change_list_template = "notifications/admin/exception_queue.html"
    readonly_fields = ("kind", "line", "order", "region", "channel", "due_by", "cause", "opened_at",
                       "resolved_at", "resolution", "promise_version", "notice_kind", "promised_date",
                       "revised_date", "cancel_on", "express_consent_required", "citations",
                       "notice_state", "notified_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("kind", "status", "owner", "due_by", "cause", "notes")}),
        ("Line", {"fields": ("order", "line", "region", "channel")}),
        ("What the regional policy decided", {"fields": (
            "promise_version", "notice_kind", "promised_date", "revised_date", "cancel_on",
            "express_consent_required", "citations", "notice_state", "notified_at")}),
        ("Resolution", {"fields": ("resolution", "opened_at", "resolved_at", "updated_at")}),
    )
    actions = ["send_notice_now", "record_consent", "cancel_and_refund", "offer_alternative",
               "split_ship", "goodwill_credit", "assign_to_me"]

    def has_add_permission(self, request):
        return False  # exceptions are raised by the workflow, never typed in

    def has_delete_permission(self, request, obj=None):
        return False  # the queue is an audit trail

    # --- columns ---

    @admin.display(description="Due by", ordering="due_by")
    def due(self, obj):
        if obj.status in OPEN and obj.due_by < timezone.localdate():
            return format_html('<strong style="color:#ba2121">{} (overdue)</strong>', obj.due_by)
        if obj.status in OPEN and obj.due_by == timezone.localdate():
            return format_html('<strong style="color:#a15c00">{} (today)</strong>', obj.due_by)
        return obj.due_by

    @admin.display(description="Cause")
    def cause_short(self, obj):
        # The full cause (old → new date, PO, who) is on the change page and in the tooltip.
        if len(obj.cause) <= 60:
            return obj.cause
        return format_html('<span title="{}">{}…</span>', obj.cause, obj.cause[:58])

    @admin.display(description="Order", ordering="order__external_id")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.external_id)

    @admin.display(description="SKU", ordering="line__sku__code")
    def sku(self, obj):
        return obj.line.sku.code

    @admin.display(description="Customer", ordering="order__customer__email")
    def customer_email(self, obj):
        return obj.order.customer.email

    # --- summary above the list ---

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "queue_summary": self.queue_summary()}
        return super().changelist_view(request, extra_context=extra_context)

    @staticmethod
    def queue_summary() -> dict:
        """Open exceptions counted by kind and region, with the overdue ones, in one query."""
        today = timezone.localdate()
        rows = (OrderException.objects.filter(status__in=OPEN).values("kind", "region__code")
                .annotate(n=Count("id"), overdue=Count("id", filter=Q(due_by__lt=today)))
                .order_by())
        regions = ["US", "EU", "UK"]
        kinds = {k: {"label": label, "cells": dict.fromkeys(regions, 0), "total": 0, "overdue": 0}
                 for k, label in OrderException.Kind.choices}
        totals = {"cells": dict.fromkeys(regions, 0), "total": 0, "overdue": 0}
        for row in rows:
            entry = kinds[row["kind"]]
            code = row["region__code"]
            entry["cells"][code] = entry["cells"].get(code, 0) + row["n"]
            entry["total"] += row["n"]
            entry["overdue"] += row["overdue"]
            totals["cells"][code] = totals["cells"].get(code, 0) + row["n"]
            totals["total"] += row["n"]
            totals["overdue"] += row["overdue"]
        return {"regions": regions, "kinds": [
            {"kind": k, **v, "cells": [v["cells"][r] for r in regions]} for k, v in kinds.items()
            if v["total"]], "totals": {**totals, "cells": [totals["cells"][r] for r in regions]}}

    # --- actions ---
    # Each action declares who may run it (the role matrix in promises/roles.py decides):
    # working an exception needs its change permission; cancelling a line for a refund
    # also needs the right to record a cancellation.

    def has_cancel_refund_permission(self, request) -> bool:
        return request.user.has_perms(["promises.change_orderexception", "orders.add_cancellation"])

    def _confirmed_action(self, request, queryset, *, action: str, title: str, verb: str, run,
                          form_class=None, warning: str = ""):
        """Show a confirmation page (with a form); on confirm run `run(exc, data)` per row."""
        queryset = queryset.select_related("order", "line")
        form = None
        if "confirm" in request.POST:
            form = form_class(request.POST) if form_class else None
            if form is None or form.is_valid():
                data = form.cleaned_data if form else {}
                done = 0
                for exc in queryset:
                    try:
                        message = run(exc, data)
                    except (BusinessRefusal, InvalidInput) as refusal:
                        self.message_user(request, f"{exc}: {refusal}", messages.WARNING)
                        continue
                    done += 1
                    self.log_change(request, exc, f"{verb}: {message or ''}".strip(": "))
                if done:
                    self.message_user(request, f"{verb}: {done} exception(s).", messages.SUCCESS)
                return None
        elif form_class:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "title": title, "queryset": queryset, "form": form, "action": action, "verb": verb,
            "warning": warning, "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "notifications/admin/exception_action_confirm.html", context)

    @admin.action(description="Send delay notice now", permissions=["change"])
    def send_notice_now(self, request, queryset):
        def run(exc, data):
            state = workflow.exception_notice_send_now(exception=exc, user=request.user)
            return f"notice {state or 'queued'}"
        return self._confirmed_action(
            request, queryset, action="send_notice_now", title="Send the delay notice now",
            verb="Delay notice sent", run=run,
            warning="The customers get the delay notice for their current promise at once, "
                    "even where notices are held for review.")

    @admin.action(description="Record consent (e-mail reply, phone)", permissions=["change"])
    def record_consent(self, request, queryset):
        def run(exc, data):
            workflow.exception_consent_record(exception=exc, channel=data["channel"], user=request.user,
                                              note=data.get("note", ""))
            return f"consent by {data['channel']}"
        return self._confirmed_action(
            request, queryset, action="record_consent", title="Record the customer's consent",
            verb="Consent recorded", run=run, form_class=ConsentForm,
            warning="Only record consent the customer gave expressly to the current new date.")

    @admin.action(description="Cancel and refund", permissions=["cancel_refund"])
    def cancel_and_refund(self, request, queryset):
        def run(exc, data):
            cancellations = workflow.exception_cancel_refund(exception=exc, user=request.user,
                                                            note=data.get("note", ""),
                                                            decided_by=data["decided_by"])
            c = cancellations[0]
            return f"{c.amount} {c.currency} refund due by {c.refund_due_by}"
        return self._confirmed_action(
            request, queryset, action="cancel_and_refund", title="Cancel the lines for a refund",
            verb="Cancelled for a refund", run=run, form_class=CancelForm,
            warning="The open units of each line are cancelled, the refund deadline of the region "
                    "is recorded and the customer gets a cancellation and refund confirmation.")

    @admin.action(description="Offer an alternative SKU", permissions=["change"])
    def offer_alternative(self, request, queryset):
        def run(exc, data):
            workflow.exception_alternative_offer(exception=exc, sku_code=data["sku"], user=request.user,
                                                 note=data.get("note", ""))
            return f"offered {data['sku']}"
        return self._confirmed_action(
            request, queryset, action="offer_alternative", title="Offer an alternative SKU",
            verb="Alternative offered", run=run, form_class=AlternativeForm,
            warning="This records the offer in the notes; tell the customer yourself (nothing is sent).")

    @admin.action(description="Split-ship what is in stock", permissions=["change"])
    def split_ship(self, request, queryset):
        def run(exc, data):
            workflow.exception_split_ship(exception=exc, user=request.user, note=data.get("note", ""))
        return self._confirmed_action(
            request, queryset, action="split_ship", title="Split-ship what is in stock",
            verb="Split-ship requested", run=run, form_class=NoteForm,
            warning="This records the intent for the warehouse; the shipment itself is recorded "
                    "when the units leave.")

    @admin.action(description="Goodwill credit", permissions=["change"])
    def goodwill_credit(self, request, queryset):
        def run(exc, data):
            workflow.exception_goodwill_credit(exception=exc, amount=data["amount"], user=request.user,
                                               note=data.get("note", ""))
            return f"credit {data['amount']}"
        return self._confirmed_action(
            request, queryset, action="goodwill_credit", title="Grant a goodwill credit",
            verb="Goodwill credit recorded", run=run, form_class=CreditForm)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        def run(exc, data):
            workflow.exception_assign(exception=exc, user=request.user)
        return self._confirmed_action(
            request, queryset, action="assign_to_me", title="Assign to me", verb="Assigned", run=run)


@admin.register(DelayConsent)
class DelayConsentAdmin(admin.ModelAdmin):
    list_display = ("recorded_at", "line", "promise_version", "decision", "channel",
                    "revised_ship_date", "revised_delivery_date", "recorded_by")
    list_filter = ("decision", "channel", "line__order__region")
    list_select_related = ("line__order__channel", "line__sku", "recorded_by")
    search_fields = ("line__order__external_id", "line__order__customer__email", "line__sku__code")
    date_hierarchy = "recorded_at"
    raw_id_fields = ("line", "recorded_by")

    def has_add_permission(self, request):
        return False  # recorded by the consent page or the queue's "record consent" action

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
