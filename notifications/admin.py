"""The outbox in the admin: what was sent to whom, what failed, what waits for review."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from notifications import services
from notifications.models import Notice

Status = Notice.Status
STATUS_COLOURS = {Status.SENT: "#2e7d32", Status.FAILED: "#ba2121", Status.SENDING: "#a15c00",
                  Status.HELD: "#1f4e79", Status.SUPERSEDED: "#777777", Status.PENDING: "#333333"}


class StuckFilter(admin.SimpleListFilter):
    title = "needs an agent"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("stuck", "Stuck in sending (may have gone out)"), ("gave_up", "Failed, no retry left"),
                ("held", "Held for review")]

    def queryset(self, request, queryset):
        if self.value() == "stuck":
            return queryset.filter(pk__in=services.notices_stuck().values("pk"))
        if self.value() == "gave_up":
            return queryset.filter(status=Status.FAILED, next_attempt_at__isnull=True)
        if self.value() == "held":
            return queryset.filter(status=Status.HELD)
        return queryset


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    # Fits 1440 px beside the menu and the filters: delivery (sent, or the next attempt and
    # how many so far) is one column, the last error shows on the status; the region is a
    # filter; the line, the idempotency key and the full error are on the change page.
    list_display = ("created", "kind", "status_badge", "recipient", "order_link", "delivery")
    list_display_links = ("created", "kind")
    list_filter = (StuckFilter, "status", "kind", "region", "locale")
    list_select_related = ("order",)
    search_fields = ("email", "order__external_id", "idempotency_key", "message_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["send_now", "retry", "mark_sent", "resend_stuck"]
    readonly_fields = [f.name for f in Notice._meta.fields] + ["html_preview"]
    fieldsets = (
        (None, {"fields": ("kind", "status", "email", "locale", "region", "order", "line", "subject",
                           "held_reason")}),
        ("Delivery", {"fields": ("attempts", "last_error", "next_attempt_at", "claim_token", "claimed_at",
                                 "sent_at", "message_id", "released_by", "idempotency_key")}),
        ("Content", {"fields": ("body_text", "html_preview", "promise_version", "announced", "context")}),
        ("Times", {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request):
        return False  # notices are written by their cause, never by hand

    def has_change_permission(self, request, obj=None):
        return False  # read-only: actions change the state, through services

    def has_delete_permission(self, request, obj=None):
        return False

    def has_send_permission(self, request) -> bool:
        """Who may send, retry or settle a notice: the role matrix's change permission
        (the form stays read-only for everyone)."""
        return request.user.has_perm("notifications.change_notice")

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return f"{timezone.localtime(obj.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colour = STATUS_COLOURS.get(obj.status, "#333")
        if obj.last_error:
            return format_html('<strong style="color:{}" title="{}">{} ⚠</strong>', colour,
                               obj.last_error[:300], obj.get_status_display())
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="To", ordering="email")
    def recipient(self, obj):
        if len(obj.email) <= 26:
            return obj.email
        return format_html('<span title="{}">{}…</span>', obj.email, obj.email[:25])

    @admin.display(description="Order", ordering="order__external_id")
    def order_link(self, obj):
        return obj.order.external_id

    @admin.display(description="Delivery", ordering="sent_at")
    def delivery(self, obj):
        if obj.sent_at:
            return f"sent {obj.sent_at:%Y-%m-%d %H:%M}"
        tries = f"{obj.attempts} tr{'y' if obj.attempts == 1 else 'ies'}" if obj.attempts else ""
        if obj.next_attempt_at:
            return f"next {obj.next_attempt_at:%Y-%m-%d %H:%M}" + (f" ({tries})" if tries else "")
        return tries or "—"

    @admin.display(description="HTML")
    def html_preview(self, obj):
        """The whole e-mail as the customer sees it, in a sandboxed frame (no scripts, no
        forms); the change form's script grows it to its content's height once loaded
        (templates/admin/notifications/notice/change_form.html)."""
        if not obj.body_html:
            return "— (rendered when it is sent)"
        return format_html(
            '<iframe class="notice-preview" sandbox="allow-same-origin" srcdoc="{}" title="The e-mail"'
            ' style="width:100%;min-width:640px;max-width:900px;height:480px;border:1px solid #ccc">'
            "</iframe>", obj.body_html)

    def _each(self, request, queryset, service, verb):
        done = 0
        for notice in queryset:
            if service(notice=notice, user=request.user, now=timezone.now()):
                done += 1
                self.log_change(request, notice, verb)
        skipped = len(queryset) - done
        self.message_user(request, f"{verb}: {done} notice(s)" + (f"; {skipped} skipped (wrong status)"
                                                                  if skipped else ""),
                          messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Send now (held, pending or failed)", permissions=["send"])
    def send_now(self, request, queryset):
        self._each(request, queryset.filter(status__in=[Status.HELD, Status.PENDING, Status.FAILED]),
                   services.notice_release, "Released for sending")

    @admin.action(description="Retry failed", permissions=["send"])
    def retry(self, request, queryset):
        self._each(request, queryset.filter(status=Status.FAILED), services.notice_release, "Retried")

    @admin.action(description="Mark stuck as sent (checked the mail log)", permissions=["send"])
    def mark_sent(self, request, queryset):
        self._each(request, queryset.filter(status=Status.SENDING), services.notice_stuck_mark_sent,
                   "Marked as sent")

    @admin.action(description="Resend stuck (same Message-ID; may duplicate)", permissions=["send"])
    def resend_stuck(self, request, queryset):
        self._each(request, queryset.filter(status=Status.SENDING), services.notice_stuck_resend,
                   "Queued again")
