"""Availability, the promise-change feed and the exception queue of the key's channels."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.filters import OrderExceptionFilter, PromiseChangeFilter
from api.models import Scope
from api.selectors import exceptions_visible, promise_changes_visible
from api.serializers.promises import (
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    OrderExceptionSerializer,
    PromiseChangeSerializer,
    availability_json,
)
from api.views.base import PartnerListView, PartnerView, errors
from promises.intake import availability_answer
from promises.models import OrderException, PromiseChange


class AvailabilityView(PartnerView):
    scopes = {"GET": Scope.PROMISES_READ}
    serializer_class = AvailabilitySerializer

    @extend_schema(
        tags=["availability"], operation_id="availability", summary="Check availability",
        description="Whether `qty` units can be ordered now on a channel, and the promise an "
        "order would get. A refusal is an answer (`can_order: false` with a `reason`), not an "
        "error; an unknown SKU answers `unavailable` / `unknown_sku`. A channel the key does "
        "not hold is 404 (unknown and foreign channels look the same). A server process "
        "keeps an answer for up to a second (AVAILABILITY_CACHE_SECONDS): the same question "
        "within it gets the same answer. The order itself is judged again when it is placed.",
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySerializer, **errors(400, 404)},
        examples=[
            OpenApiExample("In stock", value={
                "status": "in_stock", "can_order": True, "ship_date": "2026-11-24",
                "delivery_from": "2026-11-26", "delivery_to": "2026-11-30", "confirmed": True,
                "label": "In stock — ships Nov 24", "reason": "",
                "sources": [{"kind": "stock", "reference": "US-EAST", "qty": 1,
                             "available_on": None}]}),
            OpenApiExample("Backorder", value={
                "status": "backorder", "can_order": True, "ship_date": "2026-12-14",
                "delivery_from": "2026-12-16", "delivery_to": "2026-12-18", "confirmed": True,
                "label": "Backorder — next batch ships Dec 14", "reason": "",
                "sources": [{"kind": "purchase_order", "reference": "PO-2026-0001", "qty": 2,
                             "available_on": "2026-12-11"}]}),
            OpenApiExample("Refused", value={
                "status": "unavailable", "can_order": False, "ship_date": None,
                "delivery_from": None, "delivery_to": None, "confirmed": False,
                "label": "Currently unavailable", "reason": "no_supply", "sources": []}),
        ])
    def get(self, request):
        query = self.input(AvailabilityQuerySerializer, request.query_params)
        if query["channel"] not in self.partner.channel_codes:
            raise NotFound(f"No channel {query['channel']!r} for this API key.")
        answer = availability_answer(sku=query["sku"], channel=query["channel"], region=query.get("region") or "",
                                     qty=query["qty"], locale=query["locale"])
        return Response(availability_json(answer))


class PromiseChangeListView(PartnerListView):
    scopes = {"GET": Scope.PROMISES_READ}
    serializer_class = PromiseChangeSerializer
    filterset_class = PromiseChangeFilter
    cursor_ordering = ("at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return PromiseChange.objects.none()
        return promise_changes_visible(self.partner)

    @extend_schema(
        tags=["promises"], operation_id="promise_changes_list", summary="Promise-change feed",
        description="Every move of a promise on the key's channels, oldest first, ordered by "
        "(at, id). Poll with `since` and follow `next`; keep the last `next` link to resume.",
        responses={200: PromiseChangeSerializer(many=True), **errors(400)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderExceptionListView(PartnerListView):
    scopes = {"GET": Scope.ORDERS_READ}
    serializer_class = OrderExceptionSerializer
    filterset_class = OrderExceptionFilter
    cursor_ordering = ("due_by", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no key
            return OrderException.objects.none()
        return exceptions_visible(self.partner)

    @extend_schema(
        tags=["promises"], operation_id="exceptions_list", summary="Exception queue",
        description="Order lines of the key's channels that need an agent, most urgent "
        "(`due_by`) first.",
        responses={200: OrderExceptionSerializer(many=True), **errors(400)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
