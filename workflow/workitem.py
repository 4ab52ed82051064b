"""An exception as an agent's work item: what happened, what the law does next, what to do.

Plain functions over an OrderException (with its line, order and region loaded): the
exception page of the admin shows their answers; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q

from inventory.models import Region
from promises.models import OrderException
from workflow.exceptions_store import Kind
from workflow.regional import region_today, regional_policy

OPEN = OrderException.OPEN_STATUSES


def region_todays(now: datetime) -> dict[int, date]:
    """Return each region's calendar date now, by region id (deadlines are local dates)."""
    return {region.pk: region_today(region, now) for region in Region.objects.all()}


def due_q(now: datetime, lookup: str, *, todays: dict[int, date] | None = None) -> Q:
    """Filter exceptions by due-by against their own region's date today (`lookup`: "lt" for
    overdue, "exact" for due today, "lte" with a shifted date is the caller's)."""
    todays = todays if todays is not None else region_todays(now)
    q = Q(pk__in=[])
    for region_id, today in todays.items():
        q |= Q(region_id=region_id, **{f"due_by__{lookup}": today})
    return q


def due_state(exc: OrderException, today: date) -> str:
    """Return "overdue" (due-by before today), "today", or "" for an open exception."""
    if exc.status not in OPEN:
        return ""
    if exc.due_by < today:
        return "overdue"
    return "today" if exc.due_by == today else ""


def kind_label(exc: OrderException, today: date) -> str:
    """The kind as the queue shows it: a consent is "awaited" until its deadline has passed."""
    if exc.kind == Kind.CONSENT_OVERDUE and exc.status in OPEN and exc.due_by >= today:
        return "Consent awaited"
    return exc.get_kind_display()


def _day(d: date | None) -> str:
    return d.strftime("%a %d %b %Y") if d else "no date yet"


@dataclass(frozen=True)
class WorkItem:
    """What the exception page tells the agent."""

    what_happened: str
    details: str
    deadline: str
    at_deadline: str
    next_step: str
    due_state: str
    today: date


def work_item(exc: OrderException, *, now: datetime) -> WorkItem:
    """Describe the exception in the words of the trade, with its deadline and next step."""
    line, order = exc.line, exc.order
    policy = regional_policy(order.region.code)
    today = region_today(order.region, now)
    promise = getattr(line, "promise", None)
    ship = promise.ship_date if promise is not None else None
    what, next_step = _what_and_next(exc, ship)
    deadline, at_deadline = _deadline(exc, policy, today)
    if exc.status not in OPEN:
        next_step = f"Nothing: resolved ({exc.resolution or 'no reason given'})."
        deadline, at_deadline = "none: resolved", "Nothing is due on this exception any more."
    return WorkItem(what_happened=what, details=exc.cause, deadline=deadline, at_deadline=at_deadline,
                    next_step=next_step, due_state=due_state(exc, today), today=today)


def _what_and_next(exc: OrderException, ship: date | None) -> tuple[str, str]:
    told, revised = exc.promised_date, exc.revised_date
    measure = "ships" if regional_policy(exc.order.region.code).measures == "shipment" else "arrives"
    if exc.kind == Kind.DELAY_NOTICE_DUE:
        what = (f"The line now {measure} later than the customer was told: {_day(told)} → {_day(revised)}. "
                "The customer must be told of the delay.")
        if exc.notice_state == "held":
            step = (f"Read the delay notice held for review and send it (\"Send delay notice now\") by "
                    f"{_day(exc.due_by)}; the law's deadline for it is {_day(exc.notice_due_by)}.")
        elif exc.notice_state in ("queued", "sending"):
            step = "The delay notice is on its way: nothing to do unless the customer answers."
        else:
            step = f"Send the delay notice (\"Send delay notice now\") by {_day(exc.due_by)}."
        return what, step
    if exc.kind == Kind.CONSENT_OVERDUE:
        what = (f"The customer was told the line {measure} {_day(revised)} instead of {_day(told)}. "
                "That delay needs the customer's express agreement; silence does not count.")
        step = ("Reach the customer. If they agree, \"Record consent\" (phone, chat, e-mail reply); "
                "if they would rather not wait, \"Cancel and refund\".")
        return what, step
    if exc.kind == Kind.PAST_DUE:
        what = (f"The promised date {_day(told)} passed before the customer was told of the delay: "
                "the order counts as cancelled and is owed a refund.")
        return what, ("The line is cancelled and refunded automatically; if the customer asks, explain "
                      "and give the refund date. Nothing to send by hand.")
    if exc.kind == Kind.CAP_BREACH:
        what = (f"The line now ships {_day(ship)}, later than this brand lets a customer wait for a "
                "backorder.")
        return what, ("Ask the customer: wait (\"Record consent\"), take another SKU (\"Offer an alternative "
                      f"SKU\") or cancel (\"Cancel and refund\"), by {_day(exc.due_by)}.")
    if exc.kind == Kind.SUPPLIER_SLIP:
        what = ("Less supply than planned: the units set aside for this line are gone (a purchase order "
                f"shrank, slipped or was received short), so its promised date cannot be kept; it now ships "
                f"{_day(ship)}.")
        return what, ("Check the new date with the buyer; offer to ship what is in stock now (\"Split-ship\") "
                      "or another SKU. The customer gets a delay notice if the date they were told slips.")
    if exc.kind == Kind.NO_CONFIRMED_SUPPLY:
        what = (f"No stock or confirmed purchase order covers the line: {_day(ship)} is only an estimate "
                "from the supplier's lead time.")
        return what, ("Ask the buyer for a confirmed purchase order, or offer another SKU. If the estimate "
                      "passes, the delay rules apply as for any slip.")
    return exc.cause, "Read the cause and the line's timeline."


def _deadline(exc: OrderException, policy, today: date) -> tuple[str, str]:
    """Return the deadline the agent works to and what happens when it passes."""
    refund = f"a line cancelled today must be refunded by {_day(policy.refund_due_by(today))}"
    auto_cancel = ""
    if exc.cancel_on is not None and exc.express_consent_required:
        auto_cancel = (f"Unless the line ships or the customer expressly consents, it is cancelled "
                       f"automatically after {_day(exc.cancel_on)} and refunded ({refund}).")
    if exc.kind == Kind.DELAY_NOTICE_DUE and exc.notice_due_by is not None:
        if policy.late_notice_cancels:
            late = ("A notice that goes out after this day counts as none: the order is then treated as "
                    f"cancelled and refunded ({refund}).")
        else:
            late = ("After this day the notice is late; the contract goes on, and the customer may end it "
                    f"and be refunded ({refund}). Silence never ends it.")
        if auto_cancel:
            late += " Once the notice is out: " + auto_cancel[0].lower() + auto_cancel[1:]
        return _day(exc.notice_due_by), late
    if auto_cancel:
        return _day(exc.cancel_on), auto_cancel
    if exc.kind == Kind.PAST_DUE:
        return _day(exc.due_by), f"The past-due sweep cancels the line and owes the refund ({refund})."
    return _day(exc.due_by), "Nothing happens by itself: the exception stays in the queue, overdue."
