"""Partner API URLs: /api/v1/..., the OpenAPI schema and its Swagger UI; JSON 404 elsewhere."""

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.errors import not_found_view
from api.views.catalog import SKUDetailView, SKUListView
from api.views.orders import OrderCancelView, OrderDetailView, OrderListView, ShipmentView
from api.views.promises import AvailabilityView, OrderExceptionListView, PromiseChangeListView
from api.views.supply import (
    PurchaseOrderDetailView,
    PurchaseOrderListView,
    ReceiptView,
    StockView,
    SupplierDetailView,
)


class TextConverter:
    """A path segment without NUL (PostgreSQL text cannot hold it): such URLs are 404."""

    regex = "[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TextConverter, "text")

v1 = [
    path("skus/", SKUListView.as_view(), name="sku-list"),
    path("skus/<text:code>/", SKUDetailView.as_view(), name="sku-detail"),
    path("stock/<text:warehouse>/<text:sku>/", StockView.as_view(), name="stock"),
    path("suppliers/<text:code>/", SupplierDetailView.as_view(), name="supplier-detail"),
    path("availability/", AvailabilityView.as_view(), name="availability"),
    path("purchase-orders/", PurchaseOrderListView.as_view(), name="po-list"),
    path("purchase-orders/<text:number>/", PurchaseOrderDetailView.as_view(), name="po-detail"),
    path("receipts/", ReceiptView.as_view(), name="receipts"),
    path("orders/", OrderListView.as_view(), name="order-list"),
    path("orders/<int:id>/", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:id>/cancel/", OrderCancelView.as_view(), name="order-cancel"),
    path("shipments/", ShipmentView.as_view(), name="shipments"),
    path("promise-changes/", PromiseChangeListView.as_view(), name="promise-changes"),
    path("exceptions/", OrderExceptionListView.as_view(), name="exceptions"),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", not_found_view, name="not-found"),
]
