"""Shipments and cancellations: they free supply, so each marks its pools dirty."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.errors import BusinessRefusal, InvalidInput
from core.money import money
from inventory.services import pools_lock
from orders.models import Cancellation, Order, OrderLine, Shipment, ShipmentLine
from promises.models import PromiseChange
from promises.services import pools_mark_dirty
from workflow.closing import line_closed
from workflow.notices import notice_outbox
from workflow.regional import region_today, regional_policy


def order_status_refresh(order: Order) -> str:
    """Derive the order's status from its lines and save it (updated_at moves either way).

    Called after a line changed, so the order counts as updated for partners' syncs even
    when its status stays the same.
    """
    lines = list(order.lines.all())
    shipped = sum(line.qty_shipped for line in lines)
    cancelled = sum(line.qty_cancelled for line in lines)
    total = sum(line.qty for line in lines)
    if total and cancelled == total:
        status = Order.Status.CANCELLED
    elif total and shipped + cancelled == total:
        status = Order.Status.SHIPPED if cancelled == 0 else Order.Status.CLOSED
    elif shipped:
        status = Order.Status.PARTIALLY_SHIPPED
    else:
        status = Order.Status.OPEN
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    return status


def _line_closed_status(line: OrderLine) -> str:
    if line.qty_open > 0:
        return line.status
    return OrderLine.Status.SHIPPED if line.qty_shipped else OrderLine.Status.CANCELLED


def lines_closed(lines: list[OrderLine], *, now: datetime) -> None:
    """Resolve the exceptions and withdraw the unsent notices of lines that shipped or were
    cancelled: nothing is left to decide or to tell about them."""
    for line in lines:
        line_closed(line_id=line.pk, status=line.status, now=now)
    if lines:
        notice_outbox().lines_closed(line_ids=[line.pk for line in lines], now=now)


@transaction.atomic
def order_cancel(*, order: Order, line_ids: Iterable[int] | None = None, reason: str,
                 initiated_by: str, user=None, note: str = "", now: datetime | None = None,
                 ) -> list[Cancellation]:
    """Cancel the open units of the given lines (all when None) and record the refunds owed.

    The refund deadline follows the order's region: 7 working days in the US
    (16 CFR 435.1(b), (d)), 14 days in the EU (Directive 2011/83/EU art. 13) and UK
    (CCR 2013 reg. 34).
    """
    now = now or timezone.now()
    if reason not in Cancellation.Reason.values:
        raise InvalidInput("Unknown cancellation reason.", errors={"reason": [
            f"must be one of {', '.join(Cancellation.Reason.values)}"]})
    order = Order.objects.select_for_update().select_related("region").get(pk=order.pk)
    lines = {line.id: line for line in order.lines.select_for_update().order_by("id")}
    if line_ids is None:
        targets = [line for line in lines.values() if line.qty_open > 0]
    else:
        line_ids = list(line_ids)
        unknown = [i for i in line_ids if i not in lines]
        if unknown:
            raise InvalidInput("Some lines are not lines of this order.",
                               errors={"lines": [f"unknown line id(s): {unknown}"]})
        targets = [lines[i] for i in dict.fromkeys(line_ids)]
        closed = [line.id for line in targets if line.qty_open <= 0]
        if closed:
            raise BusinessRefusal("Lines already shipped or cancelled cannot be cancelled.",
                                  code="not_cancellable", errors={"lines": [f"closed: {closed}"]})
    if not targets:
        raise BusinessRefusal("Nothing left to cancel on this order.", code="not_cancellable")

    # Counted from the day of the cancellation where the customer is, not the server's.
    refund_due_by = regional_policy(order.region.code).refund_due_by(region_today(order.region, now))
    cancellations = []
    nothing_shipped = all(line.qty_shipped == 0 for line in lines.values())
    for line in targets:
        qty = line.qty_open
        amount = money(line.unit_price * qty)
        line.qty_cancelled += qty
        line.status = _line_closed_status(line)
        line.save(update_fields=["qty_cancelled", "status"])
        cancellations.append(Cancellation(
            order=order, line=line, qty=qty, amount=amount, currency=order.currency,
            reason=reason, initiated_by=initiated_by, note=note, cancelled_at=now,
            refund_due_by=refund_due_by, user=user,
        ))
    # Shipping is refunded with the last open units when nothing shipped (16 CFR 435.1(d)).
    if nothing_shipped and all(line.qty_open == 0 for line in lines.values()) and order.shipping_amount:
        cancellations[-1].amount += order.shipping_amount
    # With their history's first record: who cancelled, and when (refunds are audited).
    bulk_create_with_history(cancellations, Cancellation, default_user=user, default_date=now)
    order_status_refresh(order)
    lines_closed([line for line in targets if line.qty_open == 0], now=now)
    pools_mark_dirty(pools={(line.sku_id, line.warehouse_id) for line in targets},
                     cause=PromiseChange.Cause.CANCELLATION, user_id=getattr(user, "pk", None),
                     note=f"order {order.external_id} cancelled")
    return cancellations


@transaction.atomic
def shipment_record(*, order: Order, lines: list[tuple[int, int]], shipped_at: datetime | None = None,
                    carrier: str = "", tracking_number: str = "") -> Shipment:
    """Record units handed to the carrier; the stock they leave is no longer on hand."""
    # Stock rows first, in primary-key order, as intake and re-promising lock them: locking
    # the order first would deadlock against a re-promise updating these lines.
    stocks = pools_lock(order.lines.values_list("sku_id", "warehouse_id"))
    order = Order.objects.select_for_update().get(pk=order.pk)
    by_id = {line.id: line for line in order.lines.select_for_update().order_by("id")}
    errors = {}
    if not lines:
        errors["lines"] = ["at least one line is required"]
    merged: dict[int, int] = {}
    for index, (line_id, qty) in enumerate(lines):
        if line_id not in by_id:
            errors[f"lines[{index}].line"] = [f"line {line_id} is not a line of this order"]
        elif qty <= 0:
            errors[f"lines[{index}].qty"] = ["must be at least 1"]
        else:
            merged[line_id] = merged.get(line_id, 0) + qty
    for line_id, qty in merged.items():
        if qty > by_id[line_id].qty_open:
            errors.setdefault("lines", []).append(
                f"line {line_id}: {qty} to ship but only {by_id[line_id].qty_open} open")
    if errors:
        raise InvalidInput("The shipment does not fit the order.", errors=errors)

    shipment = Shipment.objects.create(order=order, shipped_at=shipped_at or timezone.now(),
                                       carrier=carrier, tracking_number=tracking_number)
    pools = set()
    for line_id, qty in merged.items():
        line = by_id[line_id]
        ShipmentLine.objects.create(shipment=shipment, order_line=line, qty=qty)
        line.qty_shipped += qty
        line.status = _line_closed_status(line)
        line.save(update_fields=["qty_shipped", "status"])
        stock = stocks[(line.sku_id, line.warehouse_id)]
        # A 3PL may ship units the count missed; on hand never goes below zero.
        stock.on_hand = max(stock.on_hand - qty, 0)
        stock.save(update_fields=["on_hand", "updated_at"])
        pools.add((line.sku_id, line.warehouse_id))
    order_status_refresh(order)
    lines_closed([by_id[line_id] for line_id in merged if by_id[line_id].qty_open == 0],
                 now=shipment.shipped_at)
    pools_mark_dirty(pools=pools, cause=PromiseChange.Cause.SHIPMENT, note=f"shipment {shipment.pk}")
    return shipment
