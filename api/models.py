"""Partner API keys: hashed (djangorestframework-api-key), scoped, bound to channels."""

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    """What a key may do; each endpoint needs exactly one (docs/api.md)."""

    CATALOG_READ = "catalog:read", "Read SKUs"
    CATALOG_WRITE = "catalog:write", "Create and change SKUs"
    SUPPLY_READ = "supply:read", "Read purchase orders"
    SUPPLY_WRITE = "supply:write", "Set stock counts, create and change purchase orders"
    ORDERS_READ = "orders:read", "Read orders and the exception queue of the key's channels"
    ORDERS_WRITE = "orders:write", "Place and cancel orders on the key's channels"
    FULFILMENT_WRITE = "fulfilment:write", "Record receipts and shipments"
    PROMISES_READ = "promises:read", "Check availability, read the promise-change feed"


def scopes_validate(value):
    if not isinstance(value, list):
        raise ValidationError("Scopes are a list.")
    unknown = [s for s in value if s not in Scope.values]
    if unknown:
        raise ValidationError(
            f"Unknown scope(s): {', '.join(map(str, unknown))}. Known: {', '.join(Scope.values)}."
        )


class PartnerKey(AbstractAPIKey):
    """A partner's API key: only the prefix and a SHA-512 hash of the key are stored.

    Scopes are a JSON list (portable to SQLite; there are eight and they are read whole).
    """

    channels = models.ManyToManyField(
        "inventory.Channel", related_name="partner_keys", blank=True,
        help_text="Orders, promise changes and exceptions of these channels only.",
    )
    scopes = models.JSONField(default=list, blank=True, validators=[scopes_validate],
                              help_text=f"Any of: {', '.join(Scope.values)}.")
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Last authenticated request, to the minute (written at most once a minute).",
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
