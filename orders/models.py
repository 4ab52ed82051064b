"""Demand side: customers, orders, order lines, shipments, cancellations and refunds."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from inventory.models import SKU, Channel, Region, Strategy, Warehouse


class Currency(models.TextChoices):
    USD = "USD", "US dollar"
    EUR = "EUR", "Euro"
    GBP = "GBP", "Pound sterling"


class Customer(models.Model):
    """A customer as one channel knows them.

    Each channel keeps its own record of an e-mail address: two channels selling to the same
    address have two customers, so no partner sees or renames what another channel wrote.
    A customer without a channel was entered by hand (the admin, the demo book).
    """

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="customers",
        db_index=False, help_text="The channel that wrote this customer; blank: entered by hand.",
    )
    email = models.EmailField()
    name = models.CharField(max_length=120)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="customers")
    locale = models.CharField(max_length=10, help_text="e.g. en_US, en_GB, de_DE, fr_FR.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            # One customer per (channel, address in any case); the index serves intake's lookup.
            models.UniqueConstraint("channel", Lower("email"), name="customer_email_unique_per_channel"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class Order(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"
        CLOSED = "closed", "Closed (shipped and cancelled)"

    # No index of its own: (channel, external_id) leads with it.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders", db_index=False)
    # No index: three regions do not narrow half a million orders.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="orders", db_index=False)
    external_id = models.CharField(max_length=80, help_text="The channel's own order number.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    placed_at = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    shipping_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    strategy = models.CharField(
        max_length=12, choices=Strategy.choices, blank=True,
        help_text="Overrides the channel's backorder strategy for this order. Blank: the channel's.",
    )
    essential_date = models.BooleanField(
        default=False,
        help_text="The customer said the delivery date is essential (EU art. 18(2), CRA s.28(6)).",
    )
    # db_default: rows written by raw SQL or COPY that name no value for it still insert.
    buyer_applied_for_credit = models.BooleanField(
        default=False, db_default=False,
        help_text="The buyer applied to the seller for credit to pay: the US default shipping "
                  "time is 50 days rather than 30 (16 CFR 435.2(a)(2)).",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not indexed: partners sync on OrderSync, which database triggers keep equal to this.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_external_id_unique_per_channel"
            ),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_paid_not_negative"),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0), name="order_shipping_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.channel_id and self.channel.code}#{self.external_id}"

    @property
    def effective_strategy(self):
        return self.strategy or self.channel.strategy


class OrderSync(models.Model):
    """An order's partner-sync clock: when the order, its lines or their promises last changed.

    Partners page orders by this row's (updated_at, order) (`GET /orders/?updated_since=`;
    the API shows it as the order's `updated_at`). It is a narrow table of its own so that
    a re-promise moving the clock of many orders rewrites 40-byte rows under three small
    indexes rather than the wide order row under all of its own (docs/architecture.md,
    "What each fast path saves").

    Database triggers (orders.sync_triggers, installed by migration 0003) insert the row with
    its order and carry every later Order.updated_at into it, whatever writes the order
    (save, bulk_create, COPY, raw SQL); a re-promise moves it directly; it never moves
    backwards. A migration that rebuilds either table on SQLite must uninstall and reinstall
    the triggers (see orders.sync_triggers; tests/api/test_order_sync.py fails otherwise).
    """

    order = models.OneToOneField(Order, primary_key=True, on_delete=models.CASCADE, related_name="sync")
    # The order's channel, copied so that a key's pull is one range of one index.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", db_index=False)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "order sync clock"
        indexes = [
            models.Index(fields=["channel", "updated_at", "order"], name="order_sync_channel"),
            models.Index(fields=["updated_at", "order"], name="order_sync_all_channels"),
        ]

    def __str__(self):
        return f"order {self.order_id} changed {self.updated_at:%Y-%m-%d %H:%M:%S}"


class OrderLineQuerySet(models.QuerySet):
    def open(self):
        """Lines with units left to ship: neither fully shipped nor cancelled."""
        return self.filter(status__in=OrderLine.OPEN_STATUSES)


class OrderLine(models.Model):
    class Status(models.TextChoices):
        ALLOCATED = "allocated", "Allocated (stock)"
        BACKORDERED = "backordered", "Backordered"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.ALLOCATED, Status.BACKORDERED)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # No index of its own: the pool index (sku, warehouse, status) leads with it.
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="order_lines", db_index=False)
    # No index of its own either: the pool index has it second, and a handful of warehouses
    # do not narrow the lines; each index is written again when a re-promise moves a status.
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="order_lines", db_index=False,
        help_text="The pool the line is served from.",
    )
    qty = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    qty_shipped = models.PositiveIntegerField(default=0)
    qty_cancelled = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BACKORDERED)

    objects = OrderLineQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="order_line_qty_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(qty_shipped__gte=0)
                & Q(qty_cancelled__gte=0)
                & Q(qty__gte=F("qty_shipped") + F("qty_cancelled")),
                name="order_line_shipped_cancelled_le_qty",
            ),
        ]
        indexes = [models.Index(fields=["sku", "warehouse", "status"], name="order_line_pool")]

    def __str__(self):
        return f"{self.order} line {self.pk}: {self.qty} × {self.sku_id and self.sku.code}"

    @property
    def qty_open(self):
        return self.qty - self.qty_shipped - self.qty_cancelled

    @property
    def amount(self):
        return self.qty * self.unit_price


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    shipped_at = models.DateTimeField()
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shipped_at", "-id"]

    def __str__(self):
        return f"Shipment {self.pk} of {self.order}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    qty = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="shipment_line_qty_positive"),
        ]

    def __str__(self):
        return f"{self.qty} of line {self.order_line_id}"


class Cancellation(models.Model):
    """Units of a line cancelled, and the refund they are owed."""

    class Reason(models.TextChoices):
        CUSTOMER_REQUEST = "customer_request", "Customer request"
        CUSTOMER_DECLINED_DELAY = "customer_declined_delay", "Customer declined the delay"
        NO_CONSENT = "no_consent", "No consent to a long delay (16 CFR 435.2(c))"
        PAST_DUE = "past_due", "Not shipped by the promised date without notice"
        OUT_OF_STOCK = "out_of_stock", "Seller cannot supply"
        WITHDRAWAL = "withdrawal", "Withdrawal from the contract"
        PARTNER = "partner", "Cancelled by the channel"
        OTHER = "other", "Other"

    class Initiator(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System (regional rule)"
        PARTNER = "partner", "Partner API"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cancellations")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="cancellations")
    qty = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text="Refund owed.")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    reason = models.CharField(max_length=30, choices=Reason.choices)
    initiated_by = models.CharField(max_length=10, choices=Initiator.choices)
    note = models.TextField(blank=True)
    cancelled_at = models.DateTimeField()
    refund_due_by = models.DateField(help_text="Legal refund deadline for the order's region.")
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_reference = models.CharField(max_length=80, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who recorded the refund and when: refunded_at and refund_reference are edited in the
    # admin. History is read per cancellation: its copies of the keys need no indexes.
    history = HistoricalRecords(no_db_index=["order", "line", "user"])

    class Meta:
        ordering = ["-cancelled_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="cancellation_qty_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="cancellation_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["refunded_at", "refund_due_by"], name="cancellation_refund_due")]

    def __str__(self):
        return f"Cancellation {self.pk}: {self.qty} of line {self.line_id}"
