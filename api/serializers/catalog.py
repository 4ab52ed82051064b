"""SKUs: what a partner reads, and what it may upsert."""

from rest_framework import serializers

from inventory.models import SKU


class SKUSerializer(serializers.ModelSerializer):
    code = serializers.CharField(read_only=True, help_text="The SKU code, unique.")
    name = serializers.CharField(read_only=True, help_text="Product name.")
    backorder_allowed = serializers.BooleanField(
        read_only=True, help_text="May be sold when out of stock (on backorder).")
    preorder = serializers.BooleanField(
        read_only=True, help_text="Not yet released: sold as a pre-order.")
    release_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="Release date of a pre-order item, if known.")
    sell_beyond_supply = serializers.BooleanField(
        read_only=True, help_text="May be sold beyond stock and open purchase orders, with an "
        "unconfirmed lead-time estimate.")
    safety_stock = serializers.IntegerField(
        read_only=True, help_text="Units kept back from sale in each warehouse.")
    lead_time_days = serializers.IntegerField(
        read_only=True, help_text="Fallback supplier lead time (days) when no PO covers demand.")
    supplier = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Supplier code, if any.")
    active = serializers.BooleanField(read_only=True, help_text="Inactive SKUs cannot be ordered.")
    updated_at = serializers.DateTimeField(read_only=True, help_text="Last change (with offset).")

    class Meta:
        model = SKU
        fields = ["code", "name", "backorder_allowed", "preorder", "release_date",
                  "sell_beyond_supply", "safety_stock", "lead_time_days", "supplier", "active",
                  "updated_at"]


class SKUWriteSerializer(serializers.Serializer):
    """A SKU to create or change: name is required; other fields keep their value when absent."""

    name = serializers.CharField(max_length=200, help_text="Product name.")
    backorder_allowed = serializers.BooleanField(
        required=False, help_text="May be sold when out of stock. Default on creation: true.")
    preorder = serializers.BooleanField(
        required=False, help_text="Not yet released. Default on creation: false.")
    sell_beyond_supply = serializers.BooleanField(
        required=False, help_text="May be sold beyond confirmed supply. Default on creation: false.")
    safety_stock = serializers.IntegerField(
        required=False, min_value=0, max_value=2_147_483_647,
        help_text="Units kept back in each warehouse. Default on creation: 0.")
    lead_time_days = serializers.IntegerField(
        required=False, min_value=0, max_value=32767,
        help_text="Fallback supplier lead time in days. Default on creation: 45.")
