"""Customer-facing pages behind the signed links in notices."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notices/consent/<str:token>/", views.consent, name="consent"),
]
