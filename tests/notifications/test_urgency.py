"""The notice drain yields to re-promising and a slip's assessment (core.urgency)."""

import threading

import pytest
from django.db import connection

from core.urgency import (
    Yielder,
    exceptions_being_raised,
    exceptions_being_raised_elsewhere,
    urgent_work,
    urgent_work_running,
)

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL advisory locks")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_yielder_waits_while_urgent_work_runs_and_no_longer():
    clock = FakeClock()
    busy_until = 0.5
    yielder = Yielder(max_wait=2.0, poll=0.02, running=lambda: clock.now < busy_until,
                      clock=clock, sleep=clock.sleep)
    assert yielder() == pytest.approx(0.5, abs=0.021)
    assert yielder() == 0.0  # nothing urgent: no wait


def test_the_yielder_waits_at_most_its_bound_then_lets_background_work_run_as_long():
    clock = FakeClock()
    checks = []

    def running():
        checks.append(clock.now)
        return True  # urgent work that never stops

    yielder = Yielder(max_wait=2.0, poll=0.1, running=running, clock=clock, sleep=clock.sleep)
    assert yielder() == pytest.approx(2.0, abs=0.11)  # a poll more at most
    checked = len(checks)
    clock.now += 1.9  # within the free period: no check, no wait
    assert yielder() == 0.0
    assert len(checks) == checked
    clock.now += 0.2  # after it: waits again
    assert yielder() == pytest.approx(2.0, abs=0.11)  # a poll more at most


def test_a_yielder_bound_of_zero_never_asks():
    yielder = Yielder(max_wait=0, running=lambda: pytest.fail("asked"))
    assert yielder() == 0.0


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("signal", "signalled"), [(urgent_work, urgent_work_running),
                                                   (exceptions_being_raised, exceptions_being_raised_elsewhere)],
                         ids=["urgent work", "exceptions being raised"])
def test_a_signal_is_seen_from_another_connection_while_its_block_runs_and_not_after(signal, signalled):
    inside, release = threading.Event(), threading.Event()

    def task():
        try:
            with signal():
                inside.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    assert not signalled()
    worker = threading.Thread(target=task)
    worker.start()
    try:
        assert inside.wait(timeout=30)
        assert signalled()
        assert signalled()  # asking takes nothing
        assert not (urgent_work_running() and exceptions_being_raised_elsewhere())  # one each
    finally:
        release.set()
        worker.join(timeout=30)
    assert not signalled()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_urgent_work_lets_go_of_the_signal_when_its_block_fails():
    with pytest.raises(RuntimeError), urgent_work():
        raise RuntimeError("a re-promise failed")
    done = threading.Event()
    seen = []

    def other():
        try:
            seen.append(urgent_work_running())
        finally:
            connection.close()
            done.set()

    threading.Thread(target=other).start()
    assert done.wait(timeout=30)
    assert seen == [False]


def test_the_drain_asks_before_each_notice_and_sends_once_urgent_work_is_over(
        slipped_us_line, settings, monkeypatch):
    from django.core import mail

    from notifications import services
    from notifications.models import Notice

    # Given a pending delay notice, while a re-promise runs for the next 0.3 s (fake clock)
    Notice.objects.filter(line=slipped_us_line.line).update(status=Notice.Status.PENDING)
    clock = FakeClock()
    asked = []

    def running():
        asked.append(clock.now)
        assert not mail.outbox  # nothing leaves while urgent work runs
        return clock.now < 0.3

    monkeypatch.setattr(services, "Yielder", lambda max_wait: Yielder(
        max_wait=max_wait, poll=0.05, running=running, clock=clock, sleep=clock.sleep))
    # When the drain runs
    assert services.notices_send_due() == {"sent": 1}
    # Then it waited for the urgent work before sending
    assert len(mail.outbox) == 1
    assert asked[0] == 0.0 and asked[-1] >= 0.3
