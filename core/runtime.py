"""Tuning of a long-running web process, applied once its application is loaded."""

import gc

from django.conf import settings
from django.urls import get_resolver


def web_process_ready() -> None:
    """Load the URLconf, then take what is loaded out of the garbage collector's sight.

    A web process's modules, settings, models and URL patterns live as long as it does,
    yet each full collection walks all of them again; gc.freeze() moves them to a
    generation the collector leaves alone. A request builds thousands of short-lived
    objects (a page of 100 orders is ~20,000 values), so the youngest generation is
    collected every WEB_GC_THRESHOLD allocations instead of Python's 700
    (docs/operations.md). WEB_GC_THRESHOLD=0 leaves the collector as Python sets it.
    """
    threshold = settings.WEB_GC_THRESHOLD
    if not threshold:
        return
    # The views, serializers and forms, imported now rather than on the first request.
    get_resolver().url_patterns  # noqa: B018
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, *gc.get_threshold()[1:])
