"""The exception queue customer-service agents live in, and the consents they record.

Sorted by due-by (the legal deadline), overdue rows in red, open counts by kind and region
above the list. Every action asks for confirmation on an intermediate page, calls one
workflow.services service, and leaves an audit trail: the exception's history
(simple_history), an admin log entry and a message.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_views import ReadOnlyAdmin
from core.errors import BusinessRefusal, InvalidInput
from promises.models import DelayConsent, OrderException
from workflow import services as workflow
from workflow.exceptions_store import Kind
from workflow.models import ExceptionEvent
from workflow.policies import POLICIES
from workflow.regional import region_today
from workflow.workitem import due_q, due_state, kind_label, region_todays, work_item

OPEN = OrderException.OPEN_STATUSES


def exception_workers():
    """The active staff users an exception may be assigned to: those who may work the queue."""
    perm = Q(codename="change_orderexception", content_type__app_label="promises")
    perm_ids = list(Permission.objects.filter(perm).values_list("pk", flat=True))
    return (get_user_model().objects.filter(is_active=True, is_staff=True)
            .filter(Q(is_superuser=True) | Q(groups__permissions__in=perm_ids) | Q(user_permissions__in=perm_ids))
            .distinct().order_by("username"))


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("today", "Due today"), ("week", "Due within 7 days")]

    def queryset(self, request, queryset):
        # Each exception's deadline is a date in its region: compare with that region's today.
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(due_q(now, "lt"), status__in=OPEN)
        if self.value() == "today":
            return queryset.filter(due_q(now, "exact"), status__in=OPEN)
        if self.value() == "week":
            week = {r: d + timedelta(days=7) for r, d in region_todays(now).items()}
            return queryset.filter(due_q(now, "lte", todays=week), status__in=OPEN)
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


class RequiredNoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                           help_text="What the customer said, what was agreed, what you did.")


class CreditForm(NoteForm):
    amount = forms.DecimalField(min_value=0.01, max_digits=10, decimal_places=2,
                                help_text="In the order's currency.")
    field_order = ["amount", "note"]


# --- Admin -----------------------------------------------------------------------------------


@admin.register(OrderException)
class OrderExceptionAdmin(SimpleHistoryAdmin):
    # Fits 1440 px beside the menu and the filters: the order and SKU share a column; the
    # customer, the channel and the full cause are on the change page (the search finds a
    # customer's e-mail); the kind and due-by open it.
    list_display = ("due", "kind_label", "status", "order_sku", "region", "notice_state", "cancel_on",
                    "owner")
    list_display_links = ("due", "kind_label")
    list_filter = (DueFilter, QueueStatusFilter, "kind", "region", "channel", AssignedFilter)
    list_select_related = ("order", "line__sku", "region", "owner")
    search_fields = ("order__external_id", "order__customer__email", "line__sku__code")
    ordering = ("due_by", "id")
    show_full_result_count = False
    list_per_page = 50
    raw_id_fields = ("line", "order")
    change_list_template = "notifications/admin/exception_queue.html"
    change_form_template = "admin/promises/orderexception/change_form.html"
    readonly_fields = ("kind", "line", "order", "region", "channel", "due_by", "cause", "opened_at",
                       "resolved_at", "resolution", "promise_version", "notice_kind", "promised_date",
                       "revised_date", "cancel_on", "express_consent_required", "citations",
                       "notice_state", "notice_due_by", "notified_at", "updated_at")
    fieldsets = (
        ("Who works it", {"fields": ("status", "owner")}),
        ("Line", {"fields": ("kind", "due_by", "order", "line", "region", "channel"),
                  "classes": ("collapse",)}),
        ("What the regional policy decided", {"fields": (
            "promise_version", "notice_kind", "promised_date", "revised_date", "cancel_on",
            "express_consent_required", "citations", "notice_state", "notice_due_by", "notified_at"),
            "classes": ("collapse",)}),
        ("Resolution", {"fields": ("resolution", "opened_at", "resolved_at", "updated_at"),
                        "classes": ("collapse",)}),
    )
    actions = ["send_notice_now", "record_consent", "cancel_and_refund", "offer_alternative",
               "split_ship", "goodwill_credit", "add_note", "assign_to_me"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            # A plain choice of the people who work the queue: the user list is not every
            # role's to browse.
            kwargs["queryset"] = exception_workers()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False  # exceptions are raised by the workflow, never typed in

    def has_delete_permission(self, request, obj=None):
        return False  # the queue is an audit trail

    # --- columns ---

    @admin.display(description="Due by", ordering="due_by")
    def due(self, obj):
        state = due_state(obj, region_today(obj.region, timezone.now()))
        if state == "overdue":
            return format_html('<strong style="color:#ba2121">{} (overdue)</strong>', obj.due_by)
        if state == "today":
            return format_html('<strong style="color:#a15c00">{} (today)</strong>', obj.due_by)
        return obj.due_by

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, obj):
        return kind_label(obj, region_today(obj.region, timezone.now()))

    @admin.display(description="Order · SKU", ordering="order__external_id")
    def order_sku(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a> · {}', url, obj.order.external_id, obj.line.sku.code)

    # --- the change page: the exception as a work item ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        exc = (OrderException.objects.select_related(
            "order__region", "order__customer", "line__sku", "line__promise", "owner", "region")
            .filter(pk=object_id).first())
        if exc is not None:
            actions = self.get_actions(request)
            extra_context = {
                **(extra_context or {}),
                "work_item": work_item(exc, now=timezone.now()),
                "exception": exc,
                # A resolved exception takes notes only; an open one every action the user may run.
                "buttons": [(name, description) for name, (_f, _n, description) in actions.items()
                            if name != "delete_selected" and (exc.status in OPEN or name == "add_note")],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def response_action(self, request, queryset):
        """Actions started from an exception's page come back to that page when done."""
        response = super().response_action(request, queryset)
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if (request.POST.get("_work_item") and len(selected) == 1 and response is not None
                and response.status_code == 302):
            return HttpResponseRedirect(reverse("admin:promises_orderexception_change", args=[selected[0]]))
        return response

    # --- summary above the list ---

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "queue_summary": self.queue_summary()}
        return super().changelist_view(request, extra_context=extra_context)

    @staticmethod
    def queue_summary() -> dict:
        """Open exceptions counted by kind and region, with the overdue ones (each region's own
        today), in two queries."""
        rows = (OrderException.objects.filter(status__in=OPEN).values("kind", "region__code")
                .annotate(n=Count("id"), overdue=Count("id", filter=due_q(timezone.now(), "lt")))
                .order_by())
        regions = list(POLICIES)
        kinds = {k: {"label": "Consent awaited or overdue" if k == Kind.CONSENT_OVERDUE else label,
                     "cells": dict.fromkeys(regions, 0), "total": 0, "overdue": 0}
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
            "work_item_return": bool(request.POST.get("_work_item")),
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

    @admin.action(description="Add a note", permissions=["change"])
    def add_note(self, request, queryset):
        def run(exc, data):
            workflow.exception_note_add(exception=exc, note=data["note"], user=request.user)
            return "note added"
        return self._confirmed_action(
            request, queryset, action="add_note", title="Add a note", verb="Note added", run=run,
            form_class=RequiredNoteForm)

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


@admin.register(ExceptionEvent)
class ExceptionEventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """What agents did on exceptions, read-only: each action and note as a row of its own."""

    list_display = ("at", "action", "exception", "order", "user", "text")
    list_display_links = ("at", "action")
    list_filter = ("action", ("user", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("exception", "order__channel", "user")
    search_fields = ("order__external_id", "text", "note")
    date_hierarchy = "at"
