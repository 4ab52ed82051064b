"""The admin index as a dashboard: a few numbers per role, each read with aggregate queries.

Which sections a user sees follows their role groups (promises.roles): agents the exception
queue, buyers purchasing, finance refunds and the backorder book, ops all of it plus the
workers' health and the system's health signals (core.health, as /healthz gives them);
superusers see everything. Each section runs a fixed number of queries whatever the number
of rows, and the dashboard is cached for a minute per set of sections, so a busy index costs
one cache read; the health signals alone are read at each view (a few small queries), so a
warning shows as soon as it is raised. Definitions in docs/reports.md and docs/operations.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from core.health import Health, health_report
from inventory.models import PurchaseOrder, Region
from notifications.health import notices_due_oldest
from orders.models import Cancellation, OrderLine
from promises.models import OrderException
from reports.aggregates import money_round
from reports.selectors import BookCurrency, ReportFilter, open_book
from workflow.regional import region_today

MONEY = DecimalField(max_digits=14, decimal_places=2)
CACHE_SECONDS = 60
CACHE_PREFIX = "reports:dashboard:v1"
SLIP_WINDOW_DAYS = 7
TOP_SKUS = 5

EXCEPTIONS, PURCHASING, FINANCE, WORKERS = "exceptions", "purchasing", "finance", "workers"
HEALTH = "health"
SECTIONS = (HEALTH, EXCEPTIONS, PURCHASING, FINANCE, WORKERS)
#: Role group -> the dashboard sections it sees (the group names of promises.roles.ROLES).
ROLE_SECTIONS = {
    "CS agent": (EXCEPTIONS,),
    "Buyer": (PURCHASING,),
    "Finance": (FINANCE,),
    "Ops": SECTIONS,
}
#: Purchase orders whose ETA counts as a commitment: late once it is past.
LATE_PO_STATUSES = (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.IN_TRANSIT)
#: Purchase orders still to arrive: an ETA moved later on one of them is a slip.
OPEN_PO_STATUSES = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CONFIRMED,
                    PurchaseOrder.Status.IN_TRANSIT, PurchaseOrder.Status.PARTIALLY_RECEIVED)


@dataclass(frozen=True)
class RegionExceptions:
    region_id: int
    region: str
    today: date
    overdue: int
    due_today: int


@dataclass(frozen=True)
class SkuWaiting:
    sku_id: int
    code: str
    lines: int
    units: int


@dataclass(frozen=True)
class Purchasing:
    today: date
    late: int
    slipping_ids: list[int]
    top_skus: list[SkuWaiting]

    @property
    def slipping(self) -> int:
        return len(self.slipping_ids)


@dataclass(frozen=True)
class RefundsOwed:
    currency: str
    owed_count: int
    owed: Decimal
    overdue_count: int
    overdue: Decimal


@dataclass(frozen=True)
class Finance:
    today: date
    refunds: list[RefundsOwed]
    book: list[BookCurrency]


@dataclass(frozen=True)
class WorkerHealth:
    queued: int
    oldest_queued_seconds: int | None
    notices_due: int
    oldest_notice_seconds: int | None


@dataclass(frozen=True)
class Dashboard:
    sections: tuple[str, ...]
    exceptions: list[RegionExceptions] | None = None
    purchasing: Purchasing | None = None
    finance: Finance | None = None
    workers: WorkerHealth | None = None
    health: Health | None = None
    computed_at: datetime | None = field(default=None, compare=False)


def dashboard_sections(*, user) -> tuple[str, ...]:
    """Return the sections a user's roles show, in display order (one query, none for a superuser)."""
    if user.is_superuser:
        return SECTIONS
    names = set(user.groups.values_list("name", flat=True))
    shown = {s for name in names for s in ROLE_SECTIONS.get(name, ())}
    return tuple(s for s in SECTIONS if s in shown)


def exceptions_due_by_region(*, now: datetime) -> list[RegionExceptions]:
    """Return open exceptions overdue and due today per region, by the region's local date.

    Two queries: the regions (for their timezones), then one aggregate with a filtered count
    per region.
    """
    regions = list(Region.objects.order_by("code"))
    todays = {r.pk: region_today(r, now) for r in regions}
    aggregates = {}
    for r in regions:
        aggregates[f"o{r.pk}"] = Count("pk", filter=Q(region_id=r.pk, due_by__lt=todays[r.pk]))
        aggregates[f"t{r.pk}"] = Count("pk", filter=Q(region_id=r.pk, due_by=todays[r.pk]))
    row = (OrderException.objects.filter(status__in=OrderException.OPEN_STATUSES)
           .aggregate(**aggregates)) if regions else {}
    return [RegionExceptions(r.pk, r.code, todays[r.pk], row[f"o{r.pk}"], row[f"t{r.pk}"])
            for r in regions]


def purchase_orders_late_count(*, today: date) -> int:
    """Return the confirmed or in-transit purchase orders whose ETA is past (one query)."""
    return PurchaseOrder.objects.filter(status__in=LATE_PO_STATUSES, eta__lt=today).count()


def purchase_orders_slipping(*, now: datetime, days: int = SLIP_WINDOW_DAYS) -> list[int]:
    """Return the ids of open purchase orders whose ETA is later than it was `days` ago.

    The baseline is the ETA of the PO's last history record at or before the cutoff, or of
    its first record after it for a PO created since. One query.
    """
    cutoff = now - timedelta(days=days)
    history = PurchaseOrder.history.model.objects.filter(id=OuterRef("pk"))
    before = history.filter(history_date__lte=cutoff).order_by("-history_date", "-history_id")
    since = history.filter(history_date__gt=cutoff).order_by("history_date", "history_id")
    changed = history.filter(history_date__gt=cutoff)
    return list(PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES)
                .filter(Exists(changed))
                .annotate(_baseline=Coalesce(Subquery(before.values("eta")[:1]),
                                             Subquery(since.values("eta")[:1])))
                .filter(eta__gt=F("_baseline")).order_by("pk").values_list("pk", flat=True))


def skus_most_waiting(*, limit: int = TOP_SKUS) -> list[SkuWaiting]:
    """Return the SKUs with the most backordered lines, with their open units (one query)."""
    open_units = F("qty") - F("qty_shipped") - F("qty_cancelled")
    rows = (OrderLine.objects.filter(status=OrderLine.Status.BACKORDERED)
            .values("sku_id", "sku__code").order_by()
            .annotate(lines=Count("pk"), units=Sum(open_units))
            .order_by("-lines", "-units", "sku__code")[:limit])
    return [SkuWaiting(r["sku_id"], r["sku__code"], r["lines"], r["units"] or 0) for r in rows]


def refunds_owed_by_currency(*, today: date) -> list[RefundsOwed]:
    """Return refunds owed (not refunded) and overdue (due before today) per currency (one query)."""
    overdue = Q(refund_due_by__lt=today)
    rows = (Cancellation.objects.filter(refunded_at__isnull=True)
            .values("currency").order_by("currency")
            .annotate(owed_count=Count("pk"), owed=Sum("amount", output_field=MONEY),
                      overdue_count=Count("pk", filter=overdue),
                      overdue=Sum("amount", filter=overdue, output_field=MONEY)))
    return [RefundsOwed(r["currency"], r["owed_count"], money_round(r["owed"] or 0),
                        r["overdue_count"], money_round(r["overdue"] or 0)) for r in rows]


def worker_health(*, now: datetime) -> WorkerHealth:
    """Return the task queue's depth and oldest task's age, and the oldest due notice's age.

    A notice is due as the outbox drain sees it: pending with no retry time, or pending or
    failed with its retry time past; its wait starts at that retry time, else at its
    creation. Three queries.
    """
    queue = OrmQ.objects.aggregate(n=Count("pk"), first=Min("pk"))
    oldest_seconds = None
    if queue["first"] is not None:
        payload = OrmQ.objects.filter(pk=queue["first"]).values_list("payload", flat=True).first()
        oldest_seconds = _task_age(payload, now) if payload else None
    notices_due, notice_seconds = notices_due_oldest(now=now)
    return WorkerHealth(queue["n"], oldest_seconds, notices_due, notice_seconds)


def _task_age(payload: str, now: datetime) -> int | None:
    """Return seconds since a queued django-q task was enqueued (None if unreadable)."""
    try:
        started = SignedPackage.loads(payload).get("started")
    except Exception:  # a payload signed with another key: the count still tells the story
        return None
    return max(0, int((now - started).total_seconds())) if started else None


def dashboard_compute(*, sections: tuple[str, ...], now: datetime | None = None) -> Dashboard:
    """Return the dashboard's numbers for these sections, uncached."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    parts = {}
    if EXCEPTIONS in sections:
        parts["exceptions"] = exceptions_due_by_region(now=now)
    if PURCHASING in sections:
        parts["purchasing"] = Purchasing(today, purchase_orders_late_count(today=today),
                                         purchase_orders_slipping(now=now), skus_most_waiting())
    if FINANCE in sections:
        book = open_book(f=ReportFilter(start=today, end=today), as_of=today)
        parts["finance"] = Finance(today, refunds_owed_by_currency(today=today), book.by_currency)
    if WORKERS in sections:
        parts["workers"] = worker_health(now=now)
    if HEALTH in sections:
        parts["health"] = health_report(now=now)
    return Dashboard(sections=sections, computed_at=now, **parts)


def dashboard_for_user(*, user) -> Dashboard | None:
    """Return the user's dashboard, cached for a minute per set of sections (None: no role)."""
    sections = dashboard_sections(user=user)
    if not sections:
        return None
    cached = tuple(s for s in sections if s != HEALTH)
    key = f"{CACHE_PREFIX}:{','.join(cached)}"
    dashboard = cache.get(key)
    if dashboard is None:
        dashboard = dashboard_compute(sections=cached)
        cache.set(key, dashboard, CACHE_SECONDS)
    dashboard = replace(dashboard, sections=sections)
    if HEALTH in sections:  # never cached: a warning must show at once
        dashboard = replace(dashboard, health=health_report())
    return dashboard
