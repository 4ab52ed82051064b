"""core.bulk's helpers for steps over thousands of rows."""

import gc

import pytest
from django.db import connection, transaction

from core.bulk import commit_without_waiting_for_disk, gc_paused


def test_gc_paused_stops_the_collector_inside_and_restores_it_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner exit leaves it paused
            pass
        assert not gc.isenabled()
        raise RuntimeError("a failed step")
    assert gc.isenabled()


def test_gc_paused_leaves_a_collector_the_caller_disabled_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's synchronous_commit")
def test_commit_without_waiting_for_disk_applies_to_the_current_transaction_only():
    with connection.cursor() as cursor, transaction.atomic():
        commit_without_waiting_for_disk()
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
