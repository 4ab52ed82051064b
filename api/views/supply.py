"""Stock counts, purchase orders and receipts (not channel-scoped: supply is shared)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.filters import PurchaseOrderFilter
from api.models import Scope
from api.selectors import purchase_orders_all
from api.serializers.supply import (
    PurchaseOrderCreateSerializer,
    PurchaseOrderPatchSerializer,
    PurchaseOrderSerializer,
    ReceiptSerializer,
    ReceiptWriteSerializer,
    StockLevelSerializer,
    StockWriteSerializer,
    SupplierSerializer,
    SupplierWriteSerializer,
)
from api.views.base import PartnerListView, PartnerView, errors
from inventory.models import Supplier
from inventory.services import (
    POLineInput,
    po_create,
    po_update,
    receipt_record,
    stock_set,
    supplier_upsert,
)

NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="PO number.")


def _po_lines(lines):
    return [POLineInput(sku=ln["sku"], qty_ordered=ln["qty_ordered"], eta=ln.get("eta"))
            for ln in lines]


class StockView(PartnerView):
    scopes = {"PUT": Scope.SUPPLY_WRITE}
    serializer_class = StockLevelSerializer

    @extend_schema(
        tags=["supply"], operation_id="stock_set", summary="Set a stock count",
        description="Sets the units on hand of a SKU in a warehouse (a 3PL's count); the "
        "SKU's promises there are recomputed.",
        parameters=[OpenApiParameter("warehouse", str, OpenApiParameter.PATH,
                                     description="Warehouse code."),
                    OpenApiParameter("sku", str, OpenApiParameter.PATH, description="SKU code.")],
        request=StockWriteSerializer,
        responses={200: StockLevelSerializer, **errors(400, 404)})
    def put(self, request, warehouse, sku):
        data = self.input(StockWriteSerializer, request.data)
        stock = stock_set(warehouse_code=warehouse, sku_code=sku, on_hand=data["on_hand"])
        stock = type(stock).objects.select_related("sku", "warehouse").get(pk=stock.pk)
        return Response(StockLevelSerializer(stock).data)


class PurchaseOrderListView(PartnerListView):
    scopes = {"GET": Scope.SUPPLY_READ, "POST": Scope.SUPPLY_WRITE}
    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter

    def get_queryset(self):
        return purchase_orders_all()

    @extend_schema(tags=["supply"], operation_id="purchase_orders_list",
                   summary="List purchase orders",
                   description="POs with their lines, ordered by (updated_at, id).",
                   responses={200: PurchaseOrderSerializer(many=True), **errors(400)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["supply"], operation_id="purchase_orders_create",
                   summary="Create a purchase order",
                   description="Confirmed and in-transit POs count as supply at once.",
                   request=PurchaseOrderCreateSerializer,
                   responses={201: PurchaseOrderSerializer, **errors(400)})
    def post(self, request):
        data = self.input(PurchaseOrderCreateSerializer, request.data)
        po = po_create(number=data["number"], supplier=data["supplier"], warehouse=data["warehouse"],
                       status=data["status"], eta=data["eta"],
                       dock_to_stock_days=data["dock_to_stock_days"], lines=_po_lines(data["lines"]))
        po = purchase_orders_all().get(pk=po.pk)
        return Response(PurchaseOrderSerializer(po).data, status=status.HTTP_201_CREATED)


class PurchaseOrderDetailView(PartnerView):
    scopes = {"GET": Scope.SUPPLY_READ, "PATCH": Scope.SUPPLY_WRITE}
    serializer_class = PurchaseOrderSerializer

    @extend_schema(tags=["supply"], operation_id="purchase_orders_retrieve",
                   summary="Read a purchase order", parameters=[NUMBER],
                   description="A purchase order with its lines.",
                   responses={200: PurchaseOrderSerializer, **errors(404)})
    def get(self, request, number):
        po = get_object_or_404(purchase_orders_all(), number=number)
        return Response(PurchaseOrderSerializer(po).data)

    @extend_schema(tags=["supply"], operation_id="purchase_orders_update",
                   summary="Change a purchase order",
                   description="Any of status, eta, dock_to_stock_days, lines (upserted by SKU). "
                   "Every change is kept in the PO's history; the pools touched are re-promised. "
                   "A received or cancelled PO answers 409 `po_closed`.",
                   parameters=[NUMBER], request=PurchaseOrderPatchSerializer,
                   responses={200: PurchaseOrderSerializer, **errors(400, 404, 409)})
    def patch(self, request, number):
        data = self.input(PurchaseOrderPatchSerializer, request.data)
        po = get_object_or_404(purchase_orders_all(), number=number)
        po_update(po=po, status=data.get("status"), eta=data.get("eta"),
                  dock_to_stock_days=data.get("dock_to_stock_days"),
                  lines=_po_lines(data["lines"]) if "lines" in data else None,
                  reason=data.get("reason") or f"Changed through the partner API ({self.partner.name})")
        po = purchase_orders_all().get(pk=po.pk)
        return Response(PurchaseOrderSerializer(po).data)


class ReceiptView(PartnerView):
    scopes = {"POST": Scope.FULFILMENT_WRITE}
    serializer_class = ReceiptSerializer

    @extend_schema(
        tags=["supply"], operation_id="receipts_create", summary="Record a receipt",
        description="Units received on a PO become stock on hand and release waiting "
        "backorders first. Over-receipt is 400; a draft or cancelled PO is 409 "
        "`po_not_receivable`.",
        request=ReceiptWriteSerializer,
        responses={201: ReceiptSerializer, **errors(400, 409)})
    def post(self, request):
        data = self.input(ReceiptWriteSerializer, request.data)
        receipts = receipt_record(
            po_number=data["purchase_order"],
            lines=[(ln["sku"], ln["qty"]) for ln in data["lines"]],
            received_at=data.get("received_at"), reference=data["reference"])
        po = receipts[0].po_line.purchase_order
        po.refresh_from_db(fields=["status"])
        body = {"purchase_order": po.number, "status": po.status,
                "received_at": receipts[0].received_at, "reference": data["reference"],
                "lines": receipts}
        return Response(ReceiptSerializer(body).data, status=status.HTTP_201_CREATED)


SUPPLIER = OpenApiParameter("code", str, OpenApiParameter.PATH, description="Supplier code.")


class SupplierDetailView(PartnerView):
    scopes = {"GET": Scope.SUPPLY_READ, "PUT": Scope.SUPPLY_WRITE}
    serializer_class = SupplierSerializer

    @extend_schema(tags=["supply"], operation_id="suppliers_retrieve", summary="Read a supplier",
                   parameters=[SUPPLIER], responses={200: SupplierSerializer, **errors(404)})
    def get(self, request, code):
        return Response(SupplierSerializer(get_object_or_404(Supplier, code=code)).data)

    @extend_schema(tags=["supply"], operation_id="suppliers_upsert", summary="Create or change a supplier",
                   description="Creates the supplier (201) or changes the fields given (200); a "
                   "purchase order may then name it. Fields left out keep their value, or the "
                   "default on creation.",
                   parameters=[SUPPLIER], request=SupplierWriteSerializer,
                   responses={200: SupplierSerializer, 201: SupplierSerializer, **errors(400, 404)})
    def put(self, request, code):
        data = self.input(SupplierWriteSerializer, request.data)
        supplier, created = supplier_upsert(code=code, **data)
        return Response(SupplierSerializer(supplier).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
