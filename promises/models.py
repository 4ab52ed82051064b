"""Promises per order line, their change history, and the pools waiting to be re-promised."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from inventory.models import SKU, PurchaseOrderLine, Strategy, Warehouse
from orders.models import Order, OrderLine


class Promise(models.Model):
    """The ship date promised to one order line and the supply behind it."""

    # No database foreign key: a promise is written only by the engine, under its pool's
    # lock, for a line it just read; Django still cascades deletes. The constraint's per-row
    # check (a key-share lock on the line) was a tenth of a book's first full re-promise.
    line = models.OneToOneField(
        OrderLine, primary_key=True, on_delete=models.CASCADE, related_name="promise",
        db_constraint=False,
    )
    ship_date = models.DateField()
    delivery_from = models.DateField()
    delivery_to = models.DateField()
    confirmed = models.BooleanField(
        default=False, help_text="Covered by stock or confirmed purchase orders."
    )
    supply_date = models.DateField(null=True, blank=True, help_text="Latest source's date.")
    stock_qty = models.PositiveIntegerField(default=0, help_text="Units served from stock.")
    sources = models.JSONField(
        default=list,
        help_text='[{"kind": "stock"|"purchase_order", "reference", "po_line", "qty", "available_on"}]',
    )
    rule = models.CharField(max_length=40, blank=True, help_text="The engine rule that decided it.")
    strategy = models.CharField(max_length=12, choices=Strategy.choices)
    guarantee_broken = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    computed_at = models.DateTimeField()
    # What the customer was last told: the regional workflow compares new dates with these.
    communicated_ship_date = models.DateField(null=True, blank=True)
    communicated_delivery_to = models.DateField(null=True, blank=True)
    communicated_at = models.DateTimeField(null=True, blank=True)
    # US, 16 CFR 435.2: the ship-by date the customer holds the seller to. It is the date told
    # at checkout and moves only when the customer agrees to a later one: by silence to a
    # first delay of 30 days or less (435.2(b)(1)(ii)) or expressly. Later slips never move it.
    agreed_ship_date = models.DateField(null=True, blank=True)
    agreed_open_ended = models.BooleanField(
        default=False, db_default=False,
        help_text="US: the customer expressly agreed to wait with no definite date.")
    auto_cancel_on = models.DateField(
        null=True, blank=True,
        help_text="US: cancelled after this day unless shipped or expressly consented to; "
                  "fixed when the delay is first assessed, never moved by a later slip.")

    class Meta:
        indexes = [
            models.Index(fields=["ship_date"], name="promise_ship_date"),
            models.Index(fields=["auto_cancel_on"], condition=models.Q(auto_cancel_on__isnull=False),
                         name="promise_auto_cancel_due"),
        ]

    def __str__(self):
        state = "confirmed" if self.confirmed else "estimate"
        return f"ships {self.ship_date:%Y-%m-%d} ({state})"

    @property
    def slipped(self):
        return self.communicated_ship_date is not None and self.ship_date > self.communicated_ship_date


class PromiseChange(models.Model):
    """One move of a line's promise, and why: the records behind every revised date."""

    class Cause(models.TextChoices):
        PO_CHANGE = "po_change", "Purchase order changed"
        RECEIPT = "receipt", "Receipt"
        STOCK_ADJUSTMENT = "stock_adjustment", "Stock adjustment"
        CANCELLATION = "cancellation", "Cancellation"
        SHIPMENT = "shipment", "Shipment"
        CAP_CHANGE = "cap_change", "Cap changed"
        NEW_ORDER = "new_order", "Higher-priority order"
        MANUAL = "manual", "Manual re-promise"
        NIGHTLY = "nightly", "Nightly re-promise"

    # An append-only log written in bulk (a mass slip writes hundreds of thousands): no
    # database foreign keys, whose per-row checks at commit cost more than the rows' COPY.
    # Django still protects its line and order from deletion (a record of what the customer
    # was promised) and nulls po_line and user (on_delete).
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="promise_changes",
                             db_constraint=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="promise_changes",
                              db_constraint=False)
    old_ship_date = models.DateField(null=True, blank=True)
    new_ship_date = models.DateField()
    old_confirmed = models.BooleanField(null=True)
    new_confirmed = models.BooleanField()
    cause = models.CharField(max_length=20, choices=Cause.choices)
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )
    # Not indexed either: only a user's deletion looks changes up by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False, db_index=False,
    )
    note = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField()
    at = models.DateTimeField()  # indexed by promise_change_feed (at, id)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at", "id"], name="promise_change_feed")]

    def __str__(self):
        return f"line {self.line_id}: {self.old_ship_date} → {self.new_ship_date} ({self.cause})"

    @property
    def later(self):
        return self.old_ship_date is not None and self.new_ship_date > self.old_ship_date


class DirtyPool(models.Model):
    """A (SKU, warehouse) pool whose promises must be recomputed.

    Marks coalesce: one row per pool. `generation` grows with each mark so a worker
    clears only the mark it has processed, never one that arrived while it worked.
    `ledger_generation` is the generation of the last mark that changed the pool's supply
    or demand (0: none since the row was written): a mark that only asks for a re-check,
    as a cap's change does, leaves the free-supply ledger (PoolSupply) valid.
    """

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=20, choices=PromiseChange.Cause.choices)
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    generation = models.PositiveIntegerField(default=1)
    ledger_generation = models.PositiveIntegerField(default=1)
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="dirty_pool_one_per_pool"),
        ]

    def __str__(self):
        return f"{self.sku_id}@{self.warehouse_id} ({self.cause})"



class PoolSupply(models.Model):
    """One supply source of a pool as intake's ledger keeps it: the units no open line holds,
    and who holds the rest (promises/ledger.py).

    Written under the pool's lock, by a full run of the pool (all its rows at once) and by
    intake (the sources a new line takes). A pool marked dirty since its last full run is
    out of date here until the re-promise that clears the mark rewrites it. Every pool the ledger knows has its stock row
    (`po_line` blank), even with no stock: a pool without one is unknown and intake runs it
    in full. The database keeps `free` from going below zero, the last guard against
    promising a unit twice.
    """

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="+", db_constraint=False,
                            db_index=False)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False, db_index=False)
    po_line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", db_constraint=False, db_index=False,
                                help_text="Blank: the pool's stock.")
    free = models.IntegerField(help_text="Units no open line holds.")
    # Units held by lines with a confirmed promise, by the strategy of the line.
    held_win = models.PositiveIntegerField(default=0)
    held_gain = models.PositiveIntegerField(default=0)
    held_redistribute = models.PositiveIntegerField(default=0)
    held_fill = models.PositiveIntegerField(default=0)
    held_lose = models.PositiveIntegerField(default=0)
    held_waiting = models.PositiveIntegerField(
        default=0, help_text="Units held by lines without a confirmed promise (part of an estimate).")
    # The last in the engine's order of the lines behind held_waiting: (class, priority, placed).
    waiting_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    waiting_priority = models.IntegerField(null=True, blank=True)
    waiting_placed_at = models.DateTimeField(null=True, blank=True)
    # The fill lines behind held_fill: their earliest and latest promised ship dates and the
    # source's date when they took its units, to tell whether a full run would move them.
    fill_date_first = models.DateField(null=True, blank=True)
    fill_date_last = models.DateField(null=True, blank=True)
    fill_supply_date = models.DateField(null=True, blank=True)
    # The dirty mark of the pool the rows already include (its id and generation): the full
    # run that wrote them read the pool after the change behind it.
    mark_id = models.BigIntegerField(null=True, blank=True)
    mark_generation = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "pool supply"
        verbose_name_plural = "pool supply"
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse", "po_line"], name="pool_supply_one_per_source"),
            models.UniqueConstraint(fields=["sku", "warehouse"], condition=models.Q(po_line__isnull=True),
                                    name="pool_supply_one_stock_row"),
            models.CheckConstraint(condition=models.Q(free__gte=0), name="pool_supply_free_not_negative"),
        ]

    def __str__(self):
        source = "stock" if self.po_line_id is None else f"po line {self.po_line_id}"
        return f"{self.sku_id}@{self.warehouse_id} {source}: {self.free} free"


class OrderException(models.Model):
    """An order line that needs an agent: a slipped promise, a notice due, consent overdue."""

    class Kind(models.TextChoices):
        DELAY_NOTICE_DUE = "delay_notice_due", "Delay notice due"
        CONSENT_OVERDUE = "consent_overdue", "Consent overdue"
        PAST_DUE = "past_due", "Past due"
        NO_CONFIRMED_SUPPLY = "no_confirmed_supply", "No confirmed supply"
        CAP_BREACH = "cap_breach", "Cap breach"
        SUPPLIER_SLIP = "supplier_slip", "Supplier slip"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="exceptions")
    # Order, region and channel are the line's, copied for the queue's filters. They carry no
    # database foreign key: each key's check at commit cost a large slip (thousands of
    # exceptions in one transaction) a tenth of its assessment; the line's key stands for
    # them. Django still protects orders, regions and channels from deletion.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="exceptions",
                              db_constraint=False)
    # No index on region or channel: a few of each do not narrow the queue, and a large slip
    # writes every index of thousands of exceptions (and their history) at once.
    region = models.ForeignKey("inventory.Region", on_delete=models.PROTECT, related_name="+",
                               db_index=False, db_constraint=False)
    channel = models.ForeignKey("inventory.Channel", on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    due_by = models.DateField(help_text="The legal (or product) deadline for acting on it.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_exceptions",
    )
    cause = models.CharField(max_length=200, blank=True, help_text="What raised it.")
    resolution = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # What the regional policy decided for the slip (workflow.policies.SlipDecision).
    promise_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The promise version this exception is about.")
    notice_kind = models.CharField(
        max_length=24, blank=True, help_text="delay_notice or renewed_delay_notice.")
    promised_date = models.DateField(
        null=True, blank=True, help_text="T: the date last communicated (or the default promise).")
    revised_date = models.DateField(
        null=True, blank=True, help_text="New ship (US) or delivery (EU/UK) date; blank = unknown.")
    cancel_on = models.DateField(
        null=True, blank=True,
        help_text="US: cancelled after this day unless shipped or expressly consented to.")
    express_consent_required = models.BooleanField(default=False)
    citations = models.CharField(max_length=300, blank=True)
    notice_state = models.CharField(
        max_length=12, blank=True, help_text="State of the customer notice: held, queued, sent.")
    notice_due_by = models.DateField(
        null=True, blank=True,
        help_text="The law's deadline for the customer notice (due-by comes earlier when it is held).")
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer was told of this slip.")
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # History is read per exception (by id, in date order): its copies of the foreign keys
    # need no indexes of their own.
    history = HistoricalRecords(excluded_fields=["updated_at"],
                                no_db_index=["line", "order", "region", "channel", "owner"])

    class Meta:
        ordering = ["due_by", "id"]
        verbose_name = "order exception"
        constraints = [
            models.UniqueConstraint(
                fields=["line", "kind"], condition=models.Q(status__in=["open", "in_progress"]),
                name="exception_one_open_per_line_and_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_by"], name="exception_queue"),
            # How many delay notices a line's customer was sent (the assessment of every slip
            # asks): a line's resolved exceptions pile up with each move of its promise.
            models.Index(fields=["line"], condition=models.Q(kind="delay_notice_due", notified_at__isnull=False),
                         name="exception_delay_notified"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: line {self.line_id} (due {self.due_by})"


class DelayConsent(models.Model):
    """A customer's answer to a delay notice: accept the revised date, or cancel."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", "Accepts the new date"
        CANCEL = "cancel", "Cancels for a refund"
        WITHDRAW = "withdraw", "Withdraws from the contract"

    class Channel(models.TextChoices):
        LINK = "link", "Consent page link"
        EMAIL_REPLY = "email_reply", "E-mail reply"
        PHONE = "phone", "Phone"
        CHAT = "chat", "Chat"

    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="consents")
    promise_version = models.PositiveIntegerField()
    revised_ship_date = models.DateField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    revised_delivery_date = models.DateField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            # A customer who accepted a date may still cancel: one answer of each kind per version.
            models.UniqueConstraint(fields=["line", "promise_version", "decision"],
                                    name="consent_one_per_promise_version_and_decision"),
        ]

    def __str__(self):
        return f"line {self.line_id} v{self.promise_version}: {self.decision}"
