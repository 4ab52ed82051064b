"""Supply writes: stock counts, purchase orders, receipts, the PO ETA history.

Re-promising learns of each change through promises/signals.py (it listens to saves of
these rows); the only thing these functions do for it is the order of their writes, noted
where it matters.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from core.compiled import compiled_objects, compiled_sql
from core.errors import BusinessRefusal, InvalidInput, NotFound
from inventory.models import (
    SKU,
    PurchaseOrder,
    PurchaseOrderEtaChange,
    PurchaseOrderLine,
    Receipt,
    StockLevel,
    Supplier,
    Warehouse,
)

PoolKey = tuple[int, int]


def pools_lock(pools: Iterable[PoolKey]) -> dict[PoolKey, StockLevel]:
    """Lock the stock rows of these pools in primary-key order, creating missing ones.

    Everything that locks pools goes through here or locks one row, so all lockers take
    rows in the same order and never deadlock. Missing rows are created before any lock is
    taken: creating one can wait for another transaction's insert of it, which must not
    happen while holding rows that transaction may want. SQLite ignores the row locks; its
    single writer serialises transactions instead.

    Two reads, each compiled once per process (intake locks an order's pools this way).
    """
    if not connection.in_atomic_block:  # the compiled lock would not raise this itself
        raise TransactionManagementError("pools_lock needs a transaction: its locks last until the commit.")
    pools = sorted(set(pools))
    if not pools:
        return {}
    wanted = set(pools)
    skus, warehouses = {s for s, _ in pools}, {w for _, w in pools}
    sql, params = compiled_sql(_stock_find, sku_ids=skus, warehouse_ids=warehouses)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {(sku_id, wh_id): pk for pk, sku_id, wh_id in cursor.fetchall() if (sku_id, wh_id) in wanted}
    found.update(stock_rows_create([pool for pool in pools if pool not in found]))
    locked = compiled_objects(StockLevel, _stock_lock, ids=found.values())
    return {(row.sku_id, row.warehouse_id): row for row in locked}


class StockRowsMissing(Exception):
    """Pools without their stock row, met by pools_lock_in_warehouse."""

    def __init__(self, pools: list[PoolKey]):
        super().__init__(f"no stock row yet for pools {pools}")
        self.pools = pools


def pools_lock_in_warehouse(sku_ids: Iterable[int], warehouse_id: int) -> None:
    """Lock the stock rows of these SKUs' pools in one warehouse, as pools_lock does, in one
    statement (an order's pools: intake).

    A pool without its stock row raises StockRowsMissing: pools_lock creates rows before it
    locks any, this cannot. The caller rolls its transaction back, which releases the
    locks, creates the rows (stock_rows_create) and starts again.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("pools_lock_in_warehouse needs a transaction: its locks last until the commit.")
    sku_ids = sorted(set(sku_ids))
    sql, params = compiled_sql(_stock_lock_in_warehouse, sku_ids=sku_ids, warehouse_ids=[warehouse_id])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        locked = {sku_id for (sku_id,) in cursor.fetchall()}
    if len(locked) < len(sku_ids):
        raise StockRowsMissing([(sku_id, warehouse_id) for sku_id in sku_ids if sku_id not in locked])


def stock_rows_create(pools: Iterable[PoolKey]) -> dict[PoolKey, int]:
    """Create the missing stock rows of these pools; return their primary keys."""
    created = {}
    for sku_id, warehouse_id in pools:
        row, _ = StockLevel.objects.get_or_create(sku_id=sku_id, warehouse_id=warehouse_id)
        created[(sku_id, warehouse_id)] = row.pk
    return created


def _stock_find(sku_ids, warehouse_ids):
    return (StockLevel.objects.filter(sku_id__any=sku_ids, warehouse_id__any=warehouse_ids)
            .values_list("pk", "sku_id", "warehouse_id").order_by())


def _stock_lock(ids):
    return StockLevel.objects.select_for_update(of=("self",)).filter(pk__any=ids).order_by("pk")


def _stock_lock_in_warehouse(sku_ids, warehouse_ids):
    return (StockLevel.objects.select_for_update(of=("self",))
            .filter(sku_id__any=sku_ids, warehouse_id__any=warehouse_ids).order_by("pk").values_list("sku_id"))


def warehouse_get(code: str) -> Warehouse:
    try:
        return Warehouse.objects.get(code=code)
    except Warehouse.DoesNotExist:
        raise NotFound(f"No warehouse {code!r}.") from None


def sku_get(code: str) -> SKU:
    try:
        return SKU.objects.get(code=code)
    except SKU.DoesNotExist:
        raise NotFound(f"No SKU {code!r}.") from None


@transaction.atomic
def stock_set(*, warehouse_code: str, sku_code: str, on_hand: int) -> StockLevel:
    """Set the on-hand count of a SKU in a warehouse (a 3PL's or a cycle count)."""
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
        raise InvalidInput("on_hand must be a whole number of units, 0 or more.",
                           errors={"on_hand": ["must be an integer >= 0"]})
    warehouse, sku = warehouse_get(warehouse_code), sku_get(sku_code)
    stock = pools_lock([(sku.id, warehouse.id)])[(sku.id, warehouse.id)]
    if stock.on_hand != on_hand:
        stock.on_hand = on_hand
        stock.save(update_fields=["on_hand", "updated_at"])
    return stock


# --- Purchase orders ------------------------------------------------------------------------


@dataclass(frozen=True)
class POLineInput:
    sku: str
    qty_ordered: int
    eta: date | None = None


EDITABLE_STATUSES = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CONFIRMED,
                     PurchaseOrder.Status.IN_TRANSIT, PurchaseOrder.Status.CANCELLED)


def _lines_check(lines: list[POLineInput], errors: dict) -> dict[str, SKU]:
    skus = {s.code: s for s in SKU.objects.filter(code__in=[ln.sku for ln in lines])}
    seen = set()
    for i, line in enumerate(lines):
        if line.sku not in skus:
            errors[f"lines[{i}].sku"] = [f"unknown SKU {line.sku!r}"]
        elif line.sku in seen:
            errors[f"lines[{i}].sku"] = [f"{line.sku} appears twice; give one line per SKU"]
        seen.add(line.sku)
        if not isinstance(line.qty_ordered, int) or line.qty_ordered < 1:
            errors[f"lines[{i}].qty_ordered"] = ["must be at least 1"]
    return skus


@transaction.atomic
def po_create(*, number: str, supplier: str, warehouse: str, status: str = PurchaseOrder.Status.DRAFT,
              eta: date, dock_to_stock_days: int = 1, lines: list[POLineInput]) -> PurchaseOrder:
    """Create a purchase order with its lines; confirmed ones count as supply at once."""
    errors: dict[str, list[str]] = {}
    if PurchaseOrder.objects.filter(number=number).exists():
        errors["number"] = [f"purchase order {number} already exists"]
    supplier_obj = Supplier.objects.filter(code=supplier).first()
    if supplier_obj is None:
        errors["supplier"] = [f"unknown supplier code {supplier!r}"]
    warehouse_obj = Warehouse.objects.filter(code=warehouse).first()
    if warehouse_obj is None:
        errors["warehouse"] = [f"unknown warehouse {warehouse!r}"]
    if status not in (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CONFIRMED,
                      PurchaseOrder.Status.IN_TRANSIT):
        errors["status"] = ["a new purchase order is draft, confirmed or in_transit"]
    if not lines:
        errors["lines"] = ["at least one line is required"]
    skus = _lines_check(lines, errors)
    if errors:
        raise InvalidInput("The purchase order is not valid.", errors=errors)
    po = PurchaseOrder.objects.create(number=number, supplier=supplier_obj, warehouse=warehouse_obj,
                                      status=status, eta=eta, dock_to_stock_days=dock_to_stock_days)
    for line in lines:
        PurchaseOrderLine.objects.create(purchase_order=po, sku=skus[line.sku],
                                         qty_ordered=line.qty_ordered, eta=line.eta)
    return po


@transaction.atomic
def po_update(*, po: PurchaseOrder, status: str | None = None, eta: date | None = None,
              dock_to_stock_days: int | None = None, lines: list[POLineInput] | None = None,
              reason: str = "", user=None) -> PurchaseOrder:
    """Change a PO's status, ETA or lines; every change is kept in its history, and every
    move of an ETA (the PO's or a line's) or of the status in its ETA history with `reason`.

    `lines` upserts by SKU: a listed SKU gets the new quantity and ETA, a new SKU a new
    line; lines not listed stay as they are. Received quantities only move by receipts.
    """
    po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
    errors: dict[str, list[str]] = {}
    if po.status in (PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.CANCELLED) and (
            status not in (None, po.status) or eta or lines):
        raise BusinessRefusal(f"Purchase order {po.number} is {po.status} and can no longer change.",
                              code="po_closed")
    if status is not None and status != po.status:
        if status not in EDITABLE_STATUSES:
            errors["status"] = ["partially_received and received follow from receipts"]
        elif status == PurchaseOrder.Status.CANCELLED and po.lines.filter(qty_received__gt=0).exists():
            errors["status"] = ["units were already received; receive or close the rest instead"]
    existing = {line.sku.code: line for line in po.lines.select_related("sku")}
    skus = _lines_check(lines or [], errors)
    for i, line in enumerate(lines or []):
        current = existing.get(line.sku)
        if current and isinstance(line.qty_ordered, int) and line.qty_ordered < current.qty_received:
            errors[f"lines[{i}].qty_ordered"] = [f"{current.qty_received} already received"]
    if errors:
        raise InvalidInput("The change is not valid.", errors=errors)

    changed, moves = [], []
    old_eta, old_status = po.eta, po.status
    if status is not None and status != po.status:
        po.status = status
        changed.append("status")
    if eta is not None and eta != po.eta:
        po.eta = eta
        changed.append("eta")
    if dock_to_stock_days is not None and dock_to_stock_days != po.dock_to_stock_days:
        po.dock_to_stock_days = dock_to_stock_days
        changed.append("dock_to_stock_days")
    if "eta" in changed or "status" in changed:
        moves.append(EtaMove(old_eta, po.eta, old_status=old_status, new_status=po.status))
    if changed:
        po._change_reason = (reason or "")[:100]  # the audit history's field holds 100 characters
        po.save(update_fields=[*changed, "updated_at"])
    for line in lines or []:
        current = existing.get(line.sku)
        if current is None:
            PurchaseOrderLine.objects.create(purchase_order=po, sku=skus[line.sku],
                                             qty_ordered=line.qty_ordered, eta=line.eta)
        elif (current.qty_ordered, current.eta) != (line.qty_ordered, line.eta):
            if current.eta != line.eta:
                moves.append(EtaMove(current.eta or old_eta, line.eta or po.eta, po_line=current))
            current.qty_ordered, current.eta = line.qty_ordered, line.eta
            current._change_reason = (reason or "")[:100]
            current.save(update_fields=["qty_ordered", "eta"])
    if lines and not changed:
        po.save(update_fields=["updated_at"])
    eta_changes_record(po=po, moves=moves, reason=reason, user=user)
    return po


# --- The ETA history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EtaMove:
    """One ETA or status move to keep in a PO's ETA history; `po_line` None: the whole PO.

    Dates are the ones in force: a line without an ETA of its own carries the PO's."""

    old_eta: date | None
    new_eta: date | None
    po_line: PurchaseOrderLine | None = None
    old_status: str = ""
    new_status: str = ""


def eta_changes_record(*, po: PurchaseOrder, moves: Iterable[EtaMove], reason: str = "", user=None,
                       at: datetime | None = None) -> list[PurchaseOrderEtaChange]:
    """Keep these moves in the PO's ETA history (moves that move nothing are dropped)."""
    at = at or timezone.now()
    rows = [
        PurchaseOrderEtaChange(
            purchase_order=po, po_line=move.po_line, sku_code=move.po_line.sku.code if move.po_line else "",
            old_eta=move.old_eta, new_eta=move.new_eta, old_status=move.old_status,
            new_status=move.new_status, reason=(reason or "")[:200], user=user, at=at)
        for move in moves
        if move.old_eta != move.new_eta or move.old_status != move.new_status
    ]
    return PurchaseOrderEtaChange.objects.bulk_create(rows)


# --- Receipts --------------------------------------------------------------------------------


@transaction.atomic
def receipt_record(*, po_number: str, lines: list[tuple[str, int]], received_at: datetime | None = None,
                   reference: str = "", user=None) -> list[Receipt]:
    """Receive units on a PO: inbound becomes on hand, and waiting backorders are released."""
    po = PurchaseOrder.objects.filter(number=po_number).first()
    if po is None:
        raise InvalidInput("Unknown purchase order.",
                           errors={"purchase_order": [f"no purchase order {po_number!r}"]})
    if po.status in (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED):
        raise BusinessRefusal(f"Purchase order {po.number} is {po.status}; confirm it before receiving.",
                              code="po_not_receivable")
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["at least one line is required"]
    by_sku = {line.sku.code: line for line in po.lines.select_related("sku")}
    wanted: dict[str, int] = {}
    for i, (sku, qty) in enumerate(lines):
        if sku not in by_sku:
            errors[f"lines[{i}].sku"] = [f"{sku!r} is not on purchase order {po.number}"]
        elif not isinstance(qty, int) or qty < 1:
            errors[f"lines[{i}].qty"] = ["must be at least 1"]
        else:
            wanted[sku] = wanted.get(sku, 0) + qty
    if errors:
        raise InvalidInput("The receipt does not fit the purchase order.", errors=errors)

    stocks = pools_lock((by_sku[sku].sku_id, po.warehouse_id) for sku in wanted)
    po_lines = {line.id: line for line in PurchaseOrderLine.objects.select_for_update().filter(
        id__in=[by_sku[sku].id for sku in wanted])}
    for sku, qty in wanted.items():
        line = po_lines[by_sku[sku].id]
        if line.qty_received + qty > line.qty_ordered:
            errors.setdefault("lines", []).append(
                f"{sku}: receiving {qty} would exceed the {line.qty_ordered - line.qty_received} still open")
    if errors:
        raise InvalidInput("Over-receipt.", errors=errors)

    # The PO's status first: receipts come last so the pools' cause is "receipt".
    open_after = {line.id: line.qty_ordered - line.qty_received for line in po.lines.all()}
    for sku, qty in wanted.items():
        open_after[by_sku[sku].id] -= qty
    new_status = (PurchaseOrder.Status.PARTIALLY_RECEIVED if any(open_after.values())
                  else PurchaseOrder.Status.RECEIVED)
    if po.status != new_status:
        eta_changes_record(po=po, moves=[EtaMove(po.eta, po.eta, old_status=po.status, new_status=new_status)],
                           reason=f"Receipt {reference}".strip(), user=user)
        po.status = new_status
        po.save(update_fields=["status", "updated_at"])

    received_at = received_at or timezone.now()
    receipts = []
    for sku, qty in wanted.items():
        line = po_lines[by_sku[sku].id]
        line.qty_received += qty
        line.save(update_fields=["qty_received"])
        stock = stocks[(line.sku_id, po.warehouse_id)]
        stock.on_hand += qty
        stock.save(update_fields=["on_hand", "updated_at"])
        # Created last: its signal marks the pool with the cause "receipt".
        receipts.append(Receipt.objects.create(po_line=line, qty=qty, received_at=received_at,
                                               reference=reference, received_by=user))
    return receipts


SKU_WRITABLE = ("name", "backorder_allowed", "preorder", "sell_beyond_supply", "safety_stock",
                "lead_time_days")
SUPPLIER_WRITABLE = ("name", "email", "country", "lead_time_days")


@transaction.atomic
def sku_upsert(*, code: str, name: str, **fields) -> tuple[SKU, bool]:
    """Create the SKU `code` or change the given fields of it; return (sku, created).

    A change of safety stock, lead time or sell-beyond-supply re-promises the SKU's pools
    (promises/signals.py).
    """
    return _upsert(SKU, code, SKU_WRITABLE, {**fields, "name": name}, label="SKU")


@transaction.atomic
def supplier_upsert(*, code: str, name: str, **fields) -> tuple[Supplier, bool]:
    """Create the supplier `code` or change the given fields of it; return (supplier, created)."""
    if "country" in fields:
        fields["country"] = (fields["country"] or "").upper()
    return _upsert(Supplier, code, SUPPLIER_WRITABLE, {**fields, "name": name}, label="supplier")


def _upsert(model, code: str, writable: tuple[str, ...], fields: dict, *, label: str):
    """Create the row of `code` or change the given fields of it; return (row, created).

    Fields not given keep their value (or the model default on creation); an unknown field,
    a bad code or a bad value is refused naming its field, and nothing is written.
    """
    unknown = set(fields) - set(writable)
    if unknown:
        raise InvalidInput(f"Unknown {label} fields.", errors={f: ["not writable"] for f in sorted(unknown)})
    row = model.objects.select_for_update().filter(code=code).first()
    created = row is None
    if created:
        row = model(code=code)
    changed = [f for f in writable if f in fields and getattr(row, f) != fields[f]]
    for f in changed:
        setattr(row, f, fields[f])
    try:
        row.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(f"The {label} is not valid.", errors=exc.message_dict) from None
    if created:
        row.save()
    elif changed:
        auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        row.save(update_fields=[*changed, *auto_now])
    return row, created
