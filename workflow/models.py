"""The workflow's own records: what agents did to an exception, and the edit history of orders.

`ExceptionEvent` is one row per thing an agent (or the workflow on an agent's behalf) did to
an exception: assigned it, sent the notice, recorded a consent, cancelled for a refund,
offered an alternative, asked for a split shipment, granted a credit, wrote a note. The
exception's own field changes (status, due-by, owner) are in its simple_history table.

Orders and their lines get their edit history here too (simple_history's `register`, with
the historical tables in this app): each admin edit is a row with the values before and
after, which the order's timeline shows as old → new.
"""

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from simple_history import register
from simple_history.models import HistoricalRecords

from orders.models import Order, OrderLine
from promises.models import OrderException


class ExceptionEvent(models.Model):
    """One thing done to an exception, by whom and when, with the agent's note."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        NOTICE_SENT = "notice_sent", "Delay notice sent on request"
        CONSENT_RECORDED = "consent_recorded", "Consent recorded"
        CANCELLED = "cancelled", "Cancelled for a refund"
        ALTERNATIVE_OFFERED = "alternative_offered", "Alternative offered"
        SPLIT_SHIP = "split_ship", "Split shipment requested"
        GOODWILL_CREDIT = "goodwill_credit", "Goodwill credit"
        NOTE = "note", "Note"
        LEGACY = "legacy", "Earlier notes"

    exception = models.ForeignKey(OrderException, on_delete=models.PROTECT, related_name="events")
    # The exception's order, copied so an order's timeline reads its events by one index.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    action = models.CharField(max_length=24, choices=Action.choices)
    text = models.CharField(max_length=300, help_text="What was done, e.g. the SKU offered or the credit.")
    note = models.TextField(blank=True, help_text="The agent's own words.")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["exception", "at"]), models.Index(fields=["order", "at"])]

    def __str__(self):
        return f"{self.get_action_display()} ({self.at:%Y-%m-%d %H:%M})"


class EditHistory(HistoricalRecords):
    """The history of a row's edits: nothing is written when the row is created (intake
    places orders one INSERT each, and writes lines in bulk); the first full save records
    the stored values first (`_edit_baseline`), so every edit has an old and a new value."""

    def post_save(self, instance, created, using=None, **kwargs):
        if not created:
            super().post_save(instance, created, using=using, **kwargs)


# Edits of orders and lines, with old and new values (simple_history, tables in this app):
# the admin's edits, and the workflow's status changes once a row has a history.
register(Order, app="workflow", records_class=EditHistory, excluded_fields=["updated_at"],
         no_db_index=["customer", "region", "channel"])
register(OrderLine, app="workflow", records_class=EditHistory, no_db_index=["sku", "warehouse"])


@receiver(pre_save, sender=Order)
@receiver(pre_save, sender=OrderLine)
def _edit_baseline(sender, instance, update_fields=None, raw=False, **kwargs):
    """Before a full save of an order or line (the admin's way) with no history yet (rows
    written in bulk have none), record its stored values, so the edit shows old → new.

    Saves of chosen fields (the workflow's status changes) skip this check."""
    if raw or update_fields is not None or instance._state.adding or instance.pk is None:
        return
    if sender.history.filter(id=instance.pk).exists():
        return
    stored = sender._default_manager.filter(pk=instance.pk).first()
    if stored is not None:
        sender.history.bulk_history_create([stored], default_date=timezone.now(),
                                           default_change_reason="values before the first recorded edit")
