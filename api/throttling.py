"""Per-key rate limits (429 `throttled`).

Counts live in the `partner_api` cache: Redis when REDIS_URL is set, so every gunicorn
worker shares them; otherwise a per-process memory cache (fine for one process).
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from api.auth import Partner


class PartnerKeyThrottle(SimpleRateThrottle):
    """`PARTNER_API["THROTTLE_RATE"]` requests per key (e.g. "1200/min")."""

    scope = "partner"

    def __init__(self):
        # Read at each request, not at import: tests and deployments change the setting.
        self.cache = caches[settings.PARTNER_API.get("THROTTLE_CACHE", "default")]
        super().__init__()

    def get_rate(self):
        return settings.PARTNER_API.get("THROTTLE_RATE")

    def get_cache_key(self, request, view):
        partner = request.auth
        if not isinstance(partner, Partner):
            return None  # unauthenticated calls are refused before they count
        return f"throttle:partner:{partner.key.prefix}"
