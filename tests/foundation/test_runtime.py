"""core.runtime: a web process's garbage collector, tuned once its application is loaded."""

import gc

import pytest

from core.runtime import web_process_ready


@pytest.fixture
def collector():
    """Restore the collector as the test found it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_web_process_freezes_what_it_loaded_and_collects_less_often(collector, settings):
    # Given the default threshold
    settings.WEB_GC_THRESHOLD = 20_000
    gc.unfreeze()
    older = gc.get_threshold()[1:]
    # When the web process is ready
    web_process_ready()
    # Then what it loaded is frozen and the youngest generation waits for 20,000 allocations
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (20_000, *older)


def test_a_zero_threshold_leaves_the_collector_be(collector, settings):
    settings.WEB_GC_THRESHOLD = 0
    gc.unfreeze()
    before = gc.get_threshold()
    web_process_ready()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
