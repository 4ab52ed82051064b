from django.contrib import admin
from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", admin.site.admin_view(views.reports_page), name="page"),
    path("runs/<int:pk>/download/", admin.site.admin_view(views.run_download), name="download"),
]
