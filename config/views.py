"""Project-level views: the health check load balancers ask."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import health_report


@require_GET
@never_cache
def healthz(request):
    """200 while this web server can serve (warnings included in the body), 503 when the
    database is away. The signals are described in docs/operations.md."""
    health = health_report()
    return JsonResponse(health.as_json(), status=200 if health.database_ok else 503)
