"""Partner API keys in the admin: list, create (the key is shown once), expire, revoke."""

from django import forms
from django.contrib import admin, messages
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from api.models import PartnerKey, Scope
from api.services import keys_expire_now, keys_revoke

# The library's own key model is not used: partners use PartnerKey (scopes + channels).
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class PartnerKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do.")

    class Meta:
        model = PartnerKey
        fields = ["name", "channels", "scopes", "expiry_date", "revoked"]


@admin.register(PartnerKey)
class PartnerKeyAdmin(APIKeyModelAdmin):
    form = PartnerKeyForm
    list_display = ("prefix", "name", "scope_list", "channel_list", "created", "expiry_date",
                    "_has_expired", "revoked", "last_used_at")
    list_filter = ("revoked", "channels", "created")
    search_fields = ("name", "prefix")
    filter_horizontal = ("channels",)
    actions = ["expire_now", "revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("channels")

    def get_readonly_fields(self, request, obj=None):
        fields = (*super().get_readonly_fields(request, obj), "last_used_at")
        if obj is not None and obj.revoked:
            fields = (*fields, "scopes", "channels")
        return fields

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    @admin.display(description="channels")
    def channel_list(self, obj):
        return ", ".join(c.code for c in obj.channels.all())

    @admin.action(description="Expire the selected keys now", permissions=["change"])
    def expire_now(self, request, queryset):
        count = keys_expire_now(queryset)
        self.message_user(request, f"{count} key(s) expired.", messages.SUCCESS)

    @admin.action(description="Revoke the selected keys (cannot be undone)", permissions=["change"])
    def revoke(self, request, queryset):
        count = keys_revoke(queryset)
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)
