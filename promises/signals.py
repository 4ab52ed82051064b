"""Mark pools dirty when supply or demand changes; the re-promise task does the work.

Receivers stay thin: they compare the fields that matter, record the dirty pool and
enqueue the coalescing task on commit (promises.services.pools_mark_dirty). They return
early on raw saves (fixtures). Services that change demand themselves (intake,
shipments, cancellations) mark their pools explicitly.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from inventory.models import (
    SKU,
    BackorderCap,
    Channel,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    StockLevel,
)
from orders.models import OrderLine
from promises.models import PromiseChange
from promises.services import pools_mark_dirty

Cause = PromiseChange.Cause

PO_FIELDS = ("status", "eta", "dock_to_stock_days", "warehouse_id")
PO_LINE_FIELDS = ("sku_id", "qty_ordered", "qty_received", "eta", "purchase_order_id")
SKU_FIELDS = ("safety_stock", "lead_time_days", "sell_beyond_supply")
ORDER_LINE_FIELDS = ("qty", "sku_id", "warehouse_id")
CHANNEL_FIELDS = ("priority", "strategy")


def _request_user_id():
    """Return the id of the admin user behind this change, if any (simple_history's context)."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


#: Order lines keep the stored values of these fields in a pre_save read of their own, not a
#: field tracker: partner pulls load them by the thousand and agents save them one at a time,
#: so a copy per load would cost more than a read per save.
def _order_line_remember(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._stored = None
        return
    instance._stored = OrderLine.objects.filter(pk=instance.pk).values(*ORDER_LINE_FIELDS).first()


pre_save.connect(_order_line_remember, sender=OrderLine, dispatch_uid="promises.remember.OrderLine")


def _stored(instance, fields) -> dict | None:
    """Return the values these fields had when the instance was loaded (None: a new row).

    Inventory rows carry a field tracker (model_utils.FieldTracker); order lines the
    values read just before their save.
    """
    if isinstance(instance, OrderLine):
        return instance._stored
    if instance.pk is None or instance._state.adding:
        return None
    try:
        tracker = instance.tracker
        return {f: tracker.previous(f) for f in fields}
    except AttributeError:  # built without __init__ (core.bulk): nothing loaded to compare
        return dict.fromkeys(fields)


def _changed(instance, fields) -> bool:
    stored = _stored(instance, fields)
    return stored is None or any(stored[f] != getattr(instance, f) for f in fields)


@receiver(post_save, sender=PurchaseOrder)
def po_changed(sender, instance, created, raw=False, **kwargs):
    if raw or created or not _changed(instance, PO_FIELDS):
        return
    stored = _stored(instance, PO_FIELDS)
    po_lines = {(sku_id, warehouse_id): line_id
                for line_id, sku_id in instance.lines.values_list("id", "sku_id")
                for warehouse_id in (instance.warehouse_id, stored["warehouse_id"])}
    pools_mark_dirty(pools=po_lines, cause=Cause.PO_CHANGE, po_lines=po_lines, user_id=_request_user_id(),
                     note=_with_reason(f"{instance.number}: {_what_changed(stored, instance, PO_FIELDS)}",
                                       instance))


@receiver(post_save, sender=PurchaseOrderLine)
def po_line_changed(sender, instance, created, raw=False, **kwargs):
    if raw or not _changed(instance, PO_LINE_FIELDS):
        return
    po = instance.purchase_order
    pools = {(instance.sku_id, po.warehouse_id)}
    stored = _stored(instance, PO_LINE_FIELDS)
    if stored and stored["sku_id"] is not None:
        pools.add((stored["sku_id"], po.warehouse_id))
    what = "new line" if created else _po_line_what_changed(stored, instance, po)
    pools_mark_dirty(pools=pools, cause=Cause.PO_CHANGE, po_line_id=instance.pk,
                     user_id=_request_user_id(), note=_with_reason(f"{po.number}: {what}", instance))


@receiver(post_delete, sender=PurchaseOrderLine)
def po_line_deleted(sender, instance, **kwargs):
    po = PurchaseOrder.objects.filter(pk=instance.purchase_order_id).first()
    if po is not None:
        pools_mark_dirty(pools={(instance.sku_id, po.warehouse_id)}, cause=Cause.PO_CHANGE,
                         user_id=_request_user_id(), note=f"{po.number}: line removed")


@receiver(post_save, sender=Receipt)
def receipt_recorded(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    line = instance.po_line
    pools_mark_dirty(pools={(line.sku_id, line.purchase_order.warehouse_id)}, cause=Cause.RECEIPT,
                     po_line_id=line.pk, user_id=instance.received_by_id,
                     note=f"{instance.qty} received on {line.purchase_order.number}")


@receiver(post_save, sender=StockLevel)
def stock_changed(sender, instance, created, raw=False, **kwargs):
    if raw or (created and instance.on_hand == 0) or not _changed(instance, ("on_hand",)):
        return
    pools_mark_dirty(pools={(instance.sku_id, instance.warehouse_id)}, cause=Cause.STOCK_ADJUSTMENT,
                     user_id=_request_user_id(), note=f"on hand now {instance.on_hand}")


@receiver(post_save, sender=SKU)
def sku_policy_changed(sender, instance, created, raw=False, **kwargs):
    if raw or created or not _changed(instance, SKU_FIELDS):
        return
    pools = set(StockLevel.objects.filter(sku=instance).values_list("sku_id", "warehouse_id"))
    pools_mark_dirty(pools=pools, cause=Cause.MANUAL, user_id=_request_user_id(),
                     note=f"{instance.code}: backorder policy changed")


@receiver(post_save, sender=BackorderCap)
@receiver(post_delete, sender=BackorderCap)
def cap_changed(sender, instance, raw=False, **kwargs):
    # Caps bound intake; a pool is re-checked so a tightened horizon shows as an exception.
    if raw or instance.sku_id is None:
        return
    pools = set(StockLevel.objects.filter(sku_id=instance.sku_id).values_list("sku_id", "warehouse_id"))
    # What the pools allocate is unchanged: their free-supply ledger stays valid.
    pools_mark_dirty(pools=pools, cause=Cause.CAP_CHANGE, user_id=_request_user_id(),
                     note=str(instance), supply_or_demand=False)


@receiver(post_save, sender=OrderLine)
def order_line_changed(sender, instance, created, raw=False, **kwargs):
    # New lines are promised by intake itself; an agent's edit of a line re-promises its pool.
    if raw or created or not _changed(instance, ORDER_LINE_FIELDS):
        return
    pools = {(instance.sku_id, instance.warehouse_id)}
    if instance._stored:
        pools.add((instance._stored["sku_id"], instance._stored["warehouse_id"]))
    pools_mark_dirty(pools=pools, cause=Cause.MANUAL, user_id=_request_user_id(),
                     note=f"line {instance.pk} edited")


@receiver(post_save, sender=Channel)
def channel_changed(sender, instance, created, raw=False, **kwargs):
    # A channel's priority and strategy rank its lines in every pool they wait in.
    if raw or created or not _changed(instance, CHANNEL_FIELDS):
        return
    stored = _stored(instance, CHANNEL_FIELDS)
    pools = set(OrderLine.objects.open().filter(order__channel=instance)
                .values_list("sku_id", "warehouse_id").distinct())
    pools_mark_dirty(pools=pools, cause=Cause.MANUAL, user_id=_request_user_id(),
                     note=f"channel {instance.code}: {_what_changed(stored, instance, CHANNEL_FIELDS)}")


def _what_changed(stored, instance, fields) -> str:
    if not stored:
        return "created"
    parts = [f"{f.removesuffix('_id')} {stored[f]} → {getattr(instance, f)}"
             for f in fields if stored[f] != getattr(instance, f)]
    return ", ".join(parts)[:180]


def _po_line_what_changed(stored, instance, po) -> str:
    """Describe a PO line's change with the ETAs in force: a line without an ETA of its own
    follows the PO's ("eta 2027-01-04 (the PO's) → 2027-01-16")."""
    def eta(value):
        return f"{value}" if value is not None else f"{po.eta} (the PO's)"

    parts = []
    for f in PO_LINE_FIELDS:
        old, new = (stored or {}).get(f), getattr(instance, f)
        if old == new:
            continue
        parts.append(f"eta {eta(old)} → {eta(new)}" if f == "eta"
                     else f"{f.removesuffix('_id')} {old} → {new}")
    return f"{instance.sku.code}: " + ", ".join(parts)[:160]


def _with_reason(note: str, instance) -> str:
    """Append the buyer's reason for the change (the form's or po_update's), when given."""
    reason = getattr(instance, "_change_reason", "") or ""
    return f"{note} — {reason}" if reason else note
