"""Supply side: regions, channels, warehouses, SKUs, stock, suppliers, purchase orders, caps."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from model_utils import FieldTracker
from simple_history.models import HistoricalRecords


class Strategy(models.TextChoices):
    """Backorder-processing strategy classes, after SAP BOP (see docs/promising.md)."""

    WIN = "win", "Win (served first, may take supply from others)"
    GAIN = "gain", "Gain (never worse, improved when possible)"
    REDISTRIBUTE = "redistribute", "Redistribute (plain priority order)"
    FILL = "fill", "Fill (keeps its promise, never improved)"
    LOSE = "lose", "Lose (releases its supply first)"


def holiday_calendar_errors(
    country: str, subdivision: str, *, fields: tuple[str, str] = ("holiday_country", "holiday_subdivision")
) -> dict[str, str]:
    """Return an error per field (country, subdivision) whose code the holidays package lacks."""
    if not country:
        return {}  # the field's own blank check reports it
    country_field, subdivision_field = fields
    known = holidays.list_supported_countries(include_aliases=False)
    if country not in known:
        return {country_field: f"The holidays package has no country {country!r} (ISO 3166 code, e.g. GB)."}
    if subdivision and subdivision not in known[country]:
        return {subdivision_field: f"{country} has no holiday subdivision {subdivision!r}; "
                                   f"known: {', '.join(known[country])}."}
    return {}


class Region(models.Model):
    class Code(models.TextChoices):
        US = "US", "United States"
        EU = "EU", "European Union"
        UK = "UK", "United Kingdom"

    class LegalRegime(models.TextChoices):
        US_FTC = "us_ftc", "US FTC Mail Order Rule (16 CFR 435), measures shipment"
        EU_CRD = "eu_crd", "EU Consumer Rights Directive 2011/83/EU, measures delivery"
        UK_CRA = "uk_cra", "UK Consumer Rights Act 2015, measures delivery"

    code = models.CharField(max_length=2, unique=True, choices=Code.choices)
    name = models.CharField(max_length=60)
    legal_regime = models.CharField(max_length=10, choices=LegalRegime.choices)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD.")
    locale = models.CharField(max_length=10, help_text="Default customer locale, e.g. en_US.")
    timezone = models.CharField(max_length=50)
    transit_min_days = models.PositiveSmallIntegerField(help_text="Carrier transit, business days.")
    transit_max_days = models.PositiveSmallIntegerField(help_text="Carrier transit, business days.")
    holiday_country = models.CharField(
        max_length=2, help_text="Country whose public holidays the carrier skips (holidays package)."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True,
        help_text="Subdivision whose extra holidays the carrier also skips, e.g. ENG. Blank: country-wide only.",
    )
    default_warehouse = models.ForeignKey(
        "Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hold_notices_for_review = models.BooleanField(
        default=False, help_text="Hold delay notices until an agent sends them."
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(transit_min_days__lte=F("transit_max_days")),
                name="region_transit_min_le_max",
            ),
        ]

    def __str__(self):
        return self.code

    def clean(self):
        super().clean()
        errors = holiday_calendar_errors(self.holiday_country, self.holiday_subdivision)
        if errors:
            raise ValidationError(errors)


class Channel(models.Model):
    class Kind(models.TextChoices):
        DTC = "dtc", "Direct to consumer"
        MARKETPLACE = "marketplace", "Marketplace"
        WHOLESALE = "wholesale", "Wholesale"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DTC)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="channels")
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Allocation priority: lower numbers are served first."
    )
    strategy = models.CharField(
        max_length=12, choices=Strategy.choices, default=Strategy.REDISTRIBUTE
    )
    hold_notices_for_review = models.BooleanField(default=False)
    late_shipment_target_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Marketplace late-shipment-rate ceiling, e.g. 4.00 for Amazon.",
    )
    cancel_rate_target_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Marketplace pre-fulfilment cancel-rate ceiling, e.g. 2.50 for Amazon.",
    )
    active = models.BooleanField(default=True)
    # What a save changed, for re-promising the pools a new ranking touches (promises.signals).
    tracker = FieldTracker(fields=["priority", "strategy"])

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self):
        return self.code


class Warehouse(models.Model):
    class Operator(models.TextChoices):
        OWN = "own", "Own"
        THREE_PL = "3pl", "3PL"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=80)
    operator = models.CharField(max_length=3, choices=Operator.choices, default=Operator.OWN)
    country = models.CharField(max_length=2, help_text="ISO 3166 code; its holidays are skipped.")
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=50)
    cutoff_time = models.TimeField(default=time(14, 0), help_text="Order cut-off, local time.")
    handling_days = models.PositiveSmallIntegerField(
        default=1, help_text="Business days from pick to hand-over to the carrier."
    )
    regions_served = models.ManyToManyField(Region, related_name="warehouses", blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Supplier(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    lead_time_days = models.PositiveSmallIntegerField(default=45)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SKU(models.Model):
    code = models.CharField(
        max_length=40, unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "Letters, digits, . _ - only.")],
    )
    name = models.CharField(max_length=200)
    backorder_allowed = models.BooleanField(default=True)
    preorder = models.BooleanField(default=False, help_text="Not yet released.")
    release_date = models.DateField(null=True, blank=True)
    sell_beyond_supply = models.BooleanField(
        default=False,
        help_text="Accept orders beyond stock and open POs, with an unconfirmed lead-time estimate.",
    )
    safety_stock = models.PositiveIntegerField(default=0)
    lead_time_days = models.PositiveSmallIntegerField(
        default=45, help_text="Fallback supplier lead time when no PO covers the demand."
    )
    lead_time_slip_days = models.PositiveSmallIntegerField(
        default=0, help_text="Typical slip of this supplier's ETAs (reliability)."
    )
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="skus"
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    tracker = FieldTracker(fields=["safety_stock", "lead_time_days", "sell_beyond_supply"])

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"

    def __str__(self):
        return self.code


class StockLevel(models.Model):
    """On-hand units of one SKU in one warehouse; its row is the pool's lock."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])
    # The loaded values of the fields whose change moves promises (promises/signals.py).
    tracker = FieldTracker(fields=["on_hand"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stock_level_one_per_pool"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
        ]

    def __str__(self):
        return f"{self.sku_id}@{self.warehouse_id}: {self.on_hand}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CONFIRMED = "confirmed", "Confirmed"
        IN_TRANSIT = "in_transit", "In transit"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    #: Statuses whose open quantities count as supply.
    SUPPLY_STATUSES = (Status.CONFIRMED, Status.IN_TRANSIT, Status.PARTIALLY_RECEIVED)

    number = models.CharField(max_length=40, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="purchase_orders",
        help_text="Destination warehouse.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    eta = models.DateField("ETA", help_text="Expected arrival at the dock.")
    dock_to_stock_days = models.PositiveSmallIntegerField(
        default=1, help_text="Calendar days from arrival until units can be picked."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])
    tracker = FieldTracker(fields=["status", "eta", "dock_to_stock_days", "warehouse_id"])

    class Meta:
        ordering = ["eta", "number"]
        verbose_name = "purchase order"

    def __str__(self):
        return self.number

    @property
    def is_supply(self):
        return self.status in self.SUPPLY_STATUSES


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="po_lines")
    qty_ordered = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    qty_received = models.PositiveIntegerField(default=0)
    eta = models.DateField("ETA override", null=True, blank=True, help_text="Blank: the PO's ETA.")
    history = HistoricalRecords()
    tracker = FieldTracker(fields=["sku_id", "qty_ordered", "qty_received", "eta", "purchase_order_id"])

    class Meta:
        ordering = ["purchase_order", "id"]
        verbose_name = "purchase order line"
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "sku"], name="po_line_one_per_sku"),
            models.CheckConstraint(condition=Q(qty_ordered__gt=0), name="po_line_qty_positive"),
            models.CheckConstraint(
                condition=Q(qty_received__gte=0) & Q(qty_received__lte=F("qty_ordered")),
                name="po_line_received_le_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.sku.code} × {self.qty_ordered}"

    @property
    def qty_open(self):
        return self.qty_ordered - self.qty_received

    def effective_eta(self, po=None):
        return self.eta or (po or self.purchase_order).eta

    def available_on(self, po=None, *, today: date | None = None):
        """Return the date the open quantity can be picked (po_line_available_on); `today`
        defaults to the destination warehouse's date."""
        po = po or self.purchase_order
        if today is None:
            today = datetime.now(ZoneInfo(po.warehouse.timezone)).date()
        return po_line_available_on(eta=self.effective_eta(po), dock_to_stock_days=po.dock_to_stock_days,
                                    today=today)


def po_line_available_on(*, eta: date, dock_to_stock_days: int, today: date) -> date:
    """Return the date a PO line's open units can be picked: its ETA plus the dock-to-stock
    days, and never before today (an overdue PO arrives today at the earliest).

    The one derivation of this date: the promise engine's supply, the PO form's impact
    preview and the partner API all read it from here.
    """
    return max(eta + timedelta(days=dock_to_stock_days), today)


class PurchaseOrderEtaChange(models.Model):
    """One move of a PO's ETA or status, or of one line's ETA: the PO's ETA history.

    Dates are the ones in force (a line without an ETA of its own follows the PO's), so a
    row always reads "from → to". Written by inventory.services.eta_changes_record only.
    """

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="eta_changes")
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="eta_changes",
        help_text="Blank: the whole purchase order.")
    sku_code = models.CharField("SKU", max_length=40, blank=True, help_text="The line's SKU; blank: the whole PO.")
    old_eta = models.DateField("ETA before", null=True, blank=True)
    new_eta = models.DateField("ETA after", null=True, blank=True)
    old_status = models.CharField("status before", max_length=20, blank=True,
                                  choices=PurchaseOrder.Status.choices)
    new_status = models.CharField("status after", max_length=20, blank=True,
                                  choices=PurchaseOrder.Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "PO ETA change"
        indexes = [models.Index(fields=["purchase_order", "-at"], name="po_eta_change_po_at")]

    def __str__(self):
        what = f"{self.purchase_order_id}" + (f" {self.sku_code}" if self.sku_code else "")
        return f"{what}: {self.old_eta} → {self.new_eta}"

    @property
    def eta_moved(self) -> bool:
        return self.old_eta != self.new_eta

    @property
    def status_moved(self) -> bool:
        return self.old_status != self.new_status


class Receipt(models.Model):
    """Units received on a PO line; they become on-hand stock."""

    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipts")
    qty = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    reference = models.CharField(max_length=80, blank=True, help_text="Dock or ASN reference.")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(qty__gt=0), name="receipt_qty_positive")]

    def __str__(self):
        return f"Receipt {self.pk}: {self.qty} on {self.po_line}"


class BackorderCap(models.Model):
    """A ceiling on open backorders; blank SKU, channel or region means any."""

    sku = models.ForeignKey(SKU, null=True, blank=True, on_delete=models.CASCADE, related_name="caps")
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="caps"
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.CASCADE, related_name="caps"
    )
    max_backorder_qty = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most units that may be open on backorder. Blank: no limit."
    )
    max_promise_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Latest promise, in days from today. Blank: no limit."
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["sku", "channel", "region", "id"]
        verbose_name = "backorder cap"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_backorder_qty__isnull=False) | Q(max_promise_days__isnull=False),
                name="cap_sets_a_limit",
            ),
        ]

    def __str__(self):
        scope = " / ".join(
            str(x) if x else "any" for x in (self.sku_id and self.sku, self.channel, self.region)
        )
        limits = []
        if self.max_backorder_qty is not None:
            limits.append(f"≤{self.max_backorder_qty} units")
        if self.max_promise_days is not None:
            limits.append(f"≤{self.max_promise_days} days")
        return f"Cap #{self.pk} ({scope}: {', '.join(limits)})"
