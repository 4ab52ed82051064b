from django.contrib import admin
from django.urls import include, path

from config.views import healthz

admin.site.site_header = "Backorder Desk"
admin.site.site_title = "Backorder Desk"
admin.site.index_title = "Back office"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("notifications.urls")),
]
