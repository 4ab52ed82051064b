"""A slip of a busy SKU: hundreds of lines get their exception, notice and history at once
(COPY on PostgreSQL, bulk inserts on SQLite)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase

from notifications.models import Notice
from orders.models import Customer, Order, OrderLine
from promises.models import OrderException
from promises.services import pools_repromise_all, promises_mark_communicated
from tests.factories.promises import backorder_line
from tests.workflow.steps import slip

pytestmark = pytest.mark.django_db

LINES = 250


@pytest.mark.parametrize("deferred_parts", [None, 3], ids=["inline", "deferred-in-3-parts"])
def test_a_slip_of_250_lines_raises_one_exception_and_one_notice_each_with_history(
        deferred_parts, settings, monkeypatch):
    assessed: list[list[int]] = []
    if deferred_parts:
        # A slip above the inline limit: assessed after commit, in parts of whole orders
        settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "WORKFLOW_INLINE_MAX_LINES": 0,
                                   "WORKFLOW_DEFERRED_PARTS": deferred_parts}
        from workflow import ports

        enqueue = ports.enqueue_on_commit

        def recording(func, *args, **kwargs):
            if func == "workflow.tasks.recorded_changes_assess":
                assessed.append(list(args[0]))
            return enqueue(func, *args, **kwargs)

        monkeypatch.setattr(ports, "enqueue_on_commit", recording)
    # Given 250 more lines of the same pool, promised and told (setup's tasks run here)
    with TestCase.captureOnCommitCallbacks(execute=True):
        b = backorder_line("US", eta_days=14)
        po_line = b.po.lines.get()
        po_line.qty_ordered = LINES + 10
        po_line.save()
        customers = Customer.objects.bulk_create([
            Customer(email=f"bulk{i}@example.com", name=f"Bulk {i}", region=b.region, locale="en_US")
            for i in range(LINES)])
        orders = Order.objects.bulk_create([
            Order(channel=b.channel, region=b.region, external_id=f"BULK-{i}", customer=c,
                  placed_at=datetime.now(UTC), currency="USD") for i, c in enumerate(customers)])
        OrderLine.objects.bulk_create([
            OrderLine(order=o, sku=b.line.sku, warehouse=b.warehouse, qty=1, unit_price=Decimal("9.00"))
            for o in orders])
        pools_repromise_all(cause="manual", sku_ids=[b.line.sku_id])
        promises_mark_communicated()
    # When the PO slips
    assessed.clear()
    slip(b, days=10)
    if deferred_parts:  # three tasks took a third of the lines each, every line once
        assert len(assessed) == deferred_parts
        assert sorted(sum(assessed, [])) == sorted(OrderLine.objects.values_list("id", flat=True))
        assert max(map(len, assessed)) - min(map(len, assessed)) <= 1
        # and a part that succeeded is not kept among django-q2's successes (its arguments
        # are large, and the cluster's monitor reads every kept success at each task)
        from django_q.models import Success
        assert Success.objects.filter(func="promises.tasks.repromise_dirty_pools").exists()
        assert not Success.objects.filter(func="workflow.tasks.recorded_changes_assess").exists()
    # Then every line has its exception (resolved: the notice went out), notice and history
    exceptions = OrderException.objects.filter(kind="delay_notice_due")
    assert exceptions.count() == LINES + 1
    assert set(exceptions.values_list("status", flat=True)) == {"resolved"}
    history = OrderException.history.filter(kind="delay_notice_due")
    assert history.filter(history_type="+").count() == LINES + 1
    assert history.filter(history_type="~").count() == LINES + 1  # resolved when sent
    assert Notice.objects.filter(kind="delay_notice", status=Notice.Status.SENT).count() == LINES + 1
    assert len(mail.outbox) == LINES + 1
    # And the slip back resolves nothing twice and tells everyone the good news
    mail.outbox.clear()
    slip(b, days=-10)
    assert Notice.objects.filter(kind="earlier_date", status=Notice.Status.SENT).count() == LINES + 1
    assert not OrderException.objects.filter(status="open").exists()


def test_a_large_slip_is_split_into_balanced_parts_of_whole_orders():
    from types import SimpleNamespace

    from workflow.services import large_slip_parts

    # order 1 has three lines, orders 2-5 one each; line 10 changed twice
    changes = [SimpleNamespace(order_id=o, line_id=line) for o, line in
               [(1, 10), (1, 11), (1, 12), (2, 20), (3, 30), (4, 40), (5, 50), (1, 10)]]
    parts = large_slip_parts(changes, parts=2)
    assert parts == [[10, 11, 12, 50], [20, 30, 40]]  # 4 and 3 lines, orders whole
    assert large_slip_parts(changes, parts=1) == [[10, 11, 12, 20, 30, 40, 50]]
    assert len(large_slip_parts(changes, parts=9)) == 5  # no empty parts


def test_a_deferred_assessment_trusts_the_changes_it_carries_only_for_the_current_promise():
    from inventory.models import Channel, Region
    from promises.models import PromiseChange
    from workflow.facts import current_changes, lines_facts

    # Given a line whose promise moved (its change recorded at the promise's new version)
    b = slip(backorder_line("US", eta_days=14), days=10)
    latest = PromiseChange.objects.filter(line=b.line).latest("at", "id")
    assert latest.version == b.promise.version
    lines = lines_facts([b.line.pk], regions={r.pk: r for r in Region.objects.all()},
                        channels={c.pk: c for c in Channel.objects.all()})
    carried = (b.line.pk, latest.version, "receipt", "carried by the task", True, False)
    # When the task carries that version's change, it is used as it is
    change = current_changes(lines, {b.line.pk: carried})[b.line.pk]
    assert (change.cause, change.note, change.old_confirmed, change.new_confirmed) == (
        "receipt", "carried by the task", True, False)
    # When it carries an older version's (the line moved again meanwhile), the latest is read
    older = (b.line.pk, latest.version - 1, *carried[2:])
    change = current_changes(lines, {b.line.pk: older})[b.line.pk]
    assert (change.cause, change.note) == (latest.cause, latest.note)
    # And a line it carries nothing for is read too
    assert current_changes(lines, {})[b.line.pk].cause == latest.cause


@pytest.fixture
def deferred(settings, monkeypatch):
    """Every slip is assessed after its re-promise commits, in one task; the sweep looks at
    rows however recent."""
    from datetime import timedelta

    from notifications import services

    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "WORKFLOW_INLINE_MAX_LINES": 0,
                               "WORKFLOW_DEFERRED_PARTS": 1}
    monkeypatch.setattr(services, "UNNOTICED_AFTER", timedelta(0))


def test_a_deferred_assessment_commits_its_exceptions_first_and_a_lost_notice_is_written_by_the_sweep(
        deferred, monkeypatch):
    from notifications import services, tasks
    from workflow import assessment

    b = backorder_line("US", eta_days=14)

    # Given a deferred assessment that stops after its exceptions commit, before its notices
    original = assessment._notices_write_after

    def stopped(due, *, now):
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(assessment, "_notices_write_after", stopped)
    slip(b, days=10)
    # Then the exception is there, saying what its notice will be, and no notice is
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due", status="open")
    assert (exc.notice_state, exc.promise_version) == ("queued", b.promise.version)
    assert not Notice.objects.filter(line=b.line).exists() and not mail.outbox
    assert services.lines_unnoticed() == [b.line.pk]
    # When the slip sweep runs (the worker is back)
    monkeypatch.setattr(assessment, "_notices_write_after", original)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tasks.slips_sweep() == {"assessed": 1}
    # Then the notice is written once and sent, and the exception is done with
    notice = Notice.objects.get(line=b.line, kind="delay_notice")
    assert (notice.status, notice.promise_version) == (Notice.Status.SENT, b.promise.version)
    assert [m.to for m in mail.outbox] == [[b.customer.email]]
    exc.refresh_from_db()
    assert (exc.status, exc.notice_state) == ("resolved", "sent")
    assert services.lines_unnoticed() == []


def test_an_earlier_date_notice_lost_between_the_two_transactions_is_written_by_the_sweep(deferred, monkeypatch):
    from notifications import services, tasks
    from workflow import assessment

    # Given a line told of its slip (the delay notice went out)
    b = slip(backorder_line("US", eta_days=14), days=10)
    assert Notice.objects.get(line=b.line, kind="delay_notice").status == Notice.Status.SENT
    mail.outbox.clear()
    # When the PO comes back earlier and the assessment stops before its notices
    original = assessment._notices_write_after

    def stopped(due, *, now):
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(assessment, "_notices_write_after", stopped)
    b = slip(b, days=-10)
    assert not Notice.objects.filter(line=b.line, kind="earlier_date").exists()
    assert services.lines_unnoticed() == [b.line.pk]
    # Then the sweep writes and sends the good news once
    monkeypatch.setattr(assessment, "_notices_write_after", original)
    with TestCase.captureOnCommitCallbacks(execute=True):
        tasks.slips_sweep()
    notice = Notice.objects.get(line=b.line, kind="earlier_date")
    assert (notice.status, notice.promise_version) == (Notice.Status.SENT, b.promise.version)
    assert [m.to for m in mail.outbox] == [[b.customer.email]]
    assert services.lines_unnoticed() == []


def test_notices_are_not_written_for_a_line_whose_promise_moved_on_between_the_two_transactions(
        deferred, monkeypatch):
    from django.db.models import F
    from django.utils import timezone

    from promises.models import Promise
    from workflow import assessment

    # Given a slip assessed up to its exceptions' commit, its notices not yet written
    original, held = assessment._notices_write_after, []
    monkeypatch.setattr(assessment, "_notices_write_after", lambda due, *, now: held.append(due))
    b = slip(backorder_line("US", eta_days=14), days=10)
    assert [r.line.pk for r in held[0].requests] == [b.line.pk]
    # When the line's promise moves on before they are (a newer assessment answers for it)
    Promise.objects.filter(line=b.line).update(version=F("version") + 1)
    original(held[0], now=timezone.now())
    # Then no notice about the older promise is written
    assert not Notice.objects.filter(line=b.line).exists()


def test_a_deferred_assessment_corrects_the_notice_state_the_outbox_answers_otherwise(deferred, settings):
    from workflow.services import recorded_changes_assess

    # Given a slip whose delay notice is held for review
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HOLD_NOTICES_REGIONS": ["US"]}
    b = slip(backorder_line("US", eta_days=14), days=10)
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due", status="open")
    notice = Notice.objects.get(line=b.line, kind="delay_notice")
    assert exc.notice_state == "held" and notice.status == Notice.Status.HELD
    # When the hold is lifted and the line is assessed again (same promise): a new notice
    # would be queued, but this one exists already and stays held
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HOLD_NOTICES_REGIONS": []}
    with TestCase.captureOnCommitCallbacks(execute=True):
        recorded_changes_assess(line_ids=[b.line.pk])
    # Then the exception says what the outbox says: held
    exc.refresh_from_db()
    assert exc.notice_state == "held"
    assert Notice.objects.filter(line=b.line).count() == 1 and not mail.outbox


def test_withdrawing_with_versions_leaves_notices_about_a_newer_promise(deferred):
    from notifications.services import notices_withdraw
    from tests.factories.notifications import NoticeFactory

    b = backorder_line("US", eta_days=14)
    older, same, newer = (NoticeFactory(line=b.line, kind="delay_notice", promise_version=v,
                                        idempotency_key=f"{b.line.pk}:delay_notice:{v}") for v in (3, 4, 5))
    # When the line is found back on time at version 4 (a later assessment raised version 5's)
    assert notices_withdraw(line_ids=[b.line.pk], kinds=["delay_notice"], versions={b.line.pk: 4}) == 2
    # Then the notices about versions 3 and 4 are withdrawn, version 5's stays
    statuses = {n.promise_version: n.status for n in Notice.objects.filter(pk__in=[older.pk, same.pk, newer.pk])}
    assert statuses == {3: Notice.Status.SUPERSEDED, 4: Notice.Status.SUPERSEDED, 5: Notice.Status.PENDING}


def test_a_large_slips_part_writes_its_notices_once_the_other_parts_raised_their_exceptions(
        deferred, monkeypatch):
    from workflow import assessment

    b = backorder_line("US", eta_days=14)
    seen = []

    def elsewhere():
        # Another part is still raising its exceptions for the first two asks
        seen.append((OrderException.objects.filter(line=b.line, kind="delay_notice_due", status="open").exists(),
                     Notice.objects.filter(line=b.line).exists()))
        return len(seen) < 3

    monkeypatch.setattr(assessment, "exceptions_being_raised_elsewhere", elsewhere)
    slip(b, days=10)
    # This part's exception was raised first; its notice waited, then was written
    assert seen == [(True, False)] * 3
    assert Notice.objects.filter(line=b.line, kind="delay_notice").count() == 1


def test_a_delay_notice_about_an_older_promise_does_not_resolve_the_newer_promises_exception(settings):
    from django.utils import timezone

    from workflow.services import announced_for, notice_delivered

    # Given a slip whose delay notice is held, so its exception stays open
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HOLD_NOTICES_REGIONS": ["US"]}
    b = slip(backorder_line("US", eta_days=14), days=10)
    exc = OrderException.objects.get(line=b.line, kind="delay_notice_due", status="open")
    announced = announced_for(b.line, b.promise)
    older = {str(b.line.pk): {**announced[str(b.line.pk)], "version": b.promise.version - 1}}
    # When a notice about the promise before it is delivered (claimed before the move)
    notice_delivered(kind="delay_notice", announced=older, at=timezone.now())
    # Then the exception still waits for its own notice; that one resolves it
    exc.refresh_from_db()
    assert exc.status == "open" and exc.notified_at is None
    notice_delivered(kind="delay_notice", announced=announced, at=timezone.now())
    exc.refresh_from_db()
    assert (exc.status, exc.notice_state) == ("resolved", "sent")


def test_assessing_a_line_again_keeps_its_unsent_earlier_date_notice(deferred, settings):
    from workflow.services import recorded_changes_assess

    # Given a line told of its slip, then moved back earlier while the mail server fails
    b = slip(backorder_line("US", eta_days=14), days=10)
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    b = slip(b, days=-10)
    notice = Notice.objects.get(line=b.line, kind="earlier_date")
    assert notice.status == Notice.Status.FAILED  # unsent: it will be retried
    # When the line is assessed again at the same promise (a retried task, the sweep)
    recorded_changes_assess(line_ids=[b.line.pk])
    # Then its earlier-date notice is still the one to send, not withdrawn
    notice.refresh_from_db()
    assert notice.status == Notice.Status.FAILED
    assert Notice.objects.filter(line=b.line, kind="earlier_date").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_deferred_assessment_plans_each_read_for_its_own_lines(deferred):
    """A generic plan cannot use a partial index whose condition names a parameter's value
    (the delay-notice count's), nor size an array of ids: both of a part's transactions plan
    per call on PostgreSQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflow.services import recorded_changes_assess

    b = slip(backorder_line("US", eta_days=14), days=10)
    with CaptureQueriesContext(connection) as queries, TestCase.captureOnCommitCallbacks(execute=True):
        recorded_changes_assess(line_ids=[b.line.pk])
    sets = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET LOCAL")]
    if connection.vendor == "postgresql":
        assert sets == ["SET LOCAL plan_cache_mode = force_custom_plan"] * 2
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            assert cursor.fetchone()[0] == "auto"  # SET LOCAL ended with each transaction
    else:
        assert sets == []
