"""django-q2 entry points for re-promising."""

import logging

from promises import workflow
from promises.services import promises_recompute_all, promises_recompute_dirty
from promises.urgency import urgent_work

log = logging.getLogger(__name__)


def repromise_dirty_pools():
    """Recompute every dirty pool (coalesces all marks made since the last run)."""
    with urgent_work():
        result = promises_recompute_dirty()
    log.info("re-promised %s pools, %s lines, %s changes", result.pools, result.lines, len(result.changes))
    return {"pools": result.pools, "lines": result.lines, "changes": len(result.changes)}


def repromise_all():
    """Nightly: recompute every pool, whatever its marks."""
    result = promises_recompute_all()
    log.info("nightly re-promise: %s pools, %s lines, %s changes", result.pools, result.lines, len(result.changes))
    return {"pools": result.pools, "lines": result.lines, "changes": len(result.changes)}


def recorded_changes_assess(line_ids, changes=None):
    """Run the regional workflow for the lines of a very large slip, after their re-promise.

    `changes` are the re-promise's own (see workflow.changes_carried); without them (a task
    queued by an older release) the lines' latest changes are read back.
    On the main cluster, not the notices one: exceptions must not wait behind a notice drain.
    """
    with urgent_work():
        assessed = workflow.recorded_changes_assess(line_ids=list(line_ids), changes=changes)
    return {"assessed": len(assessed)}
