"""The customer's answer to a delay: accept the new date, or cancel the line for a refund."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from orders.models import Cancellation, Order, OrderLine
from promises.models import DelayConsent, Promise
from workflow.exceptions_store import ExceptionBatch, Kind
from workflow.fulfilment import order_cancel
from workflow.notices import NoticeRequest, notices_request
from workflow.refusals import LineClosed, OfferSuperseded
from workflow.regional import regional_policy


@dataclass
class ConsentResult:
    consent: DelayConsent
    created: bool
    cancellations: list[Cancellation] = field(default_factory=list)


def consent_record(*, line: OrderLine, version: int, decision: str, channel: str, now: datetime | None = None,
                   user=None, note: str = "", ip_address: str | None = None) -> ConsentResult:
    """Record the customer's answer to a delay; idempotent per (line, promise version, answer).

    Accepting is express consent to the revised date (16 CFR 435.2(b)(1)(iii)): it resolves
    the line's delay exceptions, the date counts as communicated and becomes the one the
    customer holds the seller to (with no confirmed date: an agreement to wait, open-ended).
    Cancelling (or withdrawing) ends the line through order_cancel, which records the refund
    deadline of the region; a customer who accepted may still cancel until the line ships.
    """
    now = now or timezone.now()
    if decision not in DelayConsent.Decision.values:
        raise InvalidInput("Unknown decision.", errors={"decision": [f"one of {DelayConsent.Decision.values}"]})
    with transaction.atomic():
        # The order first, as order_cancel locks it, then the line.
        Order.objects.select_for_update().filter(pk=line.order_id).first()
        line = (OrderLine.objects.select_for_update(of=("self",))
                .select_related("order__region", "order__channel", "order__customer", "promise", "sku")
                .get(pk=line.pk))
        existing = DelayConsent.objects.filter(line=line, promise_version=version, decision=decision).first()
        if existing is not None:
            return ConsentResult(existing, False)
        if line.status not in OrderLine.OPEN_STATUSES:
            raise LineClosed()
        promise = line.promise
        if decision == DelayConsent.Decision.ACCEPT and version != promise.version:
            raise OfferSuperseded()
        consent = DelayConsent.objects.create(
            line=line, promise_version=version, decision=decision, channel=channel,
            revised_ship_date=promise.ship_date, revised_delivery_date=promise.delivery_to,
            recorded_at=now, recorded_by=user if getattr(user, "pk", None) else None, note=note,
            ip_address=ip_address,
        )
        exceptions = ExceptionBatch([line.pk], now, user)
        if decision == DelayConsent.Decision.ACCEPT:
            how = consent.get_channel_display().lower()
            # Every exception the customer's answer settles: the notice and the consent it
            # asked for, and a promise beyond a cap's horizon (the customer agreed to wait).
            for kind in (Kind.DELAY_NOTICE_DUE, Kind.CONSENT_OVERDUE, Kind.CAP_BREACH):
                exceptions.resolve(line.pk, kind, f"Customer accepted the new date ({how})")
            exceptions.flush()
            Promise.objects.filter(pk=line.pk).update(
                communicated_ship_date=promise.ship_date, communicated_delivery_to=promise.delivery_to,
                communicated_at=now, agreed_ship_date=promise.ship_date,
                agreed_open_ended=not promise.confirmed, auto_cancel_on=None)
            notices_request([NoticeRequest(
                kind="consent_received", order=line.order, line=line, version=version,
                context={"measures": regional_policy(line.order.region.code).measures,
                         "ship_date": promise.ship_date.isoformat(),
                         "delivery_to": promise.delivery_to.isoformat(),
                         "channel": channel},
            )], now=now)
            return ConsentResult(consent, True)
        reason = (Cancellation.Reason.WITHDRAWAL if decision == DelayConsent.Decision.WITHDRAW
                  else Cancellation.Reason.CUSTOMER_DECLINED_DELAY)
        for (line_id, _kind) in list(exceptions.open):
            exceptions.resolve(line_id, _kind, f"Customer cancelled ({consent.get_decision_display().lower()})")
        exceptions.flush()
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=reason,
                                     initiated_by=Cancellation.Initiator.CUSTOMER, user=consent.recorded_by,
                                     note=note or f"Delay notice answer: {decision}", now=now)
        cancellation_notices_request(line, cancellations, version=version, now=now)
        return ConsentResult(consent, True, cancellations)


def cancellation_notices_request(line: OrderLine, cancellations: list[Cancellation], *, version,
                                 now: datetime, user_id: int | None = None) -> None:
    """Queue the cancellation and refund confirmation of a cancelled line."""
    for c in cancellations:
        if c.line_id != line.pk:
            continue
        notices_request([NoticeRequest(
            kind="cancellation_refund_confirmation", order=line.order, line=line, version=version,
            user_id=user_id,
            context={"qty": c.qty, "amount": str(c.amount), "currency": c.currency,
                     "reason": c.reason, "refund_due_by": c.refund_due_by.isoformat(),
                     "initiated_by": c.initiated_by,
                     # When the decision was received: a withdrawal's acknowledgement states it
                     # (Directive 2011/83/EU Art. 11a).
                     "decided_at": c.cancelled_at.isoformat()},
        )], now=now)
