"""Writes the partner API needs that no domain app offers yet."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from api.auth import key_record_forget
from api.models import PartnerKey
from orders.models import Cancellation, Order, Shipment
from workflow.fulfilment import order_cancel, shipment_record

# --- Orders: the partner's writes, each one transaction -----------------------------------------


@transaction.atomic
def order_cancel_by_partner(*, order: Order, line_ids: Iterable[int] | None, reason: str,
                            note: str = "") -> list[Cancellation]:
    """Cancel open units for a channel partner and record the refunds owed."""
    cancellations = order_cancel(order=order, line_ids=line_ids, reason=reason, note=note,
                                 initiated_by=Cancellation.Initiator.PARTNER)
    return cancellations


@transaction.atomic
def shipment_record_by_partner(*, order: Order, lines: list[tuple[int, int]],
                               shipped_at: datetime | None = None, carrier: str = "",
                               tracking_number: str = "") -> Shipment:
    """Record a partner's (a 3PL's) shipment of an order's lines (moves the order's updated_at)."""
    return shipment_record(order=order, lines=lines, shipped_at=shipped_at, carrier=carrier,
                           tracking_number=tracking_number)


# --- Keys ----------------------------------------------------------------------------------------


def keys_revoke(keys) -> int:
    """Revoke these keys (a queryset of PartnerKey) for good; return how many were live."""
    return _keys_update(keys, revoked=True)


def keys_expire_now(keys) -> int:
    """Expire these keys now; return how many were live."""
    return _keys_update(keys, expiry_date=timezone.now())


def _keys_update(keys, **values) -> int:
    live = keys.filter(revoked=False)
    prefixes = list(live.values_list("prefix", flat=True))
    count = PartnerKey.objects.filter(prefix__in=prefixes).update(**values)
    # In one UPDATE, no save signal: drop the cached records here, so the next request sees it.
    for prefix in prefixes:
        key_record_forget(prefix)
    return count
