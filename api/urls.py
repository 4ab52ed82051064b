"""Partner API URLs (filled in by the API)."""

urlpatterns = []
