"""One timeline per order: every promise change, notice, consent, exception, agent action,
cancellation, refund and admin edit of an order (or of one of its lines), in time order, with
who did it.

It lives here, in the highest domain app, because it reads every app's records, the
notices included; the admin pages of orders, lines and exceptions show it through the
`timeline` template tags (notifications/templatetags/timeline.py). A fixed number of
queries, one per kind of record, whatever the order's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from notifications.models import Notice
from orders.models import Cancellation, Order, OrderLine
from promises.models import DelayConsent, OrderException, PromiseChange
from workflow.models import ExceptionEvent

#: Fields an edit's old → new values leave out: timestamps and bookkeeping, not decisions.
_EDIT_SKIPPED = {"updated_at", "created_at", "notes"}


@dataclass(frozen=True)
class Entry:
    """One thing that happened to the order."""

    at: datetime
    category: str  # promise, notice, consent, exception, action, cancellation, refund, edit
    title: str
    who: str
    detail: str = ""
    body: str = ""  # long text shown folded (a notice's e-mail)
    line_id: int | None = None
    changes: tuple[tuple[str, str, str], ...] = field(default=())  # (field, old, new)
    record_id: int | None = None  # the edited record's id (edits only)


def _who(user, fallback: str = "system") -> str:
    return user.get_username() if user is not None else fallback


def order_timeline(order: Order, *, line: OrderLine | None = None) -> list[Entry]:
    """Return what happened to the order (or only to `line` and the order as a whole)."""
    line_id = line.pk if line is not None else None
    edits = _edits(order, line_id)
    refunded_by = {e.record_id: e.who for e in edits if e.category == "refund"}
    entries = (_promise_changes(order, line_id) + _notices(order, line_id) + _consents(order, line_id)
               + _exceptions(order, line_id) + _events(order, line_id)
               + _cancellations(order, line_id, refunded_by) + edits)
    entries.sort(key=lambda e: e.at)
    return entries


def _line_q(line_id: int | None, name: str = "line_id") -> Q:
    return Q(**{name: line_id}) if line_id is not None else Q()


def _promise_changes(order, line_id) -> list[Entry]:
    rows = (PromiseChange.objects.filter(Q(order_id=order.pk) & _line_q(line_id))
            .select_related("user", "po_line__purchase_order", "line__sku"))
    entries = []
    for c in rows:
        old = c.old_ship_date or "no date"
        state = "" if c.new_confirmed else " (estimate)"
        detail = c.get_cause_display()
        if c.po_line_id and c.po_line.purchase_order.number not in c.note:
            detail += f", {c.po_line.purchase_order.number}"
        if c.note:
            detail += f": {c.note}"
        title = (f"Promise {'made' if c.old_ship_date is None else 'moved'}: {c.line.sku.code} ships "
                 f"{old} → {c.new_ship_date}{state}")
        entries.append(Entry(c.at, "promise", title, _who(c.user), detail, line_id=c.line_id))
    return entries


def _notices(order, line_id) -> list[Entry]:
    rows = Notice.objects.filter(Q(order_id=order.pk) & (_line_q(line_id) | Q(line__isnull=True))
                                 if line_id else Q(order_id=order.pk)).select_related("released_by")
    entries = []
    for n in rows:
        state = n.get_status_display().lower()
        at = n.sent_at or n.created_at
        title = f"E-mail to the customer: {n.get_kind_display()} ({state})"
        detail = n.subject or ""
        if n.held_reason and n.status == Notice.Status.HELD:
            detail += f" — held: {n.held_reason}"
        who = _who(n.released_by, "system") + (" released it" if n.released_by_id else "")
        entries.append(Entry(at, "notice", title, who, detail, body=n.body_text, line_id=n.line_id))
    return entries


def _consents(order, line_id) -> list[Entry]:
    rows = (DelayConsent.objects.filter(Q(line__order_id=order.pk) & _line_q(line_id))
            .select_related("recorded_by"))
    return [Entry(c.recorded_at, "consent",
                  f"Customer answered the delay: {c.get_decision_display()} ({c.get_channel_display().lower()})",
                  _who(c.recorded_by, "customer (consent page)"),
                  f"new date {c.revised_ship_date or 'none'}" + (f"; {c.note}" if c.note else ""),
                  line_id=c.line_id)
            for c in rows]


def _exceptions(order, line_id) -> list[Entry]:
    rows = OrderException.objects.filter(Q(order_id=order.pk) & _line_q(line_id))
    entries = []
    for e in rows:
        # A consent is awaited until its deadline, overdue only after it.
        kind = "Consent awaited" if e.kind == OrderException.Kind.CONSENT_OVERDUE else e.get_kind_display()
        entries.append(Entry(e.opened_at, "exception", f"Exception raised: {kind} (due {e.due_by})",
                             "system", e.cause, line_id=e.line_id))
        if e.resolved_at is not None:
            entries.append(Entry(e.resolved_at, "exception", f"Exception resolved: {kind}",
                                 "system", e.resolution, line_id=e.line_id))
    return entries


def _events(order, line_id) -> list[Entry]:
    rows = (ExceptionEvent.objects.filter(Q(order_id=order.pk) & _line_q(line_id, "exception__line_id"))
            .select_related("user", "exception"))
    return [Entry(ev.at, "action", ev.text, _who(ev.user), ev.note,
                  line_id=ev.exception.line_id) for ev in rows]


def _cancellations(order, line_id, refunded_by: dict[int, str]) -> list[Entry]:
    rows = Cancellation.objects.filter(Q(order_id=order.pk) & _line_q(line_id)).select_related("user")
    entries = []
    for c in rows:
        who = _who(c.user, c.get_initiated_by_display().lower())
        entries.append(Entry(c.cancelled_at, "cancellation",
                             f"Cancelled {c.qty} unit(s): {c.get_reason_display()}",
                             who, f"refund {c.amount} {c.currency} due by {c.refund_due_by}; "
                                  f"initiated by {c.get_initiated_by_display().lower()}",
                             line_id=c.line_id))
        if c.refunded_at is not None:
            who = refunded_by.get(c.pk, "finance")
            entries.append(Entry(c.refunded_at, "refund", f"Refunded {c.amount} {c.currency}", who,
                                 c.refund_reference, line_id=c.line_id))
    return entries


def _edits(order, line_id) -> list[Entry]:
    """Edits with old → new values, from each record's history (simple_history).

    Orders and lines: every recorded change. Exceptions: the changes a person made (the
    workflow's own moves are the raised and resolved entries); cancellations: refunds recorded.
    """
    sources = [
        (OrderLine.history.filter(Q(order_id=order.pk) & _line_q(line_id, "id")), "Line edited", False),
        (OrderException.history.filter(Q(order_id=order.pk) & _line_q(line_id)), "Exception edited", True),
        (Cancellation.history.filter(Q(order_id=order.pk) & _line_q(line_id)), "Cancellation edited", False),
    ]
    if line_id is None:
        sources.insert(0, (Order.history.filter(id=order.pk), "Order edited", False))
    found = []
    for rows, title, people_only in sources:
        previous: dict[int, object] = {}
        for record in rows.select_related("history_user").order_by("history_date", "history_id"):
            before = previous.get(record.id)
            previous[record.id] = record
            if before is None or record.history_type != "~" or (people_only and record.history_user_id is None):
                continue
            changes = [change for change in record.diff_against(before, foreign_keys_are_objs=False).changes
                       if change.field not in _EDIT_SKIPPED
                       and not (people_only and _told_by_resolution(change))]
            if changes:
                found.append((title, record, changes))
    users = _usernames({value for _t, _r, changes in found for change in changes
                        if _is_user(change.field) for value in (change.old, change.new)})
    entries = []
    for title, record, changes in found:
        model = record.instance_type
        shown = tuple((str(model._meta.get_field(c.field).verbose_name), _shown(model, c.field, c.old, users),
                       _shown(model, c.field, c.new, users)) for c in changes)
        line = record.id if title == "Line edited" else getattr(record, "line_id", None)
        refund = title == "Cancellation edited" and any(c.field == "refunded_at" and c.new for c in changes)
        entries.append(Entry(record.history_date, "refund" if refund else "edit",
                             "Refund recorded" if refund else title, _who(record.history_user),
                             record.history_change_reason or "", line_id=line, changes=shown,
                             record_id=record.id))
    return entries


def _told_by_resolution(change) -> bool:
    """An exception's resolution is its own entry ("Exception resolved"): not an edit too."""
    return change.field in ("resolution", "resolved_at") or (change.field == "status" and change.new == "resolved")


def _is_user(name: str) -> bool:
    return name in ("owner", "user", "released_by")


def _usernames(ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", get_user_model().USERNAME_FIELD))


def _shown(model, name: str, value, users: dict[int, str]) -> str:
    """A value as a person reads it: a choice's label, a user's name, "—" for nothing."""
    if value in (None, ""):
        return "—"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if _is_user(name):
        return users.get(value, str(value))
    choices = dict(model._meta.get_field(name).flatchoices)
    return str(choices.get(value, value))
