"""Receivers: promises tell of changes, the workflow decides, the outbox is written.

Each runs inside the transaction of its cause, so an exception or a notice exists exactly
when its cause committed; sending happens after commit (promises.queue).
"""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from notifications import services
from notifications.models import Notice
from orders.models import Order, OrderLine
from promises import workflow
from promises.intake import order_placed
from promises.models import PromiseChange
from promises.queue import enqueue_on_commit
from promises.services import promises_changed

CLOSED = (OrderLine.Status.SHIPPED, OrderLine.Status.CANCELLED)


@receiver(promises_changed, sender=PromiseChange)
def promises_changed_assess(sender, changes, now, **kwargs):
    limit = settings.BACKORDER_DESK.get("WORKFLOW_INLINE_MAX_LINES")
    if limit is not None and len(changes) > limit:
        # A very large slip: promises commit first, the workflow follows in tasks of its
        # own, one per part, so that every worker of the main cluster takes a share.
        # Each task carries its lines' changes, so it need not read them back.
        carried = workflow.changes_carried(changes)
        for line_ids in workflow.large_slip_parts(changes):
            enqueue_on_commit("promises.tasks.recorded_changes_assess", line_ids,
                              [carried[i] for i in line_ids], dedupe=False)
        return
    workflow.promise_changes_assess(changes=changes, now=now)


@receiver(order_placed, sender=Order)
def order_placed_confirm(sender, order, lines, **kwargs):
    services.backorder_confirmation_queue(order=order, line_ids=[line.pk for line in lines])


@receiver(workflow.notice_requested)
def notice_requested_write(sender, requests, now, **kwargs):
    return services.notices_queue(requests=requests, now=now)


@receiver(workflow.notice_states_foreseen)
def notice_states_foreseen_answer(sender, requests, **kwargs):
    return services.notice_states_foresee(requests=requests)


@receiver(workflow.notices_withdrawn)
def notices_withdrawn_supersede(sender, line_ids, kinds, now, versions=None, **kwargs):
    services.notices_withdraw(line_ids=line_ids, kinds=kinds, now=now, versions=versions)


@receiver(post_save, sender=OrderLine)
def order_line_closed(sender, instance, created, raw=False, **kwargs):
    if raw or created or instance.status not in CLOSED:
        return
    now = timezone.now()
    workflow.line_closed(line_id=instance.pk, status=instance.status, now=now)
    services.notices_withdraw(line_ids=[instance.pk], kinds=Notice.SUPERSEDABLE_KINDS, now=now)
