"""A busy outbox enqueues one drain at a time: where the processes share a cache, commits
that find a drain already waiting in the queue enqueue none; once the drain starts, the
next commit enqueues another, so no notice committed after a drain started waits for the
minutely catch-up."""

import pytest
from django.core.cache import caches
from django.test import TestCase

from core import queue
from notifications import services, tasks
from notifications.models import Notice
from tests.factories.notifications import NoticeFactory
from tests.factories.promises import backorder_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """The outbox drains enqueued (async_task recorded, not run: they wait in the queue)."""
    calls = []

    def record(func, *args, **kwargs):
        if func == services.SEND_TASK:
            calls.append(func)

    monkeypatch.setattr(queue, "async_task", record)
    return calls


@pytest.fixture
def shared_flags(settings):
    settings.CACHES = {**settings.CACHES, "task_flags": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "test-task-flags"}}
    caches["task_flags"].clear()
    yield caches["task_flags"]
    caches["task_flags"].clear()


def _notice_committed(line):
    with TestCase.captureOnCommitCallbacks(execute=True):
        notice = NoticeFactory(line=line)
        queue.enqueue_on_commit(services.SEND_TASK, coalesce=True)
    return notice


def test_commits_while_a_drain_waits_enqueue_none_and_a_started_drain_lets_the_next_one_in(
        shared_flags, enqueued, monkeypatch):
    line = backorder_line("US", eta_days=14).line
    for _ in range(3):
        _notice_committed(line)
    assert enqueued == [services.SEND_TASK]  # one drain waits for all three
    # The drain starts: the notices committed before it are its to send
    monkeypatch.setattr(services, "notices_send_due", lambda: {"sent": Notice.objects.count()})
    assert tasks.notices_send_due() == {"sent": 3}
    # A notice committed after it started enqueues a drain of its own
    _notice_committed(line)
    assert enqueued == [services.SEND_TASK, services.SEND_TASK]


def test_without_a_shared_cache_every_commit_enqueues_its_drain(settings, enqueued):
    settings.CACHES = {name: cache for name, cache in settings.CACHES.items() if name != "task_flags"}
    line = backorder_line("US", eta_days=14).line
    for _ in range(3):
        _notice_committed(line)
    assert enqueued == [services.SEND_TASK] * 3


def test_a_cache_that_fails_enqueues_as_without_one(shared_flags, enqueued, monkeypatch):
    def away(*args, **kwargs):
        raise ConnectionError("cache away")

    monkeypatch.setattr(shared_flags, "add", away)
    line = backorder_line("US", eta_days=14).line
    _notice_committed(line)
    _notice_committed(line)
    assert enqueued == [services.SEND_TASK] * 2
