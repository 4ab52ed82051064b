"""Writes the partner API needs that no domain app offers yet."""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import InvalidInput
from inventory.models import SKU
from orders.models import Cancellation, Order, Shipment
from workflow.fulfilment import order_cancel, shipment_record

SKU_WRITABLE = ("name", "backorder_allowed", "preorder", "sell_beyond_supply", "safety_stock",
                "lead_time_days")


@transaction.atomic
def sku_upsert(*, code: str, name: str, **fields) -> tuple[SKU, bool]:
    """Create the SKU `code` or change the given fields of it; return (sku, created).

    Fields not given keep their value (or the model default on creation). A change of
    safety stock, lead time or sell-beyond-supply re-promises the SKU's pools (signals).
    """
    unknown = set(fields) - set(SKU_WRITABLE)
    if unknown:
        raise InvalidInput("Unknown SKU fields.", errors={f: ["not writable"] for f in sorted(unknown)})
    fields["name"] = name
    sku = SKU.objects.select_for_update().filter(code=code).first()
    created = sku is None
    if created:
        sku = SKU(code=code)
    changed = [f for f in SKU_WRITABLE if f in fields and getattr(sku, f) != fields[f]]
    for f in changed:
        setattr(sku, f, fields[f])
    try:
        sku.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("The SKU is not valid.", errors=exc.message_dict) from None
    if created:
        sku.save()
    elif changed:
        sku.save(update_fields=[*changed, "updated_at"])
    return sku, created


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
