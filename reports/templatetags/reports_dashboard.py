"""`{% dashboard_for user as dashboard %}`: the admin index's tiles, each linked to its list.

The numbers come from reports.dashboard (cached); this module only turns them into tiles:
a label, a value and the admin changelist, filtered by its own list filters or field
lookups, that holds the rows behind the value.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

import pygal
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from reports.dashboard import dashboard_for_user

register = template.Library()


@dataclass(frozen=True)
class Tile:
    label: str
    value: object
    url: str
    alert: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tiles: list[Tile]
    chart: str = ""


def _changelist(model: str, **params) -> str:
    try:
        url = reverse(f"admin:{model}_changelist")
    except NoReverseMatch:  # django-q lists its ORM queue only when the ORM is the broker
        return ""
    return f"{url}?{urlencode(params)}" if params else url


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _exceptions(rows) -> Section:
    tiles = []
    for r in rows:
        tiles.append(Tile(f"{r.region} overdue", r.overdue, _changelist(
            "promises_orderexception", region__id__exact=r.region_id, due_by__lt=r.today.isoformat()),
            alert=r.overdue > 0))
        tiles.append(Tile(f"{r.region} due today", r.due_today, _changelist(
            "promises_orderexception", region__id__exact=r.region_id, due_by=r.today.isoformat())))
    return Section("exceptions", "Exceptions (open, by the region's date)", tiles)


def _purchasing(p) -> Section:
    tiles = [
        Tile("POs late (ETA past)", p.late, _changelist(
            "inventory_purchaseorder", status__in="confirmed,in_transit", eta__lt=p.today.isoformat()),
            alert=p.late > 0),
        Tile("POs slipping (ETA later than 7 days ago)", p.slipping, _changelist(
            "inventory_purchaseorder", id__in=",".join(map(str, p.slipping_ids)) or "0")),
    ]
    for s in p.top_skus:
        tiles.append(Tile(f"{s.code}: lines waiting (units open: {s.units})", s.lines, _changelist(
            "orders_orderline", status__exact="backordered", sku__id__exact=s.sku_id)))
    return Section("purchasing", "Purchasing", tiles, chart=_skus_chart(p.top_skus))


def _skus_chart(skus) -> str:
    """Return a small bar chart of the SKUs' waiting lines as an SVG image ('' when none wait).

    An <img> of a data: URI, not inline SVG: pygal's SVG carries scripts (tooltips), which
    the Content-Security-Policy refuses on the page; inside an image they never run.
    """
    if not skus:
        return ""
    chart = pygal.HorizontalBar(width=420, height=180, show_legend=False, explicit_size=True,
                                margin=4, title="Lines waiting per SKU", js=[])
    chart.x_labels = [s.code for s in skus]
    chart.add("Lines waiting", [s.lines for s in skus])
    data = base64.b64encode(chart.render()).decode("ascii")
    return format_html('<img src="data:image/svg+xml;base64,{}" width="420" height="180" alt="{}">',
                       data, "Lines waiting per SKU: " + ", ".join(f"{s.code} {s.lines}" for s in skus))


def _finance(f) -> Section:
    tiles = []
    for r in f.refunds:
        tiles.append(Tile(f"Refunds owed {r.currency} ({r.owed_count})", r.owed, _changelist(
            "orders_cancellation", refund="due", currency__exact=r.currency)))
        tiles.append(Tile(f"Refunds overdue {r.currency} ({r.overdue_count})", r.overdue, _changelist(
            "orders_cancellation", refund="overdue", currency__exact=r.currency),
            alert=r.overdue_count > 0))
    for b in f.book:
        tiles.append(Tile(f"Open backorder book {b.currency} (lines: {b.lines})", b.value,
                          _changelist("orders_orderline", status__exact="backordered")))
    return Section("finance", "Refunds and the backorder book", tiles)


def _workers(w) -> Section:
    tiles = [
        Tile("Tasks queued", w.queued, _changelist("django_q_ormq")),
        Tile("Oldest queued task", _age(w.oldest_queued_seconds), _changelist("django_q_ormq"),
             alert=(w.oldest_queued_seconds or 0) > 600),
        Tile("Notices due to send", w.notices_due, _changelist("notifications_notice", status__in="pending,failed")),
        Tile("Oldest due notice waiting", _age(w.oldest_notice_seconds),
             _changelist("notifications_notice", status__in="pending,failed"),
             alert=(w.oldest_notice_seconds or 0) > 3600),
    ]
    return Section("workers", "Workers", tiles)


#: The health signals' labels and the admin list behind each (core.health; docs/operations.md).
HEALTH_TILES = {
    "database": ("Database", ""),
    "broker": ("Task broker (queued per cluster)", "django_q_ormq"),
    "clusters": ("Worker clusters: last heartbeat", "django_q_success"),
    "notices": ("Notices due to send", "notifications_notice"),
    "api_throttle": ("API rate-limit counters", ""),
}


def _health(h) -> Section:
    tiles = [Tile("Warning", w, "", alert=True) for w in h.warnings]
    for check in h.checks:
        label, model = HEALTH_TILES.get(check.name, (check.name, ""))
        params = {"status__in": "pending,failed"} if check.name == "notices" else {}
        tiles.append(Tile(label, check.summary, _changelist(model, **params) if model else "",
                          alert=check.ok is False))
    return Section("health", f"Health: {h.status}", tiles)


BUILDERS = {"health": _health, "exceptions": _exceptions, "purchasing": _purchasing, "finance": _finance,
            "workers": _workers}


@register.simple_tag
def dashboard_for(user) -> list[Section]:
    """Return the sections of the user's dashboard as tiles (empty for a user with no role)."""
    if not getattr(user, "is_authenticated", False):
        return []
    dashboard = dashboard_for_user(user=user)
    if dashboard is None:
        return []
    return [BUILDERS[key](getattr(dashboard, key)) for key in dashboard.sections]
