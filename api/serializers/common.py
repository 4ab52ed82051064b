"""Shapes shared by every endpoint: the error body."""

from rest_framework import serializers

from promises.labels import locale_normalize

#: Kinds of supply behind a promise, and the statuses of an availability answer.
SOURCE_KINDS = ["stock", "purchase_order"]
AVAILABILITY_STATUSES = ["in_stock", "backorder", "preorder", "unavailable"]


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, not_authenticated, permission_denied, "
        "not_found, method_not_allowed, not_acceptable, unsupported_media_type, too_large, "
        "throttled, server_error, or a business refusal such as no_supply or "
        "idempotency_conflict.")
    message = serializers.CharField(help_text="What went wrong, for a human.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(help_text="One reason.")),
        help_text='Reasons by field, e.g. {"lines[0].sku": ["unknown SKU \'X\'"]}; empty when '
        "the error is not about a field.")


class LocaleField(serializers.CharField):
    """A customer's locale: a language tag babel knows ("en_US", "de-DE", "it"), kept in its
    normal form ("de_DE"); blank for the region's. Anything else is refused, naming the field,
    before it can reach a stored row."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip()
        if not value:
            return ""
        normal = locale_normalize(value)
        if normal is None:
            raise serializers.ValidationError(
                f"unknown locale {value!r}: give a language tag such as en_US, de_DE or fr")
        return normal
