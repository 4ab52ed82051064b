"""Stock counts, purchase orders and receipts."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import PurchaseOrder, PurchaseOrderLine, StockLevel, Supplier

MAX_INT = 2_147_483_647


class StockWriteSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, help_text="Units physically on hand (a 3PL's count).")


class StockLevelSerializer(serializers.ModelSerializer):
    warehouse = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                             help_text="Warehouse code.")
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="SKU code.")
    on_hand = serializers.IntegerField(read_only=True, help_text="Units on hand.")
    updated_at = serializers.DateTimeField(read_only=True, help_text="Last change (with offset).")

    class Meta:
        model = StockLevel
        fields = ["warehouse", "sku", "on_hand", "updated_at"]


class POLineSerializer(serializers.ModelSerializer):
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="SKU code.")
    qty_ordered = serializers.IntegerField(read_only=True, help_text="Units ordered.")
    qty_received = serializers.IntegerField(read_only=True, help_text="Units received so far.")
    qty_open = serializers.IntegerField(read_only=True, help_text="Units still to arrive.")
    eta = serializers.DateField(read_only=True, allow_null=True,
                                help_text="This line's ETA override; null: the PO's ETA.")
    available_on = serializers.SerializerMethodField(
        help_text="Date the open units can be picked: effective ETA plus dock-to-stock days, "
                  "never before today in the destination warehouse.")

    class Meta:
        model = PurchaseOrderLine
        fields = ["sku", "qty_ordered", "qty_received", "qty_open", "eta", "available_on"]

    @extend_schema_field(OpenApiTypes.DATE)
    def get_available_on(self, line):
        return line.available_on(line.purchase_order)


class PurchaseOrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True, help_text="PO number, unique.")
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                            help_text="Supplier code.")
    warehouse = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                             help_text="Destination warehouse code.")
    status = serializers.ChoiceField(choices=PurchaseOrder.Status.choices, read_only=True,
                                     help_text="Draft POs are not supply.")
    eta = serializers.DateField(read_only=True, help_text="Expected arrival at the dock.")
    dock_to_stock_days = serializers.IntegerField(
        read_only=True, help_text="Calendar days from arrival until units can be picked.")
    lines = POLineSerializer(many=True, read_only=True, help_text="One line per SKU.")
    created_at = serializers.DateTimeField(read_only=True, help_text="Creation time.")
    updated_at = serializers.DateTimeField(read_only=True, help_text="Last change (with offset).")

    class Meta:
        model = PurchaseOrder
        fields = ["number", "supplier", "warehouse", "status", "eta", "dock_to_stock_days", "lines",
                  "created_at", "updated_at"]


class POLineWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40, help_text="SKU code.")
    qty_ordered = serializers.IntegerField(min_value=1, max_value=MAX_INT, help_text="Units ordered.")
    eta = serializers.DateField(required=False, allow_null=True,
                                help_text="ETA override for this line; absent or null: the PO's ETA.")


_NEW_STATUSES = [PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CONFIRMED,
                 PurchaseOrder.Status.IN_TRANSIT]
_PATCH_STATUSES = [*_NEW_STATUSES, PurchaseOrder.Status.CANCELLED]


class PurchaseOrderCreateSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="PO number, unique.")
    supplier = serializers.CharField(max_length=30, help_text="Supplier code.")
    warehouse = serializers.CharField(max_length=30, help_text="Destination warehouse code.")
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in _NEW_STATUSES], default=PurchaseOrder.Status.DRAFT,
        help_text="draft (not supply yet), confirmed or in_transit. Default: draft.")
    eta = serializers.DateField(help_text="Expected arrival at the dock.")
    dock_to_stock_days = serializers.IntegerField(
        min_value=0, max_value=365, default=1,
        help_text="Calendar days from arrival until units can be picked. Default: 1.")
    lines = POLineWriteSerializer(many=True, allow_empty=False, max_length=1000,
                                  help_text="One line per SKU.")


class PurchaseOrderPatchSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in _PATCH_STATUSES], required=False,
        help_text="New status; partially_received and received follow from receipts.")
    eta = serializers.DateField(required=False, help_text="New ETA of the whole PO.")
    dock_to_stock_days = serializers.IntegerField(
        required=False, min_value=0, max_value=365,
        help_text="Calendar days from arrival until units can be picked.")
    lines = POLineWriteSerializer(
        many=True, required=False, allow_empty=False, max_length=1000,
        help_text="Upsert by SKU: a listed SKU gets this quantity and ETA, a new SKU a new line; "
        "lines not listed stay as they are.")
    reason = serializers.CharField(
        required=False, allow_blank=False, max_length=200,
        help_text="Why the ETA or status moved, kept in the PO's ETA history. "
        "Default: \"Changed through the partner API (<key name>)\".")


class ReceiptLineWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40, help_text="SKU code of a line of the PO.")
    qty = serializers.IntegerField(min_value=1, max_value=MAX_INT, help_text="Units received.")


class ReceiptWriteSerializer(serializers.Serializer):
    purchase_order = serializers.CharField(max_length=40, help_text="PO number.")
    lines = ReceiptLineWriteSerializer(many=True, allow_empty=False, max_length=1000,
                                       help_text="Units received per SKU.")
    received_at = serializers.DateTimeField(
        required=False, help_text="When the units were received (with offset). Default: now.")
    reference = serializers.CharField(
        required=False, allow_blank=True, max_length=80, default="",
        help_text="Dock or ASN reference.")


class ReceiptLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Receipt id.")
    sku = serializers.CharField(source="po_line.sku.code", help_text="SKU code.")
    qty = serializers.IntegerField(help_text="Units received.")


class ReceiptSerializer(serializers.Serializer):
    purchase_order = serializers.CharField(help_text="PO number.")
    status = serializers.ChoiceField(choices=PurchaseOrder.Status.choices,
                                     help_text="The PO's status after the receipt.")
    received_at = serializers.DateTimeField(help_text="When the units were received.")
    reference = serializers.CharField(help_text="Dock or ASN reference.")
    lines = ReceiptLineSerializer(many=True, help_text="One receipt per SKU received.")


class SupplierSerializer(serializers.ModelSerializer):
    code = serializers.CharField(read_only=True, help_text="Supplier code, unique (a slug).")
    name = serializers.CharField(read_only=True, help_text="Supplier name.")
    email = serializers.CharField(read_only=True, help_text="Where purchase orders go (an e-mail address); may be empty.")
    country = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2 code; may be empty.")
    lead_time_days = serializers.IntegerField(
        read_only=True, help_text="Days from order to arrival, the fallback when no PO covers demand.")

    class Meta:
        model = Supplier
        fields = ["code", "name", "email", "country", "lead_time_days"]


class SupplierWriteSerializer(serializers.Serializer):
    """A supplier to create or change: name is required; other fields keep their value when absent."""

    name = serializers.CharField(max_length=120, help_text="Supplier name.")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True,
                                   help_text="Where purchase orders go. Default on creation: empty.")
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, allow_blank=True,
        error_messages={"invalid": "two letters, an ISO 3166-1 alpha-2 code such as CN or PT"},
        help_text="ISO 3166-1 alpha-2 code. Default on creation: empty.")
    lead_time_days = serializers.IntegerField(
        required=False, min_value=0, max_value=32767,
        help_text="Days from order to arrival. Default on creation: 45.")
