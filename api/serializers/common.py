"""Shapes shared by every endpoint: the error body."""

from rest_framework import serializers

#: Kinds of supply behind a promise, and the statuses of an availability answer.
SOURCE_KINDS = ["stock", "purchase_order"]
AVAILABILITY_STATUSES = ["in_stock", "backorder", "preorder", "unavailable"]


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, not_authenticated, permission_denied, "
        "not_found, method_not_allowed, throttled, or a business refusal such as no_supply.")
    message = serializers.CharField(help_text="What went wrong, for a human.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(help_text="One reason.")),
        help_text='Reasons by field, e.g. {"lines[0].sku": ["unknown SKU \'X\'"]}; empty when '
        "the error is not about a field.")
