"""Availability answers, the promise-change feed and the exception queue."""

from rest_framework import serializers

from api.serializers.common import AVAILABILITY_STATUSES, SOURCE_KINDS, LocaleField
from inventory.models import Region
from promises.models import OrderException, PromiseChange


class AvailabilityQuerySerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40, help_text="SKU code.")
    channel = serializers.CharField(max_length=40, help_text="Channel code; one of the key's.")
    region = serializers.ChoiceField(
        choices=Region.Code.choices, required=False,
        help_text="US, EU or UK. Default: the channel's region.")
    qty = serializers.IntegerField(min_value=1, max_value=100_000, default=1,
                                   help_text="Units wanted. Default: 1.")
    locale = LocaleField(help_text="Language of the label, e.g. en_US, de_DE. Default: the region's.")


class AvailabilitySourceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SOURCE_KINDS,
                                   help_text="Where the units would come from.")
    reference = serializers.CharField(
        allow_blank=True, help_text="The purchase order number; for stock on hand, the warehouse's code.")
    qty = serializers.IntegerField(help_text="Units from this source.")
    available_on = serializers.DateField(allow_null=True,
                                         help_text="When they can be picked; null for stock.")


class AvailabilitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=AVAILABILITY_STATUSES,
        help_text="in_stock, backorder, preorder or unavailable.")
    can_order = serializers.BooleanField(help_text="An order for this quantity would be accepted now.")
    ship_date = serializers.DateField(allow_null=True,
                                      help_text="Ship date it would be promised; null if refused.")
    delivery_from = serializers.DateField(allow_null=True, help_text="Earliest delivery date.")
    delivery_to = serializers.DateField(allow_null=True, help_text="Latest delivery date.")
    confirmed = serializers.BooleanField(
        help_text="Covered by stock or confirmed POs; false: a lead-time estimate.")
    label = serializers.CharField(help_text="Customer-facing label, localised for the region.")
    reason = serializers.CharField(
        allow_blank=True, help_text="Empty when can_order; else backorder_not_allowed, "
        "cap_exceeded:<cap id>, beyond_horizon, no_supply or unknown_sku.")
    sources = AvailabilitySourceSerializer(many=True, help_text="The supply it would take.")


def availability_json(answer) -> dict:
    """An Availability as AvailabilitySerializer writes it (the schema's shape), built
    directly: a storefront asks on every product page, and DRF copies a serializer's
    fields each time it builds one. tests/api/test_promises.py proves they agree."""
    return {
        "status": answer.status, "can_order": answer.can_order, "ship_date": _iso(answer.ship_date),
        "delivery_from": _iso(answer.delivery_from), "delivery_to": _iso(answer.delivery_to),
        "confirmed": answer.confirmed, "label": answer.label, "reason": answer.reason,
        "sources": [{"kind": s["kind"], "reference": s["reference"], "qty": s["qty"],
                     "available_on": _iso(s["available_on"])} for s in answer.sources],
    }


def _iso(value):
    return None if value is None else value.isoformat()


class PromiseChangeSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Feed entry id (increasing).")
    order = serializers.IntegerField(source="order_id", read_only=True, help_text="Order id.")
    external_id = serializers.CharField(source="order.external_id", read_only=True,
                                        help_text="The channel's order number.")
    channel = serializers.CharField(source="order.channel.code", read_only=True,
                                    help_text="Channel code.")
    line = serializers.IntegerField(source="line_id", read_only=True, help_text="Order line id.")
    old_ship_date = serializers.DateField(read_only=True, allow_null=True,
                                          help_text="Ship date before; null for a first promise.")
    new_ship_date = serializers.DateField(read_only=True, help_text="Ship date now.")
    old_confirmed = serializers.BooleanField(read_only=True, allow_null=True,
                                             help_text="Was the old date backed by supply?")
    new_confirmed = serializers.BooleanField(read_only=True,
                                             help_text="Is the new date backed by supply?")
    cause = serializers.ChoiceField(choices=PromiseChange.Cause.choices, read_only=True,
                                    help_text="What moved the promise.")
    at = serializers.DateTimeField(read_only=True, help_text="When it moved (with offset).")

    class Meta:
        model = PromiseChange
        fields = ["id", "order", "external_id", "channel", "line", "old_ship_date",
                  "new_ship_date", "old_confirmed", "new_confirmed", "cause", "at"]


class OrderExceptionSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Exception id.")
    kind = serializers.ChoiceField(choices=OrderException.Kind.choices, read_only=True,
                                   help_text="What needs attention.")
    status = serializers.ChoiceField(choices=OrderException.Status.choices, read_only=True,
                                     help_text="open, in_progress or resolved.")
    region = serializers.ChoiceField(source="region.code", choices=Region.Code.choices,
                                     read_only=True, help_text="Region code.")
    channel = serializers.CharField(source="channel.code", read_only=True, help_text="Channel code.")
    order = serializers.IntegerField(source="order_id", read_only=True, help_text="Order id.")
    external_id = serializers.CharField(source="order.external_id", read_only=True,
                                        help_text="The channel's order number.")
    line = serializers.IntegerField(source="line_id", read_only=True, help_text="Order line id.")
    due_by = serializers.DateField(read_only=True,
                                   help_text="Legal (or product) deadline for acting on it.")
    cause = serializers.CharField(read_only=True, help_text="What raised it.")
    resolution = serializers.CharField(read_only=True, help_text="How it was resolved, if it was.")
    opened_at = serializers.DateTimeField(read_only=True, help_text="When it was raised.")
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                            help_text="When it was resolved; null: still open.")
    updated_at = serializers.DateTimeField(read_only=True, help_text="Last change.")

    class Meta:
        model = OrderException
        fields = ["id", "kind", "status", "region", "channel", "order", "external_id", "line",
                  "due_by", "cause", "resolution", "opened_at", "resolved_at", "updated_at"]
