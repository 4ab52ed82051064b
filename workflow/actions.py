"""Agent actions behind the exception queue admin: one service per button."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.errors import BusinessRefusal, InvalidInput
from core.money import money
from inventory.models import SKU, StockLevel
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent, OrderException
from workflow.closing import exception_close
from workflow.consent import ConsentResult, cancellation_notices_request, consent_record
from workflow.exceptions_store import Kind, Status
from workflow.facts import (
    announced_for,
    decision_context,
    delay_notices_sent,
    express_consents,
    region_today,
    slip_facts,
)
from workflow.fulfilment import order_cancel
from workflow.models import ExceptionEvent
from workflow.notices import NoticeRequest, notices_request
from workflow.refusals import LineClosed
from workflow.regional import regional_policy


def _event_record(exc: OrderException, action: str, text: str, *, user, now: datetime,
                  note: str = "") -> ExceptionEvent:
    """Record what was done to the exception, by whom and when (one ExceptionEvent row)."""
    return ExceptionEvent.objects.create(
        exception_id=exc.pk, order_id=exc.order_id, at=now, action=action, text=text[:300],
        note=note, user=user if getattr(user, "pk", None) else None)


def _work_record(exc: OrderException, action: str, text: str, *, note: str, user,
                 now: datetime) -> OrderException:
    """An agent worked the exception (an offer, a request, a credit): record it, mark it in progress."""
    _event_record(exc, action, text, note=note, user=user, now=now)
    if exc.status == Status.OPEN:
        exc.status = Status.IN_PROGRESS
        exc.save(update_fields=["status", "updated_at"])
    return exc


@transaction.atomic
def exception_note_add(*, exception: OrderException, note: str, user,
                       now: datetime | None = None) -> ExceptionEvent:
    """Write the agent's note on the exception (what the customer said, what was agreed)."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Write the note.", errors={"note": ["must not be empty"]})
    exc = _exception_locked(exception)
    return _event_record(exc, ExceptionEvent.Action.NOTE, "Note", note=note, user=user, now=now or timezone.now())


def _exception_locked(exception: OrderException) -> OrderException:
    return (OrderException.objects.select_for_update(of=("self",))
            .select_related("line__order__region", "line__order__channel", "line__order__customer",
                            "line__promise", "line__sku")
            .get(pk=exception.pk))


@transaction.atomic
def exception_assign(*, exception: OrderException, user, now: datetime | None = None) -> OrderException:
    """Make the user the exception's owner and mark it in progress."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    if exc.status == Status.RESOLVED:
        return exc
    exc.owner, exc.status = user, Status.IN_PROGRESS
    exc.save(update_fields=["owner", "status", "updated_at"])
    _event_record(exc, ExceptionEvent.Action.ASSIGNED, f"Assigned to {user.get_username()}", user=user, now=now)
    return exc


@transaction.atomic
def exception_notice_send_now(*, exception: OrderException, user, now: datetime | None = None) -> str:
    """Send the line's delay notice for its current promise now, releasing a held one."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    line = exc.line
    if line.status not in OrderLine.OPEN_STATUSES:
        raise LineClosed()
    promise = line.promise
    policy = regional_policy(line.order.region.code)
    today = region_today(line.order.region, now)
    facts = slip_facts(line=line, promise=promise, today=today,
                       delay_notices_sent=delay_notices_sent([line.pk]).get(line.pk, 0),
                       express_consent=(line.pk, promise.version) in express_consents([line.pk]))
    if not policy.is_slip(facts):
        raise BusinessRefusal("The promise no longer slips past what the customer was told.",
                              code="no_slip")
    decision = policy.decide(facts)
    request = NoticeRequest(
        kind=decision.notice_kind, order=line.order, line=line, version=promise.version,
        announced=announced_for(line, promise), release=True, user_id=getattr(user, "pk", None),
        context=decision_context(decision, policy=policy, promise=promise, line=line,
                                 unknown=not promise.confirmed),
    )
    state = notices_request([request], now=now).get(request.key, "")
    if exc.kind == Kind.DELAY_NOTICE_DUE:
        exc.notice_state = state or exc.notice_state
    exc.save(update_fields=["notice_state", "updated_at"])
    _event_record(exc, ExceptionEvent.Action.NOTICE_SENT, f"Delay notice sent on request ({state or 'queued'})",
                  user=user, now=now)
    return state


def exception_consent_record(*, exception: OrderException, channel: str, user, note: str = "",
                             now: datetime | None = None) -> ConsentResult:
    """Record the customer's express consent given to an agent (e-mail reply, phone)."""
    now = now or timezone.now()
    with transaction.atomic():
        exc = _exception_locked(exception)
        result = consent_record(line=exc.line, version=exc.line.promise.version,
                                decision=DelayConsent.Decision.ACCEPT, channel=channel, now=now,
                                user=user, note=note)
        _event_record(exc, ExceptionEvent.Action.CONSENT_RECORDED, f"Consent recorded ({channel})",
                      note=note, user=user, now=now)
        return result


def exception_cancel_refund(*, exception: OrderException, user, note: str = "", decided_by: str = "customer",
                            now: datetime | None = None) -> list[Cancellation]:
    """Cancel the exception's line for a refund (an agent acts): at the customer's request
    (`decided_by` "customer"), or because the seller will not supply it ("seller": the
    customer is told so, 16 CFR 435.2(c)(4))."""
    now = now or timezone.now()
    reasons = {"customer": Cancellation.Reason.CUSTOMER_DECLINED_DELAY, "seller": Cancellation.Reason.OUT_OF_STOCK}
    if decided_by not in reasons:
        raise InvalidInput("Say who decided the cancellation.",
                           errors={"decided_by": [f"one of {', '.join(reasons)}"]})
    with transaction.atomic():
        exc = _exception_locked(exception)
        line = exc.line
        if line.status not in OrderLine.OPEN_STATUSES:
            raise LineClosed()
        _event_record(exc, ExceptionEvent.Action.CANCELLED, f"Cancelled for a refund ({decided_by} decided)",
                      note=note, user=user, now=now)
        for other in OrderException.objects.filter(line=line, status__in=OrderException.OPEN_STATUSES):
            exception_close(other, "Cancelled for a refund by an agent", now)
        cancellations = order_cancel(order=line.order, line_ids=[line.pk], reason=reasons[decided_by],
                                     initiated_by=Cancellation.Initiator.AGENT, user=user,
                                     note=note or "Cancelled from the exception queue", now=now)
        cancellation_notices_request(line, cancellations, version=line.promise.version, now=now,
                                     user_id=getattr(user, "pk", None))
        return cancellations


@transaction.atomic
def exception_alternative_offer(*, exception: OrderException, sku_code: str, user, note: str = "",
                                now: datetime | None = None) -> OrderException:
    """Record that an alternative SKU was offered to the customer (nothing is sent)."""
    now = now or timezone.now()
    sku = SKU.objects.filter(code=sku_code.strip()).first()
    if sku is None:
        raise InvalidInput("Unknown SKU.", errors={"sku": [f"no SKU {sku_code!r}"]})
    return _work_record(_exception_locked(exception), ExceptionEvent.Action.ALTERNATIVE_OFFERED,
                        f"Offered alternative SKU {sku.code} ({sku.name})",
                        note=note, user=user, now=now)


@transaction.atomic
def exception_split_ship(*, exception: OrderException, user, note: str = "",
                         now: datetime | None = None) -> OrderException:
    """Record the intent to ship the units in stock now and the rest later."""
    now = now or timezone.now()
    exc = _exception_locked(exception)
    line = exc.line
    on_hand = (StockLevel.objects.filter(sku_id=line.sku_id, warehouse_id=line.warehouse_id)
               .values_list("on_hand", flat=True).first() or 0)
    return _work_record(exc, ExceptionEvent.Action.SPLIT_SHIP,
                        f"Split-ship requested: {min(on_hand, line.qty_open)} of {line.qty_open} "
                        f"open units in stock ({on_hand} on hand)", note=note, user=user, now=now)


@transaction.atomic
def exception_goodwill_credit(*, exception: OrderException, amount, user, note: str = "",
                              now: datetime | None = None) -> OrderException:
    """Record a goodwill credit granted to keep the customer with the delay."""
    now = now or timezone.now()
    try:
        amount = money(amount)
    except ValueError:
        raise InvalidInput("Invalid amount.", errors={"amount": ["a number, e.g. 10.00"]}) from None
    if amount <= 0:
        raise InvalidInput("Invalid amount.", errors={"amount": ["must be more than 0"]})
    exc = _exception_locked(exception)
    return _work_record(exc, ExceptionEvent.Action.GOODWILL_CREDIT, f"Goodwill credit {amount} {exc.line.order.currency}",
                        note=note, user=user, now=now)
