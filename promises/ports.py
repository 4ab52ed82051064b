"""The calls re-promising and intake make to the regional workflow, through one port.

promises sits below the workflow (docs/architecture.md) and may not import it, yet after a
re-promise writes its changes, or intake takes an order, it needs the workflow to act, in
the same transaction, before it commits. It calls this interface; the one implementation is
named by settings.BACKORDER_DESK["WORKFLOW"], loaded once and checked at startup
(promises.checks), so a missing or broken workflow stops the project from starting rather
than silently raising no exception.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from orders.models import Order, OrderLine
    from promises.models import PromiseChange


@dataclass(frozen=True)
class ProposedMove:
    """A promise a proposed supply change would move later (nothing is written)."""

    line_id: int
    ship_date: date
    delivery_to: date
    confirmed: bool


class Workflow(Protocol):
    """What re-promising and intake ask of the regional workflow."""

    def promise_changes_assess(self, *, changes: list[PromiseChange], now: datetime) -> None:
        """Judge the lines whose promise a re-promise just changed (inside its transaction)."""

    def lines_assess(self, *, line_ids: list[int], now: datetime, placed: Order | None = None) -> None:
        """Judge these lines against what their customers were told (an estimate taken at
        intake). `placed`: the order they belong to, placed in this transaction (the lines
        are new: nothing was sent, agreed or raised for them yet)."""

    def order_placed(self, *, order: Order, lines: list[OrderLine], now: datetime) -> None:
        """Tell the customer of an order's backordered lines (inside the intake transaction)."""

    def moves_foresee(self, *, moves: list[ProposedMove], now: datetime) -> list[str]:
        """Say, one sentence per region, what these proposed moves would set off under its
        law (the PO form's impact preview); reads only."""

    def measures_delivery(self, *, region_code: str) -> bool:
        """Say whether the region's law measures delivery (labels then give the latest
        delivery date) rather than shipment."""


#: The methods a workflow must have (checked at startup).
WORKFLOW_METHODS = ("promise_changes_assess", "lines_assess", "order_placed", "moves_foresee",
                    "measures_delivery")


@functools.cache
def workflow() -> Workflow:
    """Return the workflow named by settings.BACKORDER_DESK["WORKFLOW"]."""
    return import_string(settings.BACKORDER_DESK["WORKFLOW"])()
