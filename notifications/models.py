"""The notice outbox: every customer e-mail is a row written with its cause, then sent."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notice(models.Model):
    """One customer e-mail, written in the transaction of its cause and sent by django-q2.

    `idempotency_key` ("<line>:<kind>:<promise version>") makes a second trigger create
    nothing. Sending is at most once: the row is claimed (`sending`, with a claim token)
    and that claim is committed before the e-mail goes out; see docs/notices.md.
    """

    class Kind(models.TextChoices):
        BACKORDER_CONFIRMATION = "backorder_confirmation", "Backorder confirmation"
        DELAY_NOTICE = "delay_notice", "Delay notice"
        RENEWED_DELAY_NOTICE = "renewed_delay_notice", "Renewed delay notice"
        CONSENT_RECEIVED = "consent_received", "Consent received"
        CANCELLATION_REFUND_CONFIRMATION = (
            "cancellation_refund_confirmation", "Cancellation and refund confirmation")
        EARLIER_DATE = "earlier_date", "Earlier date (good news)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held for review"
        SENDING = "sending", "Sending (claimed)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        SUPERSEDED = "superseded", "Superseded"

    DELAY_KINDS = (Kind.DELAY_NOTICE, Kind.RENEWED_DELAY_NOTICE)
    #: Kinds that announce a date: once sent, the promise counts as communicated.
    ANNOUNCING_KINDS = (Kind.BACKORDER_CONFIRMATION, Kind.DELAY_NOTICE, Kind.RENEWED_DELAY_NOTICE,
                        Kind.EARLIER_DATE)
    #: Kinds a newer promise makes obsolete before they go out.
    SUPERSEDABLE_KINDS = (Kind.DELAY_NOTICE, Kind.RENEWED_DELAY_NOTICE, Kind.EARLIER_DATE)

    kind = models.CharField(max_length=40, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # Unique through Meta.constraints: a unique=True CharField gets a second, LIKE-pattern
    # index on PostgreSQL that no query here uses.
    idempotency_key = models.CharField(max_length=120)
    # PROTECT: what a customer was told is a record; deleting its order must not erase it.
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="notices")
    # Indexed by (line, kind), which leads with it; region by none (three regions).
    line = models.ForeignKey(
        "orders.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="notices",
        help_text="Blank for order-level notices (backorder confirmation).", db_index=False,
    )
    # The order's region, copied; no database foreign key (its check at commit is a large
    # slip's cost, and regions are never deleted: Django protects them).
    region = models.ForeignKey("inventory.Region", on_delete=models.PROTECT, related_name="+",
                               db_index=False, db_constraint=False)
    email = models.EmailField()
    locale = models.CharField(max_length=10)
    promise_version = models.PositiveIntegerField(null=True, blank=True)
    announced = models.JSONField(
        default=dict, blank=True,
        help_text='Dates this notice tells the customer: {"<line id>": {"ship_date", '
                  '"delivery_from", "delivery_to", "version", "confirmed"}}.',
    )
    context = models.JSONField(default=dict, blank=True, help_text="What the policy decided.")
    held_reason = models.CharField(max_length=120, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notice_outbox_due"),
            models.Index(fields=["line", "kind"], name="notice_line_kind"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="notice_idempotency_key_unique"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notice_sent_has_sent_at"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.email} ({self.status})"

    @property
    def line_ids(self) -> list[int]:
        return [int(k) for k in self.announced]
