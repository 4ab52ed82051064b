"""Partner authentication (`Authorization: Api-Key <key>`) and scope checks."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from api.models import PartnerKey
from api.throttling import failed_keys_check, failed_keys_record

#: last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
KEYWORD = "Api-Key"
#: How long a key's record (hash, scopes, channels) is reused between reads. A change of the
#: key or of its channels drops it at once (api.signals), in every process where the cache
#: is shared (Redis); where it is not, other processes see the change within this time.
KEY_RECORD_SECONDS = 30


@dataclass(frozen=True)
class Partner:
    """Who is calling: the key, its scopes and its channels (ids and codes)."""

    key: PartnerKey
    scopes: frozenset[str]
    channel_ids: frozenset[int]
    channel_codes: frozenset[str]

    @property
    def name(self) -> str:
        return self.key.name


class PartnerKeyAuthentication(BaseAuthentication):
    """Authenticate a partner by API key; `request.auth` becomes a `Partner`.

    No header: anonymous (the permission then answers 401). A malformed, unknown,
    revoked or expired key: 401 at once, counted against the caller's address; an address
    past `PARTNER_API["FAILED_AUTH_RATE"]` wrong keys is answered 429 whatever key it sends
    (api.throttling). The key and its channels are read once per KEY_RECORD_SECONDS, and
    kept in the rate-limit cache, read with the address's count; every request checks the
    key against its hash.
    """

    def authenticate(self, request):
        raw = request.META.get("HTTP_AUTHORIZATION", "")
        if not raw:
            return None
        keyword, _, key = raw.partition(" ")
        key = key.strip()
        prefix, dot, _ = key.partition(".")
        ours = bool(keyword.lower() == KEYWORD.lower() and dot and prefix)
        # The key's cached record comes in the same round trip as the address's count.
        cached = failed_keys_check(request, also=_record_name(prefix) if ours else None)
        try:
            return self._authenticate(keyword, key, prefix if ours else "", cached)
        except exceptions.AuthenticationFailed:
            failed_keys_record(request)
            raise

    def _authenticate(self, keyword, key, prefix, cached):
        if keyword.lower() != KEYWORD.lower():
            # Another scheme (Basic, Bearer...): not ours, and there is no other.
            raise exceptions.AuthenticationFailed(f"Send the key as 'Authorization: {KEYWORD} <key>'.")
        if not prefix:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        api_key, channels = key_record(prefix, cached)
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        self._touch(api_key, channels)
        partner = Partner(
            key=api_key,
            scopes=frozenset(api_key.scopes or ()),
            channel_ids=frozenset(c[0] for c in channels),
            channel_codes=frozenset(c[1] for c in channels),
        )
        # No Django user behind a key: admin history records no user for partner changes.
        return AnonymousUser(), partner

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no or a bad key is sent.
        return KEYWORD

    @staticmethod
    def _touch(api_key: PartnerKey, channels) -> None:
        """Record the use, at most once a minute per key (one conditional UPDATE)."""
        now = timezone.now()
        if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
            return
        touched = PartnerKey.objects.filter(pk=api_key.pk, revoked=False).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
        if touched:  # a key revoked meanwhile is not cached again as it was
            _record_store(api_key.prefix, (api_key, channels))


def _records():
    return caches[settings.PARTNER_API["THROTTLE_CACHE"]]


def _record_name(prefix: str) -> str:
    return f"partner-key:{prefix}"


def key_record(prefix: str, cached) -> tuple[PartnerKey | None, list[tuple[int, str]]]:
    """The key of this prefix and its channels' (id, code): `cached`, the record as the
    cache held it (read by the caller), else from the database, then cached."""
    if cached is not None:
        return cached
    api_key = PartnerKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        return None, []  # not cached: wrong keys are the failed-key limit's business
    found = (api_key, list(api_key.channels.values_list("id", "code")))
    _record_store(prefix, found)
    return found


def _record_store(prefix: str, record) -> None:
    try:
        _records().set(_record_name(prefix), record, KEY_RECORD_SECONDS)
    except Exception:  # noqa: BLE001, S110 - the next request reads the database again
        pass


def key_record_forget(prefix: str) -> None:
    """Drop a key's cached record (its key, scopes or channels changed) once the change
    commits: a request reading it before then would cache the record as it was."""

    def forget():
        try:
            _records().delete(_record_name(prefix))
        except Exception:  # noqa: BLE001, S110 - it expires by itself
            pass

    transaction.on_commit(forget)


def partner_of(request) -> Partner:
    return request.auth


class HasScope(BasePermission):
    """Require a partner key holding the view's scope for this method.

    Views set `scopes = {"GET": Scope.X, "POST": Scope.Y}`. No key: 401; a key
    without the scope: 403.
    """

    message = "This API key lacks the scope this call needs."

    def has_permission(self, request, view):
        partner = request.auth
        if not isinstance(partner, Partner):
            raise exceptions.NotAuthenticated("Send an API key: 'Authorization: Api-Key <key>'.")
        needed = required_scope(view, request.method)
        if needed is None:
            return True
        if needed not in partner.scopes:
            self.message = f"This API key lacks the scope '{needed}'."
            return False
        return True


def required_scope(view, method: str) -> str | None:
    scopes = getattr(view, "scopes", {})
    if method == "HEAD":
        method = "GET"
    scope = scopes.get(method)
    return str(scope) if scope is not None else None
