"""ExceptionBatch writes each raised or changed exception's history with it, on either path
(COPY and one statement per write on PostgreSQL, bulk statements elsewhere)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from promises.models import OrderException
from tests.factories.orders import OrderLineFactory
from workflow import exceptions_store
from workflow.exceptions_store import ExceptionBatch

pytestmark = pytest.mark.django_db

Kind, Status = OrderException.Kind, OrderException.Status
FIELDS = ("id", "kind", "status", "line_id", "due_by", "cause", "resolution", "resolved_at",
          "promise_version")


def _state(exc) -> tuple:
    return tuple(getattr(exc, name) for name in FIELDS)


@pytest.mark.parametrize("copy_min_rows", [1, 10_000], ids=["bulk-path", "row-path"])
def test_raised_and_changed_exceptions_have_their_history_as_written(copy_min_rows, monkeypatch):
    monkeypatch.setattr(exceptions_store, "COPY_MIN_ROWS", copy_min_rows)
    lines = [OrderLineFactory() for _ in range(3)]
    agent = get_user_model().objects.create_user("agent-h", password="x")
    raised_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    # Given three delay exceptions raised in one batch
    with transaction.atomic():
        batch = ExceptionBatch([line.pk for line in lines], raised_at, user=agent)
        for i, line in enumerate(lines):
            batch.raise_(line, Kind.DELAY_NOTICE_DUE, due_by=date(2026, 12, 3 + i), cause=f"slip {i}",
                         promise_version=i + 1)
        batch.flush()
    raised = {e.pk: e for e in OrderException.objects.all()}
    assert len(raised) == 3
    # Then each has one "+" history row: its state when raised, by the agent, at that time
    added = OrderException.history.filter(history_type="+")
    assert {_state(h) for h in added} == {_state(e) for e in raised.values()}
    assert {(h.history_date, h.history_user_id) for h in added} == {(raised_at, agent.pk)}

    # When a later batch resolves two of them and moves the third's due date
    changed_at = raised_at + timedelta(hours=2)
    with transaction.atomic():
        batch = ExceptionBatch([line.pk for line in lines], changed_at)
        batch.resolve(lines[0].pk, Kind.DELAY_NOTICE_DUE, "back on time")
        batch.resolve(lines[1].pk, Kind.DELAY_NOTICE_DUE, "back on time")
        batch.raise_(lines[2], Kind.DELAY_NOTICE_DUE, due_by=date(2026, 12, 9), cause="slip again",
                     promise_version=7)
        batch.flush()
    now = {e.pk: e for e in OrderException.objects.all()}
    # Then the rows hold the changes, and each change has its "~" history row as written
    assert [now[pk].status for pk in sorted(now)] == [Status.RESOLVED, Status.RESOLVED, Status.OPEN]
    assert {now[pk].resolved_at for pk in sorted(now)[:2]} == {changed_at}
    assert (now[max(now)].due_by, now[max(now)].promise_version) == (date(2026, 12, 9), 7)
    assert {e.updated_at for e in now.values()} == {changed_at}
    changes = OrderException.history.filter(history_type="~")
    assert {_state(h) for h in changes} == {_state(e) for e in now.values()}
    assert {(h.history_date, h.history_user_id) for h in changes} == {(changed_at, None)}
    assert OrderException.history.count() == 6
