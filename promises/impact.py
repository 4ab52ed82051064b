"""Preview what a purchase-order change would do to promises, without writing anything.

What a slip sets off under each region's law (notices, consent, cancellation) is the
workflow's to say: the preview asks it through the Workflow port (moves_foresee).
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from django.utils import timezone

from inventory.models import PurchaseOrder, po_line_available_on
from orders.models import OrderLine
from promises.calendars import transit_calendar_for
from promises.engine import Supply, SupplyKey
from promises.ports import ProposedMove, workflow
from promises.selectors import pools_load, regions_by_id
from promises.services import pools_allocate


@dataclass(frozen=True)
class POLineChange:
    qty_ordered: int | None = None
    eta: date | None = None
    delete: bool = False


@dataclass
class MovedLine:
    line_id: int
    order: str
    sku: str
    old_ship_date: date | None
    new_ship_date: date
    communicated: date | None
    confirmed: bool
    region: str = ""

    @property
    def later(self) -> bool:
        return self.new_ship_date > (self.old_ship_date or self.new_ship_date)


@dataclass
class Impact:
    later: list[MovedLine] = field(default_factory=list)
    earlier: list[MovedLine] = field(default_factory=list)
    unconfirmed: int = 0
    past_communicated: int = 0
    pools: int = 0
    lines: int = 0
    #: One sentence per region on what the later promises set off under its law.
    consequences: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.later and not self.earlier:
            return f"No promise moves ({self.lines} open lines in {self.pools} pools checked)."
        parts = []
        if self.later:
            parts.append(f"moves {len(self.later)} promises later")
        if self.earlier:
            parts.append(f"{len(self.earlier)} earlier")
        text = ", ".join(parts)
        if self.past_communicated:
            text += f"; {self.past_communicated} past the ship date the customer was told"
        if self.unconfirmed:
            text += f"; {self.unconfirmed} lose confirmed supply"
        return text[0].upper() + text[1:] + "."


def po_change_impact(*, po: PurchaseOrder, status: str | None = None, eta: date | None = None,
                     dock_to_stock_days: int | None = None,
                     lines: dict[int, POLineChange] | None = None,
                     now: datetime | None = None) -> Impact:
    """Return which promises would move if the PO changed so, comparing with today's promises."""
    now = now or timezone.now()
    today = now.date()
    lines = lines or {}
    status = status or po.status
    eta = eta or po.eta
    dock = po.dock_to_stock_days if dock_to_stock_days is None else dock_to_stock_days
    po_lines = list(po.lines.all())
    pools = {(line.sku_id, po.warehouse_id) for line in po_lines}
    states = pools_load(pools=pools, today=today)
    is_supply = status in PurchaseOrder.SUPPLY_STATUSES
    for line in po_lines:
        state = states.get((line.sku_id, po.warehouse_id))
        if state is None:
            continue
        key = SupplyKey(line.id)
        change = lines.get(line.id, POLineChange())
        qty = (change.qty_ordered if change.qty_ordered is not None else line.qty_ordered) - line.qty_received
        line_eta = change.eta if line.id in lines else line.eta
        available_on = po_line_available_on(eta=line_eta or eta, dock_to_stock_days=dock, today=today)
        others = [s for s in state.supply if s.key != key]
        current = next((s for s in state.supply if s.key == key), None)
        if is_supply and not change.delete and qty > 0:
            template = current or _po_supply(key, po.number)
            others.append(replace(template, qty=qty, available_on=available_on))
        state.supply = others

    impact = Impact(pools=len(states))
    allocated = pools_allocate(states, now=now)
    regions = regions_by_id()
    transits: dict[int, object] = {}
    proposed: list[ProposedMove] = []
    for key, assignments in allocated.items():
        by_line = {ol.demand.line_id: ol for ol in states[key].lines}
        impact.lines += len(by_line)
        for a in assignments:
            line = by_line[a.line_id]
            current = line.current
            old = current.ship_date if current else None
            if current and current.confirmed and not a.confirmed:
                impact.unconfirmed += 1
            if old is None or a.ship_date == old:
                continue
            moved = MovedLine(a.line_id, "", "", old, a.ship_date, current.communicated_ship_date,
                              a.confirmed, regions[line.region_id].code)
            if a.ship_date > old:
                impact.later.append(moved)
                told = current.communicated_ship_date
                if told and a.ship_date > told:
                    impact.past_communicated += 1
                transit = transits.get(line.region_id) or transits.setdefault(
                    line.region_id, transit_calendar_for(regions[line.region_id]))
                proposed.append(ProposedMove(a.line_id, a.ship_date, transit.delivery_window(a.ship_date)[1],
                                             a.confirmed))
            else:
                impact.earlier.append(moved)
    _describe(impact.later + impact.earlier)
    if proposed:
        impact.consequences = workflow().moves_foresee(moves=proposed, now=now)
    return impact


def _po_supply(key, number):
    return Supply(key, "purchase_order", number, 0, date.max)


def _describe(moved: list[MovedLine]) -> None:
    """Fill in order and SKU for display (one query)."""
    info = {
        pk: (f"{channel}#{ext}", sku)
        for pk, channel, ext, sku in OrderLine.objects.filter(id__in=[m.line_id for m in moved])
        .values_list("id", "order__channel__code", "order__external_id", "sku__code")
    }
    for m in moved:
        m.order, m.sku = info.get(m.line_id, ("", ""))
