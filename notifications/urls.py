"""Customer-facing pages behind the signed links in notices."""

urlpatterns = []
