"""Orders of the key's channels: intake, reads, cancellation, shipments."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.filters import OrderFilter, filters_named
from api.models import Scope
from api.pagination import KeysetPagination
from api.selectors import (
    ORDER_CURSOR,
    order_row_visible,
    order_rows_of_channels,
    order_visible_get,
    orders_visible,
)
from api.serializers.orders import (
    CancelWriteSerializer,
    OrderSerializer,
    OrderWriteSerializer,
    ShipmentSerializer,
    ShipmentWriteSerializer,
    order_rows,
    orders_from_rows,
)
from api.services import order_cancel_by_partner, shipment_record_by_partner
from api.views.base import PartnerListView, PartnerView, errors
from orders.models import Order
from promises.intake import CustomerInput, LineInput, OrderInput, order_place

ORDER_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Order id.")

ORDER_EXAMPLE = {
    "external_id": "SHOP-1001",
    "channel": "shopify-us",
    "region": "US",
    "currency": "USD",
    "placed_at": "2026-11-23T15:04:05Z",
    "customer": {"email": "ada@example.com", "name": "Ada Adams", "locale": "en_US"},
    "lines": [{"sku": "TEE-BLA-XS", "qty": 2, "unit_price": "19.00"}],
}
ORDER_RESPONSE_EXAMPLE = {
    "id": 3001, "external_id": "SHOP-1001", "channel": "shopify-us", "region": "US",
    "status": "open", "currency": "USD", "placed_at": "2026-11-23T15:04:05Z",
    "paid_amount": "38.00", "shipping_amount": "0.00", "essential_date": False,
    "customer": {"email": "ada@example.com", "name": "Ada Adams", "locale": "en_US"},
    "lines": [{
        "id": 9001, "sku": "TEE-BLA-XS", "warehouse": "US-EAST", "qty": 2, "qty_shipped": 0,
        "qty_cancelled": 0, "unit_price": "19.00", "status": "backordered",
        "promise": {
            "ship_date": "2026-12-14", "delivery_from": "2026-12-16", "delivery_to": "2026-12-18",
            "confirmed": True, "label": "Backorder — next batch ships Dec 14",
            "sources": [
                {"kind": "stock", "reference": "US-EAST", "qty": 1, "available_on": None},
                {"kind": "purchase_order", "reference": "PO-2026-0001", "qty": 1,
                 "available_on": "2026-12-11"},
            ],
        },
    }],
    "cancellations": [],
    "created_at": "2026-11-23T15:04:06Z", "updated_at": "2026-11-23T15:04:06Z",
}


def visible_order_or_404(partner, order_id):
    order = order_visible_get(partner, order_id)
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _order_input(data) -> OrderInput:
    return OrderInput(
        external_id=data["external_id"], channel=data["channel"], region=data["region"],
        currency=data["currency"],
        customer=CustomerInput(**data["customer"]),
        lines=tuple(LineInput(sku=ln["sku"], qty=ln["qty"], unit_price=ln["unit_price"])
                    for ln in data["lines"]),
        placed_at=data.get("placed_at"), essential_date=data["essential_date"],
        buyer_applied_for_credit=data.get("buyer_applied_for_credit", False),
        strategy=data["strategy"], paid_amount=data.get("paid_amount"),
        **({"shipping_amount": data["shipping_amount"]} if "shipping_amount" in data else {}),
    )


class OrderRowPagination(KeysetPagination):
    """Keyset pages of values() rows: a row's position is read from its cursor columns."""

    def _position(self, row):
        return tuple(row[f] for f in self.fields)


class OrderListView(PartnerListView):
    scopes = {"GET": Scope.ORDERS_READ, "POST": Scope.ORDERS_WRITE}
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = OrderRowPagination
    cursor_ordering = ORDER_CURSOR

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return Order.objects.none()
        return orders_visible(self.partner)

    @extend_schema(
        tags=["orders"], operation_id="orders_list", summary="List orders",
        description="Orders of the key's channels with lines and promises, ordered by "
        "(updated_at, id). An order's updated_at moves when its lines or promises change, so "
        "`updated_since` plus the cursor is a complete sync (see docs/api.md).",
        responses={200: OrderSerializer(many=True), **errors(400)})
    def get(self, request, *args, **kwargs):
        # Rows, not instances: OrderSerializer's representation built by orders_from_rows.
        if filters_named(request, self.filterset_class):
            queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
            rows = self.paginate_queryset(order_rows(queryset, *self.cursor_ordering))
        else:  # a pull by cursor alone: the page's SQL is compiled once, not built per page
            rows = self.paginator.paginate_build(order_rows_of_channels, request, self, Order,
                                                 channel_ids=sorted(self.partner.channel_ids))
        return self.get_paginated_response(orders_from_rows(rows))

    @extend_schema(
        tags=["orders"], operation_id="orders_create", summary="Place an order",
        description="Places the order atomically: every line is promised or nothing is "
        "written. Posting the same (channel, external_id) again with the same body answers 200 "
        "with the first order and writes nothing; with a different body it is 409 "
        "idempotency_conflict. A channel the key does not hold is 404. Refusals are 409 "
        "with code backorder_not_allowed, cap_exceeded, beyond_horizon, no_supply, "
        "unknown_sku or idempotency_conflict. The customer shown is the one this channel "
        "sent; customers are kept per channel.",
        request=OrderWriteSerializer,
        responses={
            201: OpenApiResponse(OrderSerializer, description="Placed."),
            200: OpenApiResponse(OrderSerializer, description="Already placed: the first order."),
            **errors(400, 404, 409),
        },
        examples=[
            OpenApiExample("A backorder", value=ORDER_EXAMPLE, request_only=True),
            OpenApiExample("Placed", value=ORDER_RESPONSE_EXAMPLE, response_only=True,
                           status_codes=["201"]),
            OpenApiExample("Refused", response_only=True, status_codes=["409"], value={
                "code": "no_supply",
                "message": "Stock and open purchase orders cannot cover 5 × TEE-BLA-XS.",
                "errors": {"lines[0].sku": [
                    "Stock and open purchase orders cannot cover 5 × TEE-BLA-XS."]},
            }),
        ])
    def post(self, request):
        data = self.input(OrderWriteSerializer, request.data)
        if data["channel"] not in self.partner.channel_codes:
            raise NotFound(f"No channel {data['channel']!r} for this API key.")
        order, created = order_place(data=_order_input(data))
        return Response(orders_from_rows(order_row_visible(self.partner, order.pk))[0],
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailView(PartnerView):
    scopes = {"GET": Scope.ORDERS_READ}
    serializer_class = OrderSerializer

    @extend_schema(tags=["orders"], operation_id="orders_retrieve", summary="Read an order",
                   description="The order with its lines, each with status and promise.",
                   parameters=[ORDER_ID], responses={200: OrderSerializer, **errors(404)},
                   examples=[OpenApiExample("An order", value=ORDER_RESPONSE_EXAMPLE)])
    def get(self, request, id):
        return Response(OrderSerializer(visible_order_or_404(self.partner, id)).data)


class OrderCancelView(PartnerView):
    scopes = {"POST": Scope.ORDERS_WRITE}
    serializer_class = OrderSerializer

    @extend_schema(
        tags=["orders"], operation_id="orders_cancel", summary="Cancel an order or some lines",
        description="Cancels the open units of the given lines (all open lines when `lines` "
        "is absent) and records the refund owed, with its legal deadline. Lines already "
        "shipped or cancelled are 409 `not_cancellable`.",
        parameters=[ORDER_ID], request=CancelWriteSerializer,
        responses={200: OrderSerializer, **errors(400, 404, 409)})
    def post(self, request, id):
        data = self.input(CancelWriteSerializer, request.data)
        order = visible_order_or_404(self.partner, id)
        order_cancel_by_partner(order=order, line_ids=data.get("lines"), reason=data["reason"],
                                note=data["note"])
        return Response(OrderSerializer(visible_order_or_404(self.partner, id)).data)


class ShipmentView(PartnerView):
    scopes = {"POST": Scope.FULFILMENT_WRITE}
    serializer_class = ShipmentSerializer

    @extend_schema(
        tags=["orders"], operation_id="shipments_create", summary="Record a shipment",
        description="Units of an order's lines handed to the carrier; they leave stock on hand. "
        "An order of a channel the key does not hold is 404.",
        request=ShipmentWriteSerializer,
        responses={201: ShipmentSerializer, **errors(400, 404)})
    def post(self, request):
        data = self.input(ShipmentWriteSerializer, request.data)
        order = visible_order_or_404(self.partner, data["order"])
        shipment = shipment_record_by_partner(
            order=order, lines=[(ln["line"], ln["qty"]) for ln in data["lines"]],
            shipped_at=data.get("shipped_at"), carrier=data["carrier"],
            tracking_number=data["tracking_number"])
        shipment = type(shipment).objects.prefetch_related("lines").get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment).data, status=status.HTTP_201_CREATED)
