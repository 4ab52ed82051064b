"""django-q2 entry points of the workflow that run on the main cluster."""

from core.urgency import urgent_work
from workflow import services as workflow


def recorded_changes_assess(line_ids, changes=None):
    """Run the regional workflow for the lines of a very large slip, after their re-promise.

    `changes` are the re-promise's own (see workflow.changes_carried); without them the
    lines' latest changes are read back.
    On the main cluster, not the notices one: exceptions must not wait behind a notice drain.
    """
    with urgent_work():
        assessed = workflow.recorded_changes_assess(line_ids=list(line_ids), changes=changes)
    return {"assessed": len(assessed)}
