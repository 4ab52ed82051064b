"""Rate limits of the partner API: per key (429 `throttled`), and per address for wrong keys.

Counts live in the `partner_api` cache: Redis when REDIS_URL is set, so every gunicorn
worker shares them; otherwise a per-process memory cache (fine for one process). Each
count is one counter per key and fixed window, created with its expiry (`add`: SET NX EX)
and raised with `incr` (INCR): atomic, so a limit holds however many workers count at once.

When the cache cannot be reached the API keeps serving: counts fall back to this process's
memory (each worker then limits on its own), the outage is logged when it starts, once a
minute while it lasts and when it ends, and `throttle_backend_status()` reports it for the
health check. While it lasts each process tries the cache again every few seconds only.
"""

import logging
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core.cache import RedisCache

log = logging.getLogger(__name__)

#: While the cache is away: how often a process tries it again, and logs that it is still away.
RETRY_SECONDS = 5.0
LOG_EVERY_SECONDS = 60.0
#: What a cache that cannot be reached raises (redis-py's errors; socket errors below them).
CACHE_DOWN_ERRORS = (RedisError, OSError)

_fallback = LocMemCache("partner-api-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


class _Outage:
    """This process's view of the throttle cache: since when it is away, and why."""

    def __init__(self):
        self.lock = threading.Lock()
        self.since: datetime | None = None
        self.error = ""
        self.last_try = 0.0
        self.last_log = 0.0

    def record(self, exc: Exception) -> None:
        now = time.monotonic()
        with self.lock:
            starting = self.since is None
            if starting:
                self.since = datetime.now(UTC)
            self.error = f"{type(exc).__name__}: {exc}"
            self.last_try = now
            due = starting or now - self.last_log >= LOG_EVERY_SECONDS
            if due:
                self.last_log = now
        if due:
            log.error("Throttle cache %r unreachable since %s (%s): rate limits are counted per "
                      "process until it is back.", _cache_name(), self.since.isoformat(), self.error)

    def clear(self) -> None:
        if self.since is None:
            return
        with self.lock:
            since, self.since, self.error = self.since, None, ""
        if since is not None:
            log.warning("Throttle cache %r is back (away since %s).", _cache_name(), since.isoformat())

    def skip_cache(self) -> bool:
        """True while the cache is away and was tried less than RETRY_SECONDS ago."""
        return self.since is not None and time.monotonic() - self.last_try < RETRY_SECONDS


_outage = _Outage()


def _cache_name() -> str:
    return settings.PARTNER_API.get("THROTTLE_CACHE", "default")


def throttle_backend_status() -> dict:
    """Whether the rate-limit counters are shared (for /healthz): tries the cache once.

    Returns {"ok": bool, "cache": name, "backend": class name, "down_since": ISO time or
    None, "error": "" or why}. Not ok means the API still serves, with limits per process.
    """
    cache = caches[_cache_name()]
    try:
        cache.get("throttle:health")
    except CACHE_DOWN_ERRORS as exc:
        _outage.record(exc)
    else:
        _outage.clear()
    since = _outage.since
    return {"ok": since is None, "cache": _cache_name(), "backend": type(cache).__name__,
            "down_since": since.isoformat() if since else None, "error": _outage.error}


def _hit(cache, name: str, duration: int) -> int:
    """Add one to the window's counter `name`; return its new value (atomic on Redis)."""
    if isinstance(cache, RedisCache):
        return cache.incr_or_create(name, duration + 1)
    for _ in range(3):
        cache.add(name, 0, timeout=duration + 1)
        try:
            return cache.incr(name)
        except ValueError:  # the counter expired between add and incr: create it again
            continue
    return 1


def _counted(operation, name: str, duration: int) -> int:
    if not _outage.skip_cache():
        try:
            value = operation(caches[_cache_name()], name, duration)
        except CACHE_DOWN_ERRORS as exc:
            _outage.record(exc)
        else:
            _outage.clear()
            return value
    return operation(_fallback, name, duration)


def _window(key: str, duration: int) -> tuple[str, float]:
    """The counter's name in the current fixed window, and the seconds the window has left."""
    now = time.time()
    window = int(now // duration)
    return f"{key}:{window}", (window + 1) * duration - now


def window_hit(key: str, *, duration: int) -> tuple[int, float]:
    """Count one event of `key` in the current window: (events so far, seconds left)."""
    name, left = _window(key, duration)
    return _counted(lambda cache, n, d: _hit(cache, n, d), name, duration), left


def window_count(key: str, *, duration: int, also: str | None = None) -> tuple[int, float, object]:
    """The events of `key` in the current window, without counting one, and the value the
    cache holds under `also` (None: none, or the cache is away), read in the same round trip:
    (events, seconds left, that value)."""
    name, left = _window(key, duration)
    names = [name] if also is None else [name, also]
    found = _counted(lambda cache, _n, _d: cache.get_many(names), name, duration)
    return found.get(name) or 0, left, None if also is None else found.get(also)


def _rate(setting: str) -> tuple[int | None, int | None]:
    return SimpleRateThrottle.parse_rate(None, settings.PARTNER_API.get(setting))


class PartnerKeyThrottle(BaseThrottle):
    """`PARTNER_API["THROTTLE_RATE"]` requests per key and window (e.g. "1200/min")."""

    def allow_request(self, request, view):
        key = getattr(request.auth, "key", None)  # an api.auth.Partner
        if key is None:
            return True  # unauthenticated calls are refused before they count
        limit, duration = _rate("THROTTLE_RATE")
        if limit is None:
            return True
        count, self._wait = window_hit(f"throttle:partner:{key.prefix}", duration=duration)
        return count <= limit

    def wait(self):
        return self._wait


class AuthAttemptsThrottled(Throttled):
    """Too many wrong API keys from one address (429 `throttled`, its own message)."""

    def __init__(self, wait):
        super().__init__(wait=wait, detail=f"Too many invalid API keys from this address; "
                                           f"retry in {int(wait)} s.")


def _address(request) -> str:
    # REMOTE_ADDR, or the client's address in X-Forwarded-For behind REST_FRAMEWORK["NUM_PROXIES"].
    return BaseThrottle().get_ident(request)


def failed_keys_check(request, *, also: str | None = None):
    """Refuse (429) an address that sent `PARTNER_API["FAILED_AUTH_RATE"]` wrong keys this window.

    Every key from it is refused until the window ends, the right one too: otherwise the
    answer to a guess would still tell a right key from a wrong one. Return the value the
    rate-limit cache holds under `also` (None: none), read in the same round trip as the
    count: the caller's key record (api.auth.key_record).
    """
    limit, duration = _rate("FAILED_AUTH_RATE")
    if limit is None:
        return _cached(also) if also is not None else None
    count, left, found = window_count(f"throttle:badkey:{_address(request)}", duration=duration, also=also)
    if count >= limit:
        raise AuthAttemptsThrottled(left)
    return found


def _cached(name: str):
    """The rate-limit cache's value under `name` (None: none, or the cache is away)."""
    return _counted(lambda cache, n, _d: cache.get(n), name, 0)


def failed_keys_record(request) -> None:
    """Count a wrong, revoked or expired key sent from the request's address."""
    limit, duration = _rate("FAILED_AUTH_RATE")
    if limit is not None:
        window_hit(f"throttle:badkey:{_address(request)}", duration=duration)
