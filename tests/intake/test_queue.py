"""Tasks are enqueued on commit, once per transaction, and never lost to an earlier rollback."""

import pytest
from django.db import transaction

from core.queue import enqueue_on_commit

pytestmark = pytest.mark.django_db


def test_one_enqueue_per_transaction_however_often_asked(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            for _ in range(40):
                enqueue_on_commit("promises.tasks.repromise_dirty_pools")
    assert len(callbacks) == 1


def test_a_rolled_back_transaction_does_not_suppress_the_next_enqueue(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit("promises.tasks.repromise_dirty_pools")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with transaction.atomic():
            enqueue_on_commit("promises.tasks.repromise_dirty_pools")
    assert len(callbacks) == 1


def test_nothing_is_enqueued_before_commit(django_capture_on_commit_callbacks):
    from django_q.models import OrmQ

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit("promises.tasks.repromise_dirty_pools")
    assert len(callbacks) == 1 and not OrmQ.objects.exists()


@pytest.fixture
def sent(monkeypatch):
    """The (task, options) pairs handed to django-q2, instead of enqueueing them."""
    import core.queue as queue

    calls = []
    monkeypatch.setattr(queue, "async_task", lambda func, *args, **kwargs: calls.append((func, kwargs)))
    return calls


def test_notice_tasks_go_to_the_notices_cluster_and_repromises_to_the_main_one(
        sent, settings, django_capture_on_commit_callbacks):
    settings.NOTICES_CLUSTER = "desk-notices"
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            enqueue_on_commit("promises.tasks.repromise_dirty_pools")
            enqueue_on_commit("notifications.tasks.notices_send_due")
    assert sent == [("promises.tasks.repromise_dirty_pools", {}),
                    ("notifications.tasks.notices_send_due", {"cluster": "desk-notices"})]


def test_without_a_notices_cluster_everything_runs_on_the_main_one(
        sent, settings, django_capture_on_commit_callbacks):
    settings.NOTICES_CLUSTER = ""
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit("notifications.tasks.notices_send_due")
    assert sent == [("notifications.tasks.notices_send_due", {})]
