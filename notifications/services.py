"""The notice outbox: write notices with their cause, send each at most once, retry failures.

Sending, in three steps (see docs/notices.md, "Outbox guarantees"):

1. claim: in a short transaction the row is locked (SKIP LOCKED), moved from pending or
   failed to `sending` with a fresh claim token, and rendered; the transaction commits;
2. send: the e-mail goes to Django's backend with a stable Message-ID;
3. record: `sent` (or `failed` with a backoff) is written only where the claim token still
   matches.

A worker that dies between 1 and 3 leaves the row in `sending`: it is never sent again by
itself (at most once); the admin lists it as stuck so an agent can check the mail log and
mark it sent, or resend it with the same Message-ID.
"""

from __future__ import annotations

import logging
import operator
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from hashlib import sha256
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from core.bulk import copy_into_temp, model_build
from core.lookups import Ids
from core.queue import enqueue_on_commit
from core.urgency import Yielder
from notifications.content import notice_render_row
from notifications.locales import locale_for
from notifications.models import Notice
from orders.models import OrderLine
from promises.models import OrderException, Promise
from workflow import services as workflow
from workflow.services import NoticeRequest

log = logging.getLogger(__name__)

Status = Notice.Status
SEND_TASK = "notifications.tasks.notices_send_due"
RETRYABLE = (Status.PENDING, Status.FAILED)


def _setting(name: str, default):
    return settings.BACKORDER_DESK.get(name, default)


# --- Writing ---------------------------------------------------------------------------------


def hold_reason(*, kind: str, region, channel, held_regions=None) -> str:
    """Return why a delay notice waits for an agent's review ("" = it goes out at once).

    `held_regions` is HOLD_NOTICES_REGIONS, read once by a caller that asks for many lines.
    """
    if kind not in Notice.DELAY_KINDS:
        return ""
    if region.hold_notices_for_review:
        return f"Region {region.code} holds delay notices for review"
    if channel.hold_notices_for_review:
        return f"Channel {channel.code} holds delay notices for review"
    if held_regions is None:
        held_regions = _setting("HOLD_NOTICES_REGIONS", []) or []
    if region.code in held_regions:
        return f"HOLD_NOTICES_REGIONS holds {region.code} delay notices"
    return ""


def _state(status: str) -> str:
    return {Status.HELD: "held", Status.SENT: "sent", Status.SUPERSEDED: "superseded"}.get(status, "queued")


def _initial_status(request: NoticeRequest, held_regions) -> tuple[str, str]:
    """Return (status, held reason) of a new outbox row for the request."""
    order = request.order
    reason = "" if request.release else hold_reason(kind=request.kind, region=order.region, channel=order.channel,
                                                    held_regions=held_regions)
    return (Status.HELD if reason else Status.PENDING), reason


def notice_states_foresee(*, requests: list[NoticeRequest]) -> dict[str, str]:
    """Return the state each request's notice gets if written now ("held" or "queued");
    a notice written already keeps its own (see notices_queue)."""
    held_regions = _setting("HOLD_NOTICES_REGIONS", []) or []
    return {request.key: _state(_initial_status(request, held_regions)[0]) for request in requests}


def notices_queue(*, requests: list[NoticeRequest], now: datetime | None = None) -> dict[str, str]:
    """Write one outbox row per request in the caller's transaction; return their states.

    The unique idempotency key makes a repeated trigger write nothing. Pending rows are
    sent by a task enqueued on commit; held ones wait for an agent.
    """
    now = now or timezone.now()
    if not requests:
        return {}
    rows, releases, supersede_lines = [], [], set()
    held_regions = _setting("HOLD_NOTICES_REGIONS", []) or []
    for request in requests:
        order = request.order
        region, customer = order.region, order.customer
        status, reason = _initial_status(request, held_regions)
        rows.append(model_build(
            Notice, kind=request.kind, status=status, idempotency_key=request.key, order_id=order.pk,
            line_id=request.line.pk if request.line is not None else None, region_id=region.pk,
            email=customer.email, locale=locale_for(customer.locale, region.locale),
            promise_version=request.version, announced=request.announced, context=request.context,
            held_reason=reason, created_at=now, next_attempt_at=None,
            released_by_id=request.user_id if request.release else None,
        ))
        if request.release:
            releases.append((request.key, request.user_id))
        if request.kind in Notice.SUPERSEDABLE_KINDS and request.line is not None:
            supersede_lines.add(request.line.pk)
    keys = {r.idempotency_key for r in rows}
    if supersede_lines:
        # An older offer about the same line no longer tells the truth: the requests are
        # about each line's current promise, so older versions go.
        current = Promise.objects.filter(line_id=OuterRef("line_id")).values("version")
        (Notice.objects.filter(line_id__any=Ids(supersede_lines), kind__in=Notice.SUPERSEDABLE_KINDS,
                               status__in=(Status.PENDING, Status.HELD, Status.FAILED))
         .exclude(promise_version=Subquery(current))
         .update(status=Status.SUPERSEDED, last_error="superseded by a newer promise", updated_at=now))
    if connection.vendor == "postgresql":
        inserted = _notices_insert(rows)
    else:
        Notice.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        inserted = set()
    for key, user_id in releases:
        Notice.objects.filter(idempotency_key=key, status=Status.HELD).update(
            status=Status.PENDING, next_attempt_at=None, released_by_id=user_id, updated_at=now)
    released = {key for key, _ in releases}
    statuses = {r.idempotency_key: r.status for r in rows
                if r.idempotency_key in inserted and r.idempotency_key not in released}
    if len(statuses) < len(keys):  # rows that existed already, or released: read them
        statuses.update(_statuses([r for r in rows if r.idempotency_key not in statuses],
                                  keys - set(statuses)))
    if any(s in RETRYABLE for s in statuses.values()):
        enqueue_on_commit(SEND_TASK, coalesce=True)
    return {key: _state(status) for key, status in statuses.items()}


_INSERT_COLUMNS = [f for f in Notice._meta.concrete_fields if not f.primary_key]
_insert_values = operator.attrgetter(*(f.attname for f in _INSERT_COLUMNS))
_JSON_AT = [i for i, f in enumerate(_INSERT_COLUMNS) if f.get_internal_type() == "JSONField"]
_json_encode = DjangoJSONEncoder().encode  # one encoder for every row: json.dumps(cls=) builds one a call


def _insert_row(notice: Notice) -> list:
    values = list(_insert_values(notice))
    for i in _JSON_AT:
        values[i] = _json_encode(values[i])
    return values


def _notices_insert(rows: list[Notice]) -> set[str]:
    """PostgreSQL: insert the rows, skipping keys already written; return the keys inserted.

    A slip of a busy SKU writes thousands of notices inside the re-promise transaction: they
    go through COPY into a temp table and one INSERT ... SELECT (a fraction of a bulk
    INSERT's time). A few (an order's confirmation) go in one INSERT ... VALUES: the temp
    table's round trips would cost more. Either way RETURNING names the rows inserted, so
    their states need no read back.
    """
    table = Notice._meta.db_table
    cols = ", ".join(f.column for f in _INSERT_COLUMNS)
    for row in rows:
        row.updated_at = row.created_at
    values = (_insert_row(row) for row in rows)
    with connection.cursor() as cursor:
        if len(rows) >= 200:
            temp = copy_into_temp(cursor, table=table, columns=cols, rows=values)
            source, params = f"SELECT {cols} FROM {temp}", []
        else:
            one = "(" + ", ".join(["%s"] * len(_INSERT_COLUMNS)) + ")"
            params = [value for row in values for value in row]
            source = "VALUES " + ", ".join([one] * len(rows))
        cursor.execute(f"INSERT INTO {table} ({cols}) {source} "
                       "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key", params)
        return {key for (key,) in cursor.fetchall()}


def _statuses(rows: list[Notice], keys: set[str]) -> dict[str, str]:
    """Return {key: status} of the rows just written (filtered by integer ids: cheaper than
    matching thousands of key strings)."""
    line_ids = {r.line_id for r in rows if r.line_id is not None}
    order_ids = {r.order_id for r in rows if r.line_id is None}
    kinds = {r.kind for r in rows}
    found = Notice.objects.none()
    if line_ids:
        found = found | Notice.objects.filter(line_id__in=line_ids, kind__in=kinds)
    if order_ids:
        found = found | Notice.objects.filter(order_id__in=order_ids, line__isnull=True, kind__in=kinds)
    return {key: status for key, status in found.values_list("idempotency_key", "status") if key in keys}


def notices_withdraw(*, line_ids, kinds, now: datetime | None = None, versions: dict | None = None) -> int:
    """Supersede the unsent notices of these kinds for these lines (their cause went away).

    With `versions` ({line id: promise version}) only the notices about that version of each
    line's promise or an older one: a notice about a newer promise has a newer cause.
    """
    unsent = Notice.objects.filter(kind__in=list(kinds), status__in=(Status.PENDING, Status.HELD, Status.FAILED))
    fields = {"status": Status.SUPERSEDED, "last_error": "withdrawn: the cause went away",
              "updated_at": now or timezone.now()}
    if versions is None:
        return unsent.filter(line_id__any=Ids(line_ids)).update(**fields)
    by_version: dict[int, list[int]] = {}
    for line_id in line_ids:
        by_version.setdefault(versions[line_id], []).append(line_id)
    # One statement per version (a slip's lines share a few; each statement reads only its lines).
    return sum(unsent.filter(Q(promise_version__lte=version) | Q(promise_version__isnull=True),
                             line_id__any=Ids(ids)).update(**fields)
               for version, ids in sorted(by_version.items()))


#: A large slip's assessment writes its notices a moment after its exceptions commit: the
#: sweep leaves alone what changed more recently than this (it may still be on its way).
UNNOTICED_AFTER = timedelta(minutes=2)


def lines_unnoticed(*, now: datetime | None = None, limit: int = 20000) -> list[int]:
    """Return the open lines whose notice was never written, for the slip sweep to assess again.

    A large slip's assessment writes its notices in a second transaction after its
    exceptions commit; a worker stopped between the two leaves
    - an open delay exception whose notice is held or queued, with no notice about that
      promise version, and
    - a confirmed promise earlier than the customer was told (in what the region measures),
      with no earlier-date notice about it.
    Rows that changed in the last UNNOTICED_AFTER are left alone.
    """
    before = (now or timezone.now()) - UNNOTICED_AFTER
    open_lines = OrderLine.OPEN_STATUSES
    delay_written = Notice.objects.filter(line_id=OuterRef("line_id"), kind=OuterRef("notice_kind"),
                                          promise_version=OuterRef("promise_version"))
    delays = (OrderException.objects.filter(
        kind=OrderException.Kind.DELAY_NOTICE_DUE, status__in=OrderException.OPEN_STATUSES,
        notice_state__in=("held", "queued"), line__status__in=open_lines, updated_at__lt=before,
    ).exclude(Exists(delay_written)).order_by("line_id").values_list("line_id", flat=True))
    earlier_written = Notice.objects.filter(line_id=OuterRef("line_id"), kind=Notice.Kind.EARLIER_DATE,
                                            promise_version=OuterRef("version"))
    earlier = (Promise.objects.filter(
        workflow.promises_against_told("lt"), confirmed=True, line__status__in=open_lines, computed_at__lt=before,
    ).exclude(Exists(earlier_written)).order_by("line_id").values_list("line_id", flat=True))
    return sorted(set(delays[:limit]) | set(earlier[:limit]))


def backorder_confirmation_queue(*, order, line_ids=None, lines=None,
                                 now: datetime | None = None) -> dict[str, str]:
    """Queue the backorder confirmation of an order's backordered and preorder lines.

    `lines` that each carry their SKU and promise (intake's, as it just wrote them) are
    taken as they are; else the lines of `line_ids` (or of `lines`) are read.
    """
    now = now or timezone.now()
    if lines is None or not all(_sku_cached(line) and _promise_cached(line) for line in lines):
        ids = list(line_ids if lines is None else (line.pk for line in lines))
        lines = (OrderLine.objects.filter(order=order, pk__in=ids).select_related("sku", "promise")
                 .order_by("pk"))
    lines = [line for line in lines
             if hasattr(line, "promise") and (line.status == OrderLine.Status.BACKORDERED or line.sku.preorder)]
    if not lines:
        return {}
    announced = {}
    for line in lines:
        announced.update(workflow.announced_for(line, line.promise))
    if not all(order._meta.get_field(name).is_cached(order) for name in ("region", "channel", "customer")):
        order = type(order).objects.select_related("region", "channel", "customer").get(pk=order.pk)
    return notices_queue(requests=[NoticeRequest(
        kind=Notice.Kind.BACKORDER_CONFIRMATION, order=order, line=None, version=1, announced=announced,
        context={"measures": workflow.regional_policy(order.region.code).measures},
    )], now=now)


_sku_cached = OrderLine._meta.get_field("sku").is_cached
_promise_cached = OrderLine._meta.get_field("promise").is_cached


# --- Sending ---------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try: 1, 2, 4 ... minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


def message_id(notice: Notice) -> str:
    """Return the notice's stable Message-ID: every try of one notice carries the same one."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    digest = sha256(notice.idempotency_key.encode()).hexdigest()[:16]
    return f"<notice-{notice.pk}.{digest}@{domain}>"


def _obsolete(notice: Notice) -> str:
    """Return why a claimed notice must not go out any more ("" = it still tells the truth)."""
    line = notice.line
    if line is None or notice.kind not in Notice.SUPERSEDABLE_KINDS:
        return ""
    if line.status not in OrderLine.OPEN_STATUSES:
        return f"line {line.status}"
    version = getattr(getattr(line, "promise", None), "version", None)
    if version is not None and notice.promise_version is not None and version != notice.promise_version:
        return f"promise moved to version {version}"
    return ""


def notice_send(*, notice_id: int, now: datetime | None = None, mail_connection=None) -> str:
    """Send one notice at most once; return what happened (sent, failed, skipped ...).

    Call it outside any transaction: the claim must be committed before the e-mail leaves.
    """
    clock = (lambda: now) if now is not None else timezone.now
    now = clock()
    token = uuid.uuid4()
    with transaction.atomic():
        notice = (Notice.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("order__customer", "order__region", "region", "line__sku", "line__promise")
                  .filter(pk=notice_id).first())
        if notice is None:
            return "locked"
        if notice.status not in RETRYABLE:
            # Another worker already has it (sending) or finished it (sent, superseded...):
            # say so, never "sent", so callers count each e-mail once.
            return f"already_{notice.status}"
        if notice.next_attempt_at is not None and notice.next_attempt_at > now:
            return "not_due"
        if notice.status == Status.FAILED and notice.next_attempt_at is None:
            return "gave_up"  # an agent's "retry" makes it pending again
        reason = _obsolete(notice)
        if reason:
            Notice.objects.filter(pk=notice.pk).update(status=Status.SUPERSEDED, last_error=reason,
                                                       updated_at=now)
            return "superseded"
        fields = {}
        if not notice.body_text:
            rendered = notice_render_row(notice)
            fields = {"subject": rendered.subject[:250], "body_text": rendered.text,
                      "body_html": rendered.html}
        fields["message_id"] = notice.message_id or message_id(notice)
        claimed = Notice.objects.filter(pk=notice.pk, status__in=RETRYABLE).update(
            status=Status.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1,
            updated_at=now, **fields)
        if not claimed:
            return "claimed"
        for name, value in fields.items():
            setattr(notice, name, value)
        attempts = notice.attempts + 1
    # The claim is committed: from here on a crash leaves the row in `sending`, never resent.
    try:
        _email(notice, mail_connection).send(fail_silently=False)
    except Exception as exc:  # the backend refused: nothing left, so a retry is safe
        if mail_connection is not None:
            _close_quietly(mail_connection)  # reopened by the next send
        retry = attempts < _setting("NOTICE_MAX_ATTEMPTS", 8)
        Notice.objects.filter(pk=notice.pk, claim_token=token, status=Status.SENDING).update(
            status=Status.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=clock() + backoff(attempts) if retry else None, updated_at=clock())
        log.warning("notice %s failed (attempt %s): %s", notice.pk, attempts, exc)
        return "failed"
    notice_mark_sent(notice=notice, token=token, at=clock())
    return "sent"


def _email(notice: Notice, mail_connection=None) -> EmailMultiAlternatives:
    from email.utils import formataddr, parseaddr

    # The customer deals with the merchant: its name on the sender's address, replies to care.
    sender = formataddr((settings.MERCHANT_NAME, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    message = EmailMultiAlternatives(
        connection=mail_connection,
        subject=notice.subject, body=notice.body_text, from_email=sender,
        to=[notice.email], reply_to=[settings.NOTICE_REPLY_TO],
        headers={"Message-ID": notice.message_id, "X-Notice-Key": notice.idempotency_key,
                 "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(notice.body_html, "text/html")
    return message


@transaction.atomic
def notice_mark_sent(*, notice: Notice, at: datetime, token=None, user=None) -> bool:
    """Record a claimed notice as sent and apply its effects (the dates count as told)."""
    rows = Notice.objects.filter(pk=notice.pk, status=Status.SENDING)
    if token is not None:
        rows = rows.filter(claim_token=token)
    if not rows.update(status=Status.SENT, sent_at=at, last_error="", next_attempt_at=None, updated_at=at):
        return False
    if notice.kind in Notice.ANNOUNCING_KINDS and notice.announced:
        workflow.notice_delivered(kind=notice.kind, announced=notice.announced, at=at, context=notice.context)
    return True


def notices_send_due(*, now: datetime | None = None, batch: int = 500,
                     seconds: float | None = None) -> dict[str, int]:
    """Send every pending notice and retry every failed one whose time has come.

    Drains in batches over one mail connection until nothing is due or the time budget
    (NOTICE_DRAIN_SECONDS) is spent; then another drain is enqueued for the rest.
    """
    with _one_drain() as mine:
        if not mine:
            # Another worker is draining: it picks up what is due, and the minutely sweep
            # catches anything it finished too early for. Two drains would hold both workers
            # and make re-promising wait behind mail for many seconds.
            return {"already_draining": 1}
        return _notices_drain(now=now, batch=batch, seconds=seconds)


DRAIN_LOCK_ID = 0x6E6F7469  # "noti": the advisory lock held by the one draining worker


@contextmanager
def _one_drain():
    """Hold a PostgreSQL advisory lock while draining; yield whether this worker got it."""
    if connection.vendor != "postgresql":
        yield True  # SQLite: one writer at a time anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [DRAIN_LOCK_ID])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [DRAIN_LOCK_ID])


def _notices_drain(*, now, batch, seconds) -> dict[str, int]:
    started = time.monotonic()
    budget = seconds if seconds is not None else _setting("NOTICE_DRAIN_SECONDS", 240)
    outcomes: dict[str, int] = {}
    last = 0
    mail_connection = get_connection()
    # Re-promising and a slip's assessment go first (core.urgency): notices have minutes.
    yield_to_urgent_work = Yielder(max_wait=_setting("NOTICE_YIELD_MAX_SECONDS", 2.0))
    try:
        while True:
            moment = now or timezone.now()
            # A failed notice without a next attempt has used up its tries: it waits for an agent.
            ids = list(Notice.objects.filter(pk__gt=last).filter(
                Q(status=Status.PENDING, next_attempt_at__isnull=True)
                | Q(status__in=RETRYABLE, next_attempt_at__lte=moment)
            ).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            for notice_id in ids:
                yield_to_urgent_work()
                # Checked per notice (waiting for urgent work must not outlast the task's
                # timeout), after the first: every drain gets at least one notice out.
                if outcomes and time.monotonic() - started > budget:
                    break
                outcome = notice_send(notice_id=notice_id, now=now, mail_connection=mail_connection)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                last = notice_id
            if time.monotonic() - started > budget:
                enqueue_on_commit(SEND_TASK, coalesce=True)
                break
    finally:
        _close_quietly(mail_connection)
    return outcomes


def _close_quietly(mail_connection) -> None:
    try:
        mail_connection.close()
    except Exception:  # noqa: BLE001 - a broken connection is closed either way
        log.debug("closing the mail connection failed", exc_info=True)


# --- Held notices -----------------------------------------------------------------------------


def held_notices_release(*, now: datetime | None = None) -> list[int]:
    """Send the delay notices held for review whose legal deadline is near; return their ids.

    A hold is the merchant's choice (a region's or channel's setting) to let an agent read a
    notice first, never a reason to miss the law's deadline: HELD_NOTICE_RELEASE_DAYS days
    before the date a held notice is due by (its decision's `notice_due_by`, a date in the
    region) it goes out by itself. Meanwhile its exception is due earlier (see the workflow's
    assessment), so an agent sees it first.
    """
    now = now or timezone.now()
    margin = timedelta(days=_setting("HELD_NOTICE_RELEASE_DAYS", 1))
    released = []
    held = (Notice.objects.filter(status=Status.HELD, kind__in=Notice.DELAY_KINDS)
            .select_related("region").order_by("pk"))
    for notice in held:
        due_by = notice.context.get("notice_due_by")
        if not due_by or date.fromisoformat(due_by) - margin > workflow.region_today(notice.region, now):
            continue
        updated = Notice.objects.filter(pk=notice.pk, status=Status.HELD).update(
            status=Status.PENDING, next_attempt_at=None, subject="", body_text="", body_html="",
            held_reason=f"{notice.held_reason} (sent by itself before its deadline, {due_by})"[:120],
            updated_at=now)
        if updated:
            released.append(notice.pk)
    if released:
        enqueue_on_commit(SEND_TASK, coalesce=True)
        log.warning("released %s held delay notices before their deadline", len(released))
    return released


# --- Agent actions (admin) -------------------------------------------------------------------


@transaction.atomic
def notice_release(*, notice: Notice, user, now: datetime | None = None) -> bool:
    """Send a held, failed or superseded-by-mistake notice now (an agent's "send now")."""
    now = now or timezone.now()
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.status not in (Status.HELD, Status.FAILED, Status.PENDING):
        return False
    fields = {"status": Status.PENDING, "next_attempt_at": None, "released_by": user, "updated_at": now}
    if notice.status == Status.HELD:
        # Rendered when it leaves, so its links are fresh and its dates today's.
        fields.update(subject="", body_text="", body_html="")
    Notice.objects.filter(pk=notice.pk).update(**fields)
    enqueue_on_commit(SEND_TASK, coalesce=True)
    return True


def notice_stuck_mark_sent(*, notice: Notice, user, now: datetime | None = None) -> bool:
    """Record a notice stuck in `sending` as sent (an agent found it in the mail log)."""
    return notice_mark_sent(notice=notice, at=now or timezone.now(), user=user)


@transaction.atomic
def notice_stuck_resend(*, notice: Notice, user, now: datetime | None = None) -> bool:
    """Queue a notice stuck in `sending` again; it keeps its Message-ID so mail systems that
    deduplicate by Message-ID show the customer one e-mail even if the first one left."""
    now = now or timezone.now()
    updated = Notice.objects.filter(pk=notice.pk, status=Status.SENDING).update(
        status=Status.PENDING, claim_token=None, next_attempt_at=None, released_by=user,
        last_error="resent by an agent after a stuck send", updated_at=now)
    if updated:
        enqueue_on_commit(SEND_TASK, coalesce=True)
    return bool(updated)


def notices_stuck(*, now: datetime | None = None, minutes: int | None = None):
    """Return the notices claimed for sending longer ago than a send can take."""
    now = now or timezone.now()
    minutes = minutes if minutes is not None else _setting("NOTICE_STUCK_MINUTES", 15)
    return Notice.objects.filter(status=Status.SENDING, claimed_at__lt=now - timedelta(minutes=minutes))
