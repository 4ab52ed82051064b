"""django-q2 entry points for re-promising."""

import logging

from core.urgency import urgent_work
from promises.services import dirty_pools_repromise, pools_repromise_all

log = logging.getLogger(__name__)


def repromise_dirty_pools():
    """Recompute every dirty pool (coalesces all marks made since the last run)."""
    with urgent_work():
        result = dirty_pools_repromise()
    log.info("re-promised %s pools, %s lines, %s changes", result.pools, result.lines, len(result.changes))
    return {"pools": result.pools, "lines": result.lines, "changes": len(result.changes)}


def repromise_all():
    """Nightly: recompute every pool, whatever its marks."""
    result = pools_repromise_all()
    log.info("nightly re-promise: %s pools, %s lines, %s changes", result.pools, result.lines, len(result.changes))
    return {"pools": result.pools, "lines": result.lines, "changes": len(result.changes)}
