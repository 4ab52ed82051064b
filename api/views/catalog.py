"""GET /skus/, GET and PUT /skus/{code}/."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.filters import SKUFilter
from api.models import Scope
from api.selectors import skus_all
from api.serializers.catalog import SKUSerializer, SKUWriteSerializer
from api.views.base import PartnerListView, PartnerView, errors
from inventory.services import sku_upsert

CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="SKU code.")


class SKUListView(PartnerListView):
    scopes = {"GET": Scope.CATALOG_READ}
    serializer_class = SKUSerializer
    filterset_class = SKUFilter

    def get_queryset(self):
        return skus_all()

    @extend_schema(tags=["catalog"], operation_id="skus_list", summary="List SKUs",
                   description="SKUs ordered by (updated_at, id); page with the cursor links.",
                   responses={200: SKUSerializer(many=True), **errors(400)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SKUDetailView(PartnerView):
    scopes = {"GET": Scope.CATALOG_READ, "PUT": Scope.CATALOG_WRITE}
    serializer_class = SKUSerializer

    @extend_schema(tags=["catalog"], operation_id="skus_retrieve", summary="Read a SKU",
                   description="A SKU and its backorder policy.",
                   parameters=[CODE], responses={200: SKUSerializer, **errors(404)})
    def get(self, request, code):
        sku = get_object_or_404(skus_all(), code=code)
        return Response(SKUSerializer(sku).data)

    @extend_schema(tags=["catalog"], operation_id="skus_upsert", summary="Create or change a SKU",
                   description="Creates the SKU (201) or changes the fields given (200). Fields "
                   "left out keep their value, or the default on creation.",
                   parameters=[CODE], request=SKUWriteSerializer,
                   responses={200: SKUSerializer, 201: SKUSerializer, **errors(400, 404)})
    def put(self, request, code):
        data = self.input(SKUWriteSerializer, request.data)
        sku, created = sku_upsert(code=code, **data)
        sku = skus_all().get(pk=sku.pk)
        return Response(SKUSerializer(sku).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
