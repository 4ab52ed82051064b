"""The three reports as plain tables and chart data, built from the KPI selectors.

Every format (CSV, XLSX, PDF) renders the same `Report`, so their figures cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from reports import selectors
from reports.models import ReportKind
from reports.selectors import ReportFilter

Cell = str | int | float | Decimal | date | None


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""


@dataclass
class Chart:
    """A bar or pie chart of one series per label; drawn only in the PDF."""

    title: str
    kind: str  # "bar" or "pie"
    labels: list[str]
    series: dict[str, list[float]]


@dataclass
class Report:
    kind: str
    title: str
    filters: ReportFilter
    as_of: date
    generated_at: datetime
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return ", ".join([f"region {self.filters.region or 'all'}",
                          f"channel {self.filters.channel or 'all'}"])


def cell_text(value: Cell) -> str:
    """Return a cell as text, the same in the CSV and the PDF."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rate_row(label: str, part: int, whole: int, rate) -> list[Cell]:
    return [label, part, whole, rate]


def report_build(*, kind: str, f: ReportFilter) -> Report:
    """Return the report `kind` (exposure, refunds, performance) for the filter."""
    builders = {ReportKind.EXPOSURE: _exposure, ReportKind.REFUNDS: _refunds,
                ReportKind.PERFORMANCE: _performance}
    report = Report(kind=kind, title=str(ReportKind(kind).label), filters=f, as_of=f.end,
                    generated_at=timezone.now())
    builders[ReportKind(kind)](report, f)
    return report


def _refund_rows(rows) -> Table:
    return Table(
        "Refunds by currency",
        ["Currency", "Due", "Due amount", "Overdue", "Overdue amount", "Paid in range",
         "Paid amount", "Paid on time", "On time %", "Days to refund (mean)",
         "Days to refund (p90)", "Days against deadline (mean)"],
        [[r.currency, r.due_count, r.due_amount, r.overdue_count, r.overdue_amount, r.paid_count,
          r.paid_amount, r.paid_on_time, r.on_time_rate, r.days_to_refund_mean,
          r.days_to_refund_p90, r.days_vs_deadline_mean] for r in rows],
        note="Due and overdue as of the end of the range; overdue: past refund_due_by.",
    )


def _exposure(report: Report, f: ReportFilter) -> None:
    book = selectors.open_book(f=f)
    rate = selectors.backorder_rate(f=f)
    report.tables += [
        Table("Open backorder book by currency",
              ["Currency", "Lines", "Units", "Value", "Cash held"],
              [[b.currency, b.lines, b.units, b.value, b.cash_held] for b in book.by_currency],
              note=f"As of {book.as_of.isoformat()}; value = open units × unit price."),
        Table("Aging of open backorders", ["Days since placed", "Lines", "Units"],
              [list(a) for a in book.aging]),
        Table("Age of open backorders", ["Lines", "Mean age (days)", "P90 age (days)"],
              [[book.lines, book.age_mean, book.age_p90]]),
        Table("Backorder rate", ["Measure", "Backordered", "Placed", "Rate %"],
              [_rate_row("Lines", rate.backordered_lines, rate.lines, rate.line_rate),
               _rate_row("Units", rate.backordered_units, rate.units, rate.unit_rate)]),
        _refund_rows(selectors.refunds(f=f)),
    ]
    report.charts.append(Chart("Open backorder units by age", "bar",
                               [a[0] for a in book.aging], {"Units": [a[2] for a in book.aging]}))


def _refunds(report: Report, f: ReportFilter) -> None:
    c = selectors.cancellations(f=f)
    columns = ["Currency", "Cancellations", "Units", "Refund owed"]
    report.tables += [
        Table("Cancellations of backorders by reason", ["Reason", *columns],
              [[g.key, g.currency, g.cancellations, g.units, g.amount] for g in c.by_reason]),
        Table("Cancellations of backorders by who decided", ["Decided by", *columns],
              [[g.key, g.currency, g.cancellations, g.units, g.amount] for g in c.by_decider]),
        Table("Cancellation rate", ["Measure", "Cancelled", "Backordered", "Rate %"],
              [_rate_row("Backordered lines placed in range", c.cancelled_lines,
                         c.backordered_lines, c.rate)]),
        _refund_rows(selectors.refunds(f=f)),
    ]
    deciders: dict[str, int] = {}
    for g in c.by_decider:
        deciders[g.key] = deciders.get(g.key, 0) + g.cancellations
    report.charts.append(Chart("Cancellations by who decided", "pie", list(deciders),
                               {k: [v] for k, v in deciders.items()}))


def _performance(report: Report, f: ReportFilter) -> None:
    p = selectors.promise_performance(f=f)
    slips = selectors.supplier_slips(f=f)
    n = selectors.notices(f=f)
    health = selectors.marketplace_health(f=f)
    report.tables += [
        Table("Promises kept (backorders shipped in range)",
              ["Shipped lines", "First promise kept", "First kept %", "Last promise kept",
               "Last kept %", "Days to ship (median)", "Days to ship (p90)"],
              [[p.shipped_lines, p.first_kept, p.first_kept_rate, p.last_kept, p.last_kept_rate,
                p.days_to_ship_median, p.days_to_ship_p90]]),
        Table("Supplier slips (PO lines due in range)",
              ["Supplier", "PO lines", "Slipped", "Slipped %", "Days slipped (mean)",
               "Days slipped (p90)"],
              [[s.supplier, s.po_lines, s.slipped, s.slipped_rate, s.days_mean, s.days_p90]
               for s in slips]),
        Table("Delay notices sent in range",
              ["Sent", "With a legal deadline", "On or before deadline", "On time %"],
              [[n.sent, n.with_deadline, n.on_time, n.on_time_rate]]),
        Table("Late delay notices", ["Order", "Line", "Kind", "Due by", "Sent on"],
              [[x.order, x.line_id, x.kind, x.due_by, x.sent_on] for x in n.late]),
        Table("Marketplace health",
              ["Channel", "Kind", "Shipments", "Late shipment %", "Late max %", "Orders",
               "Seller cancel %", "Cancel max %", "Valid tracking %", "Tracking min %",
               "Breaches"],
              [[h.channel, h.kind, h.shipments, h.late_shipment_rate, h.late_shipment_max,
                h.orders, h.seller_cancel_rate, h.seller_cancel_max, h.valid_tracking_rate,
                h.valid_tracking_min, ", ".join(h.breaches)] for h in health]),
    ]
    report.charts.append(Chart(
        "Promises kept (%)", "bar", ["First promise", "Last promise"],
        {"Kept %": [float(p.first_kept_rate or 0), float(p.last_kept_rate or 0)]}))
    if slips:
        report.charts.append(Chart("Share of PO lines slipped per supplier (%)", "bar",
                                   [s.supplier for s in slips],
                                   {"Slipped %": [float(s.slipped_rate or 0) for s in slips]}))
